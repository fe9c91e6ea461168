"""A credit note gives back what the invoice it refers to billed: once approved, the quantities
returned are billable again (no false QUANTITY_VARIANCE on the replacement invoice)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from arflow.reasons import Reason
from matching.engine import evaluate_batch
from matching.types import (
    BILLED_LINE_COLUMNS,
    GIVEN_BACK_COLUMNS,
    Candidate,
    Decision,
    LineMatch,
    MasterData,
)
from models import approvals, repo
from models.corrections import correct_field
from models.db import Document, ReviewItem, User
from models.db import Invoice as Invoice_
from models.domain import (
    DocumentKind,
    DocumentStatus,
    ExtractionResult,
    ExtractionStatus,
    Invoice,
    InvoiceLine,
    InvoiceType,
)
from tests.test_approvals import MATRIX, make_user, sample_invoice
from tests.test_validate import TODAY, clean_invoice, line, master

D = Decimal


def _credit(invoice: Invoice, lines: list[InvoiceLine], number: str = "AB-1") -> Invoice:
    subtotal = sum((ln.amount or D(0) for ln in lines), D(0))
    tax = (subtotal * D("0.21")).quantize(D("0.01"))
    return replace(invoice, invoice_number=number, invoice_type=InvoiceType.CREDIT_NOTE,
                   preceding_invoice=invoice.invoice_number, lines=lines, subtotal=subtotal,
                   tax_total=tax, total=subtotal + tax)


def _after(invoice: Invoice, credit: Invoice, data: MasterData | None = None) -> Decision:
    """The credit note's decision, in one batch after its (auto-approved) invoice."""
    first, second = evaluate_batch([Candidate("inv.pdf", invoice), Candidate("cn.pdf", credit)],
                                   data or master(), None, TODAY)
    assert first.status == DocumentStatus.AUTO_APPROVED
    return second


def _given_back(decision: Decision) -> str | None:
    return next((p.found for p in decision.reasons if p.field == "lines"), None)


def test_a_full_credit_note_gives_back_every_line() -> None:
    invoice = clean_invoice()
    decision = _after(invoice, _credit(invoice, invoice.lines))
    assert decision.status == DocumentStatus.NEEDS_REVIEW
    assert decision.reason_codes == [Reason.CREDIT_NOTE]
    assert decision.order_number == "PO-1001"
    assert decision.line_matches == [LineMatch(0, 10, "-100"), LineMatch(1, 11, "-200")]
    assert _given_back(decision) == ("gives back line 1: 100 of order line 1 (Steel bolts M8); "
                                     "line 2: 200 of order line 2 (Washers M8)")


def test_a_partial_return_printed_negative_gives_back_that_line_only() -> None:
    invoice = clean_invoice()
    returned = [line("Steel bolts M8", "-40", "0.50", "-20.00")]
    decision = _after(invoice, _credit(invoice, returned))
    assert decision.line_matches == [LineMatch(0, 10, "-40")]
    assert _given_back(decision) == "gives back line 1: 40 of order line 1 (Steel bolts M8)"


def test_a_price_adjustment_gives_back_no_quantity() -> None:
    invoice = clean_invoice()
    rebate = [line("Steel bolts M8", "100", "0.05", "5.00")]
    decision = _after(invoice, _credit(invoice, rebate))
    assert decision.line_matches == []
    assert decision.order_number is None
    assert _given_back(decision) == (
        "gives back line 1: a price adjustment (0.05 against 0.50), no quantity")


def test_never_more_than_the_invoice_billed() -> None:
    invoice = clean_invoice()
    too_many = [line("Steel bolts M8", "150", "0.50", "75.00"),
                line("Hex nuts", "10", "0.20", "2.00")]
    decision = _after(invoice, _credit(invoice, too_many))
    assert decision.line_matches == [LineMatch(0, 10, "-100")]
    assert _given_back(decision) == (
        "gives back line 1: 100 of order line 1 (Steel bolts M8), not the 150 credited: "
        "invoice F-2024-001 billed 100; line 2: matches no line invoice F-2024-001 billed")


