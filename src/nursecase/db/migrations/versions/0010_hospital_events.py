"""hospital events: encounters, their diagnoses, the ADT inbox, other systems' identifiers

- encounter: inpatient stays, emergency visits, observation stays and
  ambulatory visits from the ADT feed, FHIR imports or the discharge form
  (issue 21, item 1), found again by source and source key.
- encounter_diagnosis: an encounter's diagnoses in the order sent.
- adt_message: every HL7 v2 message received, kept as received, committed
  before its acknowledgement; one per sender and control id (item 2).
- external_identifier: a hospital's identifier for a patient, learned when a
  nurse matches an unmatched message (item 2).
- medication_reconciliation: every reconciliation and its day (the
  transitions-of-care outcome rate, item 4), filled from the days the
  medication list already holds (one row per patient and day).

Revision ID: 0010_hospital_events
Revises: 0009_monitoring
Create Date: 2026-12-08 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op

revision: str = "0010_hospital_events"
down_revision: str | None = "0009_monitoring"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "encounter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("encounter_class", _text(32), nullable=False),
        sa.Column("status", _text(32), nullable=False),
        sa.Column("facility", _text(200), nullable=True),
        sa.Column("admitted_at", sa.DateTime(), nullable=False),
        sa.Column("discharged_at", sa.DateTime(), nullable=True),
        sa.Column("disposition", _text(32), nullable=True),
        sa.Column("source", _text(32), nullable=False),
        sa.Column("source_key", _text(200), nullable=False),
        sa.Column("admission_known_at", sa.DateTime(), nullable=True),
        sa.Column("discharge_known_at", sa.DateTime(), nullable=True),
        sa.Column("transition_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_encounter_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["transition_id"],
            ["transition.id"],
            name=op.f("fk_encounter_transition_id_transition"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_encounter")),
        sa.UniqueConstraint(
            "patient_id", "source", "source_key", name="uq_encounter_patient_source_key"
        ),
    )
    with op.batch_alter_table("encounter", schema=None) as batch_op:
        batch_op.create_index(
            "ix_encounter_patient_when", ["patient_id", "admitted_at"], unique=False
        )
        batch_op.create_index(
            "ix_encounter_class_when", ["encounter_class", "admitted_at"], unique=False
        )
        batch_op.create_index(
            "ix_encounter_class_discharged", ["encounter_class", "discharged_at"], unique=False
        )
        # Who is in hospital now: the IN HOSPITAL flag and the paused contact
        # cadence look up encounters in progress, of a patient or of everyone.
        batch_op.create_index(
            "ix_encounter_status_patient",
            ["status", "patient_id", "encounter_class"],
            unique=False,
        )

    op.create_table(
        "encounter_diagnosis",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("encounter_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("code", _text(32), nullable=True),
        sa.Column("system", _text(200), nullable=True),
        sa.Column("display", _text(400), nullable=False),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounter.id"],
            name=op.f("fk_encounter_diagnosis_encounter_id_encounter"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_encounter_diagnosis")),
    )
    with op.batch_alter_table("encounter_diagnosis", schema=None) as batch_op:
        batch_op.create_index(
            "ix_encounter_diagnosis_encounter", ["encounter_id", "rank"], unique=False
        )

    op.create_table(
        "adt_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("sender", _text(200), nullable=False),
        sa.Column("control_id", _text(200), nullable=False),
        sa.Column("event", _text(8), nullable=True),
        sa.Column("message_time", sa.DateTime(), nullable=True),
        sa.Column("mrn", _text(64), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("status", _text(32), nullable=False),
        sa.Column("ack_code", _text(2), nullable=False),
        sa.Column("reason", _text(400), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("encounter_id", sa.Integer(), nullable=True),
        sa.Column("applied_at", sa.DateTime(), nullable=True),
        sa.Column("handled_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounter.id"],
            name=op.f("fk_adt_message_encounter_id_encounter"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["handled_by_id"], ["nurse.id"], name=op.f("fk_adt_message_handled_by_id_nurse")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_adt_message_patient_id_patient"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adt_message")),
        sa.UniqueConstraint("sender", "control_id", name="uq_adt_message_sender_control_id"),
    )
    with op.batch_alter_table("adt_message", schema=None) as batch_op:
        batch_op.create_index("ix_adt_message_status", ["status", "id"], unique=False)
        batch_op.create_index("ix_adt_message_mrn", ["mrn", "status"], unique=False)

    op.create_table(
        "external_identifier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("system", _text(200), nullable=False),
        sa.Column("value", _text(64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["nurse.id"],
            name=op.f("fk_external_identifier_created_by_id_nurse"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_external_identifier_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_identifier")),
        sa.UniqueConstraint("system", "value", name="uq_external_identifier_system_value"),
    )
    with op.batch_alter_table("external_identifier", schema=None) as batch_op:
        batch_op.create_index("ix_external_identifier_patient", ["patient_id"], unique=False)

    op.create_table(
        "medication_reconciliation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("reconciled_on", sa.Date(), nullable=False),
        sa.Column("medication_count", sa.Integer(), nullable=False),
        sa.Column("nurse_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["nurse_id"], ["nurse.id"], name=op.f("fk_medication_reconciliation_nurse_id_nurse")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_medication_reconciliation_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medication_reconciliation")),
    )
    with op.batch_alter_table("medication_reconciliation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_medication_reconciliation_patient", ["patient_id", "reconciled_on"], unique=False
        )
    # Reconciliations done before this revision: one per patient and day the
    # medication list remembers (who did them is not known).
    op.execute(
        "INSERT INTO medication_reconciliation"
        " (patient_id, reconciled_on, medication_count, created_at)"
        " SELECT patient_id, last_reconciled, COUNT(*), MIN(created_at) FROM medication"
        " WHERE last_reconciled IS NOT NULL GROUP BY patient_id, last_reconciled"
    )


def downgrade() -> None:
    with op.batch_alter_table("medication_reconciliation", schema=None) as batch_op:
        batch_op.drop_index("ix_medication_reconciliation_patient")
    op.drop_table("medication_reconciliation")
    with op.batch_alter_table("external_identifier", schema=None) as batch_op:
        batch_op.drop_index("ix_external_identifier_patient")
    op.drop_table("external_identifier")
    with op.batch_alter_table("adt_message", schema=None) as batch_op:
        batch_op.drop_index("ix_adt_message_mrn")
        batch_op.drop_index("ix_adt_message_status")
    op.drop_table("adt_message")
    with op.batch_alter_table("encounter_diagnosis", schema=None) as batch_op:
        batch_op.drop_index("ix_encounter_diagnosis_encounter")
    op.drop_table("encounter_diagnosis")
    with op.batch_alter_table("encounter", schema=None) as batch_op:
        batch_op.drop_index("ix_encounter_status_patient")
        batch_op.drop_index("ix_encounter_class_discharged")
        batch_op.drop_index("ix_encounter_class_when")
        batch_op.drop_index("ix_encounter_patient_when")
    op.drop_table("encounter")
