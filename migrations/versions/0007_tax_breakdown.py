"""Invoices carry their VAT breakdown as stated (EN 16931 BG-23: rate, base, tax per row), so
that a document re-checked after a correction is checked as on arrival. NULL where none.

Revision ID: 0007_tax_breakdown
Revises: 0006_invoice_type
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.types import JSONDoc

revision: str = "0007_tax_breakdown"
down_revision: str | None = "0006_invoice_type"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.add_column(sa.Column("tax_breakdown", JSONDoc, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.drop_column("tax_breakdown")