def _overpriced(invoice: Invoice) -> Invoice:
    """The invoice with a PRICE_VARIANCE on its first line: held for review, so its quantities
    do not count as billed."""
    return replace(invoice, lines=[line("Steel bolts M8", "100", "0.60", "60.00"),
                                   invoice.lines[1]],
                   subtotal=D("80.00"), tax_total=D("16.80"), total=D("96.80"))


def test_nothing_given_back_for_an_invoice_not_accepted_or_without_lines() -> None:
    invoice = clean_invoice()
    held, credit = evaluate_batch(
        [Candidate("inv.pdf", _overpriced(invoice)),
         Candidate("cn.pdf", _credit(invoice, invoice.lines))],
        master(), None, TODAY)
    assert held.status == DocumentStatus.NEEDS_REVIEW  # PRICE_VARIANCE: its quantities don't count
    assert credit.line_matches == []
    assert _given_back(credit) == (
        "gives back nothing: that invoice billed no order lines that count (not accepted)")
    amount_only = replace(_credit(invoice, []), subtotal=D("10.00"), tax_total=D("2.10"),
                          total=D("12.10"))
    bare = _after(invoice, amount_only)
    assert bare.line_matches == []
    assert _given_back(bare) == "gives back an amount without lines: no quantity"


def _accepted_earlier(washers: str) -> MasterData:
    """Master data in which invoice F-2024-001 (document 41) was accepted in an earlier batch,
    billing 100 bolts and `washers` washers."""
    data = master(seen=[{"document_id": 41, "seller_tax_id": "B58378431",
                         "seller_name": "Acme Supplies S.L.", "invoice_number": "F-2024-001",
                         "total": D("84.70"), "issue_date": date(2024, 3, 10)}])
    data.billed_lines = pd.DataFrame([(41, 10, D(100)), (41, 11, D(washers))],
                                     columns=list(BILLED_LINE_COLUMNS))
    return data


def test_an_invoice_accepted_in_an_earlier_batch() -> None:
    data = _accepted_earlier("150")
    credit = _credit(clean_invoice(), [line("Washers M8", "200", "0.10", "20.00")])
    [decision] = evaluate_batch([Candidate("cn.pdf", credit)], data, None, TODAY)
    assert decision.line_matches == [LineMatch(0, 11, "-150")]
    assert _given_back(decision) == (
        "gives back line 1: 150 of order line 2 (Washers M8), not the 200 credited: "
        "invoice F-2024-001 billed 150")


# --- stored, approved, and the goods billed again (SQLite and PostgreSQL) -------------------------

def _store(session: Session, invoice: Invoice, source: str) -> Decision:
    decision = evaluate_batch([Candidate(source, invoice)], repo.load_master_data(session))[0]
    _save(session, invoice, source, decision)
    return decision


def _save(session: Session, invoice: Invoice, source: str, decision: Decision) -> None:
    document = repo.create_document(session, sha256=source.ljust(64, "0"), source_name=source,
                                    size_bytes=1)
    result = ExtractionResult(source=source, status=ExtractionStatus.OK,
                              kind=DocumentKind.DIGITAL, invoice=invoice, pages=1)
    repo.save_extraction(session, document, result, decision)
    session.commit()


def _invoiced(session: Session) -> list[Decimal]:
    lines = repo.load_master_data(session).order_lines
    return list(lines.loc[lines["order_number"] == "PO-1001", "quantity_invoiced"])


