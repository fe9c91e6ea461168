import pytest

from extractors.terms import find_payment_terms


@pytest.mark.parametrize(("lines", "expected"), [
    (["Thank you for your business", "Net 30"], "Net 30"),
    (["Pago a 60 días fecha factura"], "Pago a 60 días fecha factura"),
    (["Transferencia a 30 días"], "Transferencia a 30 días"),
    (["Payment is due on receipt."], "due on receipt"),
    (["Forma: al contado"], "al contado"),
    (["30 days net"], "30 days net"),
])
def test_unlabelled_payment_terms_are_found_as_printed(lines: list[str], expected: str) -> None:
    assert find_payment_terms(lines) == expected


@pytest.mark.parametrize("lines", [
    ["Qty 30", "Total 1.234,56 €"],
    ["Invoice date 30/01/2026"],
    [],
])
def test_no_terms_phrase_gives_none(lines: list[str]) -> None:
    assert find_payment_terms(lines) is None
