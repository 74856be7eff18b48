"""The outcomes report: a month's readmissions, ED visits and transitions of care (issue 21).

The rules are ``nursecase.domain.outcomes`` (its docstring cites each
measure: CMS/NCQA HEDIS Plan All-Cause Readmissions for the 30-day
readmissions, NCQA HEDIS Transitions of Care for the four TRC rates). This
module gathers, in the report's one read session, the facts those rules take:

- the stays: the inpatient (IMP) and emergency (EMER) encounters of the
  scope's patients from 31 days before the month to 31 days after it (a
  readmission, a transfer or a later discharge of the same chain can fall
  there), cancelled and entered-in-error ones left out;
- the engagement days: contacts that count as patient engagement after a
  discharge. HEDIS TRC "Patient Engagement After Inpatient Discharge" counts
  "office visits, visits to the home, telehealth" and a telephone visit with
  real-time interaction, with the patient, or with the caregiver when the
  patient cannot communicate. So: a phone call, home visit, clinic visit or
  telehealth visit with the patient or a caregiver in which the person was
  reached (or was reached and agreed to a visit). A voicemail, a missed call,
  a message (not real-time) or a case conference (the patient is not there)
  is not engagement;
- the medication reconciliation days (the ``medication_reconciliation``
  table: one row per reconciliation, so any month can be counted);
- the enrolled days of each patient in the month, from the episodes' status
  history: a day counts when an episode of the patient was *active* at some
  moment of it (on hold, planned or waiting is not enrolled), up to today for
  the month in progress. Patient-months are these days over the days of the
  month (member-months, as the ED rate of HEDIS "Ambulatory Care" counts them);
- the notification window, ``Settings.notification_days`` ([adt] in
  config.toml; 1 by default).

Who counts: the discharges of every patient in the scope (the exporting
nurse's patients, or every nurse's with ``--all``), whether or not the
patient's episode was active that day: a patient referred to case management
at discharge is enrolled after it, and the transitions-of-care work is still
the team's. The ED rate is the exception: its denominator is enrolled time,
so only ED visits on a day the patient was enrolled are counted, numerator
and denominator from the same patient-days.

CSV and JSON are one flat table: six "figure" rows (measure key and label,
numerator, denominator, rate), then a "discharge" row per index discharge
(whether it was readmitted, whether it counts for transitions of care and
which of the four items were met) and an "ed-visit" row per ED visit counted.
Markdown and PDF lay the same out in words.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from nursecase.db.models import (
    Contact,
    Encounter,
    Episode,
    EpisodeStatusHistory,
    MedicationReconciliation,
    Nurse,
    Patient,
)
from nursecase.domain.codes import (
    ContactMode,
    ContactOutcome,
    ContactWith,
    DischargeDisposition,
    EncounterClass,
    EncounterStatus,
    EpisodeStatus,
    label_of,
)
from nursecase.domain.outcomes import (
    FOLLOW_UP_DAYS,
    MonthOutcomes,
    Rate,
    StayFacts,
    last_day_of_month,
    month_outcomes,
)
from nursecase.reports.document import Block, BulletList, Document, Heading, Paragraph, Table
from nursecase.reports.tables import Column, plain_text
from nursecase.services.context import ServiceContext
from nursecase.services.exports.common import (
    ExportScope,
    Report,
    as_date,
    as_datetime,
    chunks,
    person_name,
)

#: HEDIS TRC patient engagement: an office or home visit, telehealth, or a telephone
#: visit with real-time interaction; a message or a case conference is not one.
ENGAGEMENT_MODES = (
    ContactMode.phone,
    ContactMode.home_visit,
    ContactMode.clinic_visit,
    ContactMode.telehealth,
)
#: With the patient, or the caregiver (HEDIS TRC: when the patient cannot communicate).
ENGAGEMENT_WITH = (ContactWith.patient, ContactWith.caregiver)
#: The person was reached: a conversation took place (a voicemail is not engagement).
ENGAGEMENT_OUTCOMES = (ContactOutcome.reached, ContactOutcome.agreed_to_visit)
#: The episode status that makes a day an enrolled day.
ENROLLED_STATUS = EpisodeStatus.active
#: The stays read around the month: a chain, a transfer or a readmission can reach this far.
AROUND_DAYS = FOLLOW_UP_DAYS + 1

_VOID_CODES = (str(EncounterStatus.cancelled), str(EncounterStatus.entered_in_error))
_STAY_CLASSES = (str(EncounterClass.inpatient), str(EncounterClass.emergency))

#: The report's figures: key (CSV and JSON) -> words (Markdown, PDF and the label column).
MEASURES: dict[str, str] = {
    "readmissions-30-day": "30-day readmissions",
    "ed-visits": "ED visits per 1,000 patient-months",
    "admission-notification": "Notification of inpatient admission",
    "discharge-information": "Receipt of discharge information",
    "patient-engagement": "Patient engagement after inpatient discharge",
    "medication-reconciliation": "Medication reconciliation post-discharge",
}
#: The four transitions-of-care items, in the measure's order.
TRC_MEASURES = (
    "admission-notification",
    "discharge-information",
    "patient-engagement",
    "medication-reconciliation",
)
#: How each figure is counted, for the printed report (sources in domain.outcomes).
HOW_COUNTED = (
    "30-day readmissions (HEDIS Plan All-Cause Readmissions): inpatient discharges of the"
    " month, not ending in death, a direct transfer counted as one stay; readmitted when"
    " admitted again 1 to 30 days after the discharge day.",
    "ED visits per 1,000 patient-months: emergency visits begun in the month on a day the"
    " patient was enrolled, over the enrolled days divided by the days in the month.",
    "Transitions of care (HEDIS TRC): inpatient discharges of the month, except deaths and"
    " discharges to hospice; a discharge followed by another stay within 30 days counts as"
    " the last discharge. Notification of admission and receipt of discharge information:"
    " learned of on {days} (a planned admission known before it counts too). Patient"
    " engagement: a reached phone call, home, clinic or telehealth visit with the patient"
    " or a caregiver 1 to 30 days after discharge. Medication reconciliation: on the"
    " discharge day through 30 days after.",
)

NO_DISCHARGES = "no discharges"
NO_PATIENT_MONTHS = "no enrolled patients"
MET = "Met"
NOT_MET = "Not met"
COUNTED = "Counted"
NOT_COUNTED_HOSPICE = "Not counted: discharged to hospice"
NOT_COUNTED_READMITTED = "Not counted: another stay within 30 days, the last discharge counts"

COLUMNS = (
    Column("month", "Month", trusted=True),
    Column("kind", "Row", trusted=True),
    Column("measure", "Measure", words=MEASURES.__getitem__, trusted=True),
    Column("numerator", "Numerator", trusted=True),
    Column("denominator", "Denominator", trusted=True),
    Column("rate", "Rate", trusted=True),
    Column("rate_unit", "Rate unit", trusted=True),
    Column("rate_text", "Rate in words", trusted=True),
    # Booleans: not "trusted", so the CSV writer spells them yes/no.
    Column("provisional", "Provisional"),
    Column("mrn", "MRN"),
    Column("patient", "Patient"),
    Column("nurse", "Nurse"),
    Column("facility", "Facility"),
    Column("admitted", "Admitted", trusted=True),
    Column("discharged", "Discharged", trusted=True),
    Column(
        "disposition",
        "Discharge disposition",
        words=lambda code: label_of(DischargeDisposition, code),
    ),
    Column("readmitted", "Readmitted on", trusted=True),
    Column("transitions_of_care", "Transitions of care", trusted=True),
    *(Column(key.replace("-", "_"), MEASURES[key]) for key in TRC_MEASURES),
)

PERCENT = "percent"
PER_1000 = "per 1,000 patient-months"


@dataclass(frozen=True)
class StayPerson:
    """Whose stay an encounter is, and where: the words a detail row shows."""

    mrn: str
    patient: str
    nurse: str | None
    facility: str | None


@dataclass(frozen=True)
class Figure:
    """One figure of the report: a measure's numerator over its denominator."""

    key: str
    numerator: int
    #: Discharges (a whole number) or patient-months (a decimal).
    denominator: float
    #: Percent, or ED visits per 1,000 patient-months; None without a denominator.
    rate: float | None
    unit: str
    #: "25.0 %", "212.8 per 1,000 patient-months", "no discharges".
    rate_text: str
    #: "1 readmitted", "2 ED visits".
    numerator_text: str
    #: "4 index discharges", "9.4 patient-months".
    denominator_text: str

    @property
    def label(self) -> str:
        """The measure in words."""
        return MEASURES[self.key]


