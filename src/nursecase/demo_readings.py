"""Readings for the synthetic caseloads (issue 20): home monitoring, clinic vitals, labs, alerts.

The caseload generator of ``nursecase.demo`` hands each patient with an active
episode to :class:`ReadingsBuilder`, which decides from the patient's active
conditions whether they are on home (remote) monitoring and whether their
clinic's vital signs and labs were imported, and writes the rows of four
tables as plain tuples in :data:`READING_COLUMNS` order:

- ``monitoring_enrolment``: heart failure patients weigh themselves every
  morning (and take their blood pressure), people with hypertension take
  their blood pressure (some morning and evening), diabetics check their
  fasting glucose, COPD patients their oxygen saturation; readings come from
  the device vendor ("device"), over the last 30 to 90 days, with the odd
  day missed;
- ``reading``: those home readings, and a few years of clinic visits imported
  from the clinic's record ("import": weight, blood pressure, heart rate, and
  the labs each condition is followed by: HbA1c, eGFR and potassium,
  NT-proBNP, LDL);
- ``reading_threshold``: a COPD patient who runs low has her own oxygen limit
  of 88 %, with the nurse's reason, as the BTS guideline's 88-92 % target for
  patients who retain carbon dioxide allows;
- ``reading_alert``: the open alerts those readings raise. They are never
  written by hand: each one is what ``ReadingsService.store`` opens when the
  patient's readings arrive, the domain's ``find_breach`` run with the
  patient's limits over every recent reading (``is_recent``), the latest
  breach kept, raised when its first breaching reading arrived. Older
  readings are history and raise nothing, as in the service.

The demo nurse's first patients with the right condition carry the stories a nurse trying
``nursecase demo`` should meet (``SHOWCASES``): a heart-failure patient whose
weight climbed 2.6 kg in the last 5 days, a hypertensive patient with a
184/121, a diabetic whose HbA1c of 10.4 was drawn last week, a COPD patient at
88-91 % who raises no alert under her own limit of 88, and a patient whose
scale went quiet 4 days ago. Their values are calm elsewhere so that nothing else alerts. The
others draw their own course, a few with a story of their own (fluid gain, a
blood pressure spike, a low glucose, a drop in saturation, a device that
stopped sending), so a large seed has alerts and gaps in realistic shares.

Everything is drawn from a random stream of its own (``random.Random`` of
"readings:<seed>"), so adding readings left every other row of a seed as it
was. Readings end yesterday: the same day always gives the same rows, whatever
the hour the seed runs. Nothing here reads the database.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from nursecase.config import DEFAULT_GAP_DAYS
from nursecase.domain.codes import (
    AlertStatus,
    Measure,
    MonitoringFrequency,
    ReadingSource,
    ThresholdRule,
)
from nursecase.domain.measures import LABORATORY, MEASURES, POUND_KG
from nursecase.domain.thresholds import (
    DEFAULT_RULES,
    RECENT_DAYS_LABORATORY,
    RECENT_DAYS_VITAL_SIGNS,
    WEEK_DAYS,
    Finding,
    Point,
    RuleLimit,
    alert_measure,
    default_limits,
    find_breach,
    is_recent,
    patient_limits,
)

#: Column order of the tuples built for each table (``nursecase.demo.COLUMNS`` takes them).
READING_COLUMNS: dict[str, tuple[str, ...]] = {
    "reading": (
        "id",
        "patient_id",
        "measure",
        "loinc",
        "value",
        "unit",
        "measure_value",
        "taken_at",
        "source",
        "entered_by_id",
        "created_at",
    ),
    "reading_alert": (
        "id",
        "patient_id",
        "measure",
        "rules",
        "urgent",
        "why",
        "reading_at",
        "raised_at",
        "updated_at",
        "status",
        "closed_at",
        "closed_by_id",
        "contact_id",
        "note",
    ),
    "reading_threshold": (
        "id",
        "patient_id",
        "rule",
        "threshold",
        "reason",
        "set_by_id",
        "set_at",
    ),
    "monitoring_enrolment": (
        "id",
        "patient_id",
        "measure",
        "frequency",
        "gap_days",
        "started_on",
        "ended_on",
        "enrolled_by_id",
        "created_at",
    ),
}

# ICD-10 codes of the conditions that decide what is measured (nursecase.demo.CONDITIONS).
HEART_FAILURE = "I50.9"
COPD = "J44.9"
DIABETES = "E11.9"
HYPERTENSION = "I10"
KIDNEY_DISEASE = "N18.3"
LIPID_CONDITIONS = frozenset({"E78.5", "I25.10"})
#: Conditions a clinic follows with labs or vital signs.
CLINIC_CONDITIONS = frozenset(
    {HEART_FAILURE, COPD, DIABETES, HYPERTENSION, KIDNEY_DISEASE, *LIPID_CONDITIONS}
)

#: Of the patients with an active condition (and an active episode), the share on
#: home monitoring, and what they send. About one patient in ten of a seed is
#: monitored; a condition listed first decides when a patient has several.
HOME_MONITORING: tuple[tuple[str, float, tuple[Measure, ...]], ...] = (
    (HEART_FAILURE, 0.30, (Measure.weight, Measure.blood_pressure)),
    (COPD, 0.12, (Measure.oxygen_saturation,)),
    (DIABETES, 0.06, (Measure.glucose,)),
    (HYPERTENSION, 0.06, (Measure.blood_pressure,)),
)
#: Of the other active patients with a condition in CLINIC_CONDITIONS, the share
#: whose clinic's vitals and labs were imported (every monitored patient has them).
CLINIC_HISTORY_SHARE = 0.10
#: How far back the clinic's record goes, and the days between visits.
CLINIC_HISTORY_DAYS = 3 * 365
CLINIC_VISIT_GAP_DAYS = (150, 210)
#: The newest clinic visit is at least this many days old (home readings are the
#: recent ones; a clinic weight beside them would be a different scale).
CLINIC_NEWEST_AGO = 8
#: Home monitoring runs over the last 30 to 90 days (the showcases: 90).
HOME_DAYS = (30, 90)
#: Of the patients sending blood pressure, the share who take it morning and evening.
TWICE_DAILY_SHARE = 0.2
#: A monitored patient misses this share of days.
MISSED_DAY_SHARE = 0.06
#: Shares of monitored patients with a story in their recent readings.
STORY_SHARES = {
    "fluid-gain": 0.06,
    "pressure-spike": 0.03,
    "low-pressure": 0.015,
    "low-glucose": 0.03,
    "high-glucose": 0.02,
    "desaturation": 0.04,
    "stopped": 0.03,
}
#: A COPD patient whose saturation runs below this has her own lower limit.
RETAINER_BELOW = 92.5
RETAINER_LIMIT = 88.0
RETAINER_REASON = "COPD, retains CO2: target 88-92 %"
#: Readings from this many days back are kept as points for the alert check:
#: the 30-day window of a lab, or the 7 days of a vital sign plus the 8 days a
#: weight gain looks back (``domain.thresholds``).
CHECKED_DAYS = {
    measure: RECENT_DAYS_LABORATORY + 1
    if facts.category == LABORATORY
    else RECENT_DAYS_VITAL_SIGNS + 1
    for measure, facts in MEASURES.items()
}
CHECKED_DAYS[Measure.weight] = RECENT_DAYS_VITAL_SIGNS + WEEK_DAYS + 1
#: The stored measures a threshold rule reads.
CHECKED_MEASURES = frozenset(definition.measure for definition in DEFAULT_RULES.values())

#: The stories the first eligible patients carry (condition, name), in order.
WEIGHT_GAIN = "weight-gain"
PRESSURE_CRISIS = "pressure-crisis"
HIGH_HBA1C = "high-hba1c"
COPD_RETAINER = "copd-retainer"
SILENT_SCALE = "silent-scale"
SHOWCASES: tuple[tuple[str, str], ...] = (
    (WEIGHT_GAIN, HEART_FAILURE),
    (PRESSURE_CRISIS, HYPERTENSION),
    (HIGH_HBA1C, DIABETES),
    (COPD_RETAINER, COPD),
    (SILENT_SCALE, HEART_FAILURE),
)
#: The heart-failure showcase's morning weights, days -8 .. -1: the low of the
#: week on day -6, then 2.6 kg in 5 days, never more than 0.9 kg in one.
WEIGHT_GAIN_TAIL = (81.6, 81.5, 81.4, 81.9, 82.5, 83.0, 83.5, 84.0)
#: The hypertension showcase's reading two days ago.
CRISIS_READING = (184.0, 121.0)
CRISIS_AGO = 2
#: The diabetes showcase's HbA1c history (days ago, %), the newest drawn last week.
HBA1C_HISTORY = ((370, 7.9), (280, 8.2), (190, 8.6), (100, 8.9), (6, 10.4))
#: The silent scale's last weight was this many days ago.
SILENT_DAYS = 4

#: Slots are 5 minutes from 07:00 (as ``nursecase.demo``): mornings, evenings, clinic hours.
MORNING_SLOTS = 12
EVENING_SLOT = 140
CLINIC_SLOTS = (20, 48)
#: An imported result reaches nursecase the next day at noon.
ARRIVAL_SLOT = 60

DEVICE = ReadingSource.device.value
IMPORTED = ReadingSource.imported.value
HOME_GLUCOSE_LOINC = "41653-7"
LOINCS = {measure: facts.loinc for measure, facts in MEASURES.items()}
UNITS = {measure: facts.unit for measure, facts in MEASURES.items()}
#: Noise is the sum of two uniform draws (a triangle, quicker than ``random.gauss``):
#: times this it has a standard deviation of 1.
TRIANGLE = 6**0.5
#: Blood pressure varies from one reading to the next by these (standard deviations 7 and 5).
SYSTOLIC_SPREAD = 7 * TRIANGLE
DIASTOLIC_SPREAD = 5 * TRIANGLE


@dataclass
class _Body:
    """One patient's usual values, around which the readings are drawn."""

    weight: float
    systolic: float
    diastolic: float
    heart_rate: float
    glucose: float
    saturation: float
    hba1c: float
    egfr: float
    potassium: float
    ldl: float
    nt_probnp: float
    in_pounds: bool


