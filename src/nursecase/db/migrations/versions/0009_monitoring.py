"""monitoring: readings, their alerts, a patient's own limits, remote-monitoring enrolment

- reading: vital signs, home readings and labs, as received and in the
  measure's own unit, one per patient, LOINC code and moment (issue 20, item 1).
- reading_alert: a threshold breach on Today, one open per patient and measure (item 4).
- reading_threshold: a patient's own limit for a rule, with the reason (item 4).
- monitoring_enrolment: remote monitoring of a measure, how often, how many
  days without a reading before Today says so (item 5).
- contact.for_monitoring: the contact's minutes count toward remote
  monitoring rather than CCM (item 5). Existing contacts stay CCM minutes.

Revision ID: 0009_monitoring
Revises: 0008_patient_identifiers
Create Date: 2026-12-07 21:18:25
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op

revision: str = "0009_monitoring"
down_revision: str | None = "0008_patient_identifiers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "monitoring_enrolment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("measure", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("frequency", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("gap_days", sa.Integer(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("enrolled_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolled_by_id"],
            ["nurse.id"],
            name=op.f("fk_monitoring_enrolment_enrolled_by_id_nurse"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_monitoring_enrolment_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_enrolment")),
    )
    with op.batch_alter_table("monitoring_enrolment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_monitoring_enrolment_patient", ["patient_id", "ended_on"], unique=False
        )

    op.create_table(
        "reading",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("measure", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("loinc", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("measure_value", sa.Float(), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entered_by_id"], ["nurse.id"], name=op.f("fk_reading_entered_by_id_nurse")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_reading_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reading")),
        sa.UniqueConstraint(
            "patient_id", "loinc", "taken_at", name="uq_reading_patient_loinc_when"
        ),
    )
    with op.batch_alter_table("reading", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reading_patient_measure_when", ["patient_id", "measure", "taken_at"], unique=False
        )

    op.create_table(
        "reading_threshold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=True),
        sa.Column("set_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_reading_threshold_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["set_by_id"], ["nurse.id"], name=op.f("fk_reading_threshold_set_by_id_nurse")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reading_threshold")),
        sa.UniqueConstraint("patient_id", "rule", name="uq_reading_threshold_patient_rule"),
    )
    op.create_table(
        "reading_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("measure", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("rules", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("why", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("reading_at", sa.DateTime(), nullable=False),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["nurse.id"], name=op.f("fk_reading_alert_closed_by_id_nurse")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_reading_alert_contact_id_contact"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_reading_alert_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reading_alert")),
    )
    with op.batch_alter_table("reading_alert", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reading_alert_patient_status", ["patient_id", "status"], unique=False
        )

    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("for_monitoring", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_column("for_monitoring")

    with op.batch_alter_table("reading_alert", schema=None) as batch_op:
        batch_op.drop_index("ix_reading_alert_patient_status")

    op.drop_table("reading_alert")
    op.drop_table("reading_threshold")
    with op.batch_alter_table("reading", schema=None) as batch_op:
        batch_op.drop_index("ix_reading_patient_measure_when")

    op.drop_table("reading")
    with op.batch_alter_table("monitoring_enrolment", schema=None) as batch_op:
        batch_op.drop_index("ix_monitoring_enrolment_patient")

    op.drop_table("monitoring_enrolment")
