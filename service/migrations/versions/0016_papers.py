"""papers: a source's PDF or LaTeX read into sections, blocks and symbols

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def _paper_id(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("paper_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_id"],
            ["papers.id"],
            name=op.f(f"fk_{table}_paper_id_papers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("paper_id", "position", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "papers",
        sa.Column("learner_id", sa.Uuid(), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            _enum("paper_status", "pending", "extracting", "ready", "failed"),
            nullable=False,
        ),
        sa.Column("progress", sa.Double(), nullable=False),
        sa.Column("stage", sa.String(length=200), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_suffix", sa.String(length=16), nullable=False),
        sa.Column("file_bytes", sa.Integer(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("extractor", sa.String(length=200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("touched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("origin", _enum("paper_origin", "pdf", "latex"), nullable=True),
        sa.Column("page_count", sa.Integer(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["learners.id"],
            name=op.f("fk_papers_learner_id_learners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_papers_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_papers")),
        sa.UniqueConstraint("source_id", name=op.f("uq_papers_source_id")),
    )
    op.create_index("ix_papers_learner_created", "papers", ["learner_id", "created_at"])
    op.create_table(
        "paper_sections",
        sa.Column("heading", sa.Text(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=True),
        sa.Column("first_block", sa.Integer(), nullable=False),
        sa.Column("block_count", sa.Integer(), nullable=False),
        *_paper_id("paper_sections"),
    )
    op.create_table(
        "paper_blocks",
        sa.Column("section_position", sa.Integer(), nullable=False),
        sa.Column("index_in_section", sa.Integer(), nullable=False),
        sa.Column("kind", _enum("paper_block_kind", "text", "equation"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=True),
        sa.Column("latex", sa.Text(), nullable=True),
        sa.Column("label", sa.String(length=32), nullable=True),
        *_paper_id("paper_blocks"),
    )
    op.create_table(
        "paper_symbols",
        sa.Column("symbol", sa.String(length=200), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("section_position", sa.Integer(), nullable=False),
        sa.Column("block_index", sa.Integer(), nullable=False),
        *_paper_id("paper_symbols"),
    )


def downgrade() -> None:
    for table in ("paper_symbols", "paper_blocks", "paper_sections"):
        op.drop_table(table)
    op.drop_index("ix_papers_learner_created", table_name="papers")
    op.drop_table("papers")
