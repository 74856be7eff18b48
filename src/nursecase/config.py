"""Settings from ``config.toml`` in the data folder.

Every setting has a default, so a missing file is fine. A file that cannot be
read, or holds a wrong value, raises ``ConfigError`` naming the setting: the
CLI prints that one line and stops, rather than running on a half-understood
configuration.

Example ``config.toml``::

    [cadence]          # days between contacts, by risk tier
    high = 7
    moderate = 14
    low = 30

    [holidays]         # dates that are not business days (TCM clock)
    dates = ["2026-12-25", "2027-01-01"]

    [app]
    theme = "textual-dark"

    [keymap]           # binding id = keys
    "worklist.search" = "slash,ctrl+f"

    [care_plans]       # a nurse educator's folder of plan templates (*.toml)
    templates_folder = "~/clinic/care-plan-templates"

    [exports]          # where reports and printed plans go by default
    folder = "~/nursecase-exports"

    [privacy]          # copying screen text to the clipboard (off: PHI stays here)
    allow_clipboard = false

    [security]         # lock the screen after this many minutes without input
    idle_lock_minutes = 10

    [thresholds]       # a clinic's own limits (measure's unit) and urgency
    oxygen-low = { limit = 88, urgent = true }
    hba1c-high = { limit = 10 }

    [monitoring]       # remote monitoring and how readings are shown
    gap_days = 3       # days without an expected reading before Today says so
    weight_unit = "lb" # or "kg"
    glucose_unit = "mmol/L"  # or "mg/dL"

    [[monitoring.billing]]   # replaces the RPM code table (domain/rpm.py)
    code = "99454"
    counts = "days"
    at_least = 16

    [adt]              # the hospital's ADT feed (nursecase adt listen)
    host = "127.0.0.1" # loopback unless the interface engine is elsewhere
    port = 2575        # the IANA port for HL7 over MLLP
    notification_days = 1   # transitions of care: days after admission a notice still counts
    [adt.facilities]   # the hospital's facility codes in words
    MERCY = "Mercy General"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from nursecase.domain.codes import ThresholdRule
from nursecase.domain.rpm import DEFAULT_BILLING_RULES, BillingRule, parse_billing_rules
from nursecase.domain.thresholds import RuleLimit, default_limits

DEFAULT_CADENCE = {"high": 7, "moderate": 14, "low": 30}
DEFAULT_IDLE_LOCK_MINUTES = 10
MAX_IDLE_LOCK_MINUTES = 240
#: Days without an expected reading before Today says "no weight for 3 d".
DEFAULT_GAP_DAYS = 3
#: The ADT listener's default address: loopback (nothing outside this machine
#: reaches it unless configured) and 2575, the IANA port for HL7 over MLLP.
DEFAULT_ADT_HOST = "127.0.0.1"
DEFAULT_ADT_PORT = 2575
#: domain.outcomes.DEFAULT_NOTIFICATION_DAYS (tests/test_config.py keeps them equal;
#: imported here, that module would cost the launch its import).
DEFAULT_NOTIFICATION_DAYS = 1


class ConfigError(ValueError):
    """The configuration file cannot be used; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the defaults of DESIGN.md."""

    cadence_days: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_CADENCE))
    holidays: frozenset[date] = frozenset()
    theme: str = "textual-dark"
    keymap: dict[str, str] = field(default_factory=dict)
    demo: bool = False
    #: Extra care plan templates (a nurse educator's folder); None: the shipped ones only.
    templates_folder: Path | None = None
    #: Where reports and printed plans go by default; None: the data folder's exports/.
    exports_folder: Path | None = None
    #: Whether screen text may be copied to the clipboard (it would carry PHI out).
    allow_clipboard: bool = False
    #: Minutes without input before the screen locks (HIPAA automatic logoff).
    idle_lock_minutes: int = DEFAULT_IDLE_LOCK_MINUTES
    #: Every threshold rule's limit and urgency for this clinic (domain.thresholds).
    threshold_limits: dict[ThresholdRule, RuleLimit] = field(default_factory=default_limits)
    #: Days without an expected reading (remote monitoring) before Today says so.
    monitoring_gap_days: int = DEFAULT_GAP_DAYS
    #: The units weights and glucose are shown in ("kg" or "lb"; "mg/dL" or "mmol/L").
    weight_unit: str = "kg"
    glucose_unit: str = "mg/dL"
    #: The remote-monitoring billing rules (domain.rpm), replaceable by a clinic.
    billing_rules: tuple[BillingRule, ...] = DEFAULT_BILLING_RULES
    #: Where ``nursecase adt listen`` listens (loopback unless configured).
    adt_host: str = DEFAULT_ADT_HOST
    adt_port: int = DEFAULT_ADT_PORT
    #: The hospital's facility codes in words ("MERCY" -> "Mercy General").
    adt_facilities: dict[str, str] = field(default_factory=dict)
    #: Transitions of care: days after the admission (or discharge) day that a
    #: notice received still counts (domain.outcomes: 1 as the issue and NCQA's
    #: measure description say; HEDIS MY2020+ specifications allow 2).
    notification_days: int = DEFAULT_NOTIFICATION_DAYS


def _cadence(table: object) -> dict[str, int]:
    if not isinstance(table, dict):
        raise ConfigError("cadence: must be a table like [cadence] high = 7")
    cadence = dict(DEFAULT_CADENCE)
    for tier, days in table.items():
        if tier not in DEFAULT_CADENCE:
            raise ConfigError(f"cadence.{tier}: unknown risk tier (use high, moderate, low)")
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365:
            raise ConfigError(f"cadence.{tier}: must be a whole number of days from 1 to 365")
        cadence[tier] = days
    return cadence


def _holidays(table: object) -> frozenset[date]:
    if not isinstance(table, dict):
        raise ConfigError('holidays: must be a table like [holidays] dates = ["2026-12-25"]')
    values = table.get("dates", [])
    if not isinstance(values, list):
        raise ConfigError("holidays.dates: must be a list of dates")
    days = set()
    for value in values:
        if isinstance(value, date):
            days.add(value)
            continue
        try:
            days.add(date.fromisoformat(str(value)))
        except ValueError as error:
            raise ConfigError(f"holidays.dates: {value!r} is not a YYYY-MM-DD date") from error
    return frozenset(days)


def _folder(table: object, section: str, key: str) -> Path | None:
    """An optional folder setting ``[section] key = "path"`` (~ expanded)."""
    if not isinstance(table, dict):
        raise ConfigError(f'{section}: must be a table like [{section}] {key} = "..."')
    unknown = set(table) - {key}
    if unknown:
        raise ConfigError(f"{section}.{sorted(unknown)[0]}: unknown setting")
    folder = table.get(key)
    if folder is None:
        return None
    if not isinstance(folder, str) or not folder.strip():
        raise ConfigError(f"{section}.{key}: must be a folder path")
    return Path(folder.strip()).expanduser()


def _allow_clipboard(table: object) -> bool:
    if not isinstance(table, dict):
        raise ConfigError("privacy: must be a table like [privacy] allow_clipboard = false")
    unknown = set(table) - {"allow_clipboard"}
    if unknown:
        raise ConfigError(f"privacy.{sorted(unknown)[0]}: unknown setting")
    allowed = table.get("allow_clipboard", False)
    if not isinstance(allowed, bool):
        raise ConfigError("privacy.allow_clipboard: must be true or false")
    return allowed


def _idle_lock_minutes(table: object) -> int:
    if not isinstance(table, dict):
        raise ConfigError("security: must be a table like [security] idle_lock_minutes = 10")
    unknown = set(table) - {"idle_lock_minutes"}
    if unknown:
        raise ConfigError(f"security.{sorted(unknown)[0]}: unknown setting")
    minutes = table.get("idle_lock_minutes", DEFAULT_IDLE_LOCK_MINUTES)
    if (
        not isinstance(minutes, int)
        or isinstance(minutes, bool)
        or not 1 <= minutes <= MAX_IDLE_LOCK_MINUTES
    ):
        raise ConfigError(
            f"security.idle_lock_minutes: must be a whole number from 1 to {MAX_IDLE_LOCK_MINUTES}"
        )
    return minutes


def _threshold_limits(table: object) -> dict[ThresholdRule, RuleLimit]:
    """The clinic's limits: ``[thresholds] oxygen-low = { limit = 88, urgent = true }``."""
    if not isinstance(table, dict):
        raise ConfigError(
            "thresholds: must be a table like [thresholds] oxygen-low = { limit = 88 }"
        )
    limits = default_limits()
    for name, setting in table.items():
        try:
            rule = ThresholdRule(name)
        except ValueError:
            known = ", ".join(rule.value for rule in ThresholdRule)
            raise ConfigError(f"thresholds.{name}: unknown rule (use one of {known})") from None
        if not isinstance(setting, dict):
            raise ConfigError(f"thresholds.{name}: must be a table like {{ limit = 88 }}")
        unknown = set(setting) - {"limit", "urgent"}
        if unknown:
            raise ConfigError(f"thresholds.{name}.{sorted(unknown)[0]}: unknown setting")
        limit = setting.get("limit", limits[rule].limit)
        if not isinstance(limit, int | float) or isinstance(limit, bool) or limit <= 0:
            raise ConfigError(f"thresholds.{name}.limit: must be a number above 0")
        urgent = setting.get("urgent", limits[rule].urgent)
        if not isinstance(urgent, bool):
            raise ConfigError(f"thresholds.{name}.urgent: must be true or false")
        limits[rule] = RuleLimit(float(limit), urgent)
    return limits


