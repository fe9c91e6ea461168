"""Files holding several invoices: how many are found, invoice by invoice, and how many single
invoices are wrongly taken for one.

Usage:  .venv/bin/python bench/bundles.py [--bundles N] [--per-bundle K] [--scanned M] [--seed S]

1. Digital bundles: N merges of K generated invoices each (``generator.bundles.write_bundle``;
   some invoices run over two pages). A bundle counts as found when every invoice's first and
   last page come out right; the invoice numbers read are counted too.
2. Scanned bundles: M of the digital bundles degraded by ``generator.render_scanned`` and read
   through ``extract_file`` (Tesseract): found when the invoices' pages it reports are the
   right page ranges.
3. False splits: every generated single invoice, and every multi-page PDF with a text layer in
   the public corpus (``$ARFLOW_CORPUS`` or ``../shared/corpus``; said plainly when absent);
   and M of the generated multi-page invoices as scans, read through ``extract_file``.
4. Cost: the time to find the invoices of the multi-page documents (their pages' key fields
   read one by one), against reading their fields once, in the same run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import require_corpus
from extractors.api import extract_file
from extractors.bundles import segments
from extractors.digital import PdfWords, read_pdf
from extractors.fields import extract_fields
from generator import generate_documents, render_scanned
from generator.bundles import BundlePart, write_bundle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundles", type=int, default=40)
    parser.add_argument("--per-bundle", type=int, default=3)
    parser.add_argument("--scanned", type=int, default=6)
    parser.add_argument("--seed", type=int, default=31000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="arflow-bundles-"))
    docs = generate_documents(tmp / "single", args.bundles * args.per_bundle, args.seed)
    bundles = [(tmp / f"bundle-{i:03d}.pdf",
                write_bundle(docs[i * args.per_bundle:(i + 1) * args.per_bundle],
                             tmp / f"bundle-{i:03d}.pdf")) for i in range(args.bundles)]
    _digital(bundles)
    _scanned(bundles[: args.scanned], tmp)
    _false_splits(docs)
    _scanned_singles(docs, args.scanned, tmp)


def _digital(bundles: list[tuple[Path, list[BundlePart]]]) -> None:
    found = numbers = invoices = 0
    for path, parts in bundles:
        got = segments(read_pdf(path, 500).pages)
        found += [(s.first, s.last) for s in got] == [(p.first, p.last) for p in parts]
        numbers += sum(s.number == p.number for s, p in zip(got, parts, strict=False))
        invoices += len(parts)
    pages = sum(p.last + 1 for _, parts in bundles for p in parts[-1:])
    print(f"digital bundles: {found}/{len(bundles)} found invoice by invoice "
          f"({pages} pages); invoice numbers {numbers}/{invoices}")


def _scanned(bundles: list[tuple[Path, list[BundlePart]]], tmp: Path) -> None:
    if not bundles:
        return
    found, start = 0, time.perf_counter()
    for index, (path, parts) in enumerate(bundles):
        scan = render_scanned(path, tmp / f"{path.stem}.scan.pdf", seed=index)
        result = extract_file(scan)
        finding = next((p.found for p in result.errors if p.code == "MULTIPLE_INVOICES"), None)
        ok = result.invoice_pages == [(p.first, p.last) for p in parts]
        found += ok
        if not ok:
            print(f"  missed {scan.name}: {finding!r}")
    print(f"scanned bundles (Tesseract): {found}/{len(bundles)} found invoice by invoice; "
          f"{time.perf_counter() - start:.1f} s")


def _scanned_singles(docs: list[Path], count: int, tmp: Path) -> None:
    """Multi-page single invoices as scans: none may be taken for several."""
    multi = [p for p in docs if len(read_pdf(p, 500).pages) > 1][:count]
    split = 0
    for index, path in enumerate(multi):
        scan = render_scanned(path, tmp / f"{path.stem}.scan.pdf", seed=100 + index)
        result = extract_file(scan)
        wrong = [p.found for p in result.errors if p.code == "MULTIPLE_INVOICES"]
        split += bool(wrong)
        if wrong:
            print(f"  split {scan.name}: {wrong[0]!r}")
    print(f"scanned multi-page single invoices split: {split}/{len(multi)}")


def _false_splits(docs: list[Path]) -> None:
    readings = [read_pdf(p, 500) for p in docs]
    split = sum(len(segments(w.pages)) > 1 for w in readings)
    print(f"generated single invoices split: {split}/{len(docs)} "
          f"({sum(len(w.pages) > 1 for w in readings)} of them multi-page)")
    corpus = require_corpus("corpus multi-page PDFs")
    if corpus is None:
        return
    multi: list[tuple[Path, PdfWords]] = []
    for pdf in sorted(corpus.rglob("*.pdf")):
        try:
            words = read_pdf(pdf, 500)
        except Exception:  # unreadable corpus files are not this bench's subject
            continue
        if len(words.pages) > 1 and words.char_count > 20:
            multi.append((pdf, words))
    wrong = [pdf.name for pdf, w in multi if len(segments(w.pages)) > 1]
    print(f"corpus multi-page PDFs with a text layer split: {len(wrong)}/{len(multi)} {wrong}")
    _cost([w for _, w in multi] + [w for w in readings if len(w.pages) > 1])


def _cost(multi: list[PdfWords]) -> None:
    """Both timed warm (each run once before: parsers cache words and amounts they saw)."""
    once = per_page = 0.0
    for _ in range(2):
        start = time.perf_counter()
        for words in multi:
            extract_fields(words.pages)
        once, start = time.perf_counter() - start, time.perf_counter()
        for words in multi:
            segments(words.pages)
        per_page = time.perf_counter() - start
    print(f"cost on {len(multi)} multi-page documents: fields read once {once:.2f} s, finding "
          f"their invoices {per_page:.2f} s ({per_page / max(once, 1e-9):.2f}x)")


if __name__ == "__main__":
    main()