@dataclass(frozen=True)
class OutcomesOfMonth:
    """A month's outcomes with what the detail rows need."""

    outcomes: MonthOutcomes
    #: The encounters read, by id.
    stays: Mapping[int, StayFacts]
    people: Mapping[int, StayPerson]
    notification_days: int

    @property
    def month(self) -> date:
        """The first day of the month."""
        return self.outcomes.month

    @property
    def windows_close_on(self) -> date:
        """The last day a 30-day window of the month's discharges is open."""
        return last_day_of_month(self.month) + timedelta(days=FOLLOW_UP_DAYS)


# ------------------------------------------------------------------ gathering


def gather_outcomes(
    session: Session, scope: ExportScope, context: ServiceContext, month: date
) -> OutcomesOfMonth:
    """Read the facts of ``month`` (any day of it) for the scope and compute its outcomes."""
    first = month.replace(day=1)
    last = last_day_of_month(first)
    stays, people = _stays(session, scope, first, last)
    patient_ids = sorted({stay.patient_id for stay in stays})
    window_start = first
    window_end = last + timedelta(days=AROUND_DAYS)
    engagements = _engagement_days(session, patient_ids, window_start, window_end)
    reconciliations = _reconciliation_days(session, patient_ids, window_start, window_end)
    enrolled = enrolled_days(session, scope, first, min(last, scope.today))
    # ED visits per enrolled patient-month: only visits on an enrolled day count.
    enrolled_on = enrolled.days
    counted = [
        stay
        for stay in stays
        if stay.encounter_class != EncounterClass.emergency
        or stay.admitted_on in enrolled_on.get(stay.patient_id, ())
    ]
    days = context.settings.notification_days
    outcomes = month_outcomes(
        first,
        scope.today,
        counted,
        engagements,
        reconciliations,
        {patient_id: len(on) for patient_id, on in enrolled_on.items()},
        notification_days=days,
    )
    return OutcomesOfMonth(
        outcomes=outcomes,
        stays={stay.encounter_id: stay for stay in counted},
        people=people,
        notification_days=days,
    )


