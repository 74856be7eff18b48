"""Readings files (``services.reading_files``): good rows kept, bad rows named, one transaction."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nursecase.db.models import AuditEvent, Reading
from nursecase.services.reading_files import ReadingFileError, ReadingFileService

#: One hour east of UTC: the wall clock the zone tests store times in.
PARIS_WINTER = timezone(timedelta(hours=1))


@pytest.fixture
def patients(services):
    services.patients.create("HF-1", "Heart", "Ann", birth_date=date(1950, 3, 4))
    services.patients.create("DM-22", "Sugar", "Bob", birth_date=date(1948, 1, 2))
    return services


def importer(services, **options) -> ReadingFileService:
    return ReadingFileService(services.context, services.readings, zone=PARIS_WINTER, **options)


def run(services, text: str | bytes, **options):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return importer(services, **options).import_stream(io.BytesIO(data), "vendor.csv")


def stored(engine) -> list[tuple[str, str, float, str, datetime, str]]:
    with Session(engine) as session:
        rows = session.execute(
            select(
                Reading.measure,
                Reading.loinc,
                Reading.value,
                Reading.unit,
                Reading.taken_at,
                Reading.source,
            ).order_by(Reading.taken_at, Reading.loinc)
        )
        return [tuple(row) for row in rows]


def count(engine, model) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


GOOD_AND_BAD = """\ufeff Time ,Device,MRN,CODE,Value,unit
2026-11-25T07:30:00,scale-9,HF-1,29463-7,80.0,kg
2026-11-26T07:30:00,scale-9,hf1,29463-7,182.0,[lb_av]
2026-11-26T08:00:00,cuff-2,DM 22,8480-6,150,mmHg
2026-11-26T07:30:00,scale-9,X-12,29463-7,80,kg
2026-11-26T09:00:00,scale-9,HF-1,29463-7,80,mg

