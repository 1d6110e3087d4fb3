"""cards

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 11:47:26.386837
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cards",
        sa.Column("learner_id", sa.Uuid(), nullable=False),
        sa.Column("front", sa.Text(), nullable=False),
        sa.Column("back", sa.Text(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "basic",
                "cloze",
                name="card_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "active",
                "suspended",
                name="card_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "origin",
            sa.Enum(
                "distilled",
                "manual",
                "imported",
                name="card_origin",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("source_id", sa.Uuid(), nullable=True),
        sa.Column("quality_flags", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["learners.id"],
            name=op.f("fk_cards_learner_id_learners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_cards_session_id_sessions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_cards_source_id_sources"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cards")),
    )
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cards_learner_created", ["learner_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_cards_learner_status_created",
            ["learner_id", "status", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_cards_session_id"), ["session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cards_source_id"), ["source_id"], unique=False)

    op.create_table(
        "card_tags",
        sa.Column("card_id", sa.Uuid(), nullable=False),
        sa.Column("tag", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["card_id"], ["cards.id"], name=op.f("fk_card_tags_card_id_cards"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("card_id", "tag", name=op.f("pk_card_tags")),
    )
    with op.batch_alter_table("card_tags", schema=None) as batch_op:
        batch_op.create_index("ix_card_tags_tag", ["tag"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("card_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_card_tags_tag")

    op.drop_table("card_tags")
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cards_source_id"))
        batch_op.drop_index(batch_op.f("ix_cards_session_id"))
        batch_op.drop_index("ix_cards_learner_status_created")
        batch_op.drop_index("ix_cards_learner_created")

    op.drop_table("cards")
