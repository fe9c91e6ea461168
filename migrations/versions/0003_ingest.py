"""Ingestion ledgers: drop_files (drop folder) and mail_messages (IMAP), issue 6.

Revision ID: 0003_ingest
Revises: 0002_users
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.types import JSONDoc, UTCDateTime

revision: str = "0003_ingest"
down_revision: str | None = "0002_users"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "drop_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("original_path", sa.String(length=2048), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("target_path", sa.String(length=2048), nullable=False),
        sa.Column("reasons", JSONDoc, nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("moved_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"],
                                name=op.f("fk_drop_files_document_id_documents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drop_files")),
    )
    op.create_index(op.f("ix_drop_files_sha256"), "drop_files", ["sha256"])
    op.create_index(op.f("ix_drop_files_document_id"), "drop_files", ["document_id"])
    op.create_table(
        "mail_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox", sa.String(length=512), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("documents", JSONDoc, nullable=True),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_messages")),
        sa.UniqueConstraint("mailbox", "uidvalidity", "uid",
                            name=op.f("uq_mail_messages_mailbox_uidvalidity_uid")),
    )


def downgrade() -> None:
    op.drop_table("mail_messages")
    op.drop_index(op.f("ix_drop_files_document_id"), table_name="drop_files")
    op.drop_index(op.f("ix_drop_files_sha256"), table_name="drop_files")
    op.drop_table("drop_files")
