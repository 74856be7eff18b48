"""write_lock: the one row that serialises writers on a server database

On SQLite a write transaction starts with BEGIN IMMEDIATE, so writers queue
for the file's lock. A server (PostgreSQL) lets writers run side by side; the
audit trail's hash chain needs a total order of events, so every write
transaction there first locks this row (SELECT ... FOR UPDATE), which is
portable to PostgreSQL-compatible distributed engines (no advisory locks).

Also a covering index on referral_status_history (referral_id, changed_at):
the referral queue's "days in status" reads each referral's newest row.

Revision ID: 0006_write_lock
Revises: 0005_accounts
Create Date: 2026-11-28 02:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_write_lock"
down_revision: str | None = "0005_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "write_lock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_write_lock")),
    )
    op.bulk_insert(table, [{"id": 1}])
    with op.batch_alter_table("referral_status_history", schema=None) as batch_op:
        batch_op.create_index(
            "ix_referral_status_history_entered", ["referral_id", "changed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("referral_status_history", schema=None) as batch_op:
        batch_op.drop_index("ix_referral_status_history_entered")
    op.drop_table("write_lock")
