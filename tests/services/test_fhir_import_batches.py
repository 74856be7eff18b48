"""A large bundle imports in batches of whole patients, in time linear in its size (issue 17).

Another writer commits between two batches; the work per record does not grow
with the bundle (counted in SQLite virtual-machine steps and statements, not
timed: timings are in bench/bulk_import.py); a refused bundle still writes
nothing; an import stopped between batches says so, and importing the file
again completes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from nursecase.db.engine import make_engine
from nursecase.db.models import Condition, Patient
from nursecase.domain.fhir_bundle import parse_bundle
from nursecase.services import make_services
from nursecase.services.fhir_batches import split_into_batches
from nursecase.services.fhir_import import FhirImportError, FhirImportService
from tests.services.test_fhir_import import MR_TYPE, row_counts


def bundle_of(patients: int, conditions_each: int, existing: tuple[str, ...] = ()) -> dict:
    """Patients P-0.. with conditions each, then conditions of patients already stored."""
    entries = []
    for index in range(patients):
        entries.append(
            {
                "fullUrl": f"urn:uuid:00000000-0000-4000-8000-{index:012d}",
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [
                        {
                            "type": MR_TYPE,
                            "system": "http://hospital.example.org",
                            "value": f"P-{index}",
                        }
                    ],
                    "name": [{"family": "Okafor", "given": ["Grace"]}],
                },
            }
        )
    subjects = [
        {"reference": f"urn:uuid:00000000-0000-4000-8000-{index:012d}"} for index in range(patients)
    ] + [{"reference": f"Patient?identifier=http://hospital.example.org|{mrn}"} for mrn in existing]
    number = 0
    for subject in subjects:
        for _ in range(conditions_each):
            number += 1
            entries.append(
                {
                    "fullUrl": f"urn:uuid:10000000-0000-4000-8000-{number:012d}",
                    "resource": {
                        "resourceType": "Condition",
                        "clinicalStatus": {"coding": [{"code": "active"}]},
                        "code": {
                            "coding": [{"system": "http://snomed.info/sct", "code": "84114007"}],
                            "text": "HF",
                        },
                        "subject": subject,
                        # A distinct onset per condition: each one is a new record.
                        "onsetDateTime": f"{1900 + number // 300}-{1 + number // 28 % 12:02d}"
                        f"-{1 + number % 28:02d}",
                    },
                }
            )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


@contextmanager
def after_each_commit(engine, action: Callable[[], None]) -> Iterator[None]:
    """Run ``action`` each time a session on ``engine`` has committed."""

    def committed(session: Session) -> None:
        if session.bind is engine:
            action()

    event.listen(Session, "after_commit", committed)
    try:
        yield
    finally:
        event.remove(Session, "after_commit", committed)


def test_another_writer_commits_between_the_batches_of_one_import(
    services, engine, database, clock
):
    other_engine = make_engine(database)  # another workstation: its own connections
    other = make_services(other_engine, clock, nurse="alice")
    seen: list[int] = []

    def write_beside_the_import() -> None:
        with other.context.read() as session:
            seen.append(session.execute(select(func.count()).select_from(Condition)).scalar_one())
        other.nurses.create(f"n{len(seen)}", "Other Writer", "RN")

    importer = FhirImportService(services.context, batch_records=25)
    try:
        with after_each_commit(engine, write_beside_the_import):
            result = importer.import_data(bundle_of(patients=6, conditions_each=20), "big.json")
    finally:
        other_engine.dispose()
    assert result.tallies["conditions"].created == 120
    # The other writer committed while the import was under way, not only after it.
    assert any(0 < count < 120 for count in seen), seen
    assert len(services.nurses.list_nurses()) == 1 + len(seen)
    assert services.audit.verify_chain() is None


def test_a_patient_with_few_records_is_never_split_over_batches(clock):
    parsed = parse_bundle(bundle_of(patients=6, conditions_each=10), today=clock.today())
    batches = split_into_batches(parsed, 25)
    assert [len(batch.patients) for batch in batches] == [2, 2, 2]
    for batch in batches:
        mrns = {patient.mrn for patient in batch.patients}
        assert {condition.patient.mrn for condition in batch.conditions} == mrns
    # One patient bigger than a batch: its records are spread, the patient first.
    big = parse_bundle(bundle_of(patients=1, conditions_each=60), today=clock.today())
    spread = split_into_batches(big, 25)
    assert [len(batch.patients) for batch in spread] == [1, 0, 0]
    assert [len(batch.conditions) for batch in spread] == [24, 25, 11]


def _vm_steps(engine) -> Callable[[], int]:
    """Count SQLite virtual-machine steps (in hundreds) on every new connection."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    engine.dispose()
    event.listen(
        engine,
        "connect",
        lambda dbapi_connection, _record: dbapi_connection.set_progress_handler(count, 100),
    )
    return lambda: steps[0]


