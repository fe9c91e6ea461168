"""Invoices carry their type (invoice, credit note, corrected invoice) and the invoice a credit
note or correction refers to. Rows stored before this revision were all read as invoices.
Invoices also carry the income tax withheld by the payer (IRPF) and the document-level
allowances and charges, and their lines the line charges less line allowances, NULL where
there are none.

Revision ID: 0006_invoice_type
Revises: 0005_review_reason_codes
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.types import Amount

revision: str = "0006_invoice_type"
down_revision: str | None = "0005_review_reason_codes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.add_column(sa.Column("invoice_type", sa.String(length=20), nullable=False,
                                   server_default="invoice"))
        batch.add_column(sa.Column("preceding_invoice", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("withholding", Amount(), nullable=True))
        batch.add_column(sa.Column("allowances", Amount(), nullable=True))
        batch.add_column(sa.Column("charges", Amount(), nullable=True))
    with op.batch_alter_table("invoice_lines") as batch:
        batch.add_column(sa.Column("adjustment", Amount(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoice_lines") as batch:
        batch.drop_column("adjustment")
    with op.batch_alter_table("invoices") as batch:
        batch.drop_column("charges")
        batch.drop_column("allowances")
        batch.drop_column("withholding")
        batch.drop_column("preceding_invoice")
        batch.drop_column("invoice_type")
