"""care plan revisions

Adds care_plan_revision: each change to a care plan (who, when, which item,
old and new values), read by the editor's history view and by the message
that refuses a stale save.

Revision ID: 0003_care_plan_revision
Revises: 0002_caseload_sort
Create Date: 2026-11-27 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op

revision: str = "0003_care_plan_revision"
down_revision: str | None = "0002_caseload_sort"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "care_plan_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("care_plan_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("nurse_id", sa.Integer(), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("item_kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("item_label", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("changes", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
        sa.ForeignKeyConstraint(
            ["care_plan_id"],
            ["care_plan.id"],
            name=op.f("fk_care_plan_revision_care_plan_id_care_plan"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["nurse_id"], ["nurse.id"], name=op.f("fk_care_plan_revision_nurse_id_nurse")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_plan_revision")),
    )
    with op.batch_alter_table("care_plan_revision", schema=None) as batch_op:
        batch_op.create_index(
            "ix_care_plan_revision_plan", ["care_plan_id", "version"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("care_plan_revision", schema=None) as batch_op:
        batch_op.drop_index("ix_care_plan_revision_plan")
    op.drop_table("care_plan_revision")
