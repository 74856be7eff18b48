"""Readings: vital signs, home readings and labs, the alerts they raise, and remote monitoring.

Three ways in share one path, ``store``: the FHIR import and the readings file
import call it inside their own transaction; the reading form calls ``key``,
which is one transaction of its own. ``store`` converts each reading to its
measure's unit (``domain.measures``), skips one already on file (same patient,
LOINC code and moment: a second import changes nothing), corrects one whose
value changed, and then checks the recent new readings against the patient's
limits (``domain.thresholds``): a breach opens the patient's alert for that
measure, or updates it when one is open (one Today row per patient and
measure). A reading older than the recent window is history: charted, never
an alert.

An alert is closed by a contact that addresses it (the contact service calls
``close_with_contact`` in the contact's transaction) or by a nurse's note
(``close_with_note``). A later breach opens a new one; a reading at or before
the one an alert covered never reopens it.

A patient's own limit for a rule (``set_limit``, with a reason) applies to the
readings that arrive after it, like any limit.

Audit: a keyed reading, an alert, a limit and an enrolment each write their
event. An import writes one event per patient ("patient-readings", the
patient's id, the measures as fields), not one per reading: a million-row
device file would otherwise write a million events of the same fact.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, bindparam, func, select, text
from sqlalchemy.orm import Session

from nursecase.db.models import (
    Contact,
    MonitoringEnrolment,
    Nurse,
    Reading,
    ReadingAlert,
    ReadingThreshold,
)
from nursecase.domain.codes import (
    AlertStatus,
    AuditAction,
    Measure,
    MonitoringFrequency,
    ReadingSource,
    ThresholdRule,
    parse_code,
)
from nursecase.domain.measures import (
    BLOOD_PRESSURE_PARTS,
    check_plausible,
    info,
    measure_of,
    number,
    same_unit,
    shown_value,
    to_measure_unit,
)
from nursecase.domain.rpm import RpmMonth, rpm_month
from nursecase.domain.thresholds import (
    WEEK_DAYS,
    Finding,
    Point,
    RuleLimit,
    alert_measure,
    daily_weights,
    find_breach,
    is_recent,
    patient_limits,
)
from nursecase.domain.validation import ValidationError, performed_moment, require_text
from nursecase.services import audit
from nursecase.services.context import ServiceContext
from nursecase.services.errors import NotFoundError, ServiceError
from nursecase.services.patients import load_patient

READING_ENTITY = "reading"
ALERT_ENTITY = "reading_alert"
LIMIT_ENTITY = "reading_threshold"
ENROLMENT_ENTITY = "monitoring_enrolment"
#: One event per patient for an import's readings (see the module docstring).
IMPORT_ENTITY = "patient-readings"
REASON_LENGTH = 400
NOTE_LENGTH = 2000
#: What closing an alert with a note (or undoing that) changes, for the audit.
NOTE_CLOSURE_FIELDS = ("status", "closed_at", "closed_by_id", "note")
#: Readings inserted per statement (well under every database's bind limit).
INSERT_CHUNK = 500
#: Readings looked up per statement by ``_existing``: 3 parameters each, under
#: the 999 parameters a statement the oldest SQLite still in use allows.
EXISTING_CHUNK = 300
#: ``session.info`` key: the (patient, measure) pairs this transaction's import
#: events already named (see ``ReadingsService._audit_import``).
_IMPORT_AUDITED = "nursecase.readings.import-audited"


@dataclass(frozen=True)
class NewReading:
    """A reading on its way in, as the source wrote it."""

    patient_id: int
    loinc: str
    value: float
    unit: str
    taken_at: datetime


@dataclass(frozen=True)
class ReadingRead:
    """One stored reading."""

    id: int
    patient_id: int
    measure: str
    loinc: str
    value: float
    unit: str
    measure_value: float
    taken_at: datetime
    source: str
    #: Who keyed it (a display name), None for imports and device files.
    entered_by: str | None


@dataclass(frozen=True)
class StoreResult:
    """What one ``store`` did."""

    added: int = 0
    corrected: int = 0
    unchanged: int = 0
    alerts_opened: int = 0
    alerts_updated: int = 0


@dataclass(frozen=True)
class AlertRead:
    """One reading alert, open or addressed."""

    id: int
    patient_id: int
    measure: str
    rules: tuple[str, ...]
    urgent: bool
    why: str
    reading_at: datetime
    raised_at: datetime
    status: str
    closed_at: datetime | None
    closed_by: str | None
    contact_id: int | None
    note: str | None


@dataclass(frozen=True)
class LimitRead:
    """One rule's limit for a patient: the clinic's, or the patient's own with its reason."""

    rule: str
    limit: float
    urgent: bool
    #: The reason, when the limit is the patient's own; None for the clinic's.
    reason: str | None
    set_by: str | None
    set_at: datetime | None


@dataclass(frozen=True)
class EnrolmentRead:
    """Remote monitoring of one measure."""

    id: int
    patient_id: int
    measure: str
    frequency: str
    gap_days: int
    started_on: date
    ended_on: date | None


@dataclass(frozen=True)
class LatestValue:
    """A measure's latest reading, the one before it, and the change, for the Vitals tab."""

    measure: str
    latest: ReadingRead
    previous: ReadingRead | None

    @property
    def change(self) -> float | None:
        """Latest minus previous, in the measure's unit; None without a previous reading."""
        if self.previous is None:
            return None
        return self.latest.measure_value - self.previous.measure_value