def _monitoring(table: object) -> dict[str, object]:
    """``[monitoring]``: gap days, display units and the billing table."""
    if not isinstance(table, dict):
        raise ConfigError("monitoring: must be a table like [monitoring] gap_days = 3")
    unknown = set(table) - {"gap_days", "weight_unit", "glucose_unit", "billing"}
    if unknown:
        raise ConfigError(f"monitoring.{sorted(unknown)[0]}: unknown setting")
    gap_days = table.get("gap_days", DEFAULT_GAP_DAYS)
    if not isinstance(gap_days, int) or isinstance(gap_days, bool) or not 1 <= gap_days <= 90:
        raise ConfigError("monitoring.gap_days: must be a whole number of days from 1 to 90")
    settings: dict[str, object] = {"monitoring_gap_days": gap_days}
    for key, measure_units in (("weight_unit", "kg lb"), ("glucose_unit", "mg/dL mmol/L")):
        unit = table.get(key, measure_units.split()[0])
        if unit not in measure_units.split():
            choices = " or ".join(f'"{choice}"' for choice in measure_units.split())
            raise ConfigError(f"monitoring.{key}: must be {choices}")
        settings[key] = unit
    if "billing" in table:
        try:
            settings["billing_rules"] = parse_billing_rules(table["billing"])
        except ValueError as error:
            raise ConfigError(str(error)) from None
    return settings