def _stays(
    session: Session, scope: ExportScope, first: date, last: date
) -> tuple[list[StayFacts], dict[int, StayPerson]]:
    """The IMP and EMER encounters of the scope's patients that can matter to the month."""
    earliest = datetime.combine(first - timedelta(days=AROUND_DAYS), datetime.min.time())
    after = datetime.combine(last + timedelta(days=AROUND_DAYS + 1), datetime.min.time())
    rows = session.execute(
        select(
            Encounter.id,
            Encounter.patient_id,
            Encounter.encounter_class,
            Encounter.admitted_at,
            Encounter.discharged_at,
            Encounter.disposition,
            Encounter.admission_known_at,
            Encounter.discharge_known_at,
            Encounter.facility,
            Patient.mrn,
            Patient.family_name,
            Patient.given_name,
            Nurse.display_name,
        )
        .join(Patient, Patient.id == Encounter.patient_id)
        .outerjoin(Nurse, Nurse.id == Patient.nurse_id)
        .where(
            Encounter.encounter_class.in_(_STAY_CLASSES),
            Encounter.status.not_in(_VOID_CODES),
            Encounter.admitted_at < after,
            or_(Encounter.discharged_at.is_(None), Encounter.discharged_at >= earliest),
            *scope.patient_filter(Patient.id, Patient.nurse_id),
        )
        .order_by(Encounter.patient_id, Encounter.admitted_at, Encounter.id)
    ).all()
    stays = []
    people = {}
    for row in rows:
        admitted_at = as_datetime(row.admitted_at)
        assert admitted_at is not None  # a required column
        stays.append(
            StayFacts(
                encounter_id=row.id,
                patient_id=row.patient_id,
                encounter_class=EncounterClass(row.encounter_class),
                admitted_at=admitted_at,
                discharged_at=as_datetime(row.discharged_at),
                disposition=_disposition(row.disposition),
                admission_known_at=as_datetime(row.admission_known_at),
                discharge_known_at=as_datetime(row.discharge_known_at),
                cancelled=False,
            )
        )
        people[row.id] = StayPerson(
            mrn=row.mrn,
            patient=person_name(row.family_name, row.given_name),
            nurse=row.display_name,
            facility=row.facility,
        )
    return stays, people