def parse_measure(value: object, field: str = "measure") -> Measure:
    """A measure code, or ValidationError naming the field."""
    return parse_code(Measure, value, field)


class ReadingsService:
    """Readings in and out, their alerts, a patient's limits, remote-monitoring enrolment."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    # --- in -----------------------------------------------------------------

    def key(
        self,
        patient_id: int,
        values: Mapping[Measure | str, tuple[float | str, str]],
        taken_at: datetime | date | str | None = None,
    ) -> list[ReadingRead]:
        """Store readings a nurse keyed (measure -> (value, unit)), in one transaction.

        Each value is checked (a number, in a unit of its measure, a possible
        value); a ValidationError names the measure ("weight: ...") and nothing
        is written. The readings are checked against the patient's limits like
        any other.
        """
        nurse_id = self.context.require_nurse()
        if not values:
            raise ValidationError("readings", "type at least one reading")
        moment = performed_moment(taken_at, "taken_at", self.context.clock.now())
        incoming: list[tuple[Measure, NewReading]] = []
        for raw_measure, (raw_value, unit) in values.items():
            measure = parse_measure(raw_measure)
            field = measure.value
            value = _number(raw_value, field)
            facts = info(measure)
            check_plausible(measure, to_measure_unit(measure, value, unit, field), field)
            incoming.append(
                (measure, NewReading(patient_id, facts.loinc, value, unit or facts.unit, moment))
            )
        with self.context.write() as session:
            load_patient(session, patient_id)
            rows = self._insert(
                session,
                [(measure, reading) for measure, reading in incoming],
                ReadingSource.keyed,
                nurse_id,
                refuse_duplicates=True,
            )
            for row in rows:
                audit.record(
                    session,
                    self.context,
                    AuditAction.create,
                    READING_ENTITY,
                    row.id,
                    ("measure", "value", "unit", "taken_at"),
                )
            self._check(
                session,
                {patient_id: {alert_measure(Measure(row.measure)): [moment] for row in rows}},
            )
            names = _names(session, {nurse_id})
            return [_reading_read(row, names) for row in rows]

    def store(
        self, session: Session, readings: Iterable[NewReading], source: ReadingSource
    ) -> StoreResult:
        """Store imported readings in the caller's transaction; check the new ones.

        A LOINC code nursecase does not use, a unit the measure is not read in,
        or an impossible value raises ValidationError naming the reading: the
        importers turn it into a line for the file and go on with the others.
        Readings already on file (same patient, code and moment) are skipped;
        one whose value changed is corrected.

        An importer may call it many times in one transaction (a device file
        in chunks): the audit still names each patient's measures once per
        transaction (see ``_audit_import``).
        """
        converted: list[tuple[Measure, NewReading, float]] = []
        for reading in readings:
            measure = measure_of(reading.loinc)
            if measure is None:
                raise ValidationError("code", f'"{reading.loinc}" is not a code nursecase reads')
            measure_value = to_measure_unit(measure, reading.value, reading.unit)
            check_plausible(measure, measure_value)
            converted.append((measure, reading, measure_value))
        if not converted:
            return StoreResult()
        existing = self._existing(session, [reading for _measure, reading, _value in converted])
        new: list[tuple[Measure, NewReading, float]] = []
        corrections: list[dict[str, object]] = []
        unchanged = 0
        seen: set[tuple[int, str, datetime]] = set()
        touched: dict[int, dict[Measure, list[datetime]]] = defaultdict(lambda: defaultdict(list))
        today = self.context.clock.today()
        for measure, reading, measure_value in converted:
            key = (reading.patient_id, reading.loinc, reading.taken_at)
            if key in seen:
                unchanged += 1  # the same reading twice in one file
                continue
            seen.add(key)
            stored = existing.get(key)
            if stored is None:
                new.append((measure, reading, measure_value))
            # A unit spelled another way ("mmHg", "mm[Hg]") is the same reading: a
            # FHIR export written in UCUM and imported back changes nothing.
            elif stored.value != reading.value or not same_unit(stored.unit, reading.unit):
                corrections.append(
                    {
                        "stored_id": stored.id,
                        "value": reading.value,
                        "unit": reading.unit,
                        "measure_value": measure_value,
                    }
                )
            else:
                unchanged += 1
                continue
            if is_recent(measure, reading.taken_at, today):
                touched[reading.patient_id][alert_measure(measure)].append(reading.taken_at)
            else:
                touched[reading.patient_id]  # audited, never an alert (history)
        self._insert_imported(session, new, source)
        if corrections:
            table = Reading.__table__  # type: ignore[attr-defined]
            session.execute(
                table.update()
                .where(table.c.id == bindparam("stored_id"))
                .values(
                    value=bindparam("value"),
                    unit=bindparam("unit"),
                    measure_value=bindparam("measure_value"),
                ),
                corrections,
            )
        session.flush()
        self._audit_import(session, new, touched)
        opened, updated = self._check(session, touched)
        return StoreResult(len(new), len(corrections), unchanged, opened, updated)

    def _audit_import(
        self,
        session: Session,
        new: Sequence[tuple[Measure, NewReading, float]],
        touched: Mapping[int, object],
    ) -> None:
        """One event per patient whose readings were added or corrected, naming the measures.

        An importer that stores a file in chunks calls ``store`` many times
        in one transaction (one session): a patient and measure already named
        by this session's events is not named again, so a million-row file
        writes one event per patient (one more when a later chunk brings a
        measure not named yet), never one per chunk.
        """
        named: set[tuple[int, str]] = session.info.setdefault(_IMPORT_AUDITED, set())
        by_patient: dict[int, set[str]] = defaultdict(set)
        for measure, reading, _value in new:
            by_patient[reading.patient_id].add(measure.value)
        for patient_id in sorted(touched):
            measures = by_patient.get(patient_id) or {"corrected"}
            fresh = {measure for measure in measures if (patient_id, measure) not in named}
            if not fresh:
                continue
            named.update((patient_id, measure) for measure in fresh)
            audit.record(
                session, self.context, AuditAction.create, IMPORT_ENTITY, patient_id, fresh
            )

    def _existing(
        self, session: Session, readings: Sequence[NewReading]
    ) -> dict[tuple[int, str, datetime], _OnFile]:
        """The readings already on file among ``readings`` (by patient, code and moment).

        Looked up by their key, ``EXISTING_CHUNK`` at a time, through the unique
        index (patient, code, moment): a ``VALUES`` list joined to the table,
        which SQLite and PostgreSQL both answer with one index seek per key. A
        range per patient read every reading of a patient whose file spans
        years, and a row-value ``IN`` is a scan of the whole index on SQLite.
        The statement goes to the driver as it is (``exec_driver_sql``): built
        by SQLAlchemy, 900 parameters cost ten times the query itself.
        """
        keys = list(dict.fromkeys((r.patient_id, r.loinc, r.taken_at) for r in readings))
        if not keys:
            return {}
        connection, mark, to_stored = _driver(session)
        found: dict[tuple[int, str, datetime], _OnFile] = {}
        for start in range(0, len(keys), EXISTING_CHUNK):
            part = keys[start : start + EXISTING_CHUNK]
            moments: dict[object, datetime] = {}
            parameters: list[object] = []
            for patient_id, loinc, moment in part:
                stored_moment = to_stored(moment)
                moments[stored_moment] = moment
                parameters += (patient_id, loinc, stored_moment)
            if mark is None:  # a driver of another parameter style: SQLAlchemy binds them
                rows = session.execute(
                    text(_existing_sql(len(part), None)),
                    {f"k{index}": value for index, value in enumerate(parameters)},
                )
            else:
                rows = connection.exec_driver_sql(_existing_sql(len(part), mark), tuple(parameters))
            for reading_id, patient_id, loinc, taken_at, value, unit in rows.fetchall():
                moment = moments.get(taken_at, taken_at)
                found[(patient_id, loinc, moment)] = _OnFile(reading_id, value, unit)
        return found

    def _insert(
        self,
        session: Session,
        readings: Sequence[tuple[Measure, NewReading]],
        source: ReadingSource,
        nurse_id: int | None,
        refuse_duplicates: bool = False,
    ) -> list[Reading]:
        """Keyed readings as ORM rows (their ids are needed); duplicates refused."""
        now = self.context.clock.now()
        if refuse_duplicates:
            existing = self._existing(session, [reading for _measure, reading in readings])
            if existing:
                raise ValidationError(
                    "taken_at", "a reading of this measure is already on file at that moment"
                )
        rows = [
            Reading(
                patient_id=reading.patient_id,
                measure=measure.value,
                loinc=reading.loinc,
                value=reading.value,
                unit=reading.unit,
                measure_value=to_measure_unit(measure, reading.value, reading.unit),
                taken_at=reading.taken_at,
                source=source.value,
                entered_by_id=nurse_id,
                created_at=now,
            )
            for measure, reading in readings
        ]
        session.add_all(rows)
        session.flush()
        return rows

    def _insert_imported(
        self,
        session: Session,
        readings: Sequence[tuple[Measure, NewReading, float]],
        source: ReadingSource,
    ) -> None:
        """Imported readings, inserted in chunks straight through the driver (executemany).

        No ORM object and no per-row parameter building by SQLAlchemy: at a
        million rows those cost more than the inserts. The moments are turned
        into what the column stores by the column type's own bind processor,
        so the rows are exactly those an ORM insert writes.
        """
        if not readings:
            return
        connection, mark, to_stored = _driver(session)
        created_at = to_stored(self.context.clock.now())
        rows = [
            (
                reading.patient_id,
                measure.value,
                reading.loinc,
                reading.value,
                reading.unit,
                measure_value,
                to_stored(reading.taken_at),
                source.value,
                None,
                created_at,
            )
            for measure, reading, measure_value in readings
        ]
        if mark is None:  # a driver of another parameter style: SQLAlchemy binds them
            table = Reading.__table__  # type: ignore[attr-defined]
            names = [column.name for column in table.columns if column.name != "id"]
            session.execute(table.insert(), [dict(zip(names, row, strict=True)) for row in rows])
            return
        for start in range(0, len(rows), INSERT_CHUNK):
            connection.exec_driver_sql(_insert_sql(mark), rows[start : start + INSERT_CHUNK])

    # --- alerts -------------------------------------------------------------

    def _check(
        self, session: Session, touched: Mapping[int, Mapping[Measure, list[datetime]]]
    ) -> tuple[int, int]:
        """Check the new readings of each patient and alert measure; (opened, updated)."""
        today = self.context.clock.today()
        opened = updated = 0
        for patient_id, measures in touched.items():
            limits: dict[ThresholdRule, RuleLimit] | None = None
            for measure, moments in measures.items():
                recent = sorted({moment for moment in moments if is_recent(measure, moment, today)})
                if not recent:
                    continue
                if limits is None:
                    limits = self._limits(session, patient_id)
                outcome = self._check_measure(session, patient_id, measure, recent, limits)
                opened += outcome == "opened"
                updated += outcome == "updated"
        return opened, updated

    def _later_weighings(
        self, session: Session, patient_id: int, moments: Sequence[datetime]
    ) -> list[datetime]:
        """The new weighings and the recent ones of the 7 days after the earliest.

        A weight that arrives late (a file not in time order, a device that
        uploads a missed day) changes the weekly low of the days after it, so
        those days are checked again: their gain may now be over the limit.
        """
        today = self.context.clock.today()
        later = session.scalars(
            select(Reading.taken_at).where(
                Reading.patient_id == patient_id,
                Reading.measure == Measure.weight.value,
                Reading.taken_at > moments[0],
                Reading.taken_at
                < datetime.combine(moments[0].date(), datetime.min.time())
                + timedelta(days=WEEK_DAYS + 1),
            )
        ).all()
        recent = {moment for moment in later if is_recent(Measure.weight, moment, today)}
        return sorted(recent | set(moments))

    def _check_measure(
        self,
        session: Session,
        patient_id: int,
        measure: Measure,
        moments: Sequence[datetime],
        limits: Mapping[ThresholdRule, RuleLimit],
    ) -> str | None:
        latest_alert = session.scalars(
            select(ReadingAlert)
            .where(ReadingAlert.patient_id == patient_id, ReadingAlert.measure == measure.value)
            .order_by(ReadingAlert.reading_at.desc(), ReadingAlert.id.desc())
            .limit(1)
        ).first()
        covered = latest_alert.reading_at if latest_alert is not None else None
        if measure is Measure.weight:
            moments = self._later_weighings(session, patient_id, moments)
        moments = [moment for moment in moments if covered is None or moment > covered]
        if not moments:
            return None
        parts = BLOOD_PRESSURE_PARTS if measure is Measure.blood_pressure else (measure,)
        since = moments[0] - timedelta(days=WEEK_DAYS + 1)
        history: dict[Measure, list[Point]] = defaultdict(list)
        for part, taken_at, value in session.execute(
            select(Reading.measure, Reading.taken_at, Reading.measure_value)
            .where(
                Reading.patient_id == patient_id,
                Reading.measure.in_([part.value for part in parts]),
                Reading.taken_at >= since,
                Reading.taken_at <= moments[-1],
            )
            .order_by(Reading.taken_at)
        ):
            history[Measure(part)].append(Point(taken_at, value))
        finding: Finding | None = None
        for moment in moments:
            found = find_breach(measure, history, moment, limits, self.context.settings.weight_unit)
            if found is not None and (covered is None or found.taken_at > covered):
                finding = found
        if finding is None:
            return None
        now = self.context.clock.now()
        rules = ",".join(rule.value for rule in finding.rules)
        if latest_alert is not None and latest_alert.status == AlertStatus.open:
            latest_alert.rules = rules
            latest_alert.urgent = finding.urgent
            latest_alert.why = finding.why
            latest_alert.reading_at = finding.taken_at
            latest_alert.updated_at = now
            session.flush()
            audit.record(
                session,
                self.context,
                AuditAction.update,
                ALERT_ENTITY,
                latest_alert.id,
                ("rules", "urgent", "why", "reading_at"),
            )
            return "updated"
        alert = ReadingAlert(
            patient_id=patient_id,
            measure=measure.value,
            rules=rules,
            urgent=finding.urgent,
            why=finding.why,
            reading_at=finding.taken_at,
            raised_at=now,
            updated_at=now,
            status=AlertStatus.open.value,
        )
        session.add(alert)
        session.flush()
        audit.record(
            session,
            self.context,
            AuditAction.create,
            ALERT_ENTITY,
            alert.id,
            ("measure", "rules", "urgent", "why", "reading_at"),
        )
        return "opened"

    def alerts(self, patient_id: int, open_only: bool = False) -> list[AlertRead]:
        """The patient's alerts, newest first (only the open ones with ``open_only``)."""
        with self.context.read() as session:
            load_patient(session, patient_id)
            query = select(ReadingAlert).where(ReadingAlert.patient_id == patient_id)
            if open_only:
                query = query.where(ReadingAlert.status == AlertStatus.open.value)
            rows = list(
                session.scalars(
                    query.order_by(ReadingAlert.reading_at.desc(), ReadingAlert.id.desc())
                )
            )
            names = _names(session, {row.closed_by_id for row in rows})
            return [_alert_read(row, names) for row in rows]

    def close_with_note(self, alert_id: int, note: str, patient_id: int | None = None) -> AlertRead:
        """Close an open alert with the nurse's note (what was done, why no contact).

        With ``patient_id`` (Today's done), an alert of another patient is not found.
        """
        nurse_id = self.context.require_nurse()
        text = require_text(note, "note", max_length=NOTE_LENGTH)
        with self.context.write() as session:
            alert = self._open_alert(session, alert_id)
            if patient_id is not None and alert.patient_id != patient_id:
                raise NotFoundError("reading alert", alert_id)
            _close(alert, self.context.clock.now(), nurse_id, note=text)
            session.flush()
            audit.record(
                session,
                self.context,
                AuditAction.update,
                ALERT_ENTITY,
                alert.id,
                NOTE_CLOSURE_FIELDS,
            )
            return _alert_read(alert, _names(session, {nurse_id}))

    def close_with_contact(
        self, session: Session, patient_id: int, alert_ids: Iterable[int], contact: Contact
    ) -> int:
        """Close the patient's open alerts a contact addressed, in the contact's transaction."""
        closed = 0
        for alert_id in sorted(set(alert_ids)):
            alert = self._open_alert(session, alert_id)
            if alert.patient_id != patient_id:
                raise ValidationError("addresses", "that alert is another patient's")
            _close(alert, self.context.clock.now(), contact.author_id, contact_id=contact.id)
            session.flush()
            audit.record(
                session,
                self.context,
                AuditAction.update,
                ALERT_ENTITY,
                alert.id,
                ("status", "closed_at", "closed_by_id", "contact_id"),
            )
            closed += 1
        return closed

    def reopen_closed_by_note(
        self, session: Session, patient_id: int, alert_id: int, closed_at: datetime
    ) -> None:
        """Reopen an alert a note closed at ``closed_at`` (undo on Today), in the caller's
        transaction; only while nothing changed since.

        Refused (ServiceError) when the alert was reopened or closed again since,
        was addressed by a contact, or a newer alert of the same measure is open
        (a breach after the note opened it): reopening would then make two rows
        for one patient and measure.
        """
        alert = session.get(ReadingAlert, alert_id)
        if alert is None or alert.patient_id != patient_id:
            raise NotFoundError("reading alert", alert_id)
        if (
            alert.status != AlertStatus.closed.value
            or alert.contact_id is not None
            or alert.closed_at != closed_at
        ):
            raise ServiceError(
                "the alert changed after this action, so it cannot be undone; reload and check it"
            )
        newer = session.scalars(
            select(ReadingAlert.id).where(
                ReadingAlert.patient_id == patient_id,
                ReadingAlert.measure == alert.measure,
                ReadingAlert.status == AlertStatus.open.value,
            )
        ).first()
        if newer is not None:
            raise ServiceError(
                "a newer reading of this measure is past its limit and on Today; "
                "this one cannot be reopened beside it"
            )
        _close(alert, None, None)
        alert.status = AlertStatus.open.value
        session.flush()
        audit.record(
            session,
            self.context,
            AuditAction.update,
            ALERT_ENTITY,
            alert.id,
            NOTE_CLOSURE_FIELDS,
        )

    @staticmethod
    def _open_alert(session: Session, alert_id: int) -> ReadingAlert:
        alert = session.get(ReadingAlert, alert_id)
        if alert is None:
            raise NotFoundError("reading alert", alert_id)
        if alert.status != AlertStatus.open.value:
            raise ServiceError("this alert has already been addressed")
        return alert

    # --- limits -------------------------------------------------------------

    def _limits(self, session: Session, patient_id: int) -> dict[ThresholdRule, RuleLimit]:
        overrides = session.execute(
            select(
                ReadingThreshold.rule, ReadingThreshold.threshold, ReadingThreshold.reason
            ).where(ReadingThreshold.patient_id == patient_id)
        ).all()
        return patient_limits(self.context.settings.threshold_limits, overrides)

    def limits(self, patient_id: int) -> list[LimitRead]:
        """Every rule's limit for the patient, the patient's own ones with their reason."""
        with self.context.read() as session:
            load_patient(session, patient_id)
            own = {
                row.rule: row
                for row in session.scalars(
                    select(ReadingThreshold).where(ReadingThreshold.patient_id == patient_id)
                )
            }
            names = _names(session, {row.set_by_id for row in own.values()})
            reads = []
            for rule, clinic in self.context.settings.threshold_limits.items():
                row = own.get(rule.value)
                reads.append(
                    LimitRead(
                        rule.value,
                        row.threshold if row else clinic.limit,
                        clinic.urgent,
                        row.reason if row else None,
                        names.get(row.set_by_id) if row else None,
                        row.set_at if row else None,
                    )
                )
            return reads

    def set_limit(
        self, patient_id: int, rule: ThresholdRule | str, limit: float | str, reason: str
    ) -> LimitRead:
        """Give the patient their own limit for a rule, with the nurse's reason (required)."""
        nurse_id = self.context.require_nurse()
        code = parse_code(ThresholdRule, rule, "rule")
        value = _number(limit, "limit")
        if value <= 0:
            raise ValidationError("limit", "must be above 0")
        text = require_text(reason, "reason", max_length=REASON_LENGTH)
        with self.context.write() as session:
            load_patient(session, patient_id)
            row = session.scalars(
                select(ReadingThreshold).where(
                    ReadingThreshold.patient_id == patient_id, ReadingThreshold.rule == code.value
                )
            ).first()
            now = self.context.clock.now()
            action = AuditAction.update if row is not None else AuditAction.create
            if row is None:
                row = ReadingThreshold(
                    patient_id=patient_id, rule=code.value, threshold=value, reason=text
                )
                session.add(row)
            row.threshold, row.reason, row.set_by_id, row.set_at = value, text, nurse_id, now
            session.flush()
            audit.record(
                session, self.context, action, LIMIT_ENTITY, row.id, ("rule", "threshold", "reason")
            )
            clinic = self.context.settings.threshold_limits[code]
            names = _names(session, {nurse_id})
            return LimitRead(code.value, value, clinic.urgent, text, names.get(nurse_id), now)

    def clear_limit(self, patient_id: int, rule: ThresholdRule | str) -> None:
        """Go back to the clinic's limit for a rule."""
        self.context.require_nurse()
        code = parse_code(ThresholdRule, rule, "rule")
        with self.context.write() as session:
            row = session.scalars(
                select(ReadingThreshold).where(
                    ReadingThreshold.patient_id == patient_id, ReadingThreshold.rule == code.value
                )
            ).first()
            if row is None:
                raise NotFoundError("patient limit", patient_id)
            session.delete(row)
            session.flush()
            audit.record(session, self.context, AuditAction.delete, LIMIT_ENTITY, row.id)

    # --- reading them -------------------------------------------------------

    def series(
        self, patient_id: int, measure: Measure | str, since: datetime | None = None
    ) -> list[ReadingRead]:
        """A measure's readings oldest first (blood pressure: both parts), from ``since``."""
        code = parse_measure(measure)
        parts = BLOOD_PRESSURE_PARTS if code is Measure.blood_pressure else (code,)
        with self.context.read() as session:
            load_patient(session, patient_id)
            query = select(Reading).where(
                Reading.patient_id == patient_id,
                Reading.measure.in_([part.value for part in parts]),
            )
            if since is not None:
                query = query.where(Reading.taken_at >= since)
            rows = list(session.scalars(query.order_by(Reading.taken_at, Reading.id)))
            names = _names(session, {row.entered_by_id for row in rows})
            return [_reading_read(row, names) for row in rows]

    def latest(self, patient_id: int) -> list[LatestValue]:
        """Each measure's latest reading and the one before, in the order of ``Measure``."""
        with self.context.read() as session:
            load_patient(session, patient_id)
            return _latest_values(session, patient_id)

    def summary_lines(self, patient_ids: Sequence[int]) -> dict[int, str]:
        """Each patient's one-line summary ("wt 82.4 kg +2.6 kg/5 d ▲, BP 148/92"), if any."""
        lines: dict[int, str] = {}
        with self.context.read() as session:
            for patient_id in patient_ids:
                line = summary_line(
                    session,
                    patient_id,
                    self.context.clock.today(),
                    self.context.settings.weight_unit,
                )
                if line:
                    lines[patient_id] = line
        return lines

    # --- remote monitoring --------------------------------------------------

    def enrol(
        self,
        patient_id: int,
        measure: Measure | str,
        frequency: MonitoringFrequency | str,
        gap_days: int | str | None = None,
        started_on: date | None = None,
    ) -> EnrolmentRead:
        """Enrol the patient for remote monitoring of a measure (one open enrolment per measure)."""
        self.context.require_nurse()
        code = parse_measure(measure)
        if code in BLOOD_PRESSURE_PARTS:
            code = Measure.blood_pressure
        how_often = parse_code(MonitoringFrequency, frequency, "frequency")
        gap = (
            self.context.settings.monitoring_gap_days
            if gap_days in (None, "")
            else _whole(gap_days, "gap_days")
        )
        if not 1 <= gap <= 90:
            raise ValidationError("gap_days", "must be a whole number of days from 1 to 90")
        with self.context.write() as session:
            load_patient(session, patient_id)
            if session.scalars(
                select(MonitoringEnrolment.id).where(
                    MonitoringEnrolment.patient_id == patient_id,
                    MonitoringEnrolment.measure == code.value,
                    MonitoringEnrolment.ended_on.is_(None),
                )
            ).first():
                raise ValidationError("measure", f"{code.label.lower()} is already monitored")
            row = MonitoringEnrolment(
                patient_id=patient_id,
                measure=code.value,
                frequency=how_often.value,
                gap_days=gap,
                started_on=started_on or self.context.clock.today(),
                enrolled_by_id=self.context.nurse_id,
                created_at=self.context.clock.now(),
            )
            session.add(row)
            session.flush()
            audit.record(
                session,
                self.context,
                AuditAction.create,
                ENROLMENT_ENTITY,
                row.id,
                ("measure", "frequency", "gap_days", "started_on"),
            )
            return _enrolment_read(row)

    def end_enrolment(self, enrolment_id: int, ended_on: date | None = None) -> EnrolmentRead:
        """Stop remote monitoring of a measure."""
        self.context.require_nurse()
        with self.context.write() as session:
            row = session.get(MonitoringEnrolment, enrolment_id)
            if row is None or row.ended_on is not None:
                raise NotFoundError("monitoring enrolment", enrolment_id)
            row.ended_on = ended_on or self.context.clock.today()
            session.flush()
            audit.record(
                session, self.context, AuditAction.update, ENROLMENT_ENTITY, row.id, ("ended_on",)
            )
            return _enrolment_read(row)

    def enrolments(self, patient_id: int) -> list[EnrolmentRead]:
        """The patient's open enrolments, in the order of ``Measure``."""
        with self.context.read() as session:
            load_patient(session, patient_id)
            rows = session.scalars(
                select(MonitoringEnrolment).where(
                    MonitoringEnrolment.patient_id == patient_id,
                    MonitoringEnrolment.ended_on.is_(None),
                )
            )
            order = {measure.value: position for position, measure in enumerate(Measure)}
            return sorted(
                (_enrolment_read(row) for row in rows), key=lambda row: order[row.measure]
            )

    def month(self, patient_id: int, month: date | None = None) -> RpmMonth:
        """The remote-monitoring month: days with device readings, review minutes, codes reached."""
        first = (month or self.context.clock.today()).replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
        start, end = (
            datetime.combine(first, datetime.min.time()),
            datetime.combine(after, datetime.min.time()),
        )
        with self.context.read() as session:
            load_patient(session, patient_id)
            moments = session.scalars(
                select(Reading.taken_at).where(
                    Reading.patient_id == patient_id,
                    Reading.source == ReadingSource.device.value,
                    Reading.taken_at >= start,
                    Reading.taken_at < end,
                )
            )
            days = len({moment.date() for moment in moments})
            minutes = session.scalar(
                select(func.coalesce(func.sum(Contact.minutes), 0)).where(
                    Contact.patient_id == patient_id,
                    Contact.for_monitoring.is_(True),
                    Contact.occurred_at >= start,
                    Contact.occurred_at < end,
                )
            )
        return rpm_month(days, int(minutes or 0), self.context.settings.billing_rules)


