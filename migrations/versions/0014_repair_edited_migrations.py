"""Repair: the columns that the first editions of migrations 0006 and 0013 did not add.

Both files were edited after they were first committed. 0006 first added only
invoices.invoice_type and preceding_invoice (commit 38abff6), then invoices.withholding
(bd5d1b1), then invoices.allowances and charges and invoice_lines.adjustment (7b3a208);
0013 first added only review_items.received_total and received_currency (a3a8f3f), then
received_reason_codes (c169518). A database migrated by an earlier edition carries the same
revision stamp, so Alembic never ran the later edition on it: `arflow db upgrade` said it was
ready and head's code then failed with "no such column" (`arflow report` on invoices.withholding,
`arflow notify` on review_items.received_reason_codes).

This revision adds each of those columns that is missing, as the current edition of its
migration does, and fills received_reason_codes from reason_codes as 0013 does for the items it
finds. On a database that has them (every one migrated by the current editions) it changes
nothing. tests/test_migrations_data.py migrates databases with each earlier edition.

Revision ID: 0014_repair_edited_migrations
Revises: 0013_review_received_amount
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from models.types import Amount

revision: str = "0014_repair_edited_migrations"
down_revision: str | None = "0013_review_received_amount"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> the columns later editions added, as they add them
COLUMNS: dict[str, list[Callable[[], sa.Column[Any]]]] = {
    "invoices": [
        lambda: sa.Column("withholding", Amount(), nullable=True),
        lambda: sa.Column("allowances", Amount(), nullable=True),
        lambda: sa.Column("charges", Amount(), nullable=True),
    ],
    "invoice_lines": [lambda: sa.Column("adjustment", Amount(), nullable=True)],
    "review_items": [lambda: sa.Column("received_reason_codes", sa.String(length=1024),
                                       nullable=False, server_default="")],
}


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    added: set[str] = set()
    for table, columns in COLUMNS.items():
        present = {c["name"] for c in inspector.get_columns(table)}
        missing = [c for c in (make() for make in columns) if c.name not in present]
        if not missing:
            continue
        with op.batch_alter_table(table) as batch:
            for column in missing:
                batch.add_column(column)
        added |= {column.name for column in missing}
    if "received_reason_codes" in added:
        op.execute("UPDATE review_items SET received_reason_codes = reason_codes")


def downgrade() -> None:
    """Nothing: the columns belong to 0006 and 0013, whose downgrades drop them."""
