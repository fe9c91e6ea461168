"""Exports: accepted invoices handed on for posting and payment, each exactly once
(`arflow export`). A document records the export that took it; NULL until then.

Revision ID: 0009_exports
Revises: 0008_document_parts
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.types import UTCDateTime

revision: str = "0009_exports"
down_revision: str | None = "0008_document_parts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(2048), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=True),
        sa.Column("written_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_exports"),
    )
    op.create_index("ix_exports_status", "exports", ["status"])
    # A plain ADD COLUMN, never a batch copy of `documents` (see 0008: on SQLite the copy's
    # DROP TABLE cascades into the tables that refer to documents).
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE documents ADD COLUMN export_id INTEGER "
                   "CONSTRAINT fk_documents_export_id_exports REFERENCES exports (id)")
    else:
        op.add_column("documents", sa.Column("export_id", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_documents_export_id_exports", "documents", "exports",
                              ["export_id"], ["id"])
    op.create_index("ix_documents_export_id", "documents", ["export_id"])


def downgrade() -> None:
    op.drop_index("ix_documents_export_id", table_name="documents")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE documents DROP COLUMN export_id")
    else:
        op.drop_constraint("fk_documents_export_id_exports", "documents", type_="foreignkey")
        op.drop_column("documents", "export_id")
    op.drop_index("ix_exports_status", table_name="exports")
    op.drop_table("exports")