def test_an_approved_return_makes_the_goods_billable_again(
    db_session: Session, load_master: Callable[[Session], None],
) -> None:
    load_master(db_session)
    invoice = sample_invoice(total="166.18")
    assert _store(db_session, invoice, "a1.pdf").status == DocumentStatus.AUTO_APPROVED
    returned = [InvoiceLine("Widgets", D(4), D("12.50"), D("50.00"), D(21))]
    credit = _store(db_session, _credit(invoice, returned, "AB-1"), "ab1.pdf")
    assert credit.line_matches[0].quantity == "-4"
    replacement = replace(invoice, invoice_number="A-2", issue_date=date(2026, 11, 2),
                          lines=returned, subtotal=D("50.00"), tax_total=D("10.50"),
                          total=D("60.50"))
    [early] = evaluate_batch([Candidate("a2.pdf", replacement)],
                             repo.load_master_data(db_session))
    assert Reason.QUANTITY_VARIANCE in early.reason_codes  # the credit note is not approved yet
    assert _invoiced(db_session) == [D(10), D(100)]

    boss = make_user(db_session, "boss", "finance_lead", None)
    item = db_session.scalars(select(ReviewItem)).one()
    approvals.approve(db_session, item.id, user=boss, expected_version=item.version,
                      matrix=MATRIX)
    db_session.commit()
    assert db_session.get_one(Document, item.document_id).status == DocumentStatus.APPROVED
    assert _invoiced(db_session) == [D(6), D(100)]
    assert _store(db_session, replacement, "a2.pdf").status == DocumentStatus.AUTO_APPROVED
    assert _invoiced(db_session) == [D(10), D(100)]


# --- a corrective invoice: set beside what the corrected invoice billed, nothing counted --------

def _corrective(invoice: Invoice, lines: list[InvoiceLine]) -> Invoice:
    return replace(_credit(invoice, lines, "R-1"), invoice_type=InvoiceType.CORRECTED_INVOICE)


def _compared(decision: Decision) -> str | None:
    return next((p.found for p in decision.reasons
                 if p.code == Reason.CORRECTED_INVOICE and p.field == "lines"), None)


def test_a_corrective_invoice_is_set_beside_what_its_invoice_billed() -> None:
    invoice = clean_invoice()
    corrected = [line("Steel bolts M8", "80", "0.50", "40.00"),
                 line("Washers M8", "200", "0.09", "18.00"), line("Hex nuts", "5", "1", "5")]
    decision = _after(invoice, _corrective(invoice, corrected))
    assert decision.status == DocumentStatus.NEEDS_REVIEW
    assert decision.reason_codes == [Reason.CORRECTED_INVOICE]
    assert decision.line_matches == []  # nothing counted as billed, approved or not
    assert decision.order_number == "PO-1001"
    assert _compared(decision) == (
        "line 1: 80 at 0.50 of order line 1 (Steel bolts M8); invoice F-2024-001 billed 100, "
        "order price 0.50; line 2: 200 at 0.09 of order line 2 (Washers M8); invoice F-2024-001 "
        "billed 200, order price 0.10; line 3: matches no line invoice F-2024-001 billed")


def test_a_corrective_invoice_for_an_invoice_not_accepted() -> None:
    invoice = clean_invoice()
    _, corrective = evaluate_batch(
        [Candidate("inv.pdf", _overpriced(invoice)),
         Candidate("r.pdf", _corrective(invoice, invoice.lines))], master(), None, TODAY)
    assert _compared(corrective) == ("nothing to compare: that invoice billed no order lines "
                                     "that count (not accepted)")


def _widgets_back(invoice: Invoice, number: str, quantity: str) -> Invoice:
    """A credit note returning `quantity` of the sample invoice's 10 widgets at their price."""
    q = D(quantity)
    return _credit(invoice, [InvoiceLine("Widgets", q, D("12.50"), q * D("12.50"), D(21))], number)


def _item(session: Session, number: str) -> ReviewItem:
    query = (select(ReviewItem).join(Document, Document.id == ReviewItem.document_id)
             .join(Invoice_, Invoice_.document_id == Document.id)
             .where(Invoice_.invoice_number == number))
    return session.scalars(query).one()


def _boss(session: Session) -> User:
    boss = session.scalars(select(User).where(User.name == "boss")).one_or_none()
    return boss or make_user(session, "boss", "finance_lead", None)


