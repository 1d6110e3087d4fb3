"""partial indexes for the review queue

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 04:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name: (columns, condition); a boolean is written {false}/{true}, as each backend
# renders it in the queue's own statements (0 and 1 on SQLite).
_INDEXES = {
    "ix_cards_queue_due": (
        ["learner_id", "due", "easiness", "id"],
        "status = 'active' AND drill IS {false} AND last_reviewed_at IS NOT NULL",
    ),
    "ix_cards_queue_new": (
        ["learner_id", "created_at", "id"],
        "status = 'active' AND last_reviewed_at IS NULL",
    ),
    "ix_cards_queue_drill": (
        ["learner_id", "last_reviewed_at", "id"],
        "status = 'active' AND drill IS {true}",
    ),
}


def upgrade() -> None:
    with op.batch_alter_table("cards", schema=None) as batch_op:
        for name, (columns, where) in _INDEXES.items():
            batch_op.create_index(
                name,
                columns,
                unique=False,
                postgresql_where=sa.text(where.format(false="false", true="true")),
                sqlite_where=sa.text(where.format(false="0", true="1")),
            )


def downgrade() -> None:
    with op.batch_alter_table("cards", schema=None) as batch_op:
        for name in reversed(_INDEXES):
            batch_op.drop_index(name)
