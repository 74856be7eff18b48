"""What a FHIR file may not be: larger than the import limit, or holding a lone surrogate.

Both are refused in one line naming the file (and the place, or the size and
the limit), and nothing from the file is written.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nursecase.domain.fhir_values import BundleError, refuse_lone_surrogates
from nursecase.services.fhir_import import (
    MAXIMUM_FILE_BYTES,
    FhirImportError,
    FhirImportService,
    read_bundle_file,
)
from tests.services.test_fhir_import import row_counts

MR_TYPE = '{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]}'
#: A Patient whose family name is JSON text with a lone high surrogate escape in it.
SURROGATE_BUNDLE = (
    '{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":'
    '"urn:uuid:00000000-0000-4000-8000-000000000001","resource":{"resourceType":"Patient",'
    f'"identifier":[{{"type":{MR_TYPE},"value":"S-1"}}],'
    '"name":[{"family":"Bad\\ud800name","given":["Ann"]}]}}]}'
)


def test_a_lone_surrogate_is_refused_naming_its_place_and_nothing_is_written(services, tmp_path):
    path = tmp_path / "surrogate.json"
    path.write_text(SURROGATE_BUNDLE, encoding="ascii")
    before = row_counts(services.context)

    with pytest.raises(FhirImportError) as refused:
        FhirImportService(services.context).import_file(path)

    assert refused.value.place == "entry[0].resource.name[0].family"
    assert "lone surrogate" in refused.value.message
    assert str(refused.value).startswith(f"{path}: entry[0].resource.name[0].family: ")
    assert "\n" not in str(refused.value)
    str(refused.value).encode("utf-8")  # the message itself is printable text
    assert row_counts(services.context) == before


@pytest.mark.parametrize(
    ("data", "place"),
    [
        (
            {"entry": [{"resource": {"note": [{"text": "ok"}, {"text": "x\udfffy"}]}}]},
            "entry[0].resource.note[1].text",
        ),
        ({"entry": [{"resource": {"bad\ud800key": 1}}]}, "entry[0].resource"),
        ({"type": "\ud800"}, "type"),
        (["\ud800"], "[0]"),
        ("\ud800", "the bundle"),
    ],
)
def test_every_string_and_key_is_checked_for_lone_surrogates(data, place):
    with pytest.raises(BundleError) as refused:
        refuse_lone_surrogates(data)
    assert refused.value.place == place


def test_whole_characters_outside_the_basic_plane_pass():
    # "\ud83d\ude00" in JSON is one character (a pair), not a lone surrogate.
    refuse_lone_surrogates({"entry": [{"resource": {"text": "smile \U0001f600", "ü": "é"}}]})


def test_a_file_above_the_limit_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(MAXIMUM_FILE_BYTES + 1)  # sparse: no disk, and never read

    with pytest.raises(FhirImportError) as refused:
        read_bundle_file(path)

    assert str(refused.value) == (
        f"{path}: is 250.0 MB, above the import limit of 250.0 MB"
        " (split the bundle into smaller files)"
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_stream_that_never_ends_is_refused_at_the_limit():
    with pytest.raises(FhirImportError) as refused:
        read_bundle_file(Path("/dev/zero"), limit=64_000)

    assert str(refused.value) == (
        "/dev/zero: goes on past the import limit of 0.1 MB (split the bundle into smaller files)"
    )


def test_the_command_says_so_in_one_line(tmp_path):
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(300_000_000)
    environment = {**os.environ, "NURSECASE_HOME": str(tmp_path / "home")}
    environment.pop("NURSECASE_NURSE", None)

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "nursecase",
            "--db",
            str(tmp_path / "x.db"),
            "import",
            "fhir",
            str(path),
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"nursecase: error: {path}: is 300.0 MB, above the import limit of 250.0 MB"
        " (split the bundle into smaller files)"
    ]
