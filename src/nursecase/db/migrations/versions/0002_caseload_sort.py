"""caseload sort columns, worklist snoozes

Adds the denormalised sort/filter columns of the caseload (risk_rank,
open_referral_count, episode_status) filled from the existing rows, an index
per sortable column, and the worklist_snooze table.

Revision ID: 0002_caseload_sort
Revises: 0001_initial
Create Date: 2026-11-27 14:59:19.433191
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op

revision: str = "0002_caseload_sort"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worklist_snooze",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("item_kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("previous_due", sa.Date(), nullable=True),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("nurse_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("undone_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["nurse_id"], ["nurse.id"], name=op.f("fk_worklist_snooze_nurse_id_nurse")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_worklist_snooze_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worklist_snooze")),
    )
    with op.batch_alter_table("worklist_snooze", schema=None) as batch_op:
        batch_op.create_index(
            "ix_worklist_snooze_patient", ["patient_id", "created_at"], unique=False
        )

    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("risk_rank", sa.Integer(), server_default="2", nullable=False)
        )
        batch_op.add_column(
            sa.Column("open_referral_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("episode_status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.create_index("ix_patient_birth", ["birth_date", "id"], unique=False)
        batch_op.create_index("ix_patient_due_id", ["next_contact_due", "id"], unique=False)
        batch_op.create_index("ix_patient_last", ["last_contact_at", "id"], unique=False)
        batch_op.create_index(
            "ix_patient_nurse_birth", ["nurse_id", "birth_date", "id"], unique=False
        )
        batch_op.create_index(
            "ix_patient_nurse_due_id", ["nurse_id", "next_contact_due", "id"], unique=False
        )
        batch_op.create_index(
            "ix_patient_nurse_last", ["nurse_id", "last_contact_at", "id"], unique=False
        )
        batch_op.create_index("ix_patient_nurse_mrn", ["nurse_id", "mrn", "id"], unique=False)
        batch_op.create_index(
            "ix_patient_nurse_referrals", ["nurse_id", "open_referral_count", "id"], unique=False
        )
        batch_op.create_index(
            "ix_patient_nurse_risk", ["nurse_id", "risk_rank", "id"], unique=False
        )
        batch_op.create_index("ix_patient_referrals", ["open_referral_count", "id"], unique=False)
        batch_op.create_index("ix_patient_risk", ["risk_rank", "id"], unique=False)
        # Replaced by the (…, next_contact_due, id) indexes above.
        batch_op.drop_index("ix_patient_nurse_due")
        batch_op.drop_index("ix_patient_due")

    _fill_denormalised_columns()


def _fill_denormalised_columns() -> None:
    """Portable UPDATEs (SQLite and PostgreSQL) from the rows already there."""
    op.execute(
        "UPDATE patient SET risk_rank = CASE risk_tier"
        " WHEN 'high' THEN 3 WHEN 'moderate' THEN 2 WHEN 'low' THEN 1 ELSE 2 END"
    )
    op.execute(
        "UPDATE patient SET open_referral_count = (SELECT count(*) FROM referral"
        " WHERE referral.patient_id = patient.id AND referral.status NOT IN"
        " ('completed', 'failed', 'cancelled', 'rejected', 'entered-in-error'))"
    )
    op.execute(
        "UPDATE patient SET episode_status = (SELECT episode.status FROM episode"
        " WHERE episode.patient_id = patient.id ORDER BY episode.start DESC, episode.id DESC"
        " LIMIT 1)"
    )


def downgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.create_index(
            "ix_patient_nurse_due", ["nurse_id", "next_contact_due"], unique=False
        )
        batch_op.create_index("ix_patient_due", ["next_contact_due"], unique=False)
        batch_op.drop_index("ix_patient_risk")
        batch_op.drop_index("ix_patient_referrals")
        batch_op.drop_index("ix_patient_nurse_risk")
        batch_op.drop_index("ix_patient_nurse_referrals")
        batch_op.drop_index("ix_patient_nurse_mrn")
        batch_op.drop_index("ix_patient_nurse_last")
        batch_op.drop_index("ix_patient_nurse_due_id")
        batch_op.drop_index("ix_patient_nurse_birth")
        batch_op.drop_index("ix_patient_last")
        batch_op.drop_index("ix_patient_due_id")
        batch_op.drop_index("ix_patient_birth")
        batch_op.drop_column("episode_status")
        batch_op.drop_column("open_referral_count")
        batch_op.drop_column("risk_rank")

    with op.batch_alter_table("worklist_snooze", schema=None) as batch_op:
        batch_op.drop_index("ix_worklist_snooze_patient")

    op.drop_table("worklist_snooze")
