"""Initial schema: every table of models/db.py, plus the append-only guard on audit_events.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 07:45:14+00:00
Written with --autogenerate, then cleaned by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.types import Amount, JSONDoc, Quantity, UTCDateTime

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('entity', sa.String(length=64), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=False),
    sa.Column('before', JSONDoc, nullable=True),
    sa.Column('after', JSONDoc, nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_events_hash')),
    sa.UniqueConstraint('prev_hash', name=op.f('uq_audit_events_prev_hash'))
    )
    op.create_index('ix_audit_entity', 'audit_events', ['entity', 'entity_id'])

    op.create_table('batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', UTCDateTime(), nullable=False),
    sa.Column('finished_at', UTCDateTime(), nullable=True),
    sa.Column('source', sa.String(length=1024), nullable=True),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('auto_approved', sa.Integer(), nullable=False),
    sa.Column('needs_review', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batches'))
    )
    op.create_table('parties',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('tax_id', sa.String(length=32), nullable=False),
    sa.Column('iban', sa.String(length=34), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parties')),
    sa.UniqueConstraint('tax_id', name=op.f('uq_parties_tax_id'))
    )
    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('source_name', sa.String(length=512), nullable=False),
    sa.Column('original_path', sa.String(length=2048), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('extraction_status', sa.String(length=16), nullable=True),
    sa.Column('error_code', sa.String(length=64), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('pages', sa.Integer(), nullable=True),
    sa.Column('received_at', UTCDateTime(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('extraction', JSONDoc, nullable=True),
    sa.Column('reasons', JSONDoc, nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_documents_batch_id_batches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('sha256', name=op.f('uq_documents_sha256'))
    )
    op.create_index('ix_documents_batch_id', 'documents', ['batch_id'])
    op.create_index('ix_documents_status', 'documents', ['status'])

    op.create_table('orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_number', sa.String(length=64), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=True),
    sa.Column('counterparty_tax_id', sa.String(length=32), nullable=True),
    sa.Column('counterparty_name', sa.String(length=512), nullable=False),
    sa.Column('order_date', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_orders_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('order_number', name=op.f('uq_orders_order_number'))
    )
    op.create_index('ix_orders_counterparty_tax_id', 'orders', ['counterparty_tax_id'])
    op.create_index('ix_orders_party_id', 'orders', ['party_id'])

    op.create_table('invoices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('invoice_number', sa.String(length=64), nullable=True),
    sa.Column('issue_date', sa.Date(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('order_number', sa.String(length=64), nullable=True),
    sa.Column('seller_name', sa.String(length=512), nullable=True),
    sa.Column('seller_tax_id', sa.String(length=32), nullable=True),
    sa.Column('seller_address', sa.Text(), nullable=True),
    sa.Column('buyer_name', sa.String(length=512), nullable=True),
    sa.Column('buyer_tax_id', sa.String(length=32), nullable=True),
    sa.Column('buyer_address', sa.Text(), nullable=True),
    sa.Column('subtotal', Amount(), nullable=True),
    sa.Column('tax_total', Amount(), nullable=True),
    sa.Column('total', Amount(), nullable=True),
    sa.Column('iban', sa.String(length=34), nullable=True),
    sa.Column('payment_terms', sa.Text(), nullable=True),
    sa.Column('party_id', sa.Integer(), nullable=True),
    sa.Column('matched_order_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_invoices_document_id_documents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['matched_order_id'], ['orders.id'], name=op.f('fk_invoices_matched_order_id_orders')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_invoices_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('document_id', name=op.f('uq_invoices_document_id'))
    )
    op.create_index('ix_invoices_matched_order_id', 'invoices', ['matched_order_id'])
    op.create_index('ix_invoices_seller_number', 'invoices', ['seller_tax_id', 'invoice_number'])

    op.create_table('order_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('quantity', Quantity(), nullable=False),
    sa.Column('unit_price', Amount(), nullable=False),
    sa.Column('tax_rate', Quantity(), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_lines_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_lines')),
    sa.UniqueConstraint('order_id', 'line_no', name=op.f('uq_order_lines_order_id_line_no'))
    )
    op.create_table('review_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reasons', JSONDoc, nullable=False),
    sa.Column('assigned_role', sa.String(length=64), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_review_items_document_id_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_items')),
    sa.UniqueConstraint('document_id', name=op.f('uq_review_items_document_id'))
    )
    op.create_index('ix_review_items_status', 'review_items', ['status'])

    op.create_table('invoice_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('quantity', Quantity(), nullable=True),
    sa.Column('unit_price', Amount(), nullable=True),
    sa.Column('amount', Amount(), nullable=True),
    sa.Column('tax_rate', Quantity(), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_lines_invoice_id_invoices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_lines')),
    sa.UniqueConstraint('invoice_id', 'line_no', name=op.f('uq_invoice_lines_invoice_id_line_no'))
    )
    op.create_table('receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('quantity_received', Quantity(), nullable=False),
    sa.Column('received_date', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], name=op.f('fk_receipts_order_line_id_order_lines'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipts')),
    sa.UniqueConstraint('order_line_id', 'received_date', name=op.f('uq_receipts_order_line_id_received_date'))
    )
    op.create_table('matches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_line_id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('quantity', Quantity(), nullable=True),
    sa.ForeignKeyConstraint(['invoice_line_id'], ['invoice_lines.id'], name=op.f('fk_matches_invoice_line_id_invoice_lines'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], name=op.f('fk_matches_order_line_id_order_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_matches'))
    )
    op.create_index('ix_matches_invoice_line_id', 'matches', ['invoice_line_id'])
    op.create_index('ix_matches_order_line_id', 'matches', ['order_line_id'])
    _create_audit_guard()



def downgrade() -> None:
    _drop_audit_guard()
    op.drop_table('matches')
    op.drop_table('receipts')
    op.drop_table('invoice_lines')
    op.drop_table('review_items')
    op.drop_table('order_lines')
    op.drop_table('invoices')
    op.drop_table('orders')
    op.drop_table('documents')
    op.drop_table('parties')
    op.drop_table('batches')
    op.drop_table('audit_events')


# audit_events is append-only: the database itself refuses UPDATE and DELETE.
_PG_GUARD = """
CREATE FUNCTION arflow_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END $$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION arflow_audit_append_only();
"""
_SQLITE_GUARD = [
    f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
    for verb in ("UPDATE", "DELETE")
]


def _create_audit_guard() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_GUARD)
    else:
        for statement in _SQLITE_GUARD:
            op.execute(statement)


def _drop_audit_guard() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS arflow_audit_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