class ReadingsBuilder:
    """Builds one patient's readings, enrolments, own limits and open alerts at a time.

    ``day(offset)``, ``moment(offset, slot)`` and ``stamp(datetime)`` format
    values for the loader (the caseload generator's cached formatters);
    ``ids`` is the generator's next-id table, shared, so the rows' ids follow
    its plan.
    """

    def __init__(
        self,
        seed: int,
        today: date,
        ids: dict[str, int],
        day: Callable[[int], object],
        moment: Callable[[int, int], object],
        stamp: Callable[[datetime], object],
        showcase_nurse: int | None = None,
    ) -> None:
        self.rng = random.Random(f"readings:{seed}")
        #: The nurse whose patients carry the showcases: the demo's own nurse,
        #: so that a nurse trying ``nursecase demo`` meets them on her Today.
        self.showcase_nurse = showcase_nurse
        self.today = today
        self.ids = ids
        self.day = day
        self.moment = moment
        self.stamp = stamp
        self.clinic_limits = default_limits()
        self.showcases_left = list(SHOWCASES)
        self._seven = datetime.combine(today, time(7))
        # Per patient: the reading table being filled, the patient, and the
        # recent readings (measure, offset, slot, value, source) the alert check reads.
        self._rows: list[tuple] = []
        self._patient_id = 0
        self._recent: list[tuple[Measure, int, int, float, str]] = []

    # ------------------------------------------------------------ patients

    def patient(
        self,
        tables: Mapping[str, list[tuple]],
        patient_id: int,
        nurse_id: int,
        conditions: frozenset[str],
        start_ago: int,
    ) -> None:
        """The patient's rows (``conditions``: active ICD-10 codes; an active episode)."""
        relevant = conditions & CLINIC_CONDITIONS
        if not relevant:
            return
        rng = self.rng
        showcase = self._showcase(relevant) if nurse_id == self.showcase_nurse else None
        home = self._home_measures(relevant, showcase)
        if not home and rng.random() >= CLINIC_HISTORY_SHARE:
            return
        calm = showcase is not None
        body = self._body(relevant, showcase)
        self._rows = tables["reading"]
        self._patient_id = patient_id
        self._recent = []
        limits = self.clinic_limits
        if home:
            days = min(start_ago - 1, HOME_DAYS[1] if calm else rng.randint(*HOME_DAYS))
            stories = self._stories(home, calm)
            last = -1
            if showcase == SILENT_SCALE:
                last = -SILENT_DAYS
            elif "stopped" in stories:
                last = -rng.randint(SILENT_DAYS, 9)
            twice = Measure.blood_pressure in home and not calm and rng.random() < TWICE_DAILY_SHARE
            for measure in home:
                frequency = MonitoringFrequency.daily
                if twice and measure is Measure.blood_pressure:
                    frequency = MonitoringFrequency.twice_daily
                self._enrol(tables, patient_id, nurse_id, measure, frequency, days)
            if Measure.oxygen_saturation in home and body.saturation < RETAINER_BELOW:
                self._own_limit(tables, patient_id, nurse_id, days)
                limits = patient_limits(
                    self.clinic_limits,
                    [(ThresholdRule.oxygen_low.value, RETAINER_LIMIT, RETAINER_REASON)],
                )
            self._home_readings(body, home, days, last, stories, showcase, twice)
        self._clinic(body, relevant, showcase)
        self._alerts(tables, patient_id, limits)

    def _showcase(self, conditions: frozenset[str]) -> str | None:
        for position, (name, condition) in enumerate(self.showcases_left):
            if condition in conditions:
                del self.showcases_left[position]
                return name
        return None

    def _home_measures(self, conditions: frozenset[str], showcase: str | None) -> list[Measure]:
        if showcase == SILENT_SCALE:
            return [Measure.weight]
        if showcase is not None:
            condition = dict(SHOWCASES)[showcase]
            return next(
                list(measures) for code, _, measures in HOME_MONITORING if code == condition
            )
        rng = self.rng
        for condition, share, measures in HOME_MONITORING:
            if condition in conditions and rng.random() < share:
                return list(measures)
        return []

    def _stories(self, home: Sequence[Measure], calm: bool) -> set[str]:
        """The stories of a monitored patient's recent readings (none for a showcase)."""
        if calm:
            return set()
        rng = self.rng
        fits = {
            "fluid-gain": Measure.weight in home,
            "pressure-spike": Measure.blood_pressure in home,
            "low-pressure": Measure.blood_pressure in home,
            "low-glucose": Measure.glucose in home,
            "high-glucose": Measure.glucose in home,
            "desaturation": Measure.oxygen_saturation in home,
            "stopped": True,
        }
        return {
            story for story, share in STORY_SHARES.items() if rng.random() < share and fits[story]
        }

    def _body(self, conditions: frozenset[str], showcase: str | None) -> _Body:
        uniform = self.rng.uniform
        hypertensive = HYPERTENSION in conditions
        systolic = uniform(132, 156) if hypertensive else uniform(112, 138)
        body = _Body(
            weight=uniform(58, 118),
            systolic=systolic,
            diastolic=systolic * 0.6 + uniform(-4, 6),
            heart_rate=uniform(62, 86),
            glucose=uniform(118, 196),
            saturation=uniform(90.0, 96.5),
            hba1c=uniform(6.4, 9.6),
            egfr=uniform(32, 58),
            potassium=uniform(3.9, 4.9),
            ldl=uniform(70, 160),
            nt_probnp=uniform(250, 2600),
            in_pounds=self.rng.random() < 0.25,
        )
        if showcase is not None:
            # The showcases' own values, well inside every limit but their story's.
            body.in_pounds = False
            body.hba1c = min(body.hba1c, 8.4)
            if showcase == WEIGHT_GAIN:
                body.weight = WEIGHT_GAIN_TAIL[0]
                body.systolic, body.diastolic = 124, 76
            elif showcase == PRESSURE_CRISIS:
                body.systolic, body.diastolic = 152, 94
            elif showcase == HIGH_HBA1C:
                body.glucose = 178
            elif showcase == COPD_RETAINER:
                body.saturation = 89.4
        return body

    # --------------------------------------------------------- enrolments

    def _enrol(
        self,
        tables: Mapping[str, list[tuple]],
        patient_id: int,
        nurse_id: int,
        measure: Measure,
        frequency: MonitoringFrequency,
        days: int,
    ) -> None:
        tables["monitoring_enrolment"].append(
            (
                self._take("monitoring_enrolment"),
                patient_id,
                measure.value,
                frequency.value,
                DEFAULT_GAP_DAYS,
                self.day(-days),
                None,
                nurse_id,
                self.moment(-days - 1, 90),
            )
        )

    def _own_limit(
        self, tables: Mapping[str, list[tuple]], patient_id: int, nurse_id: int, days: int
    ) -> None:
        tables["reading_threshold"].append(
            (
                self._take("reading_threshold"),
                patient_id,
                ThresholdRule.oxygen_low.value,
                RETAINER_LIMIT,
                RETAINER_REASON,
                nurse_id,
                self.moment(-days - 1, 92),
            )
        )

    # ------------------------------------------------------ home readings

    def _home_readings(
        self,
        body: _Body,
        home: Sequence[Measure],
        days: int,
        last: int,
        stories: set[str],
        showcase: str | None,
        twice: bool,
    ) -> None:
        """Device readings, every morning the patient took them (and evenings, ``twice``).

        Written for speed (a large seed makes a million of these): plain loops,
        noise from two uniform draws (``TRIANGLE``), tuples built in place.
        """
        rng = self.rng
        random_value = rng.random
        calm = showcase is not None
        missed = 0.0 if calm else MISSED_DAY_SHARE
        sent = [
            (offset, int(random_value() * MORNING_SLOTS))
            for offset in range(-days, last + 1)
            if random_value() >= missed
        ]
        # A story happens on one of the last days the patient sent readings.
        story_day = last - rng.randrange(5)
        rows = self._rows
        recent = self._recent
        moment = self.moment
        ids = self.ids
        patient_id = self._patient_id
        if Measure.weight in home:
            loinc = LOINCS[Measure.weight]
            unit = "[lb_av]" if body.in_pounds else "kg"
            spread = (0.12 if calm else 0.25) * TRIANGLE
            gain_days = rng.randint(3, 6)
            gain = rng.uniform(1.6, 3.6) if "fluid-gain" in stories else 0.0
            tail = WEIGHT_GAIN_TAIL if showcase == WEIGHT_GAIN else ()
            drift = 0.0
            for offset, slot in sent:
                if not calm:
                    drift = max(-1.5, min(1.5, drift + (random_value() - 0.5) * 0.14))
                kilograms = body.weight + drift + (random_value() + random_value() - 1.0) * spread
                if offset >= -len(tail):
                    kilograms = tail[len(tail) + offset]
                if gain and offset > last - gain_days:
                    kilograms += gain * (offset - (last - gain_days)) / gain_days
                if body.in_pounds:
                    value = round(kilograms / POUND_KG, 1)
                    measure_value = value * POUND_KG  # as domain.measures converts it
                else:
                    value = measure_value = round(kilograms, 1)
                taken = moment(offset, slot)
                reading_id = ids["reading"]
                ids["reading"] = reading_id + 1
                rows.append(
                    (
                        reading_id,
                        patient_id,
                        "weight",
                        loinc,
                        value,
                        unit,
                        measure_value,
                        taken,
                        DEVICE,
                        None,
                        taken,
                    )
                )
                if offset >= -CHECKED_DAYS[Measure.weight]:
                    recent.append((Measure.weight, offset, slot, measure_value, DEVICE))
        if Measure.blood_pressure in home:
            pairs = []
            for offset, slot in sent:
                systolic, diastolic = self._pressure(body, calm)
                if showcase == PRESSURE_CRISIS and offset == -CRISIS_AGO:
                    systolic, diastolic = CRISIS_READING
                elif offset == story_day and "pressure-spike" in stories:
                    systolic, diastolic = rng.randint(181, 204), rng.randint(98, 124)
                elif offset == story_day and "low-pressure" in stories:
                    systolic, diastolic = rng.randint(76, 88), rng.randint(44, 56)
                pairs.append((offset, slot + 2, systolic, diastolic))
                if twice:
                    evening_slot = EVENING_SLOT + int(random_value() * 24)
                    pairs.append((offset, evening_slot, *self._pressure(body, calm)))
            self._device_pairs(pairs)
        if Measure.glucose in home:
            spread = body.glucose * 0.13 * TRIANGLE
            for offset, slot in sent:
                value = body.glucose + (random_value() + random_value() - 1.0) * spread
                if calm:
                    value = min(max(value, 92), 262)
                if offset == story_day and "low-glucose" in stories:
                    value = rng.randint(48, 68)
                elif offset == story_day and "high-glucose" in stories:
                    value = rng.randint(305, 390)
                self._add(
                    Measure.glucose,
                    HOME_GLUCOSE_LOINC,
                    float(round(value)),
                    "mg/dL",
                    offset,
                    slot,
                    DEVICE,
                )
        if Measure.oxygen_saturation in home:
            loinc = LOINCS[Measure.oxygen_saturation]
            for offset, slot in sent:
                value = round(body.saturation + (random_value() + random_value() - 1.0) * TRIANGLE)
                if showcase == COPD_RETAINER:
                    value = min(max(value, 88), 91)
                if offset == story_day and "desaturation" in stories:
                    value = round(body.saturation) - rng.randint(5, 8)
                value = min(value, 100)
                self._add(
                    Measure.oxygen_saturation, loinc, float(value), "%", offset, slot + 1, DEVICE
                )

    def _device_pairs(self, pairs: Sequence[tuple[int, int, float, float]]) -> None:
        """Blood pressure pairs (offset, slot, systolic, diastolic) from the home cuff."""
        rows = self._rows
        recent = self._recent
        moment = self.moment
        ids = self.ids
        patient_id = self._patient_id
        systolic_loinc = LOINCS[Measure.systolic]
        diastolic_loinc = LOINCS[Measure.diastolic]
        window = -CHECKED_DAYS[Measure.systolic]
        reading_id = ids["reading"]
        for offset, slot, systolic, diastolic in pairs:
            taken = moment(offset, slot)
            rows.append(
                (
                    reading_id,
                    patient_id,
                    "systolic",
                    systolic_loinc,
                    systolic,
                    "mm[Hg]",
                    systolic,
                    taken,
                    DEVICE,
                    None,
                    taken,
                )
            )
            rows.append(
                (
                    reading_id + 1,
                    patient_id,
                    "diastolic",
                    diastolic_loinc,
                    diastolic,
                    "mm[Hg]",
                    diastolic,
                    taken,
                    DEVICE,
                    None,
                    taken,
                )
            )
            reading_id += 2
            if offset >= window:
                recent.append((Measure.systolic, offset, slot, systolic, DEVICE))
                recent.append((Measure.diastolic, offset, slot, diastolic, DEVICE))
        ids["reading"] = reading_id

    def _pressure(self, body: _Body, calm: bool) -> tuple[float, float]:
        random_value = self.rng.random
        systolic = round(body.systolic + (random_value() + random_value() - 1.0) * SYSTOLIC_SPREAD)
        diastolic = round(
            body.diastolic + (random_value() + random_value() - 1.0) * DIASTOLIC_SPREAD
        )
        if calm:
            systolic = min(max(systolic, 104), 172)
            diastolic = min(max(diastolic, 58), 112)
        return float(systolic), float(min(diastolic, systolic - 20))

    # ---------------------------------------------------------- the clinic

    def _clinic(self, body: _Body, conditions: frozenset[str], showcase: str | None) -> None:
        """Clinic visits over the last years, imported: vital signs and the condition's labs."""
        rng = self.rng
        gauss = rng.gauss
        if showcase == HIGH_HBA1C:
            visits = [-ago for ago, _ in reversed(HBA1C_HISTORY[:-1])]
        else:
            visits = []
            offset = -rng.randint(CLINIC_NEWEST_AGO, 180)
            while offset >= -CLINIC_HISTORY_DAYS:
                visits.append(offset)
                offset -= rng.randint(*CLINIC_VISIT_GAP_DAYS)
        calm = showcase is not None
        hba1c_history = {-ago: value for ago, value in HBA1C_HISTORY}
        for number, offset in enumerate(visits):
            slot = rng.randint(*CLINIC_SLOTS)
            weight = round(body.weight + gauss(0, 0.5), 1)
            self._add(Measure.weight, LOINCS[Measure.weight], weight, "kg", offset, slot, IMPORTED)
            self._pair(*self._pressure(body, calm), offset, slot, IMPORTED)
            heart_rate = min(max(round(gauss(body.heart_rate, 6)), 52), 118)
            self._lab(Measure.heart_rate, heart_rate, offset, slot)
            lab_slot = slot + 3
            if DIABETES in conditions:
                value = hba1c_history.get(offset) if showcase == HIGH_HBA1C else None
                if value is None:
                    value = min(max(gauss(body.hba1c, 0.4), 5.4), 8.9 if calm else 13.5)
                self._lab(Measure.hba1c, round(value, 1), offset, lab_slot)
            if KIDNEY_DISEASE in conditions:
                self._lab(Measure.egfr, round(gauss(body.egfr, 3)), offset, lab_slot)
            if KIDNEY_DISEASE in conditions or HEART_FAILURE in conditions:
                potassium = min(max(gauss(body.potassium, 0.25), 3.2), 5.8)
                self._lab(Measure.potassium, round(potassium, 1), offset, lab_slot)
            if HEART_FAILURE in conditions:
                value = max(gauss(body.nt_probnp, body.nt_probnp * 0.2), 60)
                self._lab(Measure.nt_probnp, round(value), offset, lab_slot)
            if conditions & LIPID_CONDITIONS and number % 2 == 0:
                ldl = round(min(max(gauss(body.ldl, 12), 40), 240))
                self._lab(Measure.ldl, ldl, offset, lab_slot)
        if showcase == HIGH_HBA1C:
            # Drawn last week on its own (no visit): the result that raises the alert.
            ago, value = HBA1C_HISTORY[-1]
            self._lab(Measure.hba1c, value, -ago, CLINIC_SLOTS[0])

    def _lab(self, measure: Measure, value: float, offset: int, slot: int) -> None:
        self._add(measure, LOINCS[measure], float(value), UNITS[measure], offset, slot, IMPORTED)

    # ------------------------------------------------------------- readings

    def _pair(self, systolic: float, diastolic: float, offset: int, slot: int, source: str) -> None:
        self._add(
            Measure.systolic, LOINCS[Measure.systolic], systolic, "mm[Hg]", offset, slot, source
        )
        self._add(
            Measure.diastolic, LOINCS[Measure.diastolic], diastolic, "mm[Hg]", offset, slot, source
        )

    def _add(
        self,
        measure: Measure,
        loinc: str,
        value: float,
        unit: str,
        offset: int,
        slot: int,
        source: str,
    ) -> None:
        """One reading in its measure's own unit; a recent one is kept for the alert check.

        A device sends a reading as it is taken; an imported one (a clinic's
        record, a laboratory) arrives the next day at noon.
        """
        taken = self.moment(offset, slot)
        arrived = taken if source == DEVICE else self.moment(offset + 1, ARRIVAL_SLOT)
        ids = self.ids
        reading_id = ids["reading"]
        ids["reading"] = reading_id + 1
        self._rows.append(
            (
                reading_id,
                self._patient_id,
                measure.value,
                loinc,
                value,
                unit,
                value,
                taken,
                source,
                None,
                arrived,
            )
        )
        if offset >= -CHECKED_DAYS[measure]:
            self._recent.append((measure, offset, slot, value, source))

    # --------------------------------------------------------------- alerts

    def _alerts(
        self,
        tables: Mapping[str, list[tuple]],
        patient_id: int,
        limits: Mapping[ThresholdRule, RuleLimit],
    ) -> None:
        """The open alerts ``ReadingsService.store`` raises for these readings (see above)."""
        points: dict[Measure, list[Point]] = defaultdict(list)
        arrived: dict[datetime, datetime] = {}
        seven = self._seven
        for measure, offset, slot, value, source in self._recent:
            taken = seven + timedelta(days=offset, minutes=5 * slot)
            points[measure].append(Point(taken, value))
            arrived[taken] = (
                taken
                if source == DEVICE
                else seven + timedelta(days=offset + 1, minutes=5 * ARRIVAL_SLOT)
            )
        alert_measures = sorted(
            {alert_measure(measure) for measure in points if measure in CHECKED_MEASURES},
            key=list(Measure).index,
        )
        for measure in alert_measures:
            first, last = breaches(measure, points, self.today, limits)
            if first is None or last is None:
                continue
            tables["reading_alert"].append(
                (
                    self._take("reading_alert"),
                    patient_id,
                    last.measure.value,
                    ",".join(rule.value for rule in last.rules),
                    last.urgent,
                    last.why,
                    self.stamp(last.taken_at),
                    self.stamp(arrived[first.taken_at]),
                    self.stamp(arrived[last.taken_at]),
                    AlertStatus.open.value,
                    None,
                    None,
                    None,
                    None,
                )
            )

    def _take(self, table: str, count: int = 1) -> int:
        first = self.ids[table]
        self.ids[table] = first + count
        return first


def breaches(
    measure: Measure,
    points: Mapping[Measure, Sequence[Point]],
    today: date,
    limits: Mapping[ThresholdRule, RuleLimit],
) -> tuple[Finding | None, Finding | None]:
    """The first and the latest breach of an alert measure among its recent readings.

    What ``ReadingsService.store`` finds when the readings arrive: every
    reading recent enough to alert (``is_recent``) is checked in time order
    with ``find_breach``; the latest breach is the open alert's, the first one
    raised it (a later one updated it).
    """
    parts = (
        (Measure.systolic, Measure.diastolic) if measure is Measure.blood_pressure else (measure,)
    )
    history = {
        part: sorted(points.get(part, ()), key=lambda point: point.taken_at) for part in parts
    }
    moments = sorted(
        {
            point.taken_at
            for part in parts
            for point in history[part]
            if is_recent(measure, point.taken_at, today)
        }
    )
    first: Finding | None = None
    last: Finding | None = None
    for moment in moments:
        found = find_breach(measure, history, moment, limits)
        if found is not None:
            first = first or found
            last = found
    return first, last


__all__ = ["READING_COLUMNS", "SHOWCASES", "ReadingsBuilder", "breaches"]
