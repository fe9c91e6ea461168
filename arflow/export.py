"""`arflow export`: hand accepted invoices on for posting and payment, each exactly once.

Three steps, each safe to interrupt (`models.exports` claims):

1. claim every accepted invoice no export took yet, in one transaction with a new `pending`
   export row (committed before any file exists);
2. write the export's file from the database: to a temporary name, flushed to disk, then
   renamed, so a reader never sees half a file;
3. mark the export `written` with the file's SHA-256.

A run interrupted after 1 leaves the export `pending`: the next run writes it first, from the
same rows, to the same bytes. A run interrupted after 2 rewrites the same bytes. So an invoice
is never in two exports and never in none. ``--again N`` writes export N's file again (lost
or deleted downstream) and says whether it came out byte-identical.

Formats: ``csv``, one row per invoice (the columns an ERP's invoice import needs), and
``jsonl``, one object per invoice with its lines and the order lines they were matched to.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from arflow.cells import safe_cell
from arflow.errors import ArflowError
from models import db, exports

FORMATS = ("csv", "jsonl")
CSV_COLUMNS = (
    "export_id", "document_id", "source", "sha256", "status", "approved_by", "approved_at",
    "reasons", "invoice_type", "invoice_number", "preceding_invoice", "issue_date", "due_date",
    "seller_name", "seller_tax_id", "party_tax_id", "iban", "iban_on_file", "order_number",
    "currency", "subtotal", "tax_total", "total", "withholding", "amount_due", "payable",
)
Sessions = Callable[[], AbstractContextManager[Session]]


class ExportError(ArflowError):
    """An export cannot be written (the folder, the disk) or does not exist."""

    code = "EXPORT_FAILED"
    exit_code = 8


@dataclass(frozen=True)
class Written:
    """One export file on disk: how many invoices, what they pay, and whether a rewrite
    (`again`) came out identical to the file first written."""

    export_id: int
    path: Path
    sha256: str
    invoices: int
    payable: dict[str, Decimal]  # currency → sum of `payable`
    resumed: bool = False  # left pending by another run (interrupted, or not yet at it)
    identical: bool | None = None  # for a rewrite: same bytes as first written


def export_name(export_id: int, fmt: str) -> str:
    return f"arflow-export-{export_id:06d}.{fmt}"


def run_export(sessions: Sessions, folder: Path, fmt: str, actor: str) -> list[Written]:
    """Write the exports interrupted runs left pending (into `folder`), then one new export
    of every accepted invoice not yet exported (none when there is nothing new)."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    folder = folder.resolve()
    done = [w for export_id in _pending_ids(sessions)
            if (w := _write(sessions, export_id, actor, folder, resumed=True,
                            pending_only=True)) is not None]
    with sessions() as session:
        export = exports.claim(session, actor=actor, fmt=fmt,
                               path_for=lambda i: str(folder / export_name(i, fmt)))
        new_id = None if export is None else export.id
    if new_id is None:
        return done
    # None: a run started meanwhile found this export pending and wrote it (and reports it)
    written = _write(sessions, new_id, actor, folder, pending_only=True)
    return done if written is None else [*done, written]


def write_again(sessions: Sessions, export_id: int, actor: str,
                folder: Path | None = None) -> Written:
    """Write export `export_id`'s file again (to `folder`, or where it was written)."""
    written = _write(sessions, export_id, actor, folder and folder.resolve())
    assert written is not None  # skipped only with pending_only
    return written


def _pending_ids(sessions: Sessions) -> list[int]:
    with sessions() as session:
        return [e.id for e in exports.pending(session)]