def _disposition(code: str | None) -> DischargeDisposition | None:
    """The stored disposition; an unknown code (an older version's) as no disposition."""
    if not code:
        return None
    try:
        return DischargeDisposition(code)
    except ValueError:
        return None


def _engagement_days(
    session: Session, patient_ids: Sequence[int], start: date, end: date
) -> dict[int, list[date]]:
    """Days from ``start`` to ``end`` with a contact that counts as patient engagement."""
    days: dict[int, list[date]] = defaultdict(list)
    first = datetime.combine(start, datetime.min.time())
    after = datetime.combine(end + timedelta(days=1), datetime.min.time())
    for chunk in chunks(patient_ids):
        for patient_id, moment in session.execute(
            select(Contact.patient_id, Contact.occurred_at).where(
                Contact.patient_id.in_(chunk),
                Contact.occurred_at >= first,
                Contact.occurred_at < after,
                Contact.mode.in_([str(mode) for mode in ENGAGEMENT_MODES]),
                Contact.with_whom.in_([str(person) for person in ENGAGEMENT_WITH]),
                Contact.outcome.in_([str(outcome) for outcome in ENGAGEMENT_OUTCOMES]),
            )
        ):
            day = as_date(moment)
            if day is not None:
                days[patient_id].append(day)
    return dict(days)


def _reconciliation_days(
    session: Session, patient_ids: Sequence[int], start: date, end: date
) -> dict[int, list[date]]:
    """Days from ``start`` to ``end`` on which the patient's medications were reconciled."""
    days: dict[int, list[date]] = defaultdict(list)
    for chunk in chunks(patient_ids):
        for patient_id, day in session.execute(
            select(
                MedicationReconciliation.patient_id, MedicationReconciliation.reconciled_on
            ).where(
                MedicationReconciliation.patient_id.in_(chunk),
                MedicationReconciliation.reconciled_on >= start,
                MedicationReconciliation.reconciled_on <= end,
            )
        ):
            reconciled = as_date(day)
            if reconciled is not None:
                days[patient_id].append(reconciled)
    return dict(days)


@dataclass(frozen=True)
class EnrolledDays:
    """The days each patient was enrolled (an active episode) in a span."""

    days: Mapping[int, frozenset[date]]


