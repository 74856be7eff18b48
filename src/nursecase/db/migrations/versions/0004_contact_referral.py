"""contact.referral_id: follow-up calls chasing a referral

Revision ID: 0004_contact_referral
Revises: 0003_care_plan_revision
Create Date: 2026-11-27 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op

revision: str = "0004_contact_referral"
down_revision: str | None = "0003_care_plan_revision"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("referral_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_contact_referral_id"), ["referral_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_contact_referral_id_referral"),
            "referral",
            ["referral_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_contact_referral_id_referral"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_contact_referral_id"))
        batch_op.drop_column("referral_id")