yesterday,meter-1,DM-22,41653-7,5.4,mmol/L
2026-11-28T07:30:00,scale-9,HF-1,29463-7,80,kg
2026-11-26T07:30:00,meter-1,DM-22,41653-7,6000,mg/dL
2026-11-26T07:30:00,meter-1,DM-22,1234-5,6,mg/dL
2026-11-26T07:30:00,meter-1,DM-22,41653-7,eighty,mg/dL
2026-11-26,meter-1,DM-22,41653-7,80,mg/dL
2026-11-26T10:00:00,meter-1,{long},41653-7,80,mg/dL
2026-11-26T10:00:00,meter-1,DM-22
""".format(long="very long MRN words " * 5)


def test_good_rows_are_kept_and_each_bad_row_is_one_line_in_words(patients, engine):
    result = run(patients, GOOD_AND_BAD)

    assert (result.rows, result.added, result.unchanged, result.refused) == (13, 3, 0, 10)
    assert result.problems == (
        "line 5: no patient with MRN X-12",
        'line 6: unit "mg" is not a unit for weight (use kg, [lb_av], lb, lbs, g)',
        'line 8: time "yesterday" is not a date and time (such as 2026-11-27T07:30:00Z)',
        'line 9: time "2026-11-28T07:30:00" is in the future',
        "line 10: value 6000 mg/dL is not a possible glucose (expected 10 to 1000 mg/dL)",
        'line 11: code "1234-5" is not a LOINC code nursecase reads',
        'line 12: value "eighty" is not a number (write it as 82.4)',
        'line 13: time "2026-11-26" has no time of day (such as 2026-11-27T07:30:00Z)',
        "line 14: no patient with MRN very long MRN words very long MRN words…",
        "line 15: no code",
    )
    assert stored(engine) == [
        ("weight", "29463-7", 80.0, "kg", datetime(2026, 11, 25, 7, 30), "device"),
        ("weight", "29463-7", 182.0, "[lb_av]", datetime(2026, 11, 26, 7, 30), "device"),
        ("systolic", "8480-6", 150.0, "mmHg", datetime(2026, 11, 26, 8, 0), "device"),
    ]


def test_a_second_import_of_the_same_file_changes_nothing(patients, engine):
    first = run(patients, GOOD_AND_BAD)
    before = (stored(engine), count(engine, AuditEvent))

    again = run(patients, GOOD_AND_BAD)

    assert (first.added, first.alerts_opened) == (3, 1)  # +1.6 kg in a day
    assert (again.added, again.corrected, again.unchanged, again.alerts_opened) == (0, 0, 3, 0)
    assert again.refused == first.refused
    assert (stored(engine), count(engine, AuditEvent)) == before


def test_times_with_a_zone_become_local_wall_clock_time(patients, engine):
    text = (
        "mrn,code,value,unit,time\n"
        "HF-1,8867-4,70,/min,2026-11-26T06:30:00Z\n"
        "HF-1,8867-4,71,/min,2026-11-26T07:45:00-05:00\n"
        "HF-1,8867-4,72,/min,2026-11-26 18:00\n"
    )
    assert run(patients, text).added == 3
    assert [row[4] for row in stored(engine)] == [
        datetime(2026, 11, 26, 7, 30),
        datetime(2026, 11, 26, 13, 45),
        datetime(2026, 11, 26, 18, 0),
    ]


def test_a_file_refused_midway_leaves_nothing_though_earlier_chunks_were_stored(patients, engine):
    good = "".join(f"HF-1,8867-4,{60 + day},/min,2026-11-{day:02d}T08:00:00\n" for day in (1, 2, 3))
    data = ("mrn,code,value,unit,time\n" + good).encode() + b"HF-1,8867-4,70,/min,caf\xe9\n"
    events = count(engine, AuditEvent)

    with pytest.raises(ReadingFileError) as refused:
        run(patients, data, chunk_rows=1)

    assert str(refused.value) == (
        "vendor.csv: line 5 is not UTF-8 text (save the file as UTF-8); nothing was imported"
    )
    assert (count(engine, Reading), count(engine, AuditEvent)) == (0, events)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("\n\n", "the file is empty"),
        ("mrn;code;value;unit;time\n", 'no "mrn" or "code" or "value" or "unit" or "time" column'),
        ("MRN,Code,Value,Time\nHF-1,8867-4,70,2026-11-26T08:00\n", 'no "unit" column'),
        ("mrn,code,value,unit,time,value\n", 'the column "value" is named twice'),
    ],
)
def test_a_file_without_a_usable_header_is_refused_in_one_line(patients, engine, text, message):
    with pytest.raises(ReadingFileError) as refused:
        run(patients, text)
    assert message in str(refused.value)
    assert count(engine, Reading) == 0


def test_a_file_in_chunks_writes_one_audit_event_per_patient_and_measure(patients, engine):
    text = "mrn,code,value,unit,time\n" + "".join(
        f"HF-1,29463-7,{80 + day / 10},kg,2026-10-{day:02d}T07:00\n" for day in range(1, 7)
    )
    events = count(engine, AuditEvent)

    result = run(patients, text, chunk_rows=2)

    assert result.added == 6
    with Session(engine) as session:
        fields = session.scalars(
            select(AuditEvent.changed_fields).where(AuditEvent.entity == "patient-readings")
        ).all()
    assert fields == ["weight"]
    assert count(engine, AuditEvent) == events + 1


# Cells a vendor's file may hold, good and bad, and text no file should hold.
CELLS = st.one_of(
    st.sampled_from(
        ["HF-1", "hf 1", "X-12", "29463-7", "8480-6", "85354-9", "80", "-3", "1e9", "kg", "lb"]
        + ["mmHg", "2026-11-26T07:30:00Z", "2026-11-26 07:30", "2026-11-26", "", " ", '"']
    ),
    st.text(max_size=12),
)
ROWS = st.lists(st.lists(CELLS, max_size=7).map(",".join), max_size=12)
FILES = st.one_of(
    ROWS.map(lambda rows: "\n".join(["mrn,code,value,unit,time", *rows])),
    st.text(max_size=80),
)


@settings(
    max_examples=30,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=FILES, encoding=st.sampled_from(["utf-8", "utf-16"]))
def test_any_text_is_imported_or_refused_whole_never_half_written(patients, engine, text, encoding):
    before = count(engine, Reading)
    try:
        result = run(patients, text.encode(encoding, "surrogatepass"), chunk_rows=3)
    except ReadingFileError:
        assert count(engine, Reading) == before
        return
    assert count(engine, Reading) == before + result.added
    assert result.added + result.corrected + result.unchanged + result.refused == result.rows
    assert len(result.problems) == min(result.refused, 50)
