"""The patient in hospital everywhere a nurse looks (issue 21, item 1 and Today's part of item 2).

Harold Lindqvist's events come from the sample messages (tests/data/hl7, see
its README) through the ADT inbox, under a frozen clock, as in
test_adt_inbox.py: IN HOSPITAL on Today's row, the header (chart), the rounds
card and the flags the caseload asks for; the contact cadence paused during a
stay (not during an ED visit); the chart's encounters, its timeline's words;
the ED follow-up completed by a conversation inside the HEDIS FMC window.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from nursecase.clock import FrozenClock
from nursecase.db.models import Task
from nursecase.domain.codes import (
    DischargeDisposition,
    EncounterClass,
    EncounterSource,
    EncounterStatus,
)
from nursecase.domain.flags import Flag
from nursecase.domain.worklist import DueKind
from nursecase.services import make_services
from nursecase.services.adt_inbox import AdtInbox
from nursecase.services.chart import discharge_event_words, encounter_events
from nursecase.services.encounters import EncounterChange, EncounterRead, record_emergency_visit
from nursecase.services.patients import load_patient

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "hl7"
MRN = "MRN-ADT-0001"
HOSPITAL = "In hospital since 05 Dec, Mercy General"


def sample(name: str) -> str:
    return (SAMPLES / name).read_bytes().decode("utf-8")


@pytest.fixture
def desk(engine):
    """(services, inbox, clock, patient id): Harold due for a contact since 1 Dec; 5 Dec 2024."""
    clock = FrozenClock(datetime(2024, 12, 5, 16, 0))
    services = make_services(engine, clock)
    services.nurses.create("alice", "Alice Moreno", "RN, CCM")
    services.nurses.sign_in("alice")
    patient = services.patients.create(
        MRN, "Lindqvist", "Harold", birth_date="1948-03-12", next_contact_due="2024-12-01"
    )
    return services, AdtInbox(services.context, zone=UTC), clock, patient.id


def take(inbox: AdtInbox, name: str) -> None:
    assert inbox.receive(sample(name)).ack_code == "AA"
    inbox.apply_pending()


def row_of(services, patient_id: int):
    return next(
        (row for row in services.worklist.today(None) if row.patient_id == patient_id), None
    )


def everywhere(services, patient_id: int) -> tuple:
    """The flags of Today's row (or None: no row), the header, the card and the caseload's."""
    row = row_of(services, patient_id)
    return (
        None if row is None else row.flags,
        services.chart.load(patient_id).flags,
        services.worklist.summary(patient_id).flags,
        services.worklist.flags_for([patient_id])[patient_id],
    )


def test_a_stay_flags_in_hospital_everywhere_pauses_the_cadence_until_discharge(desk):
    services, inbox, clock, patient_id = desk
    [kind] = [item.kind for item in row_of(services, patient_id).items]
    assert kind == DueKind.contact
    assert everywhere(services, patient_id) == ((), (), (), ())

    take(inbox, "a01_admit.hl7")
    row = row_of(services, patient_id)
    # The admission notice is on Today once, in words, with IN HOSPITAL on its row;
    # the contact due since 1 Dec is not (the cadence waits while she is in hospital).
    assert [item.kind for item in row.items] == [DueKind.task]
    assert row.why == "task due today: Admitted 05 Dec to Mercy General"
    inside = (Flag.in_hospital,)
    assert everywhere(services, patient_id) == (inside, inside, inside, inside)
    assert services.worklist.summary(patient_id).stay == HOSPITAL
    chart = services.chart.load(patient_id)
    assert chart.stay_words == HOSPITAL
    assert chart.current_encounter.diagnoses[0].display.startswith("Acute on chronic systolic")
    assert [item.what for item in chart.due_next][:1] == ["next contact (paused while in hospital)"]
    assert chart.patient.next_contact_due == date(2024, 12, 1)  # kept, not moved

    # Done by the task keys' action; she stays flagged, with nothing else on Today.
    services.worklist.done(patient_id, row.due_item)
    with Session(services.context.engine) as session:
        notice = session.execute(select(Task).where(Task.patient_id == patient_id)).scalar_one()
    assert notice.status == "completed"
    assert row_of(services, patient_id) is None
    assert services.worklist.flags_for([patient_id])[patient_id] == inside
    assert services.worklist.next_due_date(None) is None

    clock.advance(days=4)
    take(inbox, "a03_discharge.hl7")
    row = row_of(services, patient_id)
    # Home again: the TCM clocks and the contact due since 1 Dec; no IN HOSPITAL.
    assert {item.kind for item in row.items} == {DueKind.tcm, DueKind.contact}
    assert everywhere(services, patient_id) == ((Flag.tcm,),) * 4
    assert services.worklist.summary(patient_id).stay == ""
    assert services.chart.load(patient_id).current_encounter is None


def test_an_ed_visit_flags_in_hospital_without_pausing_the_cadence(desk):
    services, inbox, clock, patient_id = desk
    clock.moment = datetime(2024, 12, 21, 4, 0)
    take(inbox, "a04_ed.hl7")
    row = row_of(services, patient_id)
    assert {item.kind for item in row.items} == {DueKind.contact, DueKind.task}
    assert "Follow up ED visit of 21 Dec (by 28 Dec)" in row.why
    ed = (Flag.in_hospital,)
    assert everywhere(services, patient_id) == (ed, ed, ed, ed)
    assert services.chart.load(patient_id).stay_words == "In the ED since 21 Dec, Mercy General"


def test_the_timeline_says_each_stay_in_words_once_and_leaves_out_cancelled_ones(desk):
    services, inbox, clock, patient_id = desk
    take(inbox, "a01_admit.hl7")
    clock.advance(days=4)
    take(inbox, "a03_discharge.hl7")
    events = [
        (event.when, event.kind, event.text)
        for event in services.chart.load(patient_id).timeline
        if event.kind in ("hospital", "emergency", "discharge")
    ]
    # The discharge's TCM transition is said once, as the encounter's discharge.
    assert events == [
        (datetime(2024, 12, 9, 19, 30), "hospital", "Discharged home from Mercy General"),
        (datetime(2024, 12, 5, 15, 15), "hospital", "Admitted to Mercy General (inpatient stay)"),
    ]
    take(inbox, "a13_cancel_discharge.hl7")
    take(inbox, "a11_cancel_admit.hl7")
    timeline = services.chart.load(patient_id).timeline
    assert [event for event in timeline if event.kind in ("hospital", "discharge")] == []


def encounter(kind: EncounterClass, disposition=None, facility="Mercy General") -> EncounterRead:
    return EncounterRead(
        id=1,
        patient_id=1,
        encounter_class=kind,
        status=EncounterStatus.finished,
        facility=facility,
        admitted_at=datetime(2024, 12, 20, 22, 15),
        discharged_at=datetime(2024, 12, 21, 3, 0),
        disposition=disposition,
        source=EncounterSource.adt,
        source_key="V1",
        diagnoses=(),
        transition_id=None,
    )


@pytest.mark.parametrize(
    ("kind", "disposition", "facility", "words"),
    [
        (EncounterClass.inpatient, DischargeDisposition.home, None, "Discharged home"),
        (
            EncounterClass.observation,
            DischargeDisposition.skilled_nursing,
            "Mercy General",
            "Discharged to skilled nursing facility from Mercy General",
        ),
        (EncounterClass.inpatient, None, "Mercy General", "Discharged from Mercy General"),
        (
            EncounterClass.emergency,
            DischargeDisposition.home,
            "Mercy General",
            "Discharged home from the ED at Mercy General",
        ),
        (
            EncounterClass.inpatient,
            DischargeDisposition.against_advice,
            "Mercy General",
            "Left Mercy General against advice",
        ),
        (EncounterClass.inpatient, DischargeDisposition.expired, None, "Died"),
    ],
)
def test_discharge_words(kind, disposition, facility, words):
    assert discharge_event_words(encounter(kind, disposition, facility)) == words


def test_an_emergency_visit_and_an_observation_stay_in_words():
    [visit, left] = encounter_events(encounter(EncounterClass.emergency))
    assert (visit.kind, visit.text) == ("emergency", "Emergency visit, Mercy General")
    assert left.text == "Discharged from the ED at Mercy General"
    [stay, _] = encounter_events(encounter(EncounterClass.observation))
    assert stay.text == "Observation stay at Mercy General"


#: (days after the ED visit, with whom, outcome, whether the follow-up is completed).
FOLLOW_UPS = [
    (0, "patient", "reached", True),  # the visit day counts (HEDIS FMC: 8 days in all)
    (7, "caregiver", "reached", True),  # the 7th day after: the last one
    (8, "patient", "reached", False),  # too late
    (-1, "patient", "reached", False),  # before the visit
    (3, "patient", "no-answer", False),  # an attempt is not a follow-up
    (3, "provider", "reached", False),  # not the patient or a caregiver
]


def test_a_conversation_inside_the_fmc_window_completes_the_ed_follow_up(desk, engine):
    services, _inbox, clock, _harold = desk
    visit = datetime(2024, 12, 20, 22, 15)
    clock.moment = datetime(2024, 12, 21, 9, 0)
    patients = []
    for number, _case in enumerate(FOLLOW_UPS):
        patient = services.patients.create(f"MRN-ED-{number}", "Visit", f"Case{number}")
        with services.context.write() as session:
            change = EncounterChange(
                EncounterClass.emergency,
                EncounterSource.adt,
                f"V-ED-{number}",
                visit,
                facility="Mercy General",
                discharged_at=visit + timedelta(hours=5),
            )
            record_emergency_visit(
                session, services.context, load_patient(session, patient.id), change
            )
        patients.append(patient.id)
    clock.moment = datetime(2024, 12, 29, 18, 0)
    for patient_id, (days, with_whom, outcome, _done) in zip(patients, FOLLOW_UPS, strict=True):
        moment = datetime.combine(visit.date() + timedelta(days=days), datetime.min.time())
        services.contacts.log(patient_id, moment.replace(hour=11), "phone", with_whom, outcome, 5)
    with Session(engine) as session:
        status = dict(
            session.execute(
                select(Task.patient_id, Task.status).where(Task.patient_id.in_(patients))
            ).all()
        )
    assert [status[patient_id] for patient_id in patients] == [
        "completed" if done else "requested" for *_rest, done in FOLLOW_UPS
    ]
