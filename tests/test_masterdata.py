"""Master-data CSV import on SQLite and PostgreSQL: validation, all-or-nothing, upserts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arflow.errors import MasterDataError
from arflow.masterdata import MasterDataRowsError, import_csv
from models import db

Loader = Callable[[Session], None]

def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def count(session: Session, model: type[db.Base]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_import_good_files_normalises_and_counts(
    db_session: Session, tmp_path: Path, master_csv: dict[str, str],
) -> None:
    csv = master_csv
    report = import_csv(db_session, "parties", write(tmp_path, "p.csv", csv["parties"]))
    assert (report.rows, report.inserted, report.updated, report.unchanged) == (3, 3, 0, 0)
    orders = import_csv(db_session, "orders", write(tmp_path, "o.csv", csv["orders"]))
    assert (orders.inserted, orders.updated) == (3, 0)
    receipts = import_csv(db_session, "receipts", write(tmp_path, "r.csv", csv["receipts"]))
    assert receipts.inserted == 3
    db_session.commit()
    acme = db_session.scalars(select(db.Party).where(db.Party.name == "Acme Iberia SL")).one()
    assert (acme.tax_id, acme.iban) == ("ESB58378431", "ES9121000418450200051332")
    dni = db_session.scalars(select(db.Party).where(db.Party.tax_id == "12345678Z")).one()
    assert dni.email == "juan@example.org"
    po = db_session.scalars(select(db.Order).where(db.Order.order_number == "PO-1001")).one()
    assert po.party_id == acme.id and po.currency == "EUR"
    assert [(x.line_no, x.description, x.unit_price) for x in po.lines] == [
        (1, "Widgets", Decimal("12.50")), (2, "Bolts, M8", Decimal("0.1234"))]
    assert count(db_session, db.Receipt) == 3


def test_reimport_updates_without_duplicates(
    db_session: Session, tmp_path: Path, master_csv: dict[str, str], load_master: Loader,
) -> None:
    csv = master_csv
    load_master(db_session)
    again = import_csv(db_session, "orders", write(tmp_path, "o2.csv", csv["orders"]))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert str(again).endswith("o2.csv: 0 inserted, 0 updated, 3 unchanged")
    changed = csv["orders"].replace("Widgets,10,12.50", "Widgets,12,12.75")
    report = import_csv(db_session, "orders", write(tmp_path, "o3.csv", changed))
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 2)
    receipts = import_csv(db_session, "receipts",
                          write(tmp_path, "r2.csv", csv["receipts"].replace(",4,", ",5,")))
    assert (receipts.inserted, receipts.updated, receipts.unchanged) == (0, 1, 2)
    db_session.commit()
    assert (count(db_session, db.Order), count(db_session, db.OrderLine)) == (2, 3)
    assert count(db_session, db.Receipt) == 3
    query = select(db.OrderLine).where(db.OrderLine.description == "Widgets")
    line = db_session.scalars(query).one()
    assert (line.quantity, line.unit_price) == (Decimal("12"), Decimal("12.75"))


def test_bad_rows_reported_with_line_and_column_and_nothing_written(
    db_session: Session, tmp_path: Path, master_csv: dict[str, str],
) -> None:
    csv = master_csv
    bad = csv["parties"] + (
        "Bad Checksum SL,ESB58378432,,\n"            # line 5
        ",ESA12345674,DE00 0000 0000 0000 0000 00,not-an-email\n"  # line 6
        "Acme Again,ESB58378431,,\n"                  # line 7: duplicate tax id
    )
    with pytest.raises(MasterDataRowsError) as caught:
        import_csv(db_session, "parties", write(tmp_path, "bad.csv", bad))
    found = [(e.line, e.column) for e in caught.value.errors]
    assert found == [(5, "tax_id"), (6, "email"), (6, "iban"), (6, "name"), (7, "tax_id")]
    assert isinstance(caught.value, MasterDataError)
    assert "line 5, column 'tax_id'" in str(caught.value) and "check digit" in str(caught.value)
    db_session.commit()
    assert count(db_session, db.Party) == 0


def test_bad_order_values_all_reported(
    db_session: Session, tmp_path: Path, master_csv: dict[str, str],
) -> None:
    csv = master_csv
    bad = csv["orders"] + (
        "PO-3,X,Y,2026-13-01,eur,0,d,1.5,abc,21\n"                        # line 5
        "PO-1001,ESB58378431,Acme Iberia SL,2026-10-02,EUR,1,x,1,1.00,\n"  # line 6
        "PO-4,,Zeta,2026-01-01,EUR,1,d,1,1.00001,\n"                      # line 7
    )
    with pytest.raises(MasterDataRowsError) as caught:
        import_csv(db_session, "orders", write(tmp_path, "bad.csv", bad))
    found = {(e.line, e.column) for e in caught.value.errors}
    assert found == {(5, "order_date"), (5, "currency"), (5, "line_no"), (5, "unit_price"),
                     (6, "line_no"), (6, "order_date"), (7, "unit_price")}
    db_session.commit()
    assert count(db_session, db.Order) == 0 and count(db_session, db.OrderLine) == 0


def test_receipts_for_unknown_order_lines_rejected(
    db_session: Session, tmp_path: Path, master_csv: dict[str, str], load_master: Loader,
) -> None:
    csv = master_csv
    load_master(db_session)
    bad = csv["receipts"] + (
        "PO-9999,1,1,2026-10-05\n"      # line 5: no such order
        "PO-1001,7,1,2026-10-05\n"      # line 6: no such line
        "PO-1001,2,-101,2026-10-06\n"   # line 7: returns more than the 100 received
    )
    with pytest.raises(MasterDataRowsError) as caught:
        import_csv(db_session, "receipts", write(tmp_path, "r.csv", bad))
    found = [(e.line, e.column) for e in caught.value.errors]
    assert found == [(5, "order_number"), (6, "line_no"), (7, "quantity_received")]
    assert "returns exceed what was received on order PO-1001 line 2: net -1" in str(
        caught.value.errors[2].message)


def test_a_return_lowers_what_was_received_and_a_later_invoice_is_over_billed(
    db_session: Session, tmp_path: Path, load_master: Loader,
) -> None:
    """Goods sent back (a negative receipt, as ERPs record a return delivery) are no longer
    received: billing them is OVER_BILLING; re-importing the return's date replaces it."""
    from matching.engine import evaluate_batch
    from matching.types import Candidate
    from models.master import load_master_data
    from tests.test_approvals import sample_invoice

    load_master(db_session)
    returned = write(tmp_path, "ret.csv", "order_number,line_no,quantity_received,received_date\n"
                     "PO-1001,2,-40,2026-10-12\n")
    import_csv(db_session, "receipts", returned)
    db_session.commit()
    invoice = sample_invoice("166.18", "R-1")  # bills all 100 of line 2
    (decision,) = evaluate_batch([Candidate("r1.pdf", invoice)], load_master_data(db_session))
    assert "OVER_BILLING" in decision.reason_codes
    over = next(p for p in decision.reasons if p.code == "OVER_BILLING")
    assert over.expected == "<= 60 received"
    undone = write(tmp_path, "undo.csv", "order_number,line_no,quantity_received,received_date\n"
                   "PO-1001,2,0,2026-10-12\n")
    import_csv(db_session, "receipts", undone)
    db_session.commit()
    (again,) = evaluate_batch([Candidate("r1.pdf", invoice)], load_master_data(db_session))
    assert again.reason_codes == []