def enrolled_days(session: Session, scope: ExportScope, first: date, last: date) -> EnrolledDays:
    """Each scope patient's days from ``first`` to ``last`` with an active episode.

    From the status history: an episode is active from the day of a change to
    active through the day of the next change away from it (a day counts when
    the episode was active at some moment of it). An episode without history
    (none is written so, but a copied database might hold one) reads from its
    start to its end by its status. Nothing before ``first`` or after ``last``.
    """
    if last < first:
        return EnrolledDays({})
    rows = session.execute(
        select(
            Episode.patient_id,
            Episode.id,
            Episode.status,
            Episode.start,
            Episode.end,
            EpisodeStatusHistory.to_status,
            EpisodeStatusHistory.changed_at,
        )
        .join(Patient, Patient.id == Episode.patient_id)
        .outerjoin(EpisodeStatusHistory, EpisodeStatusHistory.episode_id == Episode.id)
        .where(
            Episode.start <= last,
            or_(Episode.end.is_(None), Episode.end >= first),
            *scope.patient_filter(Patient.id, Patient.nurse_id),
        )
        .order_by(Episode.id, EpisodeStatusHistory.changed_at, EpisodeStatusHistory.id)
    ).all()
    by_episode: dict[int, list] = defaultdict(list)
    for row in rows:
        by_episode[row.id].append(row)
    days: dict[int, set[date]] = defaultdict(set)
    active = str(ENROLLED_STATUS)
    for episode_rows in by_episode.values():
        head = episode_rows[0]
        spans: list[tuple[date, date | None]] = []
        if head.to_status is None:  # no history: the episode's own dates
            if head.status == active:
                spans.append((as_date(head.start) or first, as_date(head.end)))
        else:
            since: date | None = None
            for row in episode_rows:
                day = as_date(row.changed_at)
                if row.to_status == active and since is None:
                    since = day
                elif row.to_status != active and since is not None:
                    spans.append((since, day))
                    since = None
            if since is not None:
                spans.append((since, as_date(head.end)))
        for start, end in spans:
            day = max(start, first)
            stop = min(end or last, last)
            while day <= stop:
                days[head.patient_id].add(day)
                day += timedelta(days=1)
    return EnrolledDays({patient_id: frozenset(on) for patient_id, on in days.items()})


# ------------------------------------------------------------------ figures


def percent_text(rate: Rate) -> str:
    """ "25.0 %", or "no discharges" when there is no denominator (never 0 %)."""
    percent = rate.percent
    return NO_DISCHARGES if percent is None else f"{percent:.1f} %"


def figures(outcomes: MonthOutcomes) -> tuple[Figure, ...]:
    """The six figures of the month, in the report's order."""
    readmissions = outcomes.readmissions
    ed_rate = outcomes.ed_visits_per_1000_patient_months
    patient_months = round(outcomes.patient_months, 1)
    result = [
        Figure(
            "readmissions-30-day",
            readmissions.numerator,
            readmissions.denominator,
            _rounded(readmissions.percent),
            PERCENT,
            percent_text(readmissions),
            f"{readmissions.numerator} readmitted",
            _count(readmissions.denominator, "index discharge"),
        ),
        Figure(
            "ed-visits",
            outcomes.ed_visits,
            patient_months,
            _rounded(ed_rate),
            PER_1000,
            NO_PATIENT_MONTHS if ed_rate is None else f"{ed_rate:.1f} {PER_1000}",
            _count(outcomes.ed_visits, "ED visit"),
            f"{patient_months:.1f} patient-months",
        ),
    ]
    for key in TRC_MEASURES:
        rate = _trc_rate(outcomes, key)
        result.append(
            Figure(
                key,
                rate.numerator,
                rate.denominator,
                _rounded(rate.percent),
                PERCENT,
                percent_text(rate),
                f"{rate.numerator} met",
                _count(rate.denominator, "discharge"),
            )
        )
    return tuple(result)


def _trc_rate(outcomes: MonthOutcomes, key: str) -> Rate:
    rates = {
        "admission-notification": outcomes.admission_notification,
        "discharge-information": outcomes.discharge_information,
        "patient-engagement": outcomes.patient_engagement,
        "medication-reconciliation": outcomes.medication_reconciliation,
    }
    return rates[key]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def status_words(gathered: OutcomesOfMonth) -> str:
    """ "Final", or "Provisional: ..." while a 30-day window of the month is still open."""
    if gathered.outcomes.complete:
        return "Final: every 30-day window of the month's discharges has closed"
    return (
        "Provisional: the 30-day windows of the month's discharges are open"
        f" until {gathered.windows_close_on:%d %b %Y}"
    )


