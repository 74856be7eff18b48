"""config.toml: the care plan templates folder setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from nursecase.config import ConfigError, Settings, parse_settings
from nursecase.domain.outcomes import DEFAULT_NOTIFICATION_DAYS
from nursecase.services import make_services


def test_templates_folder_is_optional_and_expands_home():
    assert parse_settings("").templates_folder is None
    settings = parse_settings('[care_plans]\ntemplates_folder = "~/clinic/templates"\n')
    assert settings.templates_folder == Path("~/clinic/templates").expanduser()
    assert parse_settings('[exports]\nfolder = "/srv/out"').exports_folder == Path("/srv/out")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("care_plans = 3", "care_plans: must be a table"),
        ("[care_plans]\ntemplates_folder = 4", "care_plans.templates_folder"),
        ("[care_plans]\nfolder = 'x'", "care_plans.folder: unknown setting"),
        ("[exports]\nfolder = ''", "exports.folder: must be a folder path"),
    ],
)
def test_bad_templates_setting_names_it(text, named):
    with pytest.raises(ConfigError, match=named):
        parse_settings(text)


def test_the_service_reads_the_configured_folder(engine, clock, tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "falls.toml").write_text(
        '[template]\nkey = "falls"\nname = "Falls prevention"\n'
        'description = "Home safety"\ntitle = "Falls plan"\n'
        '[[problems]]\nomaha = "neuromusculoskeletal-function"\n'
        '[[problems.goals]]\ndescription = "The patient will have no falls"\n',
        encoding="utf-8",
    )
    (folder / "broken.toml").write_text("[template\n", encoding="utf-8")
    services = make_services(engine, clock, settings=Settings(templates_folder=folder))
    catalog = services.care_plans.templates()
    assert "falls" in {template.key for template in catalog.templates}
    assert "heart-failure" in {template.key for template in catalog.templates}
    assert len(catalog.errors) == 1 and "broken.toml" in catalog.errors[0]


def test_clipboard_is_off_unless_the_privacy_setting_allows_it():
    assert Settings().allow_clipboard is False
    assert parse_settings("[privacy]\nallow_clipboard = true\n").allow_clipboard is True
    for text, named in (
        ('[privacy]\nallow_clipboard = "yes"\n', "privacy.allow_clipboard"),
        ("[privacy]\ncolour = 1\n", "privacy.colour"),
    ):
        with pytest.raises(ConfigError, match=f"^{named}: "):
            parse_settings(text)


def test_idle_lock_minutes_default_and_bounds():
    assert Settings().idle_lock_minutes == 10
    assert parse_settings("[security]\nidle_lock_minutes = 3\n").idle_lock_minutes == 3
    for value in ("0", "241", '"ten"', "true"):
        with pytest.raises(ConfigError, match="^security.idle_lock_minutes: "):
            parse_settings(f"[security]\nidle_lock_minutes = {value}\n")


def test_a_clinic_sets_its_own_thresholds_and_monitoring():
    from nursecase.domain.codes import ThresholdRule
    from nursecase.domain.thresholds import RuleLimit

    settings = parse_settings(
        "[thresholds]\n"
        "oxygen-low = { limit = 88 }\n"
        "hba1c-high = { limit = 10, urgent = true }\n"
        '[monitoring]\ngap_days = 2\nweight_unit = "lb"\nglucose_unit = "mmol/L"\n'
        '[[monitoring.billing]]\ncode = "99454"\ncounts = "days"\nat_least = 16\n'
    )
    assert settings.threshold_limits[ThresholdRule.oxygen_low] == RuleLimit(88.0, True)
    assert settings.threshold_limits[ThresholdRule.hba1c_high] == RuleLimit(10.0, True)
    # Rules not named keep their defaults.
    assert settings.threshold_limits[ThresholdRule.systolic_high] == RuleLimit(180, True)
    assert (settings.monitoring_gap_days, settings.weight_unit, settings.glucose_unit) == (
        2,
        "lb",
        "mmol/L",
    )
    assert [rule.code for rule in settings.billing_rules] == ["99454"]
    assert Settings().monitoring_gap_days == 3 and Settings().weight_unit == "kg"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[thresholds]\noxygen-lo = { limit = 88 }\n", "thresholds.oxygen-lo"),
        ("[thresholds]\noxygen-low = 88\n", "thresholds.oxygen-low"),
        ("[thresholds]\noxygen-low = { limit = -1 }\n", "thresholds.oxygen-low.limit"),
        ('[thresholds]\noxygen-low = { urgent = "yes" }\n', "thresholds.oxygen-low.urgent"),
        ("[monitoring]\ngap_days = 0\n", "monitoring.gap_days"),
        ('[monitoring]\nweight_unit = "stone"\n', "monitoring.weight_unit"),
        ("[monitoring]\nbilling = []\n", "monitoring.billing"),
    ],
)
def test_a_bad_threshold_or_monitoring_setting_names_it(text, named):
    with pytest.raises(ConfigError, match=f"^{named}: "):
        parse_settings(text)


def test_the_adt_section_gives_the_listener_facility_names_and_notification_window():
    settings = parse_settings(
        '[adt]\nhost = "0.0.0.0"\nport = 2600\nnotification_days = 2\n'
        '[adt.facilities]\nMERCY = "Mercy General"\n'
    )
    assert (settings.adt_host, settings.adt_port, settings.notification_days) == (
        "0.0.0.0",
        2600,
        2,
    )
    assert settings.adt_facilities == {"MERCY": "Mercy General"}
    # Loopback on the HL7 port by default, and the outcome rule's own window.
    defaults = Settings()
    assert (defaults.adt_host, defaults.adt_port) == ("127.0.0.1", 2575)
    assert defaults.notification_days == DEFAULT_NOTIFICATION_DAYS


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[adt]\nport = 0\n", "adt.port"),
        ('[adt]\nport = "2575"\n', "adt.port"),
        ('[adt]\nhost = ""\n', "adt.host"),
        ("[adt]\nnotification_days = 9\n", "adt.notification_days"),
        ('[adt]\nfacilities = { MERCY = "" }\n', "adt.facilities"),
        ("[adt]\nlisten = true\n", "adt.listen"),
    ],
)
def test_a_bad_adt_setting_names_it(text, named):
    with pytest.raises(ConfigError, match=f"^{named}: "):
        parse_settings(text)
