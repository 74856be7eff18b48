"""the patient's own identifiers: MRNs as written, found with or without punctuation; not assessed

- patient.mrn: 64 characters, so an MRN is kept exactly as its source wrote it
  (a Synthea UUID with its hyphens is 36) (issue 19, item 4).
- patient.mrn_key: the MRN's letters upper-cased and its digits
  (domain.validation.mrn_key), indexed for prefix search: "ad2e3fc5-2b5d" and
  "ad2e3fc52b5d" find the same patient. Filled from the stored MRNs, which
  held only capitals, digits and hyphens until now.
- patient.risk_rank: a patient not assessed yet ranks between high and
  moderate (domain.codes.RISK_RANKS), so high moves from 3 to 4 and new rows
  default to 3 ("not-assessed", the tier's new default). Stored tiers are
  kept: a moderate tier with no basis may have been a nurse's choice, and
  nothing tells it from the old import default.

Revision ID: 0008_patient_identifiers
Revises: 0007_trustworthy_flags
Create Date: 2026-12-10 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008_patient_identifiers"
down_revision: str | None = "0007_trustworthy_flags"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("mrn_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
    # Portable (SQLite and PostgreSQL): stored MRNs are capitals, digits and hyphens.
    op.execute("UPDATE patient SET mrn_key = upper(replace(mrn, '-', ''))")
    op.execute("UPDATE patient SET risk_rank = 4 WHERE risk_tier = 'high'")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.alter_column(
            "mrn",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=32),
            type_=sqlmodel.sql.sqltypes.AutoString(length=64),
            existing_nullable=False,
        )
        batch_op.alter_column(
            "mrn_key",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=64),
            nullable=False,
        )
        batch_op.alter_column(
            "risk_rank",
            existing_type=sa.Integer(),
            server_default="3",
            existing_nullable=False,
        )
        batch_op.create_index("ix_patient_mrn_key", ["mrn_key"], unique=False)


def downgrade() -> None:
    # The older schema knows three tiers: a patient not assessed was "moderate" there.
    op.execute(
        "UPDATE patient SET risk_tier = 'moderate', risk_rank = 2 WHERE risk_tier = 'not-assessed'"
    )
    op.execute("UPDATE patient SET risk_rank = 3 WHERE risk_tier = 'high'")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_mrn_key")
        batch_op.drop_column("mrn_key")
        # An MRN longer than 32 characters stops a PostgreSQL downgrade here (SQLite
        # does not enforce the length): shorten or remove it first.
        batch_op.alter_column(
            "mrn",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=64),
            type_=sqlmodel.sql.sqltypes.AutoString(length=32),
            existing_nullable=False,
        )
        batch_op.alter_column(
            "risk_rank",
            existing_type=sa.Integer(),
            server_default="2",
            existing_nullable=False,
        )