def _adt(table: object) -> dict[str, object]:
    """``[adt]``: the listener's address, facility names, the notification window."""
    if not isinstance(table, dict):
        raise ConfigError("adt: must be a table like [adt] port = 2575")
    unknown = set(table) - {"host", "port", "facilities", "notification_days"}
    if unknown:
        raise ConfigError(f"adt.{sorted(unknown)[0]}: unknown setting")
    host = table.get("host", DEFAULT_ADT_HOST)
    if not isinstance(host, str) or not host.strip():
        raise ConfigError("adt.host: must be a host name or address")
    port = table.get("port", DEFAULT_ADT_PORT)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise ConfigError("adt.port: must be a port number from 1 to 65535")
    facilities = table.get("facilities", {})
    if not isinstance(facilities, dict) or not all(
        isinstance(name, str) and name.strip() for name in facilities.values()
    ):
        raise ConfigError('adt.facilities: must map codes to names, like MERCY = "Mercy General"')
    days = table.get("notification_days", DEFAULT_NOTIFICATION_DAYS)
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 7:
        raise ConfigError("adt.notification_days: must be a whole number of days from 0 to 7")
    return {
        "adt_host": host.strip(),
        "adt_port": port,
        "adt_facilities": {str(code): name.strip() for code, name in facilities.items()},
        "notification_days": days,
    }


def parse_settings(text: str) -> Settings:
    """Settings from the text of a config.toml."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config.toml is not valid TOML: {error}") from error
    app = data.get("app", {})
    if not isinstance(app, dict):
        raise ConfigError("app: must be a table")
    theme = app.get("theme", "textual-dark")
    if not isinstance(theme, str):
        raise ConfigError("app.theme: must be a theme name")
    keymap = data.get("keymap", {})
    if not isinstance(keymap, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in keymap.items()
    ):
        raise ConfigError('keymap: must map binding ids to keys, like "worklist.search" = "slash"')
    return Settings(
        templates_folder=_folder(data.get("care_plans", {}), "care_plans", "templates_folder"),
        exports_folder=_folder(data.get("exports", {}), "exports", "folder"),
        cadence_days=_cadence(data.get("cadence", {})),
        holidays=_holidays(data.get("holidays", {})),
        theme=theme,
        keymap=dict(keymap),
        allow_clipboard=_allow_clipboard(data.get("privacy", {})),
        idle_lock_minutes=_idle_lock_minutes(data.get("security", {})),
        threshold_limits=_threshold_limits(data.get("thresholds", {})),
        **_monitoring(data.get("monitoring", {})),  # type: ignore[arg-type]
        **_adt(data.get("adt", {})),  # type: ignore[arg-type]
    )


def load_settings(config_file: Path) -> Settings:
    """Settings from a file; the defaults when it does not exist."""
    try:
        text = config_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except OSError as error:
        raise ConfigError(f"cannot read {config_file}: {error.strerror}") from error
    return parse_settings(text)
