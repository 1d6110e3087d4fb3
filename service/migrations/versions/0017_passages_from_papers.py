"""passages from papers: the blocks a learner's message came from, and a card's

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _snapshot() -> list[sa.Column[object]]:
    """Where the passage sits in its paper, as it was when the learner picked it."""
    return [
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column("first_block", sa.Integer(), nullable=False),
        sa.Column("last_block", sa.Integer(), nullable=False),
        sa.Column("paper_title", sa.Text(), nullable=False),
        sa.Column("section_number", sa.String(length=32), nullable=True),
        sa.Column("section_heading", sa.Text(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=True),
    ]


def _source_key(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["source_id"],
        ["sources.id"],
        name=op.f(f"fk_{table}_source_id_sources"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    # New tables rather than new columns: a foreign key added to `messages` or `cards`
    # would rebuild the table on SQLite.
    op.create_table(
        "paper_passages",
        sa.Column("message_id", sa.Uuid(), nullable=False),
        *_snapshot(),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("context_tokens", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_paper_passages_message_id_messages"),
            ondelete="CASCADE",
        ),
        _source_key("paper_passages"),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_paper_passages")),
    )
    op.create_index("ix_paper_passages_source_id", "paper_passages", ["source_id"])
    op.create_table(
        "card_passages",
        sa.Column("card_id", sa.Uuid(), nullable=False),
        *_snapshot(),
        sa.ForeignKeyConstraint(
            ["card_id"],
            ["cards.id"],
            name=op.f("fk_card_passages_card_id_cards"),
            ondelete="CASCADE",
        ),
        _source_key("card_passages"),
        sa.PrimaryKeyConstraint("card_id", name=op.f("pk_card_passages")),
    )
    op.create_index("ix_card_passages_source_id", "card_passages", ["source_id"])


def downgrade() -> None:
    op.drop_index("ix_card_passages_source_id", table_name="card_passages")
    op.drop_table("card_passages")
    op.drop_index("ix_paper_passages_source_id", table_name="paper_passages")
    op.drop_table("paper_passages")
