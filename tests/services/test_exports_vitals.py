"""The handover's "Vitals & labs" rows: words and units, the change, blood pressure pairs."""

from __future__ import annotations

from datetime import datetime

from nursecase.domain.codes import ReadingSource
from nursecase.services.exports.vitals import alert_rows, vitals_rows
from nursecase.services.readings import NewReading

MORNING = datetime(2026, 11, 20, 7, 30)
EVENING = datetime(2026, 11, 20, 19, 30)


def test_latest_values_in_words_with_their_change_and_no_alert(services):
    patient = services.patients.create("HV-1", "Vital", "Val")
    readings = [
        NewReading(patient.id, "29463-7", 176.0, "lb", MORNING),
        NewReading(patient.id, "29463-7", 79.84, "kg", EVENING),
        # Pairs a morning apart, then a systolic alone: the pair is not the latest.
        NewReading(patient.id, "8480-6", 150, "mmHg", MORNING),
        NewReading(patient.id, "8462-4", 95, "mmHg", MORNING),
        NewReading(patient.id, "8480-6", 138, "mmHg", EVENING),
        NewReading(patient.id, "2345-7", 5.5, "mmol/L", MORNING),
    ]
    with services.context.write() as session:
        services.readings.store(session, readings, ReadingSource.device)

    rows = vitals_rows(services.context, patient.id)

    assert [row[1:] for row in rows] == [
        ("Weight", "79.8 kg", EVENING, "no change since 2026-11-20"),
        ("Systolic pressure", "138 mmHg", EVENING, "-12 mmHg since 2026-11-20"),
        ("Diastolic pressure", "95 mmHg", MORNING, "first reading"),
        ("Glucose", "99 mg/dL", MORNING, "first reading"),
    ]
    assert alert_rows(services.context, patient.id) == []
