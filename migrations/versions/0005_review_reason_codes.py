"""Review items carry their reason codes as one text column (" A B "), so that the queue
filters, sorts, pages and counts in SQL instead of loading every open item.

Revision ID: 0005_review_reason_codes
Revises: 0004_login_failures
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005_review_reason_codes"
down_revision: str | None = "0004_login_failures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _codes_text(reasons: Any) -> str:
    if isinstance(reasons, str):
        reasons = json.loads(reasons)
    codes = sorted({str(p["code"]) for p in reasons or [] if isinstance(p, dict) and "code" in p})
    return f" {' '.join(codes)} " if codes else ""


def upgrade() -> None:
    with op.batch_alter_table("review_items") as batch:
        batch.add_column(sa.Column("reason_codes", sa.String(length=1024), nullable=False,
                                   server_default=""))
    bind = op.get_bind()
    items = sa.table("review_items", sa.column("id", sa.Integer()),
                     sa.column("reasons", sa.JSON()), sa.column("reason_codes", sa.String()))
    rows = bind.execute(sa.select(items.c.id, items.c.reasons)).all()
    updates = [{"item_id": row.id, "codes": _codes_text(row.reasons)} for row in rows]
    if updates:
        bind.execute(items.update().where(items.c.id == sa.bindparam("item_id"))
                     .values(reason_codes=sa.bindparam("codes")), updates)


def downgrade() -> None:
    with op.batch_alter_table("review_items") as batch:
        batch.drop_column("reason_codes")