def test_header_must_match_exactly(db_session: Session, tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "name,tax_id,iban\nAcme,ESB58378431,\n")
    with pytest.raises(MasterDataError, match="header must be exactly") as caught:
        import_csv(db_session, "parties", path)
    assert caught.value.line == 1


def test_implausible_order_and_receipt_values_rejected(
    db_session: Session, tmp_path: Path, master_csv: dict[str, str], load_master: Loader,
) -> None:
    """An unknown currency, a tax rate over 100 % and a date over a year ahead are typing
    errors in the ERP's extract, not orders: the file is refused, saying which rule."""
    far = (date.today() + timedelta(days=400)).isoformat()
    soon = (date.today() + timedelta(days=300)).isoformat()
    bad = master_csv["orders"] + (
        "PO-5,,Zeta,2026-01-01,ZZZ,1,d,1,1.00,\n"             # line 5: not ISO 4217
        "PO-6,,Zeta,2026-01-01,USD,1,d,1,1.00,210\n"          # line 6: over 100 %
        f"PO-7,,Zeta,{far},EUR,1,d,1,1.00,21\n"               # line 7: over a year ahead
        f"PO-8,,Zeta,{soon},CHF,1,d,1,1.00,100\n"             # line 8: fine
    )
    with pytest.raises(MasterDataRowsError) as caught:
        import_csv(db_session, "orders", write(tmp_path, "o.csv", bad))
    messages = {(e.line, e.column): e.message for e in caught.value.errors}
    assert set(messages) == {(5, "currency"), (6, "tax_rate"), (7, "order_date")}
    assert "not an ISO 4217 currency code: 'ZZZ'" in messages[5, "currency"]
    assert "a percentage from 0 to 100" in messages[6, "tax_rate"]
    assert "more than a year in the future" in messages[7, "order_date"]
    load_master(db_session)
    receipts = master_csv["receipts"] + f"PO-1001,2,1,{far}\n"
    with pytest.raises(MasterDataRowsError) as later:
        import_csv(db_session, "receipts", write(tmp_path, "r.csv", receipts))
    assert [(e.line, e.column) for e in later.value.errors] == [(5, "received_date")]
