"""The outcomes report on a hand-made October 2026, built through the services.

Four patients, enrolled from 1 September (Rosa's episode finished 16 October):

- Linh: admitted 3 Oct (known that day), discharged home 8 Oct; readmitted 20 Oct
  (known 22 Oct, two days late), discharged home 25 Oct (known 27 Oct). Reconciled
  9 Oct and 20 Nov; a reached call 10 Oct (before the last discharge), then only a
  voicemail and a message.
- Ada: admitted 12 Oct (known the next day), discharged to hospice 15 Oct.
- Min: an ED visit 5 Oct; an admission of 14 Oct the hospital cancelled; admitted
  28 Oct (a planned stay, known the day before), discharged home 30 Oct and reconciled
  that day; her caregiver reached on a home visit 2 Nov.
- Rosa: ED visits 10 Oct (enrolled) and 20 Oct (after her episode finished).

So: 4 index discharges, 1 readmitted (25.0 %); 2 ED visits over 109 enrolled days
(3.5 patient-months); TRC counts Linh's 25 Oct and Min's 30 Oct discharges.

The Markdown and CSV goldens are tests/golden/exports/outcomes.{md,csv}
(``NURSECASE_UPDATE_GOLDENS=1`` rewrites them when a change is meant).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime

import pytest

from nursecase.domain.codes import DischargeDisposition, EncounterClass, EncounterSource
from nursecase.services.encounters import (
    EncounterChange,
    cancel_admission,
    find_encounter,
    record_admission,
    record_discharge,
    record_emergency_visit,
)
from nursecase.services.exports import ExportService, check_request
from nursecase.services.patients import load_patient
from tests.services.test_exports import check_golden

FACILITY = "Mercy General"


def export(services, report, file_format="json", **choices) -> bytes:
    exporter = ExportService(services.context)
    stream = io.BytesIO()
    exporter.run(exporter.prepare(check_request(report, file_format, **choices)), stream)
    return stream.getvalue()


def at(day: int, month: int = 10, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour)


class Hospital:
    """Sends what an ADT feed would, each event in one transaction through the services."""

    def __init__(self, services, clock):
        self.services = services
        self.clock = clock

    def _apply(self, recorder, patient_id, change):
        self.clock.moment = max(self.clock.moment, change.known_at)
        with self.services.context.write() as session:
            recorder(session, self.services.context, load_patient(session, patient_id), change)

    def admit(self, patient_id, key, admitted, known, encounter_class=EncounterClass.inpatient):
        change = EncounterChange(
            encounter_class, EncounterSource.adt, key, admitted, FACILITY, known_at=known
        )
        recorder = record_admission
        if encounter_class == EncounterClass.emergency:
            change = EncounterChange(
                encounter_class,
                EncounterSource.adt,
                key,
                admitted,
                FACILITY,
                discharged_at=admitted.replace(hour=admitted.hour + 4),
                disposition=DischargeDisposition.home,
                known_at=known,
            )
            recorder = record_emergency_visit
        self._apply(recorder, patient_id, change)

    def discharge(self, patient_id, key, admitted, discharged, known, disposition="home"):
        change = EncounterChange(
            EncounterClass.inpatient,
            EncounterSource.adt,
            key,
            admitted,
            FACILITY,
            discharged_at=discharged,
            disposition=DischargeDisposition(disposition),
            known_at=known,
        )
        self._apply(record_discharge, patient_id, change)

    def cancel(self, patient_id, key, known):
        self.clock.moment = max(self.clock.moment, known)
        with self.services.context.write() as session:
            encounter = find_encounter(session, patient_id, EncounterSource.adt, key)
            cancel_admission(session, self.services.context, encounter)


@pytest.fixture
def october(services, clock):
    """The month above, the clock left at 27 Nov 2026 09:00 (October still provisional)."""
    clock.moment = datetime(2026, 9, 1, 8)
    linh = services.patients.create("MRN-1", "Nguyen", "Linh", birth_date="1948-03-04").id
    ada = services.patients.create("MRN-2", "Okafor", "Ada").id
    min_ = services.patients.create("MRN-3", "Park", "Min").id
    rosa = services.patients.create("MRN-4", "Diaz", "Rosa").id
    hospital = Hospital(services, clock)

    def log(patient_id, when, *contact):
        clock.moment = max(clock.moment, when)
        services.contacts.log(patient_id, when, *contact)

    def reconcile(patient_id, day, month=10):
        clock.moment = max(clock.moment, at(day, month, 17))
        services.medications.reconcile(patient_id)

    hospital.admit(linh, "V1", at(3), at(3, hour=12))
    hospital.admit(min_, "E1", at(5), at(5, hour=15), EncounterClass.emergency)
    hospital.discharge(linh, "V1", at(3), at(8), at(8, hour=15))
    reconcile(linh, 9)
    log(linh, at(10), "phone", "patient", "reached", 15)
    hospital.admit(rosa, "E2", at(10), at(10, hour=18), EncounterClass.emergency)
    hospital.admit(ada, "V2", at(12), at(13))
    hospital.admit(min_, "V3", at(14), at(14, hour=11))
    hospital.cancel(min_, "V3", at(14, hour=13))
    hospital.discharge(ada, "V2", at(12), at(15), at(15, hour=16), "hosp")
    clock.moment = at(16, hour=16)
    [episode] = services.episodes.list_for_patient(rosa)
    services.episodes.change_status(episode.id, "finished", "moved away")
    hospital.admit(linh, "V4", at(20), at(22))
    hospital.admit(rosa, "E3", at(20), at(20, hour=20), EncounterClass.emergency)
    hospital.discharge(linh, "V4", at(20), at(25), at(27))
    log(linh, at(27), "phone", "patient", "left-message", 2)
    log(linh, at(28), "message", "patient", "reached", 5)
    hospital.admit(min_, "V5", at(28), at(27, hour=16))
    hospital.discharge(min_, "V5", at(28), at(30), at(30, hour=12))
    reconcile(min_, 30)
    log(min_, at(2, 11), "home-visit", "caregiver", "reached", 45)
    reconcile(linh, 20, 11)
    clock.moment = datetime(2026, 11, 27, 9)
    return {"linh": linh, "ada": ada, "min": min_, "rosa": rosa}


FIGURES = {
    # measure: (numerator, denominator, rate, words)
    "readmissions-30-day": (1, 4, 25.0, "25.0 %"),
    "ed-visits": (2, 3.5, 568.8, "568.8 per 1,000 patient-months"),
    "admission-notification": (1, 2, 50.0, "50.0 %"),
    "discharge-information": (1, 2, 50.0, "50.0 %"),
    "patient-engagement": (1, 2, 50.0, "50.0 %"),
    "medication-reconciliation": (2, 2, 100.0, "100.0 %"),
}


def test_each_figure_and_detail_row_of_the_month(services, october, clock):
    rows = json.loads(export(services, "outcomes", month="2026-10"))
    figures = {row["measure"]: row for row in rows if row["kind"] == "figure"}
    assert list(figures) == list(FIGURES)
    for measure, (numerator, denominator, rate, words) in FIGURES.items():
        row = figures[measure]
        assert (row["numerator"], row["denominator"], row["rate"], row["rate_text"]) == (
            numerator,
            denominator,
            rate,
            words,
        ), measure
        assert row["provisional"] is True and row["month"] == "2026-10"
    assert figures["readmissions-30-day"]["measure_label"] == "30-day readmissions"

    discharges = [row for row in rows if row["kind"] == "discharge"]
    assert [(row["mrn"], row["discharged"], row["readmitted"]) for row in discharges] == [
        ("MRN-1", "2026-10-08", "2026-10-20"),
        ("MRN-2", "2026-10-15", None),
        ("MRN-1", "2026-10-25", None),
        ("MRN-3", "2026-10-30", None),
    ]
    trc = [
        (
            row["transitions_of_care"],
            row["admission_notification"],
            row["discharge_information"],
            row["patient_engagement"],
            row["medication_reconciliation"],
        )
        for row in discharges
    ]
    assert trc == [
        ("Not counted: another stay within 30 days, the last discharge counts", *[None] * 4),
        ("Not counted: discharged to hospice", *[None] * 4),
        ("Counted", False, False, False, True),
        ("Counted", True, True, True, True),
    ]
    assert (discharges[1]["disposition"], discharges[1]["disposition_label"]) == (
        "hosp",
        "Hospice",
    )
    # Rosa's visit after her episode finished is not an enrolled patient's visit.
    assert [(row["mrn"], row["admitted"]) for row in rows if row["kind"] == "ed-visit"] == [
        ("MRN-3", "2026-10-05"),
        ("MRN-4", "2026-10-10"),
    ]

    # The goldens: words for people (Markdown), codes and labels for machines (CSV).
    markdown = export(services, "outcomes", "md", month="2026-10")
    check_golden("outcomes.md", markdown)
    check_golden("outcomes.csv", export(services, "outcomes", "csv", month="2026-10"))
    text = markdown.decode()
    assert "| Notification of inpatient admission | 1 met | 2 discharges | 50.0 % |" in text
    assert "Provisional: the 30-day windows of the month's discharges are open until" in text
    assert "| hosp" not in text and "readmissions-30-day" not in text
    assert export(services, "outcomes", "pdf", month="2026-10").startswith(b"%PDF")

    # September, once its windows closed: no discharges reads so, never 0 %.
    clock.moment = datetime(2026, 12, 1, 9)
    data = export(services, "outcomes", "csv", month="2026-09").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(data, newline="")))
    words = {row["Measure"]: row["Rate in words"] for row in rows if row["Row"] == "figure"}
    assert words["readmissions-30-day"] == "no discharges"
    assert words["patient-engagement"] == "no discharges"
    # Enrolled all of September (30 days each): 4 patient-months and no ED visit.
    assert words["ed-visits"] == "0.0 per 1,000 patient-months"
    assert {row["Provisional"] for row in rows} == {"no"}
    assert "0.0 %" not in data and "Measure label" in data


def test_the_supervisor_report_has_the_month_s_figures_short(services, october, clock):
    clock.moment = datetime(2026, 10, 31, 18)  # the supervisor report covers its date's month
    markdown = export(services, "supervisor", "md").decode()
    section = markdown.split("## Hospital outcomes, October 2026", 1)[1]
    assert "Provisional: the 30-day windows" in section
    assert "nursecase export outcomes --month 2026-10" in section
    for line in (
        "| 30-day readmissions | 1 readmitted | 4 index discharges | 25.0 % |",
        "| ED visits per 1,000 patient-months | 2 ED visits | 3.5 patient-months |",
        # Linh's reconciliation of 20 Nov is on the record already (the clock went back).
        "| Medication reconciliation post-discharge | 2 met | 2 discharges | 100.0 % |",
    ):
        assert line in section
    # CSV and JSON stay the overdue list.
    assert b"30-day readmissions" not in export(services, "supervisor", "csv")


def test_outcomes_refuse_a_span_of_days_and_one_patient():
    from nursecase.domain.validation import ValidationError

    with pytest.raises(ValidationError) as caught:
        check_request("outcomes", date_from="2026-10-01", date_to="2026-10-31")
    assert (caught.value.field, caught.value.message) == (
        "from",
        "the outcomes report covers one month; give --month YYYY-MM",
    )
    with pytest.raises(ValidationError) as caught:
        check_request("outcomes", patient_mrn="MRN-1")
    assert caught.value.field == "patient"
    assert check_request("outcomes", month="2026-10").period.start == date(2026, 10, 1)
