"""Validation of extracted invoices and matching against orders and receipts."""
