"""The ADT inbox: each sample message received, acknowledged and applied, asserted in the database.

The messages are tests/data/hl7/ (hand-written, see its README): Harold
Lindqvist's stay of 5-9 December 2024 at Mercy General, an ED visit on 20
December that became a stay, a readmission on 30 December. The clock is frozen
on the days they arrive; times are read in UTC (the messages say -0500).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from nursecase.clock import FrozenClock
from nursecase.db.models import AdtMessage, Encounter, ExternalIdentifier, Task, Transition
from nursecase.domain.adt import split_messages
from nursecase.domain.codes import AdtMessageStatus, TaskStatus
from nursecase.services import make_services
from nursecase.services.adt_inbox import AdtInbox
from nursecase.services.errors import ValidationError

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "hl7"
MRN = "MRN-ADT-0001"


def sample(name: str) -> str:
    return (SAMPLES / name).read_bytes().decode("utf-8")


@pytest.fixture
def desk(engine):
    """(services, inbox, clock, patient id): Harold on the caseload, the clock on 5 Dec 2024."""
    clock = FrozenClock(datetime(2024, 12, 5, 16, 0))
    services = make_services(engine, clock)
    services.nurses.create("alice", "Alice Moreno", "RN, CCM")
    services.nurses.sign_in("alice")
    patient = services.patients.create(MRN, "Lindqvist", "Harold", birth_date="1948-03-12")
    inbox = AdtInbox(services.context, zone=UTC)
    return services, inbox, clock, patient.id


def take(inbox: AdtInbox, text: str):
    """Receive a message and apply what is pending; the receipt."""
    receipt = inbox.receive(text)
    inbox.apply_pending()
    return receipt


def rows(engine, model, **where):
    with Session(engine) as session:
        statement = select(model).filter_by(**where).order_by(model.id)
        return list(session.execute(statement).scalars())


def message_row(engine, message_id: int) -> AdtMessage:
    [row] = rows(engine, AdtMessage, id=message_id)
    return row


def open_tasks(engine, patient_id: int) -> list[Task]:
    return [
        task
        for task in rows(engine, Task, patient_id=patient_id)
        if task.status == str(TaskStatus.requested)
    ]


def test_an_admission_is_filed_before_its_ack_applied_and_noticed_once(desk, engine):
    services, inbox, _clock, patient_id = desk
    receipt = inbox.receive(sample("a01_admit.hl7"))
    assert receipt.ack_code == "AA" and not receipt.repeat
    assert "MSA|AA|MERCY-20241205-000101" in receipt.acknowledgement
    # Filed (committed) before anything is applied.
    filed = message_row(engine, receipt.message_id)
    assert filed.status == "received" and filed.raw == sample("a01_admit.hl7")
    assert inbox.apply_pending() == 1
    [encounter] = rows(engine, Encounter, patient_id=patient_id)
    assert (encounter.encounter_class, encounter.status) == ("IMP", "in-progress")
    assert encounter.facility == "Mercy General"
    assert encounter.admitted_at == datetime(2024, 12, 5, 15, 15)  # 10:15 -0500 in UTC
    stay = services.encounters.current(patient_id)
    assert stay is not None and [d.code for d in stay.diagnoses] == ["I50.23", "N18.30", "E11.9"]
    [notice] = open_tasks(engine, patient_id)
    assert notice.description == "Admitted 05 Dec to Mercy General"
    assert (notice.source, notice.due_date) == ("encounter", date(2024, 12, 5))
    assert message_row(engine, receipt.message_id).status == "applied"
    # An update changes the stay (bed, a fourth diagnosis), never adds a second notice.
    assert take(inbox, sample("a08_update.hl7")).ack_code == "AA"
    assert len(open_tasks(engine, patient_id)) == 1
    assert len(services.encounters.current(patient_id).diagnoses) == 4


def test_the_same_control_id_twice_is_acknowledged_and_applied_once(desk, engine):
    _services, inbox, _clock, patient_id = desk
    first = take(inbox, sample("a01_admit.hl7"))
    again = take(inbox, sample("a01_admit.hl7"))
    assert again.repeat and again.ack_code == "AA" and again.message_id == first.message_id
    assert "MSA|AA|MERCY-20241205-000101" in again.acknowledgement
    assert len(rows(engine, AdtMessage)) == 1
    assert len(rows(engine, Encounter, patient_id=patient_id)) == 1
    assert len(open_tasks(engine, patient_id)) == 1


def test_a_discharge_home_starts_the_tcm_clocks_and_a_cancelled_one_takes_them_back(desk, engine):
    services, inbox, clock, patient_id = desk
    take(inbox, sample("a01_admit.hl7"))
    clock.advance(days=4)
    assert take(inbox, sample("a03_discharge.hl7")).ack_code == "AA"
    [encounter] = rows(engine, Encounter, patient_id=patient_id)
    assert (encounter.status, encounter.disposition) == ("finished", "home")  # 06: home health
    [transition] = rows(engine, Transition, patient_id=patient_id)
    assert encounter.transition_id == transition.id
    assert (transition.discharged_on, transition.length_of_stay_days) == (date(2024, 12, 9), 4)
    descriptions = sorted(task.description for task in open_tasks(engine, patient_id))
    assert descriptions == ["TCM face-to-face visit", "TCM interactive contact"]
    # The admission notice was settled by the discharge.
    [notice] = [t for t in rows(engine, Task, patient_id=patient_id) if t.source == "encounter"]
    assert notice.status == "completed"
    assert services.encounters.current(patient_id) is None

    assert take(inbox, sample("a13_cancel_discharge.hl7")).ack_code == "AA"
    [encounter] = rows(engine, Encounter, patient_id=patient_id)
    assert (encounter.status, encounter.discharged_at, encounter.transition_id) == (
        "in-progress",
        None,
        None,
    )
    assert rows(engine, Transition, patient_id=patient_id) == []
    tcm = [t for t in rows(engine, Task, patient_id=patient_id) if t.source == "transition-clock"]
    assert {task.status for task in tcm} == {"cancelled"}
    assert {task.snooze_reason for task in tcm} == {"discharge cancelled by the hospital"}
    assert services.encounters.current(patient_id) is not None


def test_a_cancelled_admission_takes_the_patient_out_of_hospital(desk, engine):
    services, inbox, _clock, patient_id = desk
    take(inbox, sample("a01_admit.hl7"))
    assert take(inbox, sample("a11_cancel_admit.hl7")).ack_code == "AA"
    [encounter] = rows(engine, Encounter, patient_id=patient_id)
    assert encounter.status == "cancelled"
    assert services.encounters.current(patient_id) is None
    assert open_tasks(engine, patient_id) == []


def test_an_ed_visit_puts_its_follow_up_on_today_and_a_clinic_visit_does_nothing(desk, engine):
    _services, inbox, clock, patient_id = desk
    clock.advance(days=15)  # 20 Dec
    assert take(inbox, sample("a04_ed.hl7")).ack_code == "AA"
    [visit] = rows(engine, Encounter, patient_id=patient_id)
    assert visit.encounter_class == "EMER"
    [follow_up] = open_tasks(engine, patient_id)
    assert follow_up.description == "Follow up ED visit of 21 Dec (by 28 Dec)"
    clinic = take(inbox, sample("a04_clinic.hl7"))
    assert clinic.ack_code == "AA"
    row = message_row(engine, clinic.message_id)
    assert (row.status, row.reason) == ("ignored", "a registration that is not an emergency visit")
    # The ED visit became a stay (A06): the stay's notice replaces the visit's follow-up.
    take(inbox, sample("a06.hl7"))
    [visit] = rows(engine, Encounter, patient_id=patient_id)
    assert (visit.encounter_class, visit.status) == ("IMP", "in-progress")
    assert [task.description for task in open_tasks(engine, patient_id)] == [
        "Admitted 21 Dec to Mercy General"
    ]


def test_a_message_that_cannot_be_read_is_filed_and_answered_ar_with_the_reason(desk, engine):
    _services, inbox, _clock, _patient_id = desk
    receipt = take(inbox, sample("malformed.hl7"))
    assert receipt.ack_code == "AR"
    assert "MSA|AR|" in receipt.acknowledgement and "\rERR|" in receipt.acknowledgement
    row = message_row(engine, receipt.message_id)
    assert row.status == "error" and row.reason and "MSH-10" in row.reason
    assert row.raw == sample("malformed.hl7")
    # Another unreadable message is filed too (it has no control id to be a repeat of).
    assert take(inbox, "garbage").ack_code == "AR"
    assert len(rows(engine, AdtMessage)) == 2


def test_an_unknown_mrn_waits_for_a_nurse_who_matches_it_once_for_good(desk, engine):
    services, inbox, _clock, patient_id = desk
    receipt = take(inbox, sample("unknown_mrn.hl7"))
    assert receipt.ack_code == "AA"
    [waiting] = inbox.waiting()
    assert (waiting.event_words, waiting.identifier, waiting.status) == (
        "Admission",
        "H99999",
        AdtMessageStatus.unmatched,
    )
    assert rows(engine, Encounter) == []
    assert inbox.counts().of(AdtMessageStatus.unmatched) == 1
    # Matched to Harold: applied, and the hospital's number is kept for next time.
    assert inbox.match(waiting.id, patient_id) == 1
    assert len(rows(engine, Encounter, patient_id=patient_id)) == 1
    [kept] = rows(engine, ExternalIdentifier, patient_id=patient_id)
    assert (kept.system, kept.value) == ("MERCY", "H99999")
    # Every step is on the audit trail, field names only.
    events = {
        (event.action, event.entity, event.entity_id)
        for event in services.audit.list_events(limit=100)
    }
    assert ("create", "adt_message", waiting.id) in events
    assert ("update", "adt_message", waiting.id) in events
    assert ("create", "external_identifier", kept.id) in events
    later = sample("unknown_mrn.hl7").replace("MERCY-20241211-000301", "MERCY-20241211-000302")
    take(inbox, later.replace("ADT^A01^ADT_A01", "ADT^A08^ADT_A01").replace("EVN|A01", "EVN|A08"))
    assert inbox.waiting() == []
    with pytest.raises(ValidationError, match="not waiting to be matched"):
        inbox.match(waiting.id, patient_id)


def test_an_mrn_of_a_patient_with_another_birth_date_is_not_taken_as_hers(desk, engine):
    services, inbox, _clock, _patient_id = desk
    other = sample("a01_admit.hl7").replace("19480312", "19510101")
    receipt = take(inbox, other)
    row = message_row(engine, receipt.message_id)
    assert (row.status, row.reason) == (
        "unmatched",
        "the identifier is a patient's with another birth date",
    )
    inbox.dismiss(receipt.message_id, "not our patient: another Harold")
    assert message_row(engine, receipt.message_id).status == "dismissed"
    with pytest.raises(ValidationError, match="Reason is required"):
        inbox.dismiss(receipt.message_id, " ")


def test_a_discharge_within_30_days_of_the_last_is_a_readmission(desk, engine):
    services, inbox, clock, patient_id = desk
    take(inbox, sample("a01_admit.hl7"))
    clock.advance(days=4)
    take(inbox, sample("a03_discharge.hl7"))
    clock.advance(days=25)  # 3 Jan 2025
    for text in split_messages(sample("batch.hl7")):
        assert take(inbox, text).ack_code == "AA"
    transitions = rows(engine, Transition, patient_id=patient_id)
    assert [t.discharged_on for t in transitions] == [date(2024, 12, 9), date(2025, 1, 2)]
    assert transitions[0].superseded_on == date(2025, 1, 2)
    flags = services.worklist.flags_for([patient_id])[patient_id]
    assert "readmission" in {str(flag) for flag in flags}
