"""Income-tax withholding (Spanish IRPF retención) on random invoices, opt-in.

``generate_documents(..., withholding=share)`` (``python -m generator documents
--withholding SHARE``; the benches' ``--withholding``) gives about that share of the
eligible documents — a Spanish seller invoicing a Spanish buyer with VAT, as a freelancer or
professional does — a withholding of 15 %, 7 % or 19 % of the subtotal. The totals block then
prints the subtotal, the VAT, sometimes "Total factura" (subtotal + VAT), the withholding row
("Retención IRPF 15%  -150,00 €", the minus sign in some documents only) and the amount
paid ("Total a pagar" = subtotal + VAT - withholding). The ground truth keeps EN 16931's
reading: ``total`` is subtotal + VAT, ``withholding`` the amount withheld.

Every draw here comes from a stream of its own, seeded from the document's seed, so the
default share 0 leaves every document and its ground truth exactly as before.
"""

from __future__ import annotations

import random
from decimal import Decimal

from generator.fmt import money
from generator.model import Document, WithholdingStyle, opted_in

_RATES = (Decimal(15), Decimal(15), Decimal(15), Decimal(7), Decimal(19))
_LABELS = {
    "es": ("Retención IRPF", "Retención", "IRPF", "Ret. IRPF", "Retención a cuenta IRPF"),
    "en": ("Withholding tax (IRPF)", "Withholding tax", "IRPF withholding"),
}
_DUE = {"es": ("Total a pagar", "Líquido a percibir", "Total"),
        "en": ("Amount due", "Total due", "Total to pay")}
_GROSS = {"es": ("Total factura", "Importe total"), "en": ("Invoice total", "Total")}


def eligible(doc: Document) -> bool:
    """A Spanish seller and buyer, and VAT charged: where an IRPF retención is printed."""
    tax = doc.invoice.tax_total
    return doc.seller_country == "ES" == doc.buyer_country and tax is not None and tax > 0


def maybe_withholding(doc: Document, share: float) -> bool:
    """Give an eligible ``doc`` a withholding with probability ``share``; True if it got one."""
    rng = opted_in("withholding", doc, share) if eligible(doc) else None
    if rng is not None:
        make_withholding(doc, rng)
    return rng is not None


def make_withholding(doc: Document, rng: random.Random) -> None:
    """Withhold a rate of ``doc``'s subtotal and say how its totals block prints it."""
    inv = doc.invoice
    assert inv.subtotal is not None
    rate = rng.choice(_RATES)
    inv.withholding = money(inv.subtotal * rate / 100)
    gross = rng.choice(_GROSS[doc.language]) if rng.random() < 0.5 else None
    doc.withholding = WithholdingStyle(
        label=f"{rng.choice(_LABELS[doc.language])} {rate}%",
        due_label=rng.choice(_DUE[doc.language]), gross_label=gross,
        negative=rng.random() < 0.6)
