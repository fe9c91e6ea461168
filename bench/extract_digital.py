"""Accuracy and speed of the digital-PDF extractor.

Usage:  .venv/bin/python bench/extract_digital.py [--generated N] [--seed S] [--speed-rounds R]
                                                   [--engine pdfium|pdfplumber] [--credit-notes F]
                                                   [--withholding F] [--discounts F]
                                                   [--breakdown F]

1. Generated invoices (``generator.generate_documents``, seeds >= 10000): header-field accuracy
   over the 13 contract fields (a field absent in ground truth must come out None) and
   line-item precision/recall/F1 (a line matches when amount, quantity and unit price are equal
   and the description is equal after whitespace folding; also reported on amounts only).
   ``--credit-notes F`` makes about that share of them credit notes (``generator.credit_notes``)
   and also counts their type and referred invoice read right (0, the default: none, and the
   same documents as before). ``--withholding F`` gives about that share of the Spanish ones an
   IRPF withholding (``generator.withholding``) and also counts, on those documents, the
   withholding and the total (with tax, before the withholding) read right. ``--discounts F``
   gives about that share of them a document-level discount and/or shipping charge
   (``generator.discounts``) and also counts, on those documents, the allowances, charges
   and subtotal (the tax base) read right. ``--breakdown F`` prints about that share of the
   taxed ones' VAT breakdown with its bases (``generator.breakdown``) and counts the rows
   read (``bench/breakdown_rows.py``); the breakdown line is printed too whenever some
   document read one.
2. Public corpus: invoice2data (amount, date, invoice_number, currency) and parsee-invoices
   (invoice_total, invoice_date, currency) where the ground truth has them.
3. Speed on one core over the corpus' digital PDFs and over generated PDFs: pdfplumber bare
   ``extract_words``, pypdfium2 bare text, arflow ``read_pdf`` (words only) and arflow
   ``extract_file`` (words + fields), pages per second, in the same run.

``--engine`` picks the word engine of ``read_pdf`` / ``extract_file`` (``Settings.pdf_engine``,
set here through ``ARFLOW_PDF_ENGINE``) for the accuracy and the arflow speed figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from arflow.settings import Settings, load_settings  # noqa: E402
from bench.breakdown_rows import breakdown_line  # noqa: E402
from bench.corpus import corpus_dir  # noqa: E402
from extractors.api import extract_file  # noqa: E402
from extractors.digital import PDF_ENGINES, read_pdf  # noqa: E402
from models.domain import DocumentKind, Invoice, InvoiceLine, InvoiceType  # noqa: E402

CORPUS = corpus_dir()
HEADER = (
    "invoice_number", "issue_date", "due_date", "currency", "order_number", "subtotal",
    "tax_total", "total", "iban", "seller.name", "seller.tax_id", "buyer.name", "buyer.tax_id",
)
DOC_TYPE = ("invoice_type", "preceding_invoice")  # counted with --credit-notes


def norm_text(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.split()).lstrip("#").strip().casefold()
    return value


def same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        try:
            return Decimal(str(a)) == Decimal(str(b))
        except ArithmeticError:
            return False
    return bool(norm_text(a) == norm_text(b))


# ---------------------------------------------------------------- generated
def line_key(line: InvoiceLine, with_text: bool) -> tuple[Any, ...]:
    text = norm_text(line.description) if with_text else None
    return (line.amount, line.quantity, line.unit_price, text)


def line_counts(
    truth: list[InvoiceLine], got: list[InvoiceLine], with_text: bool
) -> tuple[int, int, int]:
    remaining = [line_key(x, with_text) for x in truth]
    hits = 0
    for line in got:
        key = line_key(line, with_text)
        if key in remaining:
            remaining.remove(key)
            hits += 1
    return hits, len(got), len(truth)


def doc_type_line(pairs: list[tuple[Invoice, Invoice]]) -> str:
    """Credit notes among the (truth, read) pairs, and how many types and referred invoices
    were read right (over all documents: an invoice must stay one)."""
    typed = sum(truth.invoice_type != InvoiceType.INVOICE for truth, _ in pairs)
    right = [f"{name} {sum(same(t.get(name), g.get(name)) for t, g in pairs)}/{len(pairs)}"
             for name in DOC_TYPE]
    return f"    credit notes {typed}/{len(pairs)}; read right: {', '.join(right)}"


def withholding_line(pairs: list[tuple[Invoice, Invoice]]) -> str:
    """Documents with a withholding among the (truth, read) pairs, how many of them had it
    and their total read right, and how many without one read one anyway."""
    held = [(t, g) for t, g in pairs if t.withholding is not None]
    amount = sum(same(t.withholding, g.withholding) for t, g in held)
    total = sum(same(t.total, g.total) for t, g in held)
    stray = sum(g.withholding is not None for t, g in pairs if t.withholding is None)
    return (f"    withholding on {len(held)}/{len(pairs)}: withholding {amount}/{len(held)},"
            f" total {total}/{len(held)}; read on a document without one: {stray}")


def adjustments_line(pairs: list[tuple[Invoice, Invoice]]) -> str:
    """Documents with a document-level discount or charge among the (truth, read) pairs, how
    many of them had their allowances, charges and subtotal (the tax base) read right, and
    how many without them read some anyway."""
    adjusted = [(t, g) for t, g in pairs if t.allowances is not None or t.charges is not None]
    right = [f"{name} {sum(same(t.get(name), g.get(name)) for t, g in adjusted)}/{len(adjusted)}"
             for name in ("allowances", "charges", "subtotal")]
    stray = sum(g.allowances is not None or g.charges is not None
                for t, g in pairs if t.allowances is None and t.charges is None)
    return (f"    discounts or charges on {len(adjusted)}/{len(pairs)}: {', '.join(right)};"
            f" read on a document without them: {stray}")


@dataclass(frozen=True)
class Mix:
    """The generator's opt-in document kinds a run asked for, as shares (0: none, and the
    same documents as before they existed)."""

    credit_notes: float = 0.0
    withholding: float = 0.0
    discounts: float = 0.0
    breakdown: float = 0.0

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Mix:
        return cls(args.credit_notes, args.withholding, args.discounts, args.breakdown)

    def generate(self, out: Path, count: int, seed: int) -> list[Path]:
        from generator.invoices import generate_documents

        return generate_documents(out, count, seed, credit_notes=self.credit_notes,
                                  withholding=self.withholding, discounts=self.discounts,
                                  breakdown=self.breakdown)

    def lines(self, pairs: list[tuple[Invoice, Invoice]]) -> list[str]:
        """The credit-note, withholding, discount and breakdown lines of a run that asked
        for them (the breakdown line also when some document read a breakdown)."""
        read = any(got.tax_breakdown for _, got in pairs)
        wanted = ((self.credit_notes > 0, doc_type_line),
                  (self.withholding > 0, withholding_line),
                  (self.discounts > 0, adjustments_line),
                  (self.breakdown > 0 or read, breakdown_line))
        return [line(pairs) for asked, line in wanted if asked]


def add_mix_arguments(parser: argparse.ArgumentParser, documents: str) -> None:
    """``--credit-notes``, ``--withholding``, ``--discounts`` and ``--breakdown``: the
    generator's opt-in document kinds (read back with `Mix.from_args`)."""
    parser.add_argument("--credit-notes", type=float, default=0.0, metavar="SHARE",
                        help=f"share of the generated {documents} that are credit notes "
                             "(default 0)")
    parser.add_argument("--withholding", type=float, default=0.0, metavar="SHARE",
                        help=f"share of the Spanish generated {documents} with an IRPF "
                             "withholding (default 0)")
    parser.add_argument("--discounts", type=float, default=0.0, metavar="SHARE",
                        help=f"share of the generated {documents} with a document-level "
                             "discount or shipping charge (default 0)")
    parser.add_argument("--breakdown", type=float, default=0.0, metavar="SHARE",
                        help=f"share of the taxed generated {documents} printing their VAT "
                             "breakdown with its bases (default 0)")


