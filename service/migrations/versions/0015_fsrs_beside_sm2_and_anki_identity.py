"""FSRS beside SM-2, both grading scales on every review, and Anki note identity

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# scheduler/grades.py's mapping: grades below 3 are Again (1), 3–5 are Hard–Easy (2–4).
_BACKFILL_RATINGS = "UPDATE reviews SET rating = CASE WHEN grade < 3 THEN 1 ELSE grade - 1 END"


def upgrade() -> None:
    # No CHECK constraints on SQLite: adding one rebuilds the table, and dropping the old
    # `learners` or `cards` with foreign keys on deletes every row that refers to it.
    # The API validates these values on every database; PostgreSQL checks them too.
    on_postgres = op.get_context().dialect.name == "postgresql"
    op.add_column(
        "learners",
        sa.Column("scheduler", sa.String(length=8), nullable=False, server_default="sm2"),
    )
    op.add_column(
        "learners",
        sa.Column("desired_retention", sa.Double(), nullable=False, server_default="0.9"),
    )
    op.add_column("learners", sa.Column("fsrs_parameters", sa.JSON(), nullable=True))
    if on_postgres:
        op.create_check_constraint(
            op.f("ck_learners_scheduler"), "learners", "scheduler IN ('sm2', 'fsrs')"
        )
        op.create_check_constraint(
            op.f("ck_learners_desired_retention"),
            "learners",
            "desired_retention BETWEEN 0.7 AND 0.99",
        )

    op.add_column("cards", sa.Column("stability", sa.Double(), nullable=True))
    op.add_column("cards", sa.Column("difficulty", sa.Double(), nullable=True))
    fsrs_state = sa.Enum(
        "learning",
        "review",
        "relearning",
        name="fsrs_state",
        native_enum=False,
        create_constraint=on_postgres,
        length=16,
    )
    op.add_column("cards", sa.Column("fsrs_state", fsrs_state, nullable=True))
    op.add_column("cards", sa.Column("fsrs_step", sa.Integer(), nullable=True))
    op.add_column("cards", sa.Column("anki_guid", sa.String(length=64), nullable=True))
    op.add_column("cards", sa.Column("anki_ord", sa.Integer(), nullable=True))
    op.create_index(
        "ux_cards_learner_anki", "cards", ["learner_id", "anki_guid", "anki_ord"], unique=True
    )

    # NOT NULL from the start, with a placeholder the UPDATE replaces at once: making it
    # NOT NULL afterwards would rebuild the table on SQLite.
    op.add_column("reviews", sa.Column("rating", sa.Integer(), nullable=False, server_default="0"))
    op.add_column(
        "reviews",
        sa.Column("scheduler", sa.String(length=8), nullable=False, server_default="sm2"),
    )
    op.execute(_BACKFILL_RATINGS)

    op.create_table(
        "fsrs_optimizations",
        sa.Column("learner_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=200), nullable=False),
        sa.Column("reviews", sa.Integer(), nullable=False),
        sa.Column("estimated_seconds", sa.Double(), nullable=False),
        sa.Column("touched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=True),
        sa.Column("log_loss_before", sa.Double(), nullable=True),
        sa.Column("log_loss_after", sa.Double(), nullable=True),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["learners.id"],
            name=op.f("fk_fsrs_optimizations_learner_id_learners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fsrs_optimizations")),
    )
    op.create_index(
        "ix_fsrs_optimizations_learner_created",
        "fsrs_optimizations",
        ["learner_id", "created_at"],
    )


def downgrade() -> None:
    # Column by column, never a table rebuild (see upgrade): SQLite drops a column in place.
    on_postgres = op.get_context().dialect.name == "postgresql"
    op.drop_index("ix_fsrs_optimizations_learner_created", table_name="fsrs_optimizations")
    op.drop_table("fsrs_optimizations")
    op.drop_column("reviews", "scheduler")
    op.drop_column("reviews", "rating")
    op.drop_index("ux_cards_learner_anki", table_name="cards")
    for column in ("anki_ord", "anki_guid", "fsrs_step", "fsrs_state", "difficulty", "stability"):
        op.drop_column("cards", column)
    if on_postgres:
        op.drop_constraint(op.f("ck_learners_desired_retention"), "learners", type_="check")
        op.drop_constraint(op.f("ck_learners_scheduler"), "learners", type_="check")
    for column in ("fsrs_parameters", "desired_retention", "scheduler"):
        op.drop_column("learners", column)