def notification_words(days: int) -> str:
    """ "the day or the next day", "the day or 2 days after" (the notification window)."""
    if days == 0:
        return "the same day"
    if days == 1:
        return "the day or the next day"
    return f"the day or up to {days} days after"


def figures_table(rows: Sequence[Figure]) -> Table:
    """The figures as a printed table (the outcomes report and the supervisor's section)."""
    return Table(
        columns=("Measure", "Counted", "Out of", "Rate"),
        rows=tuple(
            (figure.label, figure.numerator_text, figure.denominator_text, figure.rate_text)
            for figure in rows
        ),
        widths=(3.2, 1.4, 1.8, 2.4),
    )


# ------------------------------------------------------------------ detail


@dataclass(frozen=True)
class DischargeDetail:
    """One index discharge: whether it was readmitted and which TRC items it met."""

    stay: StayFacts
    person: StayPerson
    readmitted_on: date | None
    #: "Counted", or why the discharge is not in the transitions-of-care denominator.
    transitions_of_care: str
    #: TRC item key -> met; empty when the discharge is not counted for TRC.
    met: Mapping[str, bool]


def discharge_details(gathered: OutcomesOfMonth) -> list[DischargeDetail]:
    """A detail per index discharge of the month, in discharge order."""
    outcomes = gathered.outcomes
    readmitted = dict(outcomes.readmitted_by)
    in_trc = set(outcomes.admission_notification.denominator_ids)
    met_ids = {key: set(_trc_rate(outcomes, key).numerator_ids) for key in TRC_MEASURES}
    details = []
    for encounter_id in outcomes.readmissions.denominator_ids:
        stay = gathered.stays[encounter_id]
        readmission = readmitted.get(encounter_id)
        if encounter_id in in_trc:
            words = COUNTED
            met = {key: encounter_id in met_ids[key] for key in TRC_MEASURES}
        else:
            hospice = stay.disposition == DischargeDisposition.hospice
            words = NOT_COUNTED_HOSPICE if hospice else NOT_COUNTED_READMITTED
            met = {}
        details.append(
            DischargeDetail(
                stay=stay,
                person=gathered.people[encounter_id],
                readmitted_on=gathered.stays[readmission].admitted_on if readmission else None,
                transitions_of_care=words,
                met=met,
            )
        )
    return details


def ed_visits(gathered: OutcomesOfMonth) -> list[tuple[StayFacts, StayPerson]]:
    """The ED visits counted, in order of their day."""
    visits = [
        (gathered.stays[encounter_id], gathered.people[encounter_id])
        for encounter_id in gathered.outcomes.ed_visit_ids
    ]
    return sorted(visits, key=lambda visit: (visit[0].admitted_at, visit[0].encounter_id))


# ------------------------------------------------------------------ the report


def _rows(gathered: OutcomesOfMonth, patients: set[int]) -> Iterator[tuple]:
    month = f"{gathered.month:%Y-%m}"
    provisional = not gathered.outcomes.complete
    blank_person = (None,) * (9 + len(TRC_MEASURES))
    for figure in figures(gathered.outcomes):
        yield (
            month,
            "figure",
            figure.key,
            figure.numerator,
            figure.denominator,
            figure.rate,
            figure.unit,
            figure.rate_text,
            provisional,
            *blank_person,
        )
    for detail in discharge_details(gathered):
        patients.add(detail.stay.patient_id)
        yield (
            month,
            "discharge",
            None,
            None,
            None,
            None,
            None,
            None,
            provisional,
            *_stay_cells(detail.stay, detail.person),
            detail.readmitted_on,
            detail.transitions_of_care,
            *(detail.met.get(key) for key in TRC_MEASURES),
        )
    for stay, person in ed_visits(gathered):
        patients.add(stay.patient_id)
        yield (
            month,
            "ed-visit",
            *(None,) * 6,
            provisional,
            *_stay_cells(stay, person),
            None,
            None,
            *(None,) * len(TRC_MEASURES),
        )


