"""Master-data import: parties, orders and receipts from CSV, validated row by row.

Headers must be exactly those in `HEADERS`. Every row is checked (decimals, ISO dates,
3-letter currencies; tax IDs and IBANs validated and normalised by `extractors.ids`, the
invoices' rules; an invalid party tax ID or IBAN is an error). All problems are collected
and raised together as `MasterDataRowsError` (a `MasterDataError`) with line numbers
and columns, before anything is written. Re-importing a file updates rows by natural key
(tax_id, order_number + line_no, order_number + line_no + received_date) instead of adding
duplicates. The caller owns the transaction (`arflow.db.session_scope`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

from sqlalchemy.orm import Session

from arflow.errors import MasterDataError
from arflow.settings import Tolerances
from models import upsert
from models.bank_details import decide_after_import
from models.master_rows import (
    RowReader,
    check_orders,
    check_parties,
    check_receipts,
)
from models.party_accounts import IbanChange, record_iban_changes
from models.upsert import OrderLineRecord, PartyRecord, ReceiptRecord, RowError

Kind = Literal["parties", "orders", "receipts"]

HEADERS: dict[str, tuple[str, ...]] = {
    "parties": ("name", "tax_id", "iban", "email"),
    "orders": ("order_number", "counterparty_tax_id", "counterparty_name", "order_date",
               "currency", "line_no", "description", "quantity", "unit_price", "tax_rate"),
    "receipts": ("order_number", "line_no", "quantity_received", "received_date"),
}
MAX_LISTED = 100


@dataclass(frozen=True)
class ImportReport:
    kind: str
    path: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    iban_changes: int = 0  # parties whose IBAN the file changed (each audited)
    warnings: tuple[str, ...] = ()  # changes that put back an account an approver replaced
    redecided: int = 0  # waiting items of those parties decided again (`models.bank_details`)

    def __str__(self) -> str:
        plural = "s" if self.iban_changes > 1 else ""
        ibans = f", {self.iban_changes} IBAN{plural} changed" if self.iban_changes else ""
        if self.redecided:
            ibans += f" ({self.redecided} waiting item(s) decided again)"
        return (f"{self.rows} rows from {self.path}: {self.inserted} inserted, "
                f"{self.updated} updated, {self.unchanged} unchanged{ibans}")


class MasterDataRowsError(MasterDataError):
    """A file with invalid rows; `errors` holds every one (line, column, message)."""

    def __init__(self, path: str, errors: list[RowError]) -> None:
        listed = [f"  line {e.line}" + (f", column {e.column!r}" if e.column else "")
                  + f": {e.message}" for e in errors[:MAX_LISTED]]
        if len(errors) > MAX_LISTED:
            listed.append(f"  ... and {len(errors) - MAX_LISTED} more")
        summary = f"{path}: rejected, {len(errors)} error(s), nothing imported:\n"
        super().__init__(summary + "\n".join(listed))
        self.line, self.column = errors[0].line, errors[0].column
        self.errors = errors


def import_csv(session: Session, kind: Kind, path: str | Path,
               tol: Tolerances | None = None) -> ImportReport:
    """Validate the whole file, then upsert it; raises `MasterDataRowsError` for any bad row."""
    name = str(path)
    rows = _read(name, kind)
    errors: list[RowError] = []
    changes: list[IbanChange] = []
    if kind == "parties":
        parties = check_parties(rows, errors)
        _reject_if(name, errors)
        counts = upsert.parties(session, parties, changes)
    elif kind == "orders":
        lines = check_orders(rows, errors)
        _reject_if(name, errors)
        counts = upsert.order_lines(session, lines)
    elif kind == "receipts":
        receipts = check_receipts(rows, errors)
        known = upsert.known_order_lines(session, receipts)
        _check_known(receipts, known, errors)
        _check_returns(session, receipts, known, errors)
        _reject_if(name, errors)
        counts = upsert.receipts(session, receipts, known)
    else:
        raise MasterDataError(f"unknown master-data kind {kind!r}; use {', '.join(HEADERS)}")
    session.flush()
    warnings = record_iban_changes(session, changes, Path(name).name)
    redecided = decide_after_import(session, changes, Path(name).name, tol=tol)
    return ImportReport(kind, name, len(rows), *counts, len(changes), tuple(warnings),
                        redecided)


def _reject_if(path: str, errors: list[RowError]) -> None:
    if errors:
        raise MasterDataRowsError(path, sorted(errors, key=lambda e: (e.line, e.column or "")))


def _check_known(receipts: list[ReceiptRecord], known: dict[tuple[str, int], int],
                 errors: list[RowError]) -> None:
    orders = {number for number, _ in known}
    for rec in receipts:
        if (rec.order_number, rec.line_no) in known:
            continue
        if rec.order_number not in orders:
            errors.append(RowError(rec.line, "order_number",
                                   f"unknown order {rec.order_number!r}"))
        else:
            errors.append(RowError(rec.line, "line_no",
                                   f"order {rec.order_number!r} has no line {rec.line_no}"))


def _check_returns(session: Session, receipts: list[ReceiptRecord],
                   known: dict[tuple[str, int], int], errors: list[RowError]) -> None:
    """Returns (negative receipts) never take an order line below nothing received: the
    stored receipts, with this file's rows replacing those of the same date, must add up to
    zero or more on every line."""
    lines: dict[int, ReceiptRecord] = {}  # order line id -> the file's last row for it
    merged: dict[tuple[int, date], Decimal] = {}
    for rec in receipts:
        if (line_id := known.get((rec.order_number, rec.line_no))) is not None:
            lines[line_id] = rec
            merged[(line_id, rec.received_date)] = rec.quantity_received
    net: dict[int, Decimal] = {}
    for (line_id, _), quantity in {**upsert.receipts_on_file(session, lines), **merged}.items():
        net[line_id] = net.get(line_id, Decimal(0)) + quantity
    for line_id, total in net.items():
        if total < 0:
            rec = lines[line_id]
            errors.append(RowError(rec.line, "quantity_received",
                                   f"returns exceed what was received on order "
                                   f"{rec.order_number} line {rec.line_no}: net {total}"))


def _read(path: str, kind: str) -> list[RowReader]:
    if kind not in HEADERS:
        raise MasterDataError(f"unknown master-data kind {kind!r}; use {', '.join(HEADERS)}")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            _check_header(path, kind, header)
            return [RowReader(reader.line_num, dict(zip(HEADERS[kind], values, strict=False)),
                              len(values), len(HEADERS[kind]))
                    for values in reader if any(v.strip() for v in values)]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise MasterDataError(f"{path}: cannot read CSV: {err}") from err


def _check_header(path: str, kind: str, header: list[str] | None) -> None:
    expected = list(HEADERS[kind])
    found = [h.strip() for h in header or []]
    if found != expected:
        raise MasterDataError(
            f"{path}: header must be exactly {','.join(expected)!r}, found {','.join(found)!r}",
            line=1)


__all__ = ["HEADERS", "ImportReport", "Kind", "MasterDataRowsError", "OrderLineRecord",
           "PartyRecord", "ReceiptRecord", "RowError", "import_csv"]