# --- helpers ----------------------------------------------------------------


@dataclass(frozen=True)
class _OnFile:
    """What ``store`` needs of a reading already on file."""

    id: int
    value: float
    unit: str


def _driver(session: Session) -> tuple[Connection, str | None, Callable[[datetime], object]]:
    """The session's connection, its driver's parameter marker (None when it is neither
    ``?`` nor ``%s``), and how the driver is handed a moment for a ``DateTime`` column."""
    connection = session.connection()
    dialect = connection.dialect
    column_type = Reading.__table__.c.taken_at.type  # type: ignore[attr-defined]
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(dialect.paramstyle)
    return connection, mark, process or _same_moment


def _same_moment(moment: datetime) -> object:
    return moment


@functools.lru_cache(maxsize=2)
def _insert_sql(mark: str) -> str:
    """One imported reading's INSERT for the driver (``_insert_imported``)."""
    return (
        "INSERT INTO reading (patient_id, measure, loinc, value, unit, measure_value,"
        " taken_at, source, entered_by_id, created_at) VALUES (" + ", ".join([mark] * 10) + ")"
    )


@functools.lru_cache(maxsize=8)
def _existing_sql(keys: int, mark: str | None) -> str:
    """The lookup of ``keys`` readings by (patient, code, moment); ``mark`` is the driver's
    parameter marker, None for SQLAlchemy's named ones (``:k0``, ``:k1`` ...)."""
    if mark is None:
        rows = ", ".join(f"(:k{3 * key}, :k{3 * key + 1}, :k{3 * key + 2})" for key in range(keys))
    else:
        rows = ", ".join(f"({mark}, {mark}, {mark})" for _key in range(keys))
    return (
        f"WITH wanted (patient_id, loinc, taken_at) AS (VALUES {rows})"
        " SELECT reading.id, reading.patient_id, reading.loinc, reading.taken_at,"
        " reading.value, reading.unit"
        " FROM wanted JOIN reading ON reading.patient_id = wanted.patient_id"
        " AND reading.loinc = wanted.loinc AND reading.taken_at = wanted.taken_at"
    )