def _stay_cells(stay: StayFacts, person: StayPerson) -> tuple:
    return (
        person.mrn,
        person.patient,
        person.nurse,
        person.facility,
        stay.admitted_on,
        stay.discharged_on,
        str(stay.disposition) if stay.disposition else None,
    )


def _met_words(met: bool | None) -> str:
    if met is None:
        return ""
    return MET if met else NOT_MET


def outcomes_document(title: str, meta, gathered: OutcomesOfMonth) -> Document:
    """The laid-out report: the figures, how they are counted, the discharges, the ED visits."""
    blocks: list[Block] = [
        Heading("Figures"),
        figures_table(figures(gathered.outcomes)),
        BulletList(
            tuple(
                line.format(days=notification_words(gathered.notification_days))
                for line in HOW_COUNTED
            )
        ),
        Heading("Index discharges"),
    ]
    details = discharge_details(gathered)
    if details:
        blocks.append(
            Table(
                columns=(
                    "Patient",
                    "Discharged",
                    "Facility",
                    "Readmitted on",
                    "Transitions of care",
                    "Notified of admission",
                    "Discharge information",
                    "Engagement",
                    "Medication reconciliation",
                ),
                rows=tuple(
                    (
                        f"{detail.person.patient}\n{detail.person.mrn}",
                        plain_text(detail.stay.discharged_on),
                        detail.person.facility or "",
                        plain_text(detail.readmitted_on) or "not readmitted",
                        detail.transitions_of_care,
                        *(_met_words(detail.met.get(key)) for key in TRC_MEASURES),
                    )
                    for detail in details
                ),
                widths=(2.2, 1.2, 1.6, 1.2, 2.2, 1.1, 1.1, 1.1, 1.2),
            )
        )
    else:
        blocks.append(Paragraph("No inpatient discharges in the month."))
    blocks.append(Heading("Emergency department visits"))
    visits = ed_visits(gathered)
    if visits:
        blocks.append(
            Table(
                columns=("Patient", "Nurse", "Visit day", "Facility"),
                rows=tuple(
                    (
                        f"{person.patient}\n{person.mrn}",
                        person.nurse or "",
                        plain_text(stay.admitted_on),
                        person.facility or "",
                    )
                    for stay, person in visits
                ),
                widths=(2.4, 2.0, 1.2, 2.4),
            )
        )
    else:
        blocks.append(Paragraph("No ED visits on enrolled days in the month."))
    return Document(title=title, meta=meta, blocks=tuple(blocks))


def report_month(scope: ExportScope) -> date:
    """The month a report covers: its period's first month, else the month of today."""
    if scope.period is not None:
        return scope.period.start.replace(day=1)
    return scope.today.replace(day=1)


def build_outcomes(session: Session, scope: ExportScope, context: ServiceContext) -> Report:
    """The month's hospital outcomes for the scope's patients (default: this month)."""
    gathered = gather_outcomes(session, scope, context, report_month(scope))
    title = f"Hospital outcomes: {scope.nurse_label}"
    meta = (
        *scope.scope_meta(),
        ("Month", f"{gathered.month:%B %Y}"),
        ("Figures", status_words(gathered)),
    )
    report = Report(
        name="outcomes",
        title=title,
        columns=COLUMNS,
        rows=(),
        meta=meta,
        markdown_from_document=True,
        landscape=True,
    )
    report.rows = _rows(gathered, report.patients)

    def document() -> Document:
        # The document reads the gathered facts; the rows still name the patients it shows.
        for _row in report.rows:
            pass
        return outcomes_document(title, meta, gathered)

    report.document = document
    return report


__all__ = [
    "COLUMNS",
    "ENGAGEMENT_MODES",
    "ENGAGEMENT_OUTCOMES",
    "ENGAGEMENT_WITH",
    "MEASURES",
    "DischargeDetail",
    "EnrolledDays",
    "Figure",
    "OutcomesOfMonth",
    "build_outcomes",
    "discharge_details",
    "enrolled_days",
    "figures",
    "figures_table",
    "gather_outcomes",
    "outcomes_document",
    "percent_text",
    "report_month",
    "status_words",
]
