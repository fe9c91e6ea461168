"""A file holding several invoices is split into one document per invoice: each part records
the document (status `split`) it came from. NULL for every document received whole.

Revision ID: 0008_document_parts
Revises: 0007_tax_breakdown
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_document_parts"
down_revision: str | None = "0007_tax_breakdown"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN, never a batch copy of the table: rebuilding `documents` on SQLite
    # drops the old table, and its ON DELETE CASCADE would empty the tables that refer to it.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE documents ADD COLUMN parent_id INTEGER "
                   "CONSTRAINT fk_documents_parent_id_documents REFERENCES documents (id)")
    else:
        op.add_column("documents", sa.Column("parent_id", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_documents_parent_id_documents", "documents", "documents",
                              ["parent_id"], ["id"])
    op.create_index("ix_documents_parent_id", "documents", ["parent_id"])


def downgrade() -> None:
    op.drop_index("ix_documents_parent_id", table_name="documents")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE documents DROP COLUMN parent_id")
    else:
        op.drop_constraint("fk_documents_parent_id_documents", "documents", type_="foreignkey")
        op.drop_column("documents", "parent_id")