def _close(
    alert: ReadingAlert,
    closed_at: datetime | None,
    by: int | None,
    note: str | None = None,
    contact_id: int | None = None,
) -> None:
    """Mark an alert addressed (by a note or a contact); all None: the closure undone."""
    alert.status = AlertStatus.closed.value
    alert.closed_at = closed_at
    alert.closed_by_id = by
    alert.note = note
    alert.contact_id = contact_id


def _number(value: object, field: str) -> float:
    if isinstance(value, bool):
        raise ValidationError(field, "must be a number")
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace(",", ".") if value is not None else ""
    if not text:
        raise ValidationError(field, "is required")
    try:
        number = float(text)
    except ValueError:
        raise ValidationError(field, f'must be a number, not "{text}"') from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValidationError(field, f'must be a number, not "{text}"')
    return number


def _whole(value: object, field: str) -> int:
    number = _number(value, field)
    if number != int(number):
        raise ValidationError(field, "must be a whole number")
    return int(number)


def _names(session: Session, nurse_ids: Iterable[int | None]) -> dict[int, str]:
    ids = sorted({nurse_id for nurse_id in nurse_ids if nurse_id is not None})
    if not ids:
        return {}
    return dict(
        session.execute(select(Nurse.id, Nurse.display_name).where(Nurse.id.in_(ids))).all()
    )


