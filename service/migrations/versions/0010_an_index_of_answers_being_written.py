"""an index of answers being written

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STREAMING = "status = 'streaming'"


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_streaming",
            ["updated_at"],
            unique=False,
            postgresql_where=sa.text(_STREAMING),
            sqlite_where=sa.text(_STREAMING),
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_streaming")
