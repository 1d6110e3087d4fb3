"""critiques

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 11:35:25.517851
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Message kinds are plain strings with a CHECK constraint; this adds two of them.
KINDS_BEFORE = ("passage", "question", "explanation", "answer")
KINDS_AFTER = (*KINDS_BEFORE, "attempt", "critique")


def _set_message_kinds(kinds: tuple[str, ...]) -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_messages_message_kind"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_messages_message_kind"), "kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")"
        )


revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "critiques",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("attempt_message_id", sa.Uuid(), nullable=False),
        sa.Column("critique_message_id", sa.Uuid(), nullable=False),
        sa.Column("concept", sa.String(length=200), nullable=False),
        sa.Column("concept_key", sa.String(length=200), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column(
            "verdict",
            sa.Enum(
                "solid",
                "shaky",
                "wrong",
                name="critique_verdict",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("strengths", sa.JSON(), nullable=False),
        sa.Column("issues", sa.JSON(), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("improved_since_last", sa.Boolean(), nullable=True),
        sa.Column("low_effort", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_message_id"],
            ["messages.id"],
            name=op.f("fk_critiques_attempt_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["critique_message_id"],
            ["messages.id"],
            name=op.f("fk_critiques_critique_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_critiques_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_critiques")),
        sa.UniqueConstraint("attempt_message_id", name=op.f("uq_critiques_attempt_message_id")),
        sa.UniqueConstraint("critique_message_id", name=op.f("uq_critiques_critique_message_id")),
        sa.UniqueConstraint(
            "session_id",
            "concept_key",
            "attempt",
            name=op.f("uq_critiques_session_id_concept_key_attempt"),
        ),
    )
    with op.batch_alter_table("critiques", schema=None) as batch_op:
        batch_op.create_index(
            "ix_critiques_session_created", ["session_id", "created_at"], unique=False
        )
    _set_message_kinds(KINDS_AFTER)


def downgrade() -> None:
    _set_message_kinds(KINDS_BEFORE)
    with op.batch_alter_table("critiques", schema=None) as batch_op:
        batch_op.drop_index("ix_critiques_session_created")

    op.drop_table("critiques")
