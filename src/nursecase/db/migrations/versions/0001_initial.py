"""initial schema: every table of DESIGN.md section 2, and the append-only audit trail

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-27 14:33:45.686545
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "nurse",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("credentials", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nurse")),
        sa.UniqueConstraint("username", name=op.f("uq_nurse_username")),
    )
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("nurse_id", sa.Integer(), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("entity", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("changed_fields", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("previous_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["nurse_id"], ["nurse.id"], name=op.f("fk_audit_event_nurse_id_nurse")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index("ix_audit_entity", ["entity", "entity_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_event_occurred_at"), ["occurred_at"], unique=False
        )

    op.create_table(
        "patient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mrn", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("family_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("given_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("family_key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("given_key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("sex", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("phone_digits", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
        sa.Column("preferred_language", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("nurse_id", sa.Integer(), nullable=True),
        sa.Column("risk_tier", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("risk_basis", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("next_contact_due", sa.Date(), nullable=True),
        sa.Column("last_contact_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(["nurse_id"], ["nurse.id"], name=op.f("fk_patient_nurse_id_nurse")),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["nurse.id"], name=op.f("fk_patient_updated_by_nurse")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient")),
        sa.UniqueConstraint("mrn", name=op.f("uq_patient_mrn")),
    )
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.create_index("ix_patient_due", ["next_contact_due"], unique=False)
        batch_op.create_index("ix_patient_given", ["given_key", "id"], unique=False)
        batch_op.create_index("ix_patient_name", ["family_key", "given_key", "id"], unique=False)
        batch_op.create_index(
            "ix_patient_nurse_due", ["nurse_id", "next_contact_due"], unique=False
        )
        batch_op.create_index(
            "ix_patient_nurse_name", ["nurse_id", "family_key", "given_key", "id"], unique=False
        )
        batch_op.create_index("ix_patient_phone", ["phone_digits"], unique=False)

    op.create_table(
        "assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("instrument", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("variant", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("band", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("summary", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("performed_at", sa.DateTime(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["nurse.id"], name=op.f("fk_assessment_author_id_nurse")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_assessment_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment")),
    )
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assessment_patient_instrument",
            ["patient_id", "instrument", "performed_at"],
            unique=False,
        )

    op.create_table(
        "care_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("intent", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_care_plan_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["nurse.id"], name=op.f("fk_care_plan_updated_by_nurse")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_plan")),
    )
    with op.batch_alter_table("care_plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_care_plan_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "care_team_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("organisation", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_care_team_member_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_team_member")),
    )
    with op.batch_alter_table("care_team_member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_care_team_member_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "condition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("code_system", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("clinical_status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("onset_date", sa.Date(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_condition_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_condition")),
    )
    with op.batch_alter_table("condition", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_condition_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("with_whom", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["nurse.id"], name=op.f("fk_contact_author_id_nurse")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_contact_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact")),
    )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contact_patient_when", ["patient_id", "occurred_at"], unique=False
        )
        batch_op.create_index("ix_contact_when", ["occurred_at"], unique=False)

    op.create_table(
        "episode",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=True),
        sa.Column("closure_reason", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_episode_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_episode")),
    )
    with op.batch_alter_table("episode", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_episode_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "medication",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("dose", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("route", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("frequency", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("last_reconciled", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_medication_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medication")),
    )
    with op.batch_alter_table("medication", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_medication_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "referral",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("nurse_id", sa.Integer(), nullable=True),
        sa.Column("service_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column(
            "receiving_organisation", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False
        ),
        sa.Column("receiving_contact", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("priority", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(), nullable=False),
        sa.Column("expected_reply_date", sa.Date(), nullable=True),
        sa.Column("appointment_date", sa.Date(), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(
            ["nurse_id"], ["nurse.id"], name=op.f("fk_referral_nurse_id_nurse")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_referral_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["nurse.id"], name=op.f("fk_referral_updated_by_nurse")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral")),
    )
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.create_index(
            "ix_referral_nurse_status", ["nurse_id", "status", "status_changed_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_referral_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(
            "ix_referral_status_reply", ["status", "expected_reply_date"], unique=False
        )

    op.create_table(
        "task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("nurse_id", sa.Integer(), nullable=True),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("priority", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("snooze_reason", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["nurse_id"], ["nurse.id"], name=op.f("fk_task_nurse_id_nurse")),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_task_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task")),
    )
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.create_index(
            "ix_task_nurse_open", ["nurse_id", "status", "due_date"], unique=False
        )
        batch_op.create_index("ix_task_patient_status", ["patient_id", "status"], unique=False)

    op.create_table(
        "transition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("discharged_on", sa.Date(), nullable=False),
        sa.Column("facility", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("high_complexity", sa.Boolean(), nullable=False),
        sa.Column("length_of_stay_days", sa.Integer(), nullable=True),
        sa.Column("interactive_contact_on", sa.Date(), nullable=True),
        sa.Column("face_to_face_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_transition_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transition")),
    )
    with op.batch_alter_table("transition", schema=None) as batch_op:
        batch_op.create_index(
            "ix_transition_patient_when", ["patient_id", "discharged_on"], unique=False
        )

    op.create_table(
        "assessment_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("item_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessment.id"],
            name=op.f("fk_assessment_answer_assessment_id_assessment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_answer")),
        sa.UniqueConstraint(
            "assessment_id", "item_code", name=op.f("uq_assessment_answer_assessment_id")
        ),
    )
    with op.batch_alter_table("assessment_answer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assessment_answer_assessment_id"), ["assessment_id"], unique=False
        )

    op.create_table(
        "episode_status_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("to_status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("nurse_id", sa.Integer(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["episode.id"],
            name=op.f("fk_episode_status_history_episode_id_episode"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["nurse_id"], ["nurse.id"], name=op.f("fk_episode_status_history_nurse_id_nurse")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_episode_status_history")),
    )
    with op.batch_alter_table("episode_status_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_episode_status_history_episode_id"), ["episode_id"], unique=False
        )

    op.create_table(
        "problem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("care_plan_id", sa.Integer(), nullable=False),
        sa.Column("omaha_code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column(
            "nursing_diagnosis_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True
        ),
        sa.Column("priority", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["care_plan_id"],
            ["care_plan.id"],
            name=op.f("fk_problem_care_plan_id_care_plan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem")),
    )
    with op.batch_alter_table("problem", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_problem_care_plan_id"), ["care_plan_id"], unique=False)

    op.create_table(
        "referral_status_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("to_status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("nurse_id", sa.Integer(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
        sa.ForeignKeyConstraint(
            ["nurse_id"], ["nurse.id"], name=op.f("fk_referral_status_history_nurse_id_nurse")
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referral.id"],
            name=op.f("fk_referral_status_history_referral_id_referral"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_status_history")),
    )
    with op.batch_alter_table("referral_status_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referral_status_history_referral_id"), ["referral_id"], unique=False
        )

    op.create_table(
        "goal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("lifecycle_status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("achievement_status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("target_measure", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("target_value", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("priority", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["problem_id"],
            ["problem.id"],
            name=op.f("fk_goal_problem_id_problem"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goal")),
    )
    with op.batch_alter_table("goal", schema=None) as batch_op:
        batch_op.create_index("ix_goal_due", ["lifecycle_status", "due_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_goal_problem_id"), ["problem_id"], unique=False)

    op.create_table(
        "problem_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.Column("rated_on", sa.Date(), nullable=False),
        sa.Column("knowledge", sa.Integer(), nullable=False),
        sa.Column("behavior", sa.Integer(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["nurse.id"], name=op.f("fk_problem_rating_author_id_nurse")
        ),
        sa.ForeignKeyConstraint(
            ["problem_id"],
            ["problem.id"],
            name=op.f("fk_problem_rating_problem_id_problem"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_rating")),
    )
    with op.batch_alter_table("problem_rating", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_problem_rating_problem_id"), ["problem_id"], unique=False
        )

    op.create_table(
        "intervention",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.Column("goal_id", sa.Integer(), nullable=True),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("frequency", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["goal_id"], ["goal.id"], name=op.f("fk_intervention_goal_id_goal"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["problem_id"],
            ["problem.id"],
            name=op.f("fk_intervention_problem_id_problem"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intervention")),
    )
    with op.batch_alter_table("intervention", schema=None) as batch_op:
        batch_op.create_index("ix_intervention_due", ["status", "due_date"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_intervention_problem_id"), ["problem_id"], unique=False
        )

    _guard_audit_trail()


# The audit trail is append-only: the database itself refuses UPDATE and
# DELETE on audit_event, whatever the code above it does.
SQLITE_AUDIT_TRIGGERS = (
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
)
POSTGRESQL_AUDIT_TRIGGERS = (
    """CREATE FUNCTION audit_event_append_only() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION 'audit_event is append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""",
)


