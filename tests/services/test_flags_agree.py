"""One meaning per flag, checked on whole synthetic caseloads (issue 16, items 2 and 6).

- For every patient of the demo caseload, the flags the patient header shows
  (the chart) are exactly the flags of the patient's row on Today (every
  nurse's), the rounds card's and the caseload export's, and a patient with no
  row has none. Readings past their limits are keyed for a few patients first
  (urgent ones and an HbA1c above 9), so OUT OF RANGE is checked too.
- The clinical consistency check finds no contradiction in the demo (150
  patients, as ``nursecase demo`` seeds) nor in a seeded database (1,000
  patients, as ``nursecase seed`` seeds). bench/flags_and_check.py runs both on
  10,000 patients.
- Admissions and ED visits are recorded for a few patients too (issue 21), as
  the ADT feed records them, so IN HOSPITAL is checked alike.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from nursecase.db.engine import make_engine
from nursecase.db.models import Patient
from nursecase.domain.codes import EncounterClass, EncounterSource
from nursecase.domain.flags import Flag
from nursecase.services import make_services
from nursecase.services.clinical_check import ClinicalCheckService
from nursecase.services.encounters import (
    EncounterChange,
    record_admission,
    record_emergency_visit,
)
from nursecase.services.exports.caseload import build_caseload
from nursecase.services.exports.common import ExportScope
from nursecase.services.patients import load_patient
from tests.databases import demo_seeder, private_copy

#: What `nursecase demo` and `nursecase seed` seed by default.
DEMO_PATIENTS = 150
SEED_PATIENTS = 1000


@pytest.fixture(scope="session")
def demo_caseload(databases, migrated_template):
    return databases.build("demo-150", demo_seeder(DEMO_PATIENTS, 7), base=migrated_template)


@pytest.fixture(scope="session")
def seeded_caseload(databases, migrated_template):
    return databases.build("seeded-1000", demo_seeder(SEED_PATIENTS, 7), base=migrated_template)


@pytest.fixture
def demo(tmp_path, databases, demo_caseload, clock):
    with private_copy(databases, demo_caseload, tmp_path / "data" / "demo.db") as location:
        engine = make_engine(location)
        yield make_services(engine, clock, nurse="amoreno")
        engine.dispose()


@pytest.fixture
def seeded(tmp_path, databases, seeded_caseload, clock):
    with private_copy(databases, seeded_caseload, tmp_path / "data" / "seed.db") as location:
        engine = make_engine(location)
        yield make_services(engine, clock, nurse="amoreno")
        engine.dispose()


def caseload_flags(session, context) -> dict[int, tuple[Flag, ...]]:
    """The flags the caseload export writes (every nurse's), read back by patient id."""
    scope = ExportScope(context.clock.today(), context.clock.now(), None, "every nurse")
    report = build_caseload(session, scope, context)
    ids = dict(session.execute(select(Patient.mrn, Patient.id)).all())
    return {
        ids[row[0]]: tuple(Flag(code) for code in row[-1].split()) for row in report.rows if row[-1]
    }


def key_breaches(services, patients: list[int]) -> None:
    """Urgent readings for every 10th patient (whatever flags they have), an HbA1c
    above 9 (due work, no flag) for the ones after them."""
    for patient_id in patients[::10]:
        services.readings.key(
            patient_id, {"systolic": (184, "mm[Hg]"), "diastolic": (121, "mm[Hg]")}
        )
    for patient_id in patients[1::10]:
        services.readings.key(patient_id, {"hba1c": (10.4, "%")})


def admit(services, patients: list[int]) -> None:
    """An inpatient stay in progress for every 20th patient (after the 5th), an ED visit
    in progress for the ones after them: both are IN HOSPITAL."""
    since = services.context.clock.now() - timedelta(hours=30)
    for record, kind, chosen in (
        (record_admission, EncounterClass.inpatient, patients[5::20]),
        (record_emergency_visit, EncounterClass.emergency, patients[6::20]),
    ):
        for patient_id in chosen:
            change = EncounterChange(
                kind, EncounterSource.adt, f"V-{patient_id}", since, facility="Mercy General"
            )
            with services.context.write() as session:
                record(session, services.context, load_patient(session, patient_id), change)


def test_the_header_and_the_worklist_row_show_the_same_flags_for_every_patient(demo):
    with Session(demo.context.engine) as session:
        patients = list(session.execute(select(Patient.id).order_by(Patient.id)).scalars())
    assert len(patients) == DEMO_PATIENTS
    key_breaches(demo, patients)
    admit(demo, patients)
    rows = {row.patient_id: row.flags for row in demo.worklist.today(None)}
    with Session(demo.context.engine) as session:
        exported = caseload_flags(session, demo.context)

    differ = {}
    for patient_id in patients:
        header = demo.chart.load(patient_id).flags
        card = demo.worklist.summary(patient_id).flags
        row = rows.get(patient_id, ())
        if not header == card == row == exported.get(patient_id, ()):
            differ[patient_id] = (header, card, row, exported.get(patient_id))

    assert differ == {}
    # The demo shows every flag it can: the check above is not vacuous.
    shown = {flag for flags in rows.values() for flag in flags}
    assert {Flag.safety, Flag.out_of_range, Flag.referral_late, Flag.tcm} <= shown
    in_hospital = {patient for patient, flags in rows.items() if Flag.in_hospital in flags}
    assert in_hospital == set(patients[5::20] + patients[6::20])
    # An HbA1c above 9 puts its patient on Today without a flag.
    assert not any(Flag.out_of_range in rows.get(patient, ()) for patient in patients[1::10])


def test_the_demo_has_no_clinical_contradiction(demo):
    assert [finding.line() for finding in ClinicalCheckService(demo.context).run()] == []


def test_a_seeded_caseload_has_no_clinical_contradiction(seeded):
    assert [finding.line() for finding in ClinicalCheckService(seeded.context).run()] == []