def _reading_read(row: Reading, names: Mapping[int, str]) -> ReadingRead:
    assert row.id is not None
    return ReadingRead(
        id=row.id,
        patient_id=row.patient_id,
        measure=row.measure,
        loinc=row.loinc,
        value=row.value,
        unit=row.unit,
        measure_value=row.measure_value,
        taken_at=row.taken_at,
        source=row.source,
        entered_by=names.get(row.entered_by_id) if row.entered_by_id else None,
    )


def _alert_read(row: ReadingAlert, names: Mapping[int, str]) -> AlertRead:
    assert row.id is not None
    return AlertRead(
        id=row.id,
        patient_id=row.patient_id,
        measure=row.measure,
        rules=tuple(rule for rule in row.rules.split(",") if rule),
        urgent=row.urgent,
        why=row.why,
        reading_at=row.reading_at,
        raised_at=row.raised_at,
        status=row.status,
        closed_at=row.closed_at,
        closed_by=names.get(row.closed_by_id) if row.closed_by_id else None,
        contact_id=row.contact_id,
        note=row.note,
    )


def _enrolment_read(row: MonitoringEnrolment) -> EnrolmentRead:
    assert row.id is not None
    return EnrolmentRead(
        row.id,
        row.patient_id,
        row.measure,
        row.frequency,
        row.gap_days,
        row.started_on,
        row.ended_on,
    )


