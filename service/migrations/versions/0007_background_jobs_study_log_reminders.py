"""background jobs, study log, reminders

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 12:25:23.124593
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("learner_id", sa.Uuid(), nullable=False),
        sa.Column("period", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["learners.id"],
            name=op.f("fk_job_runs_learner_id_learners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
        sa.UniqueConstraint(
            "job", "learner_id", "period", name=op.f("uq_job_runs_job_learner_id_period")
        ),
    )
    op.create_table(
        "study_log",
        sa.Column("learner_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("narrative", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["learners.id"],
            name=op.f("fk_study_log_learner_id_learners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study_log")),
        sa.UniqueConstraint("learner_id", "day", name=op.f("uq_study_log_learner_id_day")),
        sa.UniqueConstraint("learner_id", "number", name=op.f("uq_study_log_learner_id_number")),
    )
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("activated_on", sa.Date(), nullable=True))

    with op.batch_alter_table("learners", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminder_hour", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("webhook_url", sa.String(length=2048), nullable=True))
        batch_op.add_column(
            sa.Column("webhook_format", sa.String(length=16), nullable=False, server_default="json")
        )
        batch_op.create_check_constraint(
            op.f("ck_learners_reminder_hour"), "reminder_hour BETWEEN 0 AND 23"
        )

    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("distilled_position", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("distilled_position")

    with op.batch_alter_table("learners", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_learners_reminder_hour"), type_="check")
        batch_op.drop_column("webhook_format")
        batch_op.drop_column("webhook_url")
        batch_op.drop_column("reminder_hour")

    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_column("activated_on")

    op.drop_table("study_log")
    op.drop_table("job_runs")
