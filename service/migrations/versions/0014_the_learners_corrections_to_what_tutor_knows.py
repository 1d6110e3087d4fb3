"""the learner's corrections to what Tutor knows about them

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    op.create_table(
        "knowledge_marks",
        sa.Column("learner_id", sa.Uuid(), nullable=False),
        sa.Column(
            "subject", _enum("knowledge_subject", "concept", "misconception"), nullable=False
        ),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column(
            "mark",
            _enum("knowledge_mark", "known", "learning", "ignore", "dismissed"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["learners.id"],
            name=op.f("fk_knowledge_marks_learner_id_learners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("learner_id", "subject", "key", name=op.f("pk_knowledge_marks")),
    )


def downgrade() -> None:
    op.drop_table("knowledge_marks")
