"""Invoice numbers claimed per seller by the first document stored with them
(`models.number_claims`): two copies of one invoice decided at the same time by workers that
cannot see each other are no longer both accepted. Existing invoices are not entered: the
duplicate check sees them (they are committed); only documents stored from now on claim.

Revision ID: 0011_number_claims
Revises: 0010_user_email
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_number_claims"
down_revision: str | None = "0010_user_email"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "invoice_number_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_key", sa.String(300), nullable=False),
        sa.Column("number_key", sa.String(64), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_invoice_number_claims"),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE",
                                name="fk_invoice_number_claims_document_id_documents"),
        sa.UniqueConstraint("seller_key", "number_key",
                            name="uq_invoice_number_claims_seller_key_number_key"),
    )
    op.create_index("ix_invoice_number_claims_document_id", "invoice_number_claims",
                    ["document_id"])


def downgrade() -> None:
    op.drop_index("ix_invoice_number_claims_document_id", "invoice_number_claims")
    op.drop_table("invoice_number_claims")
