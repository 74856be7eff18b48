"""Hospital events for the demo: a stay now, an ED visit, a readmission, two unmatched messages.

``seed_hospital_events(engine, clock)`` runs after ``demo.seed_database`` when
``nursecase demo`` starts. It writes HL7 v2 ADT messages as a hospital's
interface engine would send them and passes each through the ADT inbox
(``services.adt``: received, filed, acknowledged and applied in order), on a
clock set to the moment the hospital sent it, so every record obeys the same
rules as the live feed and the timeliness the outcomes count is honest.
Among the demo nurse's patients:

- one in hospital now, admitted 2 days ago to Mercy General (its admission
  notice is on Today, and the header says "In hospital since ...");
- one seen in the emergency department 3 days ago (its follow-up, due within 7
  days, is on Today);
- one readmitted: discharged home 20 days ago, admitted again 6 days ago and
  discharged yesterday, so TCM and READMISSION show;
- two messages that wait on the Hospital messages screen: one for an MRN
  nursecase does not know, one whose MRN is a patient's with another birth date.

Deterministic: the same patients (the demo nurse's first, by id, with no stay
or discharge of their own) and the same messages for the same day. Fixed
control ids make a second run (``seed --add``) a repeat the inbox acknowledges
and files no second time. Kept out of ``seed_database``, whose bulk rows are
reproducible to the byte: the services seal their audit events under the
database's key. This module imports no Textual.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import Engine, exists, select
from sqlmodel import col

from nursecase.clock import Clock, FrozenClock
from nursecase.db.models import Encounter, Nurse, Patient, Transition
from nursecase.demo import demo_nurse_username
from nursecase.services import make_services

#: The facility the demo's hospital names in PV1-3.
HOSPITAL = "Mercy General"
#: MSH-3/MSH-4: the hospital's ADT system and its assigning authority.
SENDER = "EPICADT|MERCY"
#: How many of the demo nurse's patients the events need (stay, ED visit, readmission,
#: and one whose MRN the mismatched message carries).
PATIENTS_NEEDED = 4


@dataclass(frozen=True)
class Visit:
    """What one ADT message says of one patient's visit."""

    mrn: str
    family_name: str
    given_name: str
    birth_date: date | None
    #: PV1-2: I inpatient, E emergency.
    patient_class: str
    #: PV1-19, the hospital's visit number.
    visit_number: str
    admitted_at: datetime
    discharged_at: datetime | None = None
    #: PV1-36, HL7 table 0112 ("01" discharged home).
    disposition: str = ""
    #: (ICD-10-CM code, words) for DG1.
    diagnosis: tuple[str, str] | None = None


def hl7_time(moment: datetime) -> str:
    """An HL7 DTM without an offset: read as the workstation's local time, as the clock is."""
    return f"{moment:%Y%m%d%H%M%S}"


def adt_message(event: str, control_id: str, sent_at: datetime, visit: Visit) -> str:
    """One ADT message (segments ended by \\r), as HL7 v2.5.1 chapter 3 lays them out."""
    born = f"{visit.birth_date:%Y%m%d}" if visit.birth_date else ""
    # PV1-3: point of care^room^bed^facility.
    location = f"ED^^^{HOSPITAL}" if visit.patient_class == "E" else f"4W^412^B^{HOSPITAL}"
    pv1 = [""] * 46
    pv1[1] = "1"
    pv1[2] = visit.patient_class
    pv1[3] = location
    pv1[4] = "E"
    pv1[19] = f"{visit.visit_number}^^^MERCY^VN"
    pv1[36] = visit.disposition
    pv1[44] = hl7_time(visit.admitted_at)
    pv1[45] = hl7_time(visit.discharged_at) if visit.discharged_at else ""
    segments = [
        f"MSH|^~\\&|{SENDER}|NURSECASE|CLINIC|{hl7_time(sent_at)}||ADT^{event}^ADT_A01"
        f"|{control_id}|P|2.5.1",
        f"EVN|{event}|{hl7_time(sent_at)}",
        f"PID|1||{visit.mrn}^^^MERCY^MR||{visit.family_name}^{visit.given_name}||{born}",
        "PV1|" + "|".join(pv1[1:]).rstrip("|"),
    ]
    if visit.diagnosis is not None:
        code, words = visit.diagnosis
        segments.append(f"DG1|1||{code}^{words}^I10||{visit.admitted_at:%Y%m%d}|A")
    return "\r".join(segments) + "\r"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A moment on a day."""
    return datetime.combine(day, time(hour, minute))


@dataclass(frozen=True)
class DemoPatient:
    """Who a demo message is about, as the hospital knows her."""

    mrn: str
    family_name: str
    given_name: str
    birth_date: date | None


def chosen_patients(engine: Engine, username: str | None) -> list[DemoPatient]:
    """The demo nurse's first patients (by id) with no stay or discharge on file."""
    with engine.connect() as connection:
        statement = (
            select(
                col(Patient.mrn),
                col(Patient.family_name),
                col(Patient.given_name),
                col(Patient.birth_date),
            )
            .where(
                ~exists().where(col(Transition.patient_id) == col(Patient.id)),
                ~exists().where(col(Encounter.patient_id) == col(Patient.id)),
            )
            .order_by(col(Patient.id))
            .limit(PATIENTS_NEEDED)
        )
        if username is not None:
            nurse_id = connection.execute(
                select(col(Nurse.id)).where(col(Nurse.username) == username)
            ).scalar()
            statement = statement.where(col(Patient.nurse_id) == nurse_id)
        return [DemoPatient(*row) for row in connection.execute(statement)]