def _approve(session: Session, number: str) -> None:
    item = _item(session, number)
    approvals.approve(session, item.id, user=_boss(session), expected_version=item.version,
                      matrix=MATRIX)
    session.commit()


def _reject(session: Session, number: str) -> None:
    item = _item(session, number)
    approvals.reject(session, item.id, user=_boss(session), expected_version=item.version,
                     reason="sent twice", matrix=MATRIX)
    session.commit()


def _correct_date(session: Session, number: str, day: str) -> None:
    item = _item(session, number)
    clerk = session.scalars(select(User).where(User.name == "cleo")).one_or_none()
    clerk = clerk or make_user(session, "cleo", "clerk", "1000")
    correct_field(session, item.id, user=clerk, expected_version=item.version,
                  name="issue_date", text=day)
    session.commit()


def _stored_given_back(session: Session) -> dict[str, Decimal]:
    """What each credit note not rejected gives back, by its number, as the master data loads it."""
    frame = repo.load_master_data(session).given_back
    return {str(n): q for n, q in zip(frame["invoice_number"], frame["quantity"], strict=True)}


def test_a_second_credit_note_in_the_same_batch_gives_back_only_the_rest() -> None:
    invoice = clean_invoice()
    bolts = [line("Steel bolts M8", "100", "0.50", "50.00")]
    first = _credit(invoice, [line("Steel bolts M8", "60", "0.50", "30.00")], "AB-1")
    third = _credit(invoice, [*bolts, line("Washers M8", "200", "0.10", "20.00")], "AB-3")
    _, one, two, three = evaluate_batch(
        [Candidate("inv.pdf", invoice), Candidate("ab1.pdf", first),
         Candidate("ab2.pdf", _credit(invoice, bolts, "AB-2")), Candidate("ab3.pdf", third)],
        master(), None, TODAY)
    assert one.line_matches == [LineMatch(0, 10, "-60")]
    assert two.line_matches == [LineMatch(0, 10, "-40")]
    assert _given_back(two) == (
        "gives back line 1: 40 of order line 1 (Steel bolts M8), not the 100 credited: "
        "invoice F-2024-001 billed 100, credit note AB-1 already gives back 60")
    assert three.line_matches == [LineMatch(1, 11, "-200")]  # nothing of the bolts is left
    assert _given_back(three) == (
        "gives back line 1: 0 of order line 1 (Steel bolts M8), not the 100 credited: "
        "invoice F-2024-001 billed 100, credit notes AB-1 (60), AB-2 (40) already give back "
        "100; line 2: 200 of order line 2 (Washers M8)")


def test_a_credit_note_stored_earlier_limits_the_next() -> None:
    data = _accepted_earlier("200")
    data.given_back = pd.DataFrame(
        [(42, "AB-1", "B58378431", "Acme Supplies S.L.", "F 2024 001", 11, D(150))],
        columns=list(GIVEN_BACK_COLUMNS))  # its reference printed with other punctuation
    credit = _credit(clean_invoice(), [line("Washers M8", "200", "0.10", "20.00")], "AB-2")
    [decision] = evaluate_batch([Candidate("cn.pdf", credit)], data, None, TODAY)
    assert decision.line_matches == [LineMatch(0, 11, "-50")]
    assert _given_back(decision) == (
        "gives back line 1: 50 of order line 2 (Washers M8), not the 200 credited: "
        "invoice F-2024-001 billed 200, credit note AB-1 already gives back 150")