def bench_generated(count: int, seed: int, show: int, settings: Settings,
                    mix: Mix | None = None) -> None:
    mix = mix or Mix()
    try:
        from generator.invoices import load_ground_truth
    except ImportError as exc:
        print(f"[generated] generator not available ({exc}); skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        made = mix.generate(Path(tmp), count, seed)
        paths = [p for p in made if p.suffix == ".pdf"]
        right = {f: 0 for f in HEADER}
        lines = {True: [0, 0, 0], False: [0, 0, 0]}
        misses: list[str] = []
        pairs: list[tuple[Invoice, Invoice]] = []
        for path in paths:
            truth: Invoice = load_ground_truth(path)
            got = extract_file(path, settings).invoice
            pairs.append((truth, got))
            for name in HEADER:
                ok = same(truth.get(name), got.get(name))
                right[name] += ok
                if not ok and len(misses) < show:
                    misses.append(
                        f"  {path.name} {name}: truth={truth.get(name)!r} got={got.get(name)!r}"
                    )
            for flag in (True, False):
                counts = line_counts(truth.lines, got.lines, flag)
                lines[flag] = [a + b for a, b in zip(lines[flag], counts, strict=True)]
    n = len(paths)
    total = sum(right.values())
    print(f"[generated] {settings.pdf_engine}, {n} PDFs, seeds from {seed}:"
          f" header fields {total}/{n * len(HEADER)}"
          f" = {100 * total / max(n * len(HEADER), 1):.2f}%")
    for name in HEADER:
        print(f"    {name:15s} {right[name]}/{n} = {100 * right[name] / max(n, 1):.1f}%")
    for flag, label in ((True, "with description"), (False, "amount+qty+price")):
        hits, got_n, truth_n = lines[flag]
        p, r = hits / max(got_n, 1), hits / max(truth_n, 1)
        f1 = 2 * p * r / max(p + r, 1e-9)
        print(f"    line items ({label}): P={p:.4f} R={r:.4f} F1={100 * f1:.2f}% ({truth_n} lines)")
    for line in mix.lines(pairs):
        print(line)
    for miss in misses:
        print(miss)


# ---------------------------------------------------------------- corpus
def _as_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def corpus_cases() -> list[tuple[Path, dict[str, Any]]]:
    cases: list[tuple[Path, dict[str, Any]]] = []
    for gt in sorted((CORPUS / "invoice2data").glob("*.json")):
        pdf = gt.with_suffix(".pdf")
        if not pdf.exists():
            continue
        data = json.loads(gt.read_text())[0]
        truth = {
            "total": Decimal(str(data["amount"])) if "amount" in data else None,
            "issue_date": _as_date(data.get("date")),
            "invoice_number": data.get("invoice_number"),
            "currency": data.get("currency"),
        }
        cases.append((pdf, truth))
    for gt in sorted((CORPUS / "parsee-invoices").glob("*.gt.json")):
        data = json.loads(gt.read_text())
        pdf = gt.parent / data["file"]
        currency = data.get("currency")
        truth = {
            "total": Decimal(data["invoice_total"]) if data.get("invoice_total") else None,
            "issue_date": _as_date(data.get("invoice_date")),
            "currency": currency if currency and currency != "Other" else None,
        }
        cases.append((pdf, truth))
    return cases


def bench_corpus(verbose: bool, settings: Settings) -> list[Path]:
    if not CORPUS.is_dir():
        print(f"[corpus] {CORPUS} is absent: corpus accuracy and speed skipped")
        return []
    cases = corpus_cases()
    right = checked = 0
    for pdf, truth in cases:
        got = extract_file(pdf, settings).invoice
        for name, value in truth.items():
            if value is None:
                continue
            checked += 1
            ok = same(value, got.get(name))
            right += ok
            if verbose and not ok:
                where = f"{pdf.parent.name}/{pdf.name}"
                print(f"  miss {where} {name}: truth={value!r} got={got.get(name)!r}")
    print(f"[corpus] {settings.pdf_engine}, invoice2data + parsee-invoices:"
          f" {right}/{checked} fields"
          f" = {100 * right / max(checked, 1):.1f}% ({len(cases)} PDFs)")
    return [pdf for pdf, _ in cases]


# ---------------------------------------------------------------- speed
def _pages_per_second(name: str, pdfs: list[Path], fn: Callable[[Path], int], rounds: int) -> None:
    fn(pdfs[0])  # warm-up (imports, font caches)
    pages, start = 0, time.perf_counter()
    for _ in range(rounds):
        for pdf in pdfs:
            pages += fn(pdf)
    elapsed = time.perf_counter() - start
    print(f"    {name:42s} {pages / elapsed:8.1f} pages/s  ({pages} pages, {elapsed:.2f} s)")


def _plumber(pdf: Path) -> int:
    import pdfplumber

    with pdfplumber.open(pdf) as doc:
        for page in doc.pages:
            page.extract_words()
            page.close()
        return len(doc.pages)


def _pdfium_text(pdf: Path) -> int:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        for page in doc:
            textpage = page.get_textpage()
            textpage.get_text_range()
            textpage.close()
            page.close()
        return len(doc)
    finally:
        doc.close()


def bench_speed(name: str, pdfs: list[Path], rounds: int, settings: Settings) -> None:
    engine = settings.pdf_engine
    results = {p: extract_file(p, settings) for p in pdfs}
    digital = [p for p, r in results.items() if r.pages > 0 and r.kind == DocumentKind.DIGITAL]
    others = sorted(f"{p.name} ({r.kind})" for p, r in results.items() if p not in digital)
    pdfs = digital
    if not pdfs:
        print(f"[speed] no {name} PDFs: skipped")
        return
    print(f"[speed] one core, {len(pdfs)} digital {name} PDFs x {rounds} rounds"
          + (f"; left out, not read as digital: {', '.join(others)}" if others else "") + ":")
    _pages_per_second("pdfplumber extract_words (bare)", pdfs, _plumber, rounds)
    _pages_per_second("pypdfium2 text (bare)", pdfs, _pdfium_text, rounds)
    _pages_per_second(f"arflow read_pdf, {engine} (words)", pdfs,
                      lambda p: read_pdf(p, engine=engine).page_count, rounds)
    _pages_per_second(f"arflow extract_file, {engine} (+ fields)", pdfs,
                      lambda p: extract_file(p, settings).pages, rounds)


def bench_speed_generated(count: int, seed: int, rounds: int, settings: Settings) -> None:
    try:
        from generator.invoices import generate_documents
    except ImportError:
        return
    with tempfile.TemporaryDirectory() as tmp:
        pdfs = [p for p in generate_documents(Path(tmp), count, seed) if p.suffix == ".pdf"]
        bench_speed("generated", pdfs, rounds, settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--generated", type=int, default=200, help="generated PDFs (0: skip)")
    parser.add_argument("--seed", type=int, default=10000)
    parser.add_argument("--speed-rounds", type=int, default=5)
    parser.add_argument("--show-misses", type=int, default=0)
    parser.add_argument("--speed-generated", type=int, default=40,
                        help="generated PDFs in the speed run (0: skip)")
    parser.add_argument("--engine", choices=PDF_ENGINES, default="pdfium",
                        help="word engine for read_pdf / extract_file (Settings.pdf_engine)")
    add_mix_arguments(parser, "PDFs")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    settings = load_settings({"ARFLOW_PDF_ENGINE": args.engine})
    if args.seed < 10000:
        print("note: seeds below 10000 are development seeds; held-out figures need >= 10000")
    if args.generated:
        bench_generated(args.generated, args.seed, args.show_misses, settings,
                        Mix.from_args(args))
    pdfs = bench_corpus(args.verbose, settings)
    if pdfs:
        bench_speed("corpus", pdfs, args.speed_rounds, settings)
    if args.speed_generated:
        bench_speed_generated(args.speed_generated, args.seed + 1, args.speed_rounds, settings)


if __name__ == "__main__":
    main()