def _guard_audit_trail() -> None:
    dialect = op.get_bind().dialect.name
    statements = SQLITE_AUDIT_TRIGGERS if dialect == "sqlite" else POSTGRESQL_AUDIT_TRIGGERS
    for statement in statements:
        op.execute(statement)


def _unguard_audit_trail() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")


def downgrade() -> None:
    _unguard_audit_trail()
    with op.batch_alter_table("intervention", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intervention_problem_id"))
        batch_op.drop_index("ix_intervention_due")

    op.drop_table("intervention")
    with op.batch_alter_table("problem_rating", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_problem_rating_problem_id"))

    op.drop_table("problem_rating")
    with op.batch_alter_table("goal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_goal_problem_id"))
        batch_op.drop_index("ix_goal_due")

    op.drop_table("goal")
    with op.batch_alter_table("referral_status_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_status_history_referral_id"))

    op.drop_table("referral_status_history")
    with op.batch_alter_table("problem", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_problem_care_plan_id"))

    op.drop_table("problem")
    with op.batch_alter_table("episode_status_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_episode_status_history_episode_id"))

    op.drop_table("episode_status_history")
    with op.batch_alter_table("assessment_answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_answer_assessment_id"))

    op.drop_table("assessment_answer")
    with op.batch_alter_table("transition", schema=None) as batch_op:
        batch_op.drop_index("ix_transition_patient_when")

    op.drop_table("transition")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_patient_status")
        batch_op.drop_index("ix_task_nurse_open")

    op.drop_table("task")
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.drop_index("ix_referral_status_reply")
        batch_op.drop_index(batch_op.f("ix_referral_patient_id"))
        batch_op.drop_index("ix_referral_nurse_status")

    op.drop_table("referral")
    with op.batch_alter_table("medication", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_medication_patient_id"))

    op.drop_table("medication")
    with op.batch_alter_table("episode", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_episode_patient_id"))

    op.drop_table("episode")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_when")
        batch_op.drop_index("ix_contact_patient_when")

    op.drop_table("contact")
    with op.batch_alter_table("condition", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_condition_patient_id"))

    op.drop_table("condition")
    with op.batch_alter_table("care_team_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_team_member_patient_id"))

    op.drop_table("care_team_member")
    with op.batch_alter_table("care_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_plan_patient_id"))

    op.drop_table("care_plan")
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.drop_index("ix_assessment_patient_instrument")

    op.drop_table("assessment")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_phone")
        batch_op.drop_index("ix_patient_nurse_name")
        batch_op.drop_index("ix_patient_nurse_due")
        batch_op.drop_index("ix_patient_name")
        batch_op.drop_index("ix_patient_given")
        batch_op.drop_index("ix_patient_due")

    op.drop_table("patient")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_occurred_at"))
        batch_op.drop_index("ix_audit_entity")

    op.drop_table("audit_event")
    op.drop_table("nurse")