@pytest.mark.sqlite_only
def test_the_work_per_condition_does_not_grow_with_the_bundle(services, engine):
    statements = [0]
    event.listen(
        engine,
        "before_cursor_execute",
        lambda *arguments: statements.__setitem__(0, statements[0] + 1),
    )
    steps = _vm_steps(engine)
    importer = FhirImportService(services.context)
    work = []
    for number, size in enumerate((150, 600)):
        before_steps, before_statements = steps(), statements[0]
        data = bundle_of(patients=1, conditions_each=size)
        # A new patient each time (another MRN), so both imports start alike.
        data["entry"][0]["resource"]["identifier"][0]["value"] = f"LINEAR-{number}"
        result = importer.import_data(data, f"{size}.json")
        assert result.tallies["conditions"].created == size
        work.append(((steps() - before_steps) / size, (statements[0] - before_statements) / size))
    (small_steps, small_statements), (large_steps, large_statements) = work
    # Quadratic work (each condition searched among all of the patient's rows)
    # makes the per-condition figure four times as large for four times the bundle.
    assert large_steps < 1.3 * small_steps, work
    assert large_statements < 1.1 * small_statements, work


def test_a_refused_bundle_writes_nothing_even_when_it_spans_batches(services):
    importer = FhirImportService(services.context, batch_records=5)
    before = row_counts(services.context)
    data = bundle_of(patients=4, conditions_each=5, existing=("NOT-HERE",))
    with pytest.raises(FhirImportError) as refused:
        importer.import_data(data, "refused.json")
    assert "neither in this bundle nor in nursecase" in str(refused.value)
    assert str(refused.value).startswith("refused.json: entry[24].resource.subject")
    assert row_counts(services.context) == before


def test_an_import_stopped_between_batches_says_so_and_importing_again_completes_it(
    services, engine, database, clock
):
    stored = services.patients.create("M-9", "Rao", "Dev")
    data = bundle_of(patients=1, conditions_each=3, existing=("M-9",))
    other_engine = make_engine(database)
    other = make_services(other_engine, clock, nurse="alice")
    commits: list[datetime] = []

    def remove_the_stored_patient_once() -> None:
        commits.append(clock.now())
        if len(commits) == 1:
            other.patients.delete(stored.id)

    importer = FhirImportService(services.context, batch_records=4)
    try:
        with (
            after_each_commit(engine, remove_the_stored_patient_once),
            pytest.raises(FhirImportError) as stopped,
        ):
            importer.import_data(data, "stopped.json")
    finally:
        other_engine.dispose()
    assert "stopped after 1 of 2 batches of whole patients were written" in str(stopped.value)
    assert "importing the file again completes it" in str(stopped.value)
    # The first batch, patient P-0 with its three conditions, is there, whole.
    with services.context.read() as session:
        mrns = session.execute(select(Patient.mrn)).scalars().all()
        conditions = session.execute(select(func.count()).select_from(Condition)).scalar_one()
    assert mrns == ["P-0"] and conditions == 3

    services.patients.create("M-9", "Rao", "Dev")
    again = importer.import_data(data, "stopped.json")
    assert again.tallies["conditions"].created == 3  # M-9's, now there
    assert again.tallies["conditions"].unchanged == 3  # P-0's, not doubled
    assert services.audit.verify_chain() is None
