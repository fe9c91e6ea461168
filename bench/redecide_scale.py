"""Deciding waiting invoices again after a supplier's bank account changed, at scale.

Usage:  .venv/bin/python bench/redecide_scale.py [--items 50] [--order-lines 100000]
                                                 [--url postgresql://...]

Seeds one supplier with M order lines and N review items whose invoices state a new IBAN
(so each is flagged BANK_DETAILS_CHANGED), puts the new IBAN on file, then times, on the same
items:

  shared   — `models.bank_details.decide_after_import`, as `arflow import parties` runs it:
             every item decided again against one load of the master data and one build of
             its indexes (the order book; before 2026-12-07 each item built its own, ~0.3 s
             at 100,000 order lines);
  baseline — each item decided again loading the master data itself (what a correction does,
             and what both paths did before), measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scratch import seeded_session
from matching.engine import evaluate_batch
from matching.types import Candidate
from models import db, repo
from models.bank_details import decide_after_import, siblings
from models.corrections import carried, decide_again
from models.domain import DocumentKind, ExtractionResult, ExtractionStatus, Invoice, InvoiceLine
from models.domain import Party as PartyInfo
from models.party_accounts import IbanChange
from models.queries import to_domain

OLD, NEW = "ES9121000418450200051332", "GB82WEST12345698765432"
TAX_ID = "ESB58378431"


def seed_orders(session: Session, lines: int) -> int:
    party = db.Party(name="Acme Iberia SL", tax_id=TAX_ID, iban=OLD)
    session.add(party)
    session.flush()
    orders = [{"id": i + 1, "order_number": f"PO-{i}", "party_id": party.id,
               "counterparty_tax_id": TAX_ID, "counterparty_name": party.name,
               "order_date": date(2026, 10, 1), "currency": "EUR"}
              for i in range(-(-lines // 10))]
    session.execute(insert(db.Order), orders)
    session.execute(insert(db.OrderLine), [
        {"order_id": i // 10 + 1, "line_no": i % 10 + 1, "description": f"Item {i}",
         "quantity": Decimal(10), "unit_price": Decimal("12.50"), "tax_rate": Decimal(21)}
        for i in range(lines)])
    session.commit()
    return party.id


def seed_items(session: Session, count: int) -> None:
    master = repo.load_master_data(session)
    for i in range(count):
        invoice = Invoice(
            invoice_number=f"F-{i}", issue_date=date(2026, 10, 20), currency="EUR",
            seller=PartyInfo(name="Acme Iberia SL", tax_id=TAX_ID), order_number=f"PO-{i}",
            subtotal=Decimal("125.00"), tax_total=Decimal("26.25"), total=Decimal("151.25"),
            iban=NEW, lines=[InvoiceLine("Item", Decimal(10), Decimal("12.50"),
                                         Decimal("125.00"), Decimal(21))])
        decision = evaluate_batch([Candidate(f"f{i}", invoice)], master)[0]
        document = repo.create_document(session, sha256=f"{i:064d}", source_name=f"f{i}.pdf",
                                        size_bytes=1)
        repo.save_extraction(session, document, ExtractionResult(
            source=f"f{i}.pdf", status=ExtractionStatus.OK, kind=DocumentKind.DIGITAL,
            invoice=invoice, pages=1), decision)
    session.commit()


def baseline(session: Session, party_id: int) -> int:
    found = siblings(session, party_id, {OLD, NEW})
    for item, invoice in found:
        decide_again(session, item, to_domain(invoice), carried(item))
    return len(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--order-lines", type=int, default=100_000)
    parser.add_argument("--url", default="")
    args = parser.parse_args()
    with seeded_session(args.url, "redecide", args.order_lines, "order lines",
                        seed_orders) as session:
        party_id = session.scalars(select(db.Party.id)).one()
        seed_items(session, args.items)
        flagged = session.scalars(select(db.ReviewItem)).all()
        session.get_one(db.Party, party_id).iban = NEW
        session.flush()
        start = time.perf_counter()
        done = decide_after_import(session, [IbanChange(party_id, TAX_ID, "Acme", OLD, NEW)],
                                   "bench.csv")
        shared = time.perf_counter() - start
        cleared = sum("BANK_DETAILS_CHANGED" not in (i.reason_codes or "") for i in flagged)
        start = time.perf_counter()
        again = baseline(session, party_id)
        slow = time.perf_counter() - start
        session.rollback()
    print(f"  {done} waiting items decided again (finding cleared on {cleared} of "
          f"{len(flagged)}): one master load and index {shared:.2f} s "
          f"({shared / max(done, 1) * 1000:.0f} ms an item); baseline, a load per item "
          f"({again} items) {slow:.2f} s = {slow / shared:.1f}x")


if __name__ == "__main__":
    main()
