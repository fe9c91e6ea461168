"""Users' e-mail addresses, for the approvers' digest (`arflow notify`). NULL: no digest.

Revision ID: 0010_user_email
Revises: 0009_exports
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_user_email"
down_revision: str | None = "0009_exports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("email", sa.String(320), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE users DROP COLUMN email")