def _latest_values(session: Session, patient_id: int) -> list[LatestValue]:
    """The two newest readings of each measure the patient has (one query per measure present)."""
    present = session.scalars(
        select(Reading.measure).where(Reading.patient_id == patient_id).distinct()
    ).all()
    order = {measure.value: position for position, measure in enumerate(Measure)}
    values = []
    for measure in sorted(present, key=lambda code: order.get(code, len(order))):
        rows = list(
            session.scalars(
                select(Reading)
                .where(Reading.patient_id == patient_id, Reading.measure == measure)
                .order_by(Reading.taken_at.desc(), Reading.id.desc())
                .limit(2)
            )
        )
        names = _names(session, {row.entered_by_id for row in rows})
        reads = [_reading_read(row, names) for row in rows]
        values.append(LatestValue(measure, reads[0], reads[1] if len(reads) > 1 else None))
    return values


def summary_line(session: Session, patient_id: int, today: date, weight_unit: str) -> str:
    """ "wt 82.4 kg +2.6 kg/5 d ▲, BP 148/92": the patient's weight and its change over the
    week, and the latest blood pressure, in the caller's session; "" without either.

    The weight is compared as the alerts compare it (``domain.thresholds``):
    the first weighing of a day stands for the day, so an after-breakfast
    second weighing is neither the weight shown nor read as a gain; the
    change runs from the lowest daily weight among the 7 calendar days before
    (the week and the low the gain rule reads) to the latest day, so the card
    says what Today's "weight +2.6 kg in 5 d" says. A value older
    than that week says its date ("wt 80.1 kg (3 Mar 2025)"): an imported
    weight of years ago is not the patient's weight today.
    """
    parts: list[str] = []
    latest_at = session.scalar(
        select(func.max(Reading.taken_at)).where(
            Reading.patient_id == patient_id, Reading.measure == Measure.weight.value
        )
    )
    if latest_at is not None:
        latest_day = latest_at.date()
        week_start = datetime.combine(latest_day - timedelta(days=WEEK_DAYS), datetime.min.time())
        days = daily_weights(
            Point(taken_at, value)
            for taken_at, value in session.execute(
                select(Reading.taken_at, Reading.measure_value).where(
                    Reading.patient_id == patient_id,
                    Reading.measure == Measure.weight.value,
                    Reading.taken_at >= week_start,
                )
            )
        )
        latest = days[latest_day].value
        text = f"wt {shown_value(Measure.weight, latest, weight_unit)}"
        earlier_days = [day for day in days if day < latest_day]
        if earlier_days:
            # From the week's lowest day (the latest of equal lows), as the
            # weekly-gain rule measures: the card and Today's why agree.
            lowest = min(days[day].value for day in earlier_days)
            first_day = max(day for day in earlier_days if days[day].value == lowest)
            change = round(latest - lowest, 3)
            arrow = "▲" if change > 0 else "▼" if change < 0 else "="
            sign = "+" if change > 0 else "-" if change < 0 else "±"
            amount = shown_value(Measure.weight, abs(change), weight_unit)
            text += f" {sign}{amount}/{(latest_day - first_day).days} d {arrow}"
        parts.append(text + _when_old(latest_day, today))
    pressure = session.execute(
        select(Reading.measure, Reading.measure_value, Reading.taken_at).where(
            Reading.patient_id == patient_id,
            Reading.measure.in_([Measure.systolic.value, Measure.diastolic.value]),
            Reading.taken_at
            == select(func.max(Reading.taken_at))
            .where(Reading.patient_id == patient_id, Reading.measure == Measure.systolic.value)
            .scalar_subquery(),
        )
    ).all()
    values = {Measure(measure): value for measure, value, _taken_at in pressure}
    if Measure.systolic in values and Measure.diastolic in values:
        systolic, diastolic = values[Measure.systolic], values[Measure.diastolic]
        parts.append(
            f"BP {number(systolic, 0)}/{number(diastolic, 0)}"
            + _when_old(pressure[0].taken_at.date(), today)
        )
    return ", ".join(parts)


def _when_old(day: date, today: date) -> str:
    """ " (3 Mar 2025)" for a value older than a week, "" for a recent one."""
    if (today - day).days <= WEEK_DAYS:
        return ""
    return f" ({day.day} {day:%b %Y})"


__all__ = [
    "AlertRead",
    "EnrolmentRead",
    "LatestValue",
    "LimitRead",
    "NewReading",
    "ReadingRead",
    "ReadingsService",
    "StoreResult",
    "summary_line",
]
