"""Review items keep the invoice's total and currency as received, before any correction, and
the reason codes they were opened with: who may approve an item is decided by the higher of
that amount and the amount now (`models.approval_matrix.routing_amount`), and by the reasons
now and as received, so that correcting a total, a currency or an IBAN cannot lower the role,
the approval limit or the number of approvers an invoice needs. Items opened before this
revision take their invoice's values and their reasons at the time of the upgrade.

Revision ID: 0013_review_received_amount
Revises: 0012_audit_filters
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.types import Amount

revision: str = "0013_review_received_amount"
down_revision: str | None = "0012_audit_filters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("review_items") as batch:
        batch.add_column(sa.Column("received_total", Amount(), nullable=True))
        batch.add_column(sa.Column("received_currency", sa.String(length=3), nullable=True))
        batch.add_column(sa.Column("received_reason_codes", sa.String(length=1024),
                                   nullable=False, server_default=""))
    op.execute("UPDATE review_items SET received_reason_codes = reason_codes")
    for column in ("total", "currency"):
        op.execute(f"UPDATE review_items SET received_{column} = (SELECT invoices.{column} "
                   "FROM invoices WHERE invoices.document_id = review_items.document_id)")


def downgrade() -> None:
    with op.batch_alter_table("review_items") as batch:
        batch.drop_column("received_reason_codes")
        batch.drop_column("received_currency")
        batch.drop_column("received_total")
