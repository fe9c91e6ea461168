"""`arflow export` at scale: N accepted invoices handed on in one file, against a floor.

Usage:  .venv/bin/python bench/export_scale.py [--invoices 100000] [--lines 3] [--url URL]

Seeds N auto-approved documents, each with an invoice of `--lines` lines and a match per line
against one order, and the stored extraction of a real shipped invoice
(data/invoices/002_transportes_alcazar.pdf, ~10 KB of JSON with its evidence word boxes: a
document carries one, and an export must not pay for reading it), in a fresh SQLite file
(or the given database, whose tables must be empty),
then measures in the same run:

  floor   — one SELECT of the invoices' header columns written with `csv.writer`: the least
            any export of these invoices must do;
  csv     — `arflow.export.run_export` in csv (claim, audit, records, render, atomic write);
  jsonl   — the same invoices written again as jsonl (`write_again` on a jsonl export: the
            claim is the csv run's, so this is records + render + write).

Prints seconds, invoices/s, the ratio to the floor and the peak RSS of this process.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import resource
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arflow.db import make_engine, session_scope, upgrade
from arflow.export import run_export, write_again
from extractors.api import extract_file
from models import db
from models.queries import dumps
from models.repo import extraction_json

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "invoices" / "002_transportes_alcazar.pdf"


def stored_extraction() -> dict[str, Any]:
    """What `arflow run` stores for one real invoice (`Document.extraction`), as JSON."""
    loaded: dict[str, Any] = json.loads(dumps(extraction_json(extract_file(SAMPLE))))
    return loaded


def seed(session: Session, n: int, lines: int) -> None:
    rng = random.Random(11)
    extraction = stored_extraction()
    session.execute(insert(db.Party), [{"id": 1, "name": "Acme Iberia SL", "tax_id": "ESB58378431",
                                        "iban": "ES9121000418450200051332"}])
    session.execute(insert(db.Order), [{"id": 1, "order_number": "PO-1", "party_id": 1,
                                        "counterparty_name": "Acme", "currency": "EUR",
                                        "order_date": date(2026, 1, 1)}])
    session.execute(insert(db.OrderLine), [
        {"id": k + 1, "order_id": 1, "line_no": k + 1, "description": f"item {k}",
         "quantity": Decimal(10**6), "unit_price": Decimal("1.50")} for k in range(lines)])
    for start in range(0, n, 10_000):
        _seed_chunk(session, range(start, min(n, start + 10_000)), lines, rng, extraction)
    session.commit()


def _seed_chunk(session: Session, ids: range, lines: int, rng: random.Random,
                extraction: dict[str, Any]) -> None:
    session.execute(insert(db.Document), [
        {"id": i + 1, "sha256": f"{i:064d}", "source_name": f"inv-{i}.pdf", "size_bytes": 1,
         "status": "auto_approved", "reasons": [], "extraction": extraction} for i in ids])
    amounts = {i: [Decimal(rng.randrange(100, 10**5)) / 100 for _ in range(lines)] for i in ids}
    session.execute(insert(db.Invoice), [
        {"id": i + 1, "document_id": i + 1, "invoice_number": f"F-{i}",
         "issue_date": date(2026, 11, 1), "currency": "EUR", "seller_name": "Acme Iberia SL",
         "seller_tax_id": "ESB58378431", "subtotal": sum(amounts[i]),
         "tax_total": (sum(amounts[i]) * Decimal("0.21")).quantize(Decimal("0.01")),
         "total": sum(amounts[i]) * Decimal("1.21"), "party_id": 1, "matched_order_id": 1,
         "iban": "ES9121000418450200051332"} for i in ids])
    session.execute(insert(db.InvoiceLine), [
        {"id": i * lines + k + 1, "invoice_id": i + 1, "line_no": k, "description": f"item {k}",
         "quantity": Decimal(1), "unit_price": amounts[i][k], "amount": amounts[i][k],
         "tax_rate": Decimal(21)} for i in ids for k in range(lines)])
    session.execute(insert(db.Match), [
        {"invoice_line_id": i * lines + k + 1, "order_line_id": k + 1, "quantity": Decimal(1)}
        for i in ids for k in range(lines)])


def floor(session: Session, out: Path) -> int:
    query = select(db.Document.id, db.Document.source_name, db.Invoice.invoice_number,
                   db.Invoice.issue_date, db.Invoice.seller_name, db.Invoice.seller_tax_id,
                   db.Invoice.currency, db.Invoice.subtotal, db.Invoice.tax_total,
                   db.Invoice.total).join(db.Invoice, db.Invoice.document_id == db.Document.id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    rows = 0
    for row in session.execute(query.order_by(db.Document.id)):
        writer.writerow(row)
        rows += 1
    out.write_text(buffer.getvalue(), encoding="utf-8")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--url", default=None, help="an empty database (default: SQLite)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="export-bench-"))
    url = args.url or f"sqlite:///{work / 'bench.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        seed(session, args.invoices, args.lines)
    print(f"{args.invoices} accepted invoices of {args.lines} lines, {url.split(':')[0]}")

    def sessions() -> object:
        return session_scope(engine)

    t0 = time.perf_counter()
    with Session(engine) as session:
        assert floor(session, work / "floor.csv") == args.invoices
    base = time.perf_counter() - t0
    t0 = time.perf_counter()
    (written,) = run_export(sessions, work / "out", "csv", "bench")  # type: ignore[arg-type]
    full = time.perf_counter() - t0
    assert written.invoices == args.invoices
    with Session(engine) as session:
        session.execute(update(db.Export).values(format="jsonl"))
        session.commit()
    t0 = time.perf_counter()
    write_again(sessions, written.export_id, "bench", work / "jsonl")  # type: ignore[arg-type]
    jsonl = time.perf_counter() - t0
    for name, seconds in (("floor (select + csv.writer)", base), ("arflow export csv", full),
                          ("arflow export jsonl (records + write)", jsonl)):
        print(f"{name:40s} {seconds:8.2f} s  {args.invoices / seconds:10.0f} invoices/s  "
              f"{seconds / base:6.1f}x floor")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB; files under {work}")


if __name__ == "__main__":
    main()
