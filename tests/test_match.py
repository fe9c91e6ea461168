"""Order matching and the batch engine: every matching reason code, batch state, tolerance edges."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from arflow.reasons import Reason
from arflow.settings import Tolerances
from matching.context import build_context
from matching.engine import evaluate_batch
from matching.match import match
from matching.prepare import prepare
from matching.tolerance import ToleranceBook
from matching.types import ORDER_LINE_COLUMNS, SEEN_INVOICE_COLUMNS, Candidate, MasterData
from models.domain import DocumentStatus, Invoice, InvoiceLine, Party, Problem

TODAY = date(2024, 6, 1)
ACME, GLOBEX = "B58378431", "DE136695976"
ACME_IBAN = "ES9121000418450200051332"
Row = tuple[object, ...]


def order_rows(number: str, tax: str, day: date, lines: list[tuple[str, str, str, str]],
               *, first_id: int, currency: str = "EUR") -> list[Row]:
    """Order lines from (description, quantity, unit price, received)."""
    return [(first_id + i, number, tax, "Acme Supplies" if tax == ACME else "Globex", day,
             currency, i + 1, desc, Decimal(q), Decimal(p), Decimal(21), Decimal(r), Decimal(0))
            for i, (desc, q, p, r) in enumerate(lines)]


BASE_ORDERS = (
    order_rows("PO-1001", ACME, date(2024, 3, 1),
               [("Steel bolts M8", "100", "0.50", "100"), ("Washers M8", "200", "0.10", "200")],
               first_id=10)
    + order_rows("PO-1002", ACME, date(2024, 3, 2), [("Paint white 5L", "10", "20.00", "5")],
               first_id=20)
    + order_rows("PO-2001", GLOBEX, date(2024, 3, 5), [("Cable ties", "10", "0.50", "10")],
               first_id=30)
)


def master(extra: list[Row] | None = None, invoiced: dict[int, str] | None = None,
           seen: list[Row] | None = None) -> MasterData:
    parties = pd.DataFrame({"party_id": [1, 2], "name": ["Acme Supplies S.L.", "Globex Corp"],
                            "tax_id": [ACME, GLOBEX], "iban": [ACME_IBAN, None],
                            "email": [None, None]})
    billed = invoiced or {}
    rows = [(*row[:-1], Decimal(billed[row[0]]) if row[0] in billed else row[-1])
            for row in BASE_ORDERS + (extra or [])]
    lines = pd.DataFrame(rows, columns=list(ORDER_LINE_COLUMNS))
    return MasterData(parties, lines, pd.DataFrame(seen or [], columns=list(SEEN_INVOICE_COLUMNS)))


def invoice(number: str = "F-2024-001", order: str | None = "PO 1001",
            lines: list[tuple[str, str, str]] | None = None, seller: str = ACME,
            issue: date = date(2024, 3, 10)) -> Invoice:
    """An arithmetically clean invoice from (description, quantity, unit price) lines."""
    spec = [("Steel bolts M8", "100", "0.50"), ("Washers M8", "200", "0.10")] if lines is None \
        else lines
    inv_lines = [InvoiceLine(d, Decimal(q), Decimal(p), Decimal(q) * Decimal(p), Decimal(21))
                 for d, q, p in spec]
    sub = sum((ln.amount for ln in inv_lines if ln.amount is not None), Decimal(0))
    tax = (sub * Decimal("0.21")).quantize(Decimal("0.01"))
    name = "Acme Supplies SL" if seller == ACME else "Globex Corp"
    return Invoice(invoice_number=number, issue_date=issue, due_date=issue + timedelta(days=30),
                   currency="EUR", seller=Party(name, seller), buyer=Party("Us", "A28015865"),
                   order_number=order, subtotal=sub, tax_total=tax, total=sub + tax,
                   iban=ACME_IBAN if seller == ACME else None, lines=inv_lines)


def run(*invoices: Invoice, data: MasterData | None = None,
        tol: Tolerances | ToleranceBook | None = None) -> list[set[str]]:
    cands = [Candidate(f"doc-{i}", inv) for i, inv in enumerate(invoices)]
    return [set(d.reason_codes) for d in evaluate_batch(cands, data or master(), tol, TODAY)]


def match_codes(inv: Invoice, data: MasterData | None = None,
                tol: Tolerances | ToleranceBook | None = None) -> set[str]:
    return {p.code for p in match(inv, data or master(), tol, today=TODAY).problems}


def test_clean_invoice_is_auto_approved_with_line_matches() -> None:
    [decision] = evaluate_batch([Candidate("a", invoice())], master(), Tolerances(), TODAY)
    assert decision.status == DocumentStatus.AUTO_APPROVED
    assert (decision.order_number, decision.party_id, decision.reasons) == ("PO-1001", 1, [])
    assert [(m.invoice_line, m.order_line_id, m.quantity) for m in decision.line_matches] == [
        (0, 10, "100"), (1, 11, "200")]


@pytest.mark.parametrize("printed", ["PO-1001", "po 001001", "Pedido nº 1001", "1001"])
def test_order_number_in_any_layout(printed: str) -> None:
    result = match(invoice(order=printed), master(), today=TODAY)
    assert result.order is not None and result.order.order_number == "PO-1001"


def test_missing_order_number_found_by_candidate_search() -> None:
    [decision] = evaluate_batch([Candidate("a", invoice(order=None))], master(), None, TODAY)
    assert (decision.status, decision.order_number) == (DocumentStatus.AUTO_APPROVED, "PO-1001")


def test_candidate_search_on_the_unbilled_rest() -> None:
    inv = invoice(order=None, lines=[("Washers M8", "200", "0.10")])  # bolts were billed before
    result = match(inv, master(invoiced={10: "100"}), today=TODAY)
    assert result.order is not None and result.order.order_number == "PO-1001"
    assert result.problems == []
    # Without the earlier billing no order value fits; the item search still finds the order
    # (a partial invoice), and an item no order lists finds none.
    assert match(inv, master(), today=TODAY).order.order_number == "PO-1001"  # type: ignore[union-attr]
    stray = invoice(order=None, lines=[("Garden hose 20 m", "200", "0.10")])
    assert match_codes(stray) == {Reason.ORDER_NOT_FOUND}


def test_candidate_search_on_the_received_rest() -> None:
    inv = invoice(order=None, lines=[("Paint white 5L", "5", "20.00")])  # 5 of 10 received
    result = match(inv, master(), today=TODAY)
    assert result.order is not None and result.order.order_number == "PO-1002"
    assert result.problems == []


def test_header_only_invoice_of_the_received_rest() -> None:
    inv = invoice(order=None, lines=[])
    inv.subtotal, inv.tax_total, inv.total = Decimal("100.00"), Decimal("21.00"), Decimal("121.00")
    [decision] = evaluate_batch([Candidate("a", inv)], master(), None, TODAY)  # 5 of 10 received
    assert (decision.status, decision.order_number) == (DocumentStatus.AUTO_APPROVED, "PO-1002")
    assert [(m.order_line_id, m.quantity) for m in decision.line_matches] == [(20, "5")]


def test_partial_invoice_found_by_its_items() -> None:
    inv = invoice(order=None, lines=[("Steel bolts M8", "40", "0.50")])  # 40 of 100, no number
    [decision] = evaluate_batch([Candidate("a", inv)], master(), None, TODAY)
    assert (decision.status, decision.order_number) == (DocumentStatus.AUTO_APPROVED, "PO-1001")


def test_items_on_two_open_orders_are_ambiguous() -> None:
    twin = order_rows("PO-1004", ACME, date(2024, 3, 4), [("Steel bolts M8", "100", "0.50", "100")],
                      first_id=50)
    inv = invoice(order=None, lines=[("Steel bolts M8", "40", "0.50")])
    assert match_codes(inv, master(twin)) == {Reason.AMBIGUOUS_ORDER}
    taken = master(twin, invoiced={50: "100"})  # PO-1004 fully billed: only PO-1001 is open
    assert match(inv, taken, today=TODAY).order.order_number == "PO-1001"  # type: ignore[union-attr]


def test_ambiguous_candidates() -> None:
    twin = order_rows("PO-1003", ACME, date(2024, 3, 3),
                      [("Steel bolts M8", "100", "0.50", "100"), ("Washers M8", "200", "0.10",
                                                                  "200")], first_id=40)
    assert Reason.AMBIGUOUS_ORDER in match_codes(invoice(order=None), master(twin))
    old = [(*row[:4], date(2022, 1, 1), *row[5:]) for row in twin]  # outside the date window
    assert match_codes(invoice(order=None), master(old)) == set()


def test_exact_amount_wins_over_a_candidate_within_tolerance() -> None:
    near = order_rows("PO-1004", ACME, date(2024, 3, 3),
                      [("Steel bolts M8", "100", "0.501", "100"),
                       ("Washers M8", "200", "0.10", "200")], first_id=40)  # 70.10: +0.14 %
    result = match(invoice(order=None), master(near), today=TODAY)
    assert result.order is not None and result.order.order_number == "PO-1001"


def test_order_not_found() -> None:
    codes = match_codes(invoice(order="PO-9999", lines=[("Steel bolts M8", "7", "0.50")]))
    assert codes == {Reason.ORDER_NOT_FOUND}


def test_order_number_of_another_counterparty_is_not_taken() -> None:
    inv = invoice(order="PO-2001", lines=[("Steel bolts M8", "7", "0.50")])
    result = match(inv, master(), today=TODAY)
    assert result.order is None
    assert [p.code for p in result.problems] == [Reason.ORDER_NOT_FOUND]


@pytest.mark.parametrize(("price", "flagged"), [
    ("0.505", False), ("0.495", False), ("0.5051", True), ("0.4949", True),
])
def test_unit_price_tolerance_edges(price: str, flagged: bool) -> None:
    inv = invoice(lines=[("Steel bolts M8", "100", price), ("Washers M8", "200", "0.10")])
    assert (Reason.PRICE_VARIANCE in match_codes(inv)) is flagged


@pytest.mark.parametrize(("subtotal", "flagged"), [
    ("70.35", False), ("69.65", False), ("70.36", True), ("69.64", True),
])
def test_total_tolerance_edges_percentage(subtotal: str, flagged: bool) -> None:
    inv = invoice(lines=[])  # header-only invoice: compared with the order value
    inv.subtotal = Decimal(subtotal)
    assert (Reason.TOTAL_VARIANCE in match_codes(inv)) is flagged


@pytest.mark.parametrize(("subtotal", "flagged"), [("5.05", False), ("5.06", True)])
def test_total_tolerance_edges_absolute(subtotal: str, flagged: bool) -> None:
    inv = invoice(order="PO-2001", lines=[], seller=GLOBEX)
    inv.subtotal = Decimal(subtotal)  # 0.5 % of 5.00 is 0.025: the 0.05 allowance applies
    assert (Reason.TOTAL_VARIANCE in match_codes(inv)) is flagged


def test_partial_invoice_is_not_a_total_variance() -> None:
    [decision] = evaluate_batch(
        [Candidate("a", invoice(lines=[("Steel bolts M8", "50", "0.50")]))], master(), None, TODAY)
    assert decision.status == DocumentStatus.AUTO_APPROVED


def test_invoice_without_lines_bills_the_whole_order() -> None:
    paint = invoice(order="PO-1002", lines=[])
    paint.subtotal = Decimal("200.00")  # 10 ordered, only 5 received
    result = match(paint, master(), today=TODAY)
    assert [(p.code, p.field) for p in result.problems] == [
        (Reason.OVER_BILLING, "order line 1: quantity")]
    first, second = invoice("F-1", lines=[]), invoice("F-2", lines=[], issue=date(2024, 3, 20))
    for inv in (first, second):
        inv.subtotal, inv.tax_total, inv.total = Decimal(70), Decimal("14.70"), Decimal("84.70")
    decisions = evaluate_batch([Candidate("a", first), Candidate("b", second)], master(), None,
                               TODAY)
    assert [m.quantity for m in decisions[0].line_matches] == ["100", "200"]
    assert decisions[1].reason_codes == [Reason.QUANTITY_VARIANCE]


def test_extra_line_not_on_the_order() -> None:
    inv = invoice(lines=[("Steel bolts M8", "100", "0.50"), ("Washers M8", "200", "0.10"),
                         ("Express delivery", "1", "15.00")])
    assert match_codes(inv) == {Reason.QUANTITY_VARIANCE, Reason.TOTAL_VARIANCE}


@pytest.mark.parametrize(("qty", "expected"), [
    ("100", set()), ("101", {Reason.QUANTITY_VARIANCE}),
])
def test_quantity_beyond_ordered(qty: str, expected: set[str]) -> None:
    inv = invoice(lines=[("Steel bolts M8", qty, "0.50"), ("Washers M8", "200", "0.10")])
    assert match_codes(inv) - {Reason.TOTAL_VARIANCE} == expected


@pytest.mark.parametrize(("qty", "expected"), [
    ("5", set()), ("6", {Reason.OVER_BILLING}), ("11", {Reason.QUANTITY_VARIANCE}),
])
def test_three_way_against_goods_received(qty: str, expected: set[str]) -> None:
    inv = invoice(order="PO-1002", lines=[("Paint white 5L", qty, "20.00")])
    assert match_codes(inv) == expected


def test_cumulative_billing_over_two_invoices_in_a_batch() -> None:
    first = invoice("F-1", lines=[("Steel bolts M8", "60", "0.50")])
    second = invoice("F-2", lines=[("Steel bolts M8", "60", "0.50")], issue=date(2024, 3, 20))
    assert run(first, second) == [set(), {Reason.QUANTITY_VARIANCE}]
    assert run(first) == [set()]


def test_cumulative_billing_against_earlier_accepted_invoices() -> None:
    inv = invoice(lines=[("Steel bolts M8", "60", "0.50")])
    assert run(inv, data=master(invoiced={10: "40"})) == [set()]
    assert run(inv, data=master(invoiced={10: "41"})) == [{Reason.QUANTITY_VARIANCE}]


def test_only_auto_approved_invoices_count_as_invoiced() -> None:
    first = invoice("F-1", lines=[("Steel bolts M8", "60", "0.50")])
    second = invoice("F-2", lines=[("Steel bolts M8", "60", "0.50")], issue=date(2024, 3, 20))
    third = invoice("F-3", lines=[("Steel bolts M8", "60", "0.50")], issue=date(2024, 3, 21))
    low = Problem(Reason.LOW_CONFIDENCE, "total read with confidence 0.4", field="total")
    cands = [Candidate("a", first, [low]), Candidate("b", second), Candidate("c", third)]
    decisions = evaluate_batch(cands, master(), None, TODAY)
    assert [d.status for d in decisions] == [DocumentStatus.NEEDS_REVIEW,
                                             DocumentStatus.AUTO_APPROVED,
                                             DocumentStatus.NEEDS_REVIEW]
    assert decisions[0].reasons == [low]
    assert decisions[2].reason_codes == [Reason.QUANTITY_VARIANCE]


def test_duplicate_within_the_batch_in_another_layout() -> None:
    copy = invoice("f 2024 / 0001", issue=date(2024, 3, 10))
    codes = run(invoice(), copy)
    assert codes[0] == set()
    assert Reason.DUPLICATE_INVOICE in codes[1]


def test_duplicate_across_batches() -> None:
    seen: list[Row] = [
        ("old-7", "ESB58378431", "Acme", "F2024001", Decimal("84.70"), date(2024, 3, 10))]
    assert Reason.DUPLICATE_INVOICE in run(invoice(), data=master(seen=seen))[0]


def test_suspected_duplicate_within_the_batch() -> None:
    codes = run(invoice("F-1", lines=[("Steel bolts M8", "10", "0.50")]),
                invoice("F-2", lines=[("Steel bolts M8", "10", "0.50")]))
    assert codes == [set(), {Reason.SUSPECTED_DUPLICATE}]


def test_extraction_problems_carry_over_without_repeats() -> None:
    inv = invoice()
    inv.currency = None
    missing = Problem(Reason.MISSING_FIELD, "no currency", field="currency")
    [decision] = evaluate_batch([Candidate("a", inv, [missing])], master(), None, TODAY)
    assert decision.status == DocumentStatus.NEEDS_REVIEW
    assert decision.reasons == [missing]


def test_currency_mismatch_routes_to_review() -> None:
    inv = invoice()
    inv.currency = "USD"
    assert run(inv) == [{Reason.CURRENCY_MISMATCH}]


def test_lines_are_assigned_best_first_not_first_come() -> None:
    extra = order_rows("PO-3001", ACME, date(2024, 3, 4),
                       [("Bolt M8", "10", "1.00", "10"), ("Bolt M8 zinc", "10", "1.20", "10")],
                       first_id=50)
    inv = invoice(order="PO-3001", lines=[("Bolt M8 zinc plated", "10", "1.20"),
                                          ("Bolt M8", "10", "1.00")])
    result = match(inv, master(extra), today=TODAY)
    assert [(b.invoice_line, b.order_line and b.order_line.order_line_id)
            for b in result.billed] == [(0, 51), (1, 50)]
    assert result.problems == []


def test_per_party_tolerance_override() -> None:
    inv = invoice(lines=[("Steel bolts M8", "100", "0.515"), ("Washers M8", "200", "0.10")])
    assert Reason.PRICE_VARIANCE in match_codes(inv)
    loose = Tolerances(unit_price_pct=Decimal(5), total_pct=Decimal(5))
    assert match_codes(inv, tol=ToleranceBook(overrides={1: loose})) == set()
    assert match_codes(inv, tol=ToleranceBook(overrides={"ESB58378431": loose})) == set()
    assert Reason.PRICE_VARIANCE in match_codes(inv, tol=ToleranceBook(overrides={2: loose}))


def test_empty_batch_and_empty_master() -> None:
    assert evaluate_batch([], MasterData.empty()) == []
    [decision] = evaluate_batch([Candidate("a", invoice())], MasterData.empty(), None, TODAY)
    assert decision.status == DocumentStatus.NEEDS_REVIEW
    assert decision.reason_codes == [Reason.ORDER_NOT_FOUND, Reason.UNKNOWN_PARTY]


def _random_master(rng: random.Random) -> tuple[MasterData, list[Invoice]]:
    rows: list[Row] = []
    invoices = []
    for k in range(60):
        tax = ACME if k % 2 else GLOBEX
        day = date(2024, 1, 1) + timedelta(days=rng.randrange(200))
        lines = [(f"Item {rng.randrange(9)}", str(rng.randrange(1, 5)),
                  f"{rng.randrange(100, 400)}.00", "100") for _ in range(2)]
        rows += order_rows(f"PO-{5000 + k}", tax, day, lines, first_id=1000 + 10 * k)
        spec = [(d, q, p) for d, q, p, _ in lines]
        invoices.append(invoice(f"R-{k}", None, spec, tax, day + timedelta(rng.randrange(-10, 30))))
    return master(rows), invoices


def test_set_based_candidates_equal_a_brute_force_scan() -> None:
    data, invoices = _random_master(random.Random(3))
    ctx = build_context(data, None, TODAY)
    preps = prepare(invoices, ctx)
    orders = [ctx.orders.order(code) for code in range(len(ctx.orders.numbers))]

    def near(total: Decimal, net: Decimal) -> bool:
        return abs(total - net) <= max(total * Decimal("0.005"), Decimal("0.05"))

    found = 0
    for inv, prep in zip(invoices, preps, strict=True):
        assert inv.subtotal is not None and inv.issue_date is not None
        brute = {o.code for o in orders if o.order_date is not None
                 and o.party_key == prep.party_key and near(o.total, inv.subtotal)
                 and -7 <= (inv.issue_date - o.order_date).days <= 365}
        confirmed = {c for c in prep.amount_hits if near(orders[c].total, inv.subtotal)}
        assert confirmed == brute
        found += len(brute)
    assert found >= len(invoices) // 2


def test_printed_order_number_that_no_order_has_is_not_replaced_by_a_guess() -> None:
    # the lines and amount fit PO-1001 exactly, but the invoice cites an order nobody placed
    result = match(invoice(order="PO-9999"), master(), None, today=TODAY)
    assert result.order is None
    assert [p.code for p in result.problems] == [Reason.ORDER_NOT_FOUND]
    assert "PO-9999" in (result.problems[0].found or "")
    assert "PO-1001" in (result.problems[0].found or "")  # the candidate, as evidence
    assert run(invoice(order="PO-9999")) == [{Reason.ORDER_NOT_FOUND}]
