"""flags a nurse can trust: safety checks, risk basis, CCM enrolment, TCM attempts

- safety_check: a C-SSRS screener with its disposition, the only thing that
  clears a SAFETY flag (issue 16, item 1).
- patient.risk_source / risk_set_by / risk_set_at: what the tier rests on, a
  score's band or a nurse's override with a reason (item 3). Existing tiers
  whose basis is a LACE summary become "score"; any other basis "override".
- patient.ccm_programme / ccm_start: standard or complex CCM enrolment (item 5).
- transition.interactive_attempts / attempts_met_on / superseded_on: two
  unsuccessful attempts meet the TCM contact, a readmission ends a period (item 4).

Revision ID: 0007_trustworthy_flags
Revises: 0006_write_lock
Create Date: 2026-12-07 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op

revision: str = "0007_trustworthy_flags"
down_revision: str | None = "0006_write_lock"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "safety_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("performed_at", sa.DateTime(), nullable=False),
        sa.Column("wish_dead", sa.Boolean(), nullable=False),
        sa.Column("suicidal_thoughts", sa.Boolean(), nullable=False),
        sa.Column("method", sa.Boolean(), nullable=True),
        sa.Column("intent", sa.Boolean(), nullable=True),
        sa.Column("plan", sa.Boolean(), nullable=True),
        sa.Column("behaviour", sa.Boolean(), nullable=False),
        sa.Column("behaviour_past_3_months", sa.Boolean(), nullable=True),
        sa.Column("risk", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("disposition", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["nurse.id"], name=op.f("fk_safety_check_author_id_nurse")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_safety_check_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_check")),
    )
    with op.batch_alter_table("safety_check", schema=None) as batch_op:
        batch_op.create_index(
            "ix_safety_check_patient_when", ["patient_id", "performed_at"], unique=False
        )

    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("risk_source", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.add_column(sa.Column("risk_set_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("risk_set_at", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("ccm_programme", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.add_column(sa.Column("ccm_start", sa.Date(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_patient_risk_set_by_nurse"), "nurse", ["risk_set_by"], ["id"]
        )

    with op.batch_alter_table("transition", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("interactive_attempts", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("attempts_met_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("superseded_on", sa.Date(), nullable=True))

    # A basis that is a LACE summary was set from the score; any other basis
    # was a nurse's reason. Without a basis the tier stays "not assessed".
    patient = sa.table(
        "patient",
        sa.column("risk_basis", sa.String),
        sa.column("risk_source", sa.String),
    )
    op.execute(
        patient.update().where(patient.c.risk_basis.like("LACE %")).values(risk_source="score")
    )
    op.execute(
        patient.update()
        .where(patient.c.risk_basis.is_not(None), patient.c.risk_source.is_(None))
        .values(risk_source="override")
    )


def downgrade() -> None:
    with op.batch_alter_table("transition", schema=None) as batch_op:
        batch_op.drop_column("superseded_on")
        batch_op.drop_column("attempts_met_on")
        batch_op.drop_column("interactive_attempts")

    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_patient_risk_set_by_nurse"), type_="foreignkey")
        batch_op.drop_column("ccm_start")
        batch_op.drop_column("ccm_programme")
        batch_op.drop_column("risk_set_at")
        batch_op.drop_column("risk_set_by")
        batch_op.drop_column("risk_source")

    with op.batch_alter_table("safety_check", schema=None) as batch_op:
        batch_op.drop_index("ix_safety_check_patient_when")
    op.drop_table("safety_check")
