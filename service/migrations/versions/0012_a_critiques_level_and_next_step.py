"""a critique's level and next step

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("critiques", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "level",
                sa.Enum(
                    "eli5",
                    "intuition",
                    "rigorous",
                    name="critique_level",
                    native_enum=False,
                    create_constraint=True,
                    length=16,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("next_step", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("critiques", schema=None) as batch_op:
        batch_op.drop_column("next_step")
        # The column's CHECK constraint would outlive it in SQLite's table copy.
        batch_op.drop_constraint(op.f("ck_critiques_critique_level"), type_="check")
        batch_op.drop_column("level")
