"""Indexes for the Audit page's filters (`models.audit_log`): by who, by action (also a prefix
such as "review."), by day. Before, each filter read the whole log; at 200,000 events a rare
action took 45 ms on SQLite, and the log only grows.

Revision ID: 0012_audit_filters
Revises: 0011_number_claims
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012_audit_filters"
down_revision: str | None = "0011_number_claims"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {"ix_audit_actor_id": ["actor", "id"], "ix_audit_action_id": ["action", "id"],
           "ix_audit_at": ["at"]}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "audit_events", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, "audit_events")