def demo_messages(patients: list[DemoPatient], today: date) -> list[tuple[datetime, str]]:
    """(when the hospital sent it, the message), oldest first, for as many patients as there are."""
    messages: list[tuple[datetime, str]] = []

    def visit_of(patient: DemoPatient, **facts) -> Visit:
        return Visit(
            mrn=patient.mrn,
            family_name=patient.family_name,
            given_name=patient.given_name,
            birth_date=patient.birth_date,
            **facts,
        )

    def day(offset: int) -> date:
        return today - timedelta(days=offset)

    if len(patients) >= 3:
        readmitted = patients[2]
        first = visit_of(
            readmitted,
            patient_class="I",
            visit_number="V-DEMO-0301",
            admitted_at=at(day(24), 15, 40),
            diagnosis=("I50.23", "Acute on chronic systolic (congestive) heart failure"),
        )
        messages.append(
            (at(day(24), 15, 45), adt_message("A01", "DEMO-0301", at(day(24), 15, 45), first))
        )
        home = replace(first, discharged_at=at(day(20), 11, 30), disposition="01")
        messages.append(
            (at(day(20), 11, 35), adt_message("A03", "DEMO-0302", at(day(20), 11, 35), home))
        )
        again = visit_of(
            readmitted,
            patient_class="I",
            visit_number="V-DEMO-0303",
            admitted_at=at(day(6), 21, 5),
            diagnosis=("J18.9", "Pneumonia, unspecified organism"),
        )
        messages.append(
            (at(day(6), 21, 10), adt_message("A01", "DEMO-0303", at(day(6), 21, 10), again))
        )
        home_again = replace(again, discharged_at=at(day(1), 13, 20), disposition="01")
        messages.append(
            (at(day(1), 13, 25), adt_message("A03", "DEMO-0304", at(day(1), 13, 25), home_again))
        )
    if len(patients) >= 2:
        emergency = visit_of(
            patients[1],
            patient_class="E",
            visit_number="V-DEMO-0201",
            admitted_at=at(day(3), 22, 15),
            discharged_at=at(day(2), 1, 40),
            diagnosis=("R06.02", "Shortness of breath"),
        )
        # Registered when she left (some EDs send A04 then, with the discharge time).
        messages.append(
            (at(day(2), 1, 45), adt_message("A04", "DEMO-0201", at(day(2), 1, 45), emergency))
        )
    if patients:
        stay = visit_of(
            patients[0],
            patient_class="I",
            visit_number="V-DEMO-0101",
            admitted_at=at(day(2), 14, 20),
            diagnosis=("I50.23", "Acute on chronic systolic (congestive) heart failure"),
        )
        messages.append(
            (at(day(2), 14, 25), adt_message("A01", "DEMO-0101", at(day(2), 14, 25), stay))
        )
    # Waiting for a nurse: a patient nursecase does not know...
    stranger = Visit(
        mrn="H-40721",
        family_name="Okonkwo-Berg",
        given_name="Beatrix",
        birth_date=date(1956, 11, 30),
        patient_class="I",
        visit_number="V-DEMO-0401",
        admitted_at=at(day(1), 16, 20),
    )
    messages.append(
        (at(day(1), 16, 45), adt_message("A01", "DEMO-0401", at(day(1), 16, 45), stranger))
    )
    # ...and an MRN that is one of hers, with another birth date (two systems' numbers collide).
    if len(patients) >= PATIENTS_NEEDED:
        namesake = patients[3]
        born = namesake.birth_date or date(1950, 1, 1)
        other = replace(
            visit_of(
                namesake,
                patient_class="I",
                visit_number="V-DEMO-0501",
                admitted_at=at(day(1), 23, 5),
            ),
            birth_date=date(born.year - 9, born.month, min(born.day, 28)),
        )
        sent = at(day(1), 23, 40)
        messages.append((sent, adt_message("A01", "DEMO-0501", sent, other)))
    return sorted(messages, key=lambda pair: pair[0])


def seed_hospital_events(engine: Engine, clock: Clock) -> int:
    """Pass the demo's ADT messages through the inbox, each at its moment; how many were filed."""
    now = clock.now()
    patients = chosen_patients(engine, demo_nurse_username(engine))
    moving = FrozenClock(now)
    services = make_services(engine, moving)
    inbox = services.adt
    filed = 0
    for sent_at, text in demo_messages(patients, clock.today()):
        moving.moment = min(sent_at, now)
        receipt = inbox.receive(text)
        filed += not receipt.repeat
        inbox.apply_pending()
    return filed