def test_credit_notes_in_later_batches_give_back_only_the_rest(
    db_session: Session, load_master: Callable[[Session], None],
) -> None:
    load_master(db_session)
    invoice = sample_invoice(total="166.18")
    assert _store(db_session, invoice, "a1.pdf").status == DocumentStatus.AUTO_APPROVED
    assert [m.quantity for m in _store(db_session, _widgets_back(invoice, "AB-1", "6"),
                                       "ab1.pdf").line_matches] == ["-6"]
    _approve(db_session, "AB-1")
    second = _store(db_session, _widgets_back(invoice, "AB-2", "10"), "ab2.pdf")
    assert [m.quantity for m in second.line_matches] == ["-4"]
    assert _given_back(second) == (
        "gives back line 1: 4 of order line 1 (Widgets), not the 10 credited: "
        "invoice A-1 billed 10, credit note AB-1 already gives back 6")
    third = _store(db_session, _widgets_back(invoice, "AB-3", "10"), "ab3.pdf")  # AB-2 pending
    assert third.line_matches == []
    assert _given_back(third) == (
        "gives back line 1: 0 of order line 1 (Widgets), not the 10 credited: "
        "invoice A-1 billed 10, credit notes AB-1 (6), AB-2 (4) already give back 10")
    assert _stored_given_back(db_session) == {"AB-1": D(6), "AB-2": D(4)}
    _approve(db_session, "AB-2")
    _approve(db_session, "AB-3")
    assert _invoiced(db_session) == [D(0), D(100)]


def test_a_rejected_credit_note_gives_nothing_back(
    db_session: Session, load_master: Callable[[Session], None],
) -> None:
    load_master(db_session)
    invoice = sample_invoice(total="166.18")
    _store(db_session, invoice, "a1.pdf")
    assert [m.quantity for m in _store(db_session, _widgets_back(invoice, "AB-1", "10"),
                                       "ab1.pdf").line_matches] == ["-10"]
    assert _store(db_session, _widgets_back(invoice, "AB-2", "10"),
                  "ab2.pdf").line_matches == []
    _reject(db_session, "AB-1")
    assert _stored_given_back(db_session) == {}
    later = _store(db_session, _widgets_back(invoice, "AB-3", "10"), "ab3.pdf")
    assert [m.quantity for m in later.line_matches] == ["-10"]
    assert _given_back(later) == "gives back line 1: 10 of order line 1 (Widgets)"


def test_a_corrected_credit_note_is_limited_by_the_others_only(
    db_session: Session, load_master: Callable[[Session], None],
) -> None:
    """Correcting a field runs the credit note again: its own earlier matches do not count
    against it, and a credit note rejected since then no longer limits it."""
    load_master(db_session)
    invoice = sample_invoice(total="166.18")
    _store(db_session, invoice, "a1.pdf")
    _store(db_session, _widgets_back(invoice, "AB-1", "6"), "ab1.pdf")
    _store(db_session, _widgets_back(invoice, "AB-2", "10"), "ab2.pdf")
    _correct_date(db_session, "AB-2", "2026-11-03")
    assert _stored_given_back(db_session) == {"AB-1": D(6), "AB-2": D(4)}  # not 0
    _reject(db_session, "AB-1")
    assert _stored_given_back(db_session) == {"AB-2": D(4)}  # stored: not run again by itself
    _correct_date(db_session, "AB-2", "2026-11-04")
    assert _stored_given_back(db_session) == {"AB-2": D(10)}


def test_billed_quantities_never_count_below_nothing(
    db_session: Session, load_master: Callable[[Session], None],
) -> None:
    """Two credit notes decided against the same master data (stored before credit notes
    limited each other, or read in one drop-folder pass) may each give back everything billed;
    once both are approved, the goods still count as billed once, not minus once."""
    load_master(db_session)
    invoice = sample_invoice(total="166.18")
    assert _store(db_session, invoice, "a1.pdf").status == DocumentStatus.AUTO_APPROVED
    snapshot = repo.load_master_data(db_session)
    for number in ("AB-1", "AB-2"):
        credit = _widgets_back(invoice, number, "10")
        decision = evaluate_batch([Candidate(f"{number}.pdf", credit)], snapshot)[0]
        assert decision.line_matches[0].quantity == "-10"
        _save(db_session, credit, f"{number}.pdf", decision)
    for number in ("AB-1", "AB-2"):
        _approve(db_session, number)
    assert _invoiced(db_session) == [D(0), D(100)]  # not -10
