"""a prompt nonce per session

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 14:00:00.000000
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NONCE_LENGTH = 12


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prompt_nonce", sa.String(_NONCE_LENGTH), nullable=True))
    # Each existing session its own random nonce, as new sessions get (a nonce from a
    # session's id would be guessable by anyone who saw a URL).
    connection = op.get_bind()
    sessions = sa.table("sessions", sa.column("id"), sa.column("prompt_nonce"))
    ids = connection.execute(sa.select(sessions.c.id)).scalars().all()
    for session_id in ids:
        connection.execute(
            sa.update(sessions)
            .where(sessions.c.id == session_id)
            .values(prompt_nonce=secrets.token_hex(_NONCE_LENGTH // 2))
        )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.alter_column(
            "prompt_nonce", existing_type=sa.String(_NONCE_LENGTH), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("prompt_nonce")