def _write(sessions: Sessions, export_id: int, actor: str, folder: Path | None, *,
           resumed: bool = False, pending_only: bool = False) -> Written | None:
    """Write one export's file and mark it written, holding the export's row lock (on SQLite,
    the database's write lock), so two runs never write one export at once. With
    `pending_only`, an export another run has written meanwhile is skipped (None): a run that
    claimed an export and one that found it pending before its file existed both try to
    write it, and only the first does (and reports it)."""
    with sessions() as session:
        export = session.get(db.Export, export_id, with_for_update=True, populate_existing=True)
        if export is None:
            raise ExportError(f"there is no export {export_id}", code="EXPORT_NOT_FOUND")
        if pending_only and export.status != exports.PENDING:
            return None
        path = Path(export.path) if folder is None else folder / Path(export.path).name
        first, tally = export.file_sha256, Tally()
        sha = write_atomically(path, encoded(exports.records(session, export), export.format,
                                             tally))
        exports.mark_written(session, export, path=str(path), sha256=sha, actor=actor)
    return Written(export_id, path, sha, tally.invoices, tally.payable, resumed,
                   None if first is None else first == sha)


@dataclass
class Tally:
    """What went into a file, counted while it was written."""

    invoices: int = 0
    payable: dict[str, Decimal] = field(default_factory=dict)

    def add(self, record: dict[str, Any]) -> None:
        self.invoices += 1
        value = payable(record["invoice"])
        if value is not None:
            currency = record["invoice"].get("currency") or "?"
            self.payable[currency] = self.payable.get(currency, Decimal(0)) + value


def encoded(records: Iterable[dict[str, Any]], fmt: str, tally: Tally) -> Iterator[bytes]:
    """The file's bytes, record by record (csv: a header first), counted into `tally`."""
    if fmt == "csv":
        yield _csv_line(dict(zip(CSV_COLUMNS, CSV_COLUMNS, strict=True)))
    for record in records:
        tally.add(record)
        yield (_csv_line(csv_row(record)) if fmt == "csv" else
               (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode())


def _csv_line(row: dict[str, str]) -> bytes:
    buffer = io.StringIO()
    csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n").writerow(row)
    return buffer.getvalue().encode("utf-8")


def csv_row(record: dict[str, Any]) -> dict[str, str]:
    invoice, party = record["invoice"], record["party"] or {}
    seller = invoice.get("seller") or {}
    row = {key: record[key] for key in ("export_id", "document_id", "source", "sha256",
                                        "status", "approved_at", "order_number")}
    row.update({key: invoice.get(key) for key in (
        "invoice_type", "invoice_number", "preceding_invoice", "issue_date", "due_date",
        "iban", "currency", "subtotal", "tax_total", "total", "withholding")})
    row.update(approved_by=";".join(record["approved_by"]), reasons=";".join(record["reasons"]),
               seller_name=seller.get("name"), seller_tax_id=seller.get("tax_id"),
               party_tax_id=party.get("tax_id"), iban_on_file=party.get("iban_on_file"),
               amount_due=_text(amount_due(invoice)), payable=_text(payable(invoice)))
    return {k: "" if v is None else safe_cell(str(v)) for k, v in row.items()}


def amount_due(invoice: dict[str, Any]) -> Decimal | None:
    """The invoice total less any withholding, as stated (None without a total)."""
    if invoice.get("total") is None:
        return None
    return Decimal(invoice["total"]) - Decimal(invoice.get("withholding") or 0)


def payable(invoice: dict[str, Any]) -> Decimal | None:
    """What the export asks to pay: the amount due, negative for a credit note (however
    its amounts were printed), so a payment run nets it against the seller's invoices."""
    due = amount_due(invoice)
    if due is None or invoice.get("invoice_type") != "credit_note":
        return due
    return -abs(due)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def write_atomically(path: Path, chunks: Iterable[bytes]) -> str:
    """Write `chunks` to `path` through a temporary file in the same folder (flushed to
    disk, then renamed): readers see the old file or the whole new one. The SHA-256."""
    temporary = path.with_name(f".{path.name}.tmp")
    digest = hashlib.sha256()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with temporary.open("wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(path)
    except OSError as err:
        with suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise ExportError(f"cannot write export file {path}: {err}",
                          code="EXPORT_WRITE_FAILED") from err
    return digest.hexdigest()


def iter_listing(sessions: Sessions) -> Iterator[db.Export]:
    with sessions() as session:
        yield from exports.listing(session)
