"""The VAT breakdown read from print on the corpus' PDFs.

Usage:  .venv/bin/python bench/printed_breakdown.py [--show]

Every PDF of the public corpus (``$ARFLOW_CORPUS`` or ``../shared/corpus``; SROIE's receipts
aside) with a text layer is read from its print alone, as a PDF without an e-invoice inside
is (``extractors.api.digital_result``: words and fields, the embedded XML ignored). Where the
PDF carries an e-invoice (a ``<pdf>.embedded.xml`` sidecar, the attachment byte for byte),
the XML's VAT breakdown is the ground truth of what the page prints: the rows read from print
are right when they are the XML's rows (rate, and tax; and base when print gave one; amounts
compared without their sign, as a credit note's XML states them positive), wrong when they
differ, missed when print gave none. An XML whose total or number the page does not show
(``check_against_text``) describes another invoice (a sample that embeds someone else's
XML), and an XML that states no
breakdown (Factur-X MINIMUM) is no ground truth: rows read from those pages are listed, as
are those of PDFs without an e-invoice, for a reader to check against the page.
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.corpus import require_corpus  # noqa: E402
from extractors.api import digital_result  # noqa: E402
from extractors.digital import read_pdf  # noqa: E402
from extractors.einvoice import check_against_text, parse_einvoice  # noqa: E402
from models.domain import Invoice, TaxSubtotal  # noqa: E402

Key = tuple[Decimal | None, Decimal | None, Decimal | None]


def _keys(rows: list[TaxSubtotal], *, bases: bool) -> list[Key]:
    """Rows as (rate, base, tax) magnitudes: a credit note's XML states positive amounts
    where its page prints them negative (EN 16931 type 381)."""
    def size(value: Decimal | None) -> Decimal | None:
        return None if value is None else abs(value)

    return sorted(((r.rate, size(r.base) if bases else None, size(r.amount)) for r in rows),
                  key=lambda k: tuple(v or Decimal(0) for v in k))


def agrees(printed: list[TaxSubtotal], truth: list[TaxSubtotal]) -> bool:
    """The rows read from print are the e-invoice's (bases compared when print gave them)."""
    with_bases = any(r.base is not None for r in printed)
    return _keys(printed, bases=with_bases) == _keys(truth, bases=with_bases)


def _text(rows: list[TaxSubtotal]) -> str:
    return "; ".join(f"{r.rate}% base {r.base} tax {r.amount}" for r in rows) or "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--show", action="store_true", help="print every PDF's rows")
    args = parser.parse_args()
    corpus = require_corpus("printed VAT breakdown")
    if corpus is None:
        return
    pdfs = sorted(p for p in corpus.rglob("*.pdf") if "sroie" not in p.parts[-3:-1]
                  and "sroie2019" not in p.parts)
    counts: dict[str, int] = {}
    for pdf in pdfs:
        words = read_pdf(pdf)
        if words.char_count < 20:
            counts["no text layer"] = counts.get("no text layer", 0) + 1
            continue
        printed = digital_result(pdf, words).invoice
        sidecar = pdf.with_name(pdf.name + ".embedded.xml")
        xml = parse_einvoice(sidecar.read_bytes()) if sidecar.exists() else None
        text = " ".join(w.text for page in words.pages for w in page)
        verdict = _verdict(printed, xml, text)
        counts[verdict] = counts.get(verdict, 0) + 1
        if args.show or verdict not in ("right", "nothing read, no truth", "none stated"):
            rows = _text(printed.tax_breakdown)
            print(f"  {verdict:24s} {pdf.relative_to(corpus)}: print {rows}"
                  + (f" | XML {_text(xml.tax_breakdown)}" if xml is not None else ""))
    print(f"[printed breakdown] {len(pdfs)} corpus PDFs: "
          + ", ".join(f"{name} {n}" for name, n in sorted(counts.items())))


def _verdict(printed: Invoice, xml: Invoice | None, text: str) -> str:
    rows = printed.tax_breakdown
    if xml is None:
        return "read, no truth" if rows else "nothing read, no truth"
    if any(p.field in ("total", "invoice_number") for p in check_against_text(xml, text)):
        return "XML of another invoice" if rows else "nothing read, XML of another invoice"
    if not xml.tax_breakdown:
        return "read, XML states none" if rows else "none stated"
    if not rows:
        return "missed"
    return "right" if agrees(rows, xml.tax_breakdown) else "wrong"


if __name__ == "__main__":
    main()
