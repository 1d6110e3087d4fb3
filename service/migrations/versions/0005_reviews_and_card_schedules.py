"""reviews and card schedules

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:15:38.632159
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("card_id", sa.Uuid(), nullable=False),
        sa.Column("learner_id", sa.Uuid(), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("review_date", sa.Date(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["card_id"], ["cards.id"], name=op.f("fk_reviews_card_id_cards"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["learners.id"],
            name=op.f("fk_reviews_learner_id_learners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index("ix_reviews_card_reviewed", ["card_id", "reviewed_at"], unique=False)
        batch_op.create_index(
            "ix_reviews_learner_created", ["learner_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_reviews_learner_date", ["learner_id", "review_date"], unique=False
        )

    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("learner_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("review_id", sa.Uuid(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["learners.id"],
            name=op.f("fk_idempotency_keys_learner_id_learners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["reviews.id"],
            name=op.f("fk_idempotency_keys_review_id_reviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("learner_id", "key", name=op.f("uq_idempotency_keys_learner_id_key")),
    )
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("repetitions", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("easiness", sa.Double(), nullable=False, server_default="2.5")
        )
        batch_op.add_column(sa.Column("interval", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("due", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("drill", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("lapses", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("last_reviewed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("started_on", sa.Date(), nullable=True))
        batch_op.create_index(
            "ix_cards_learner_status_due", ["learner_id", "status", "due"], unique=False
        )
    # Cards already active enter SM-2 as new cards, due at once.
    op.execute("UPDATE cards SET due = CURRENT_DATE WHERE status = 'active'")


def downgrade() -> None:
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_index("ix_cards_learner_status_due")
        batch_op.drop_column("started_on")
        batch_op.drop_column("last_reviewed_at")
        batch_op.drop_column("lapses")
        batch_op.drop_column("drill")
        batch_op.drop_column("due")
        batch_op.drop_column("interval")
        batch_op.drop_column("easiness")
        batch_op.drop_column("repetitions")

    op.drop_table("idempotency_keys")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_reviews_learner_date")
        batch_op.drop_index("ix_reviews_learner_created")
        batch_op.drop_index("ix_reviews_card_reviewed")

    op.drop_table("reviews")
