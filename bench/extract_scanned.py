"""Accuracy of the OCR path: generated scans and the SROIE receipts.

Usage:  .venv/bin/python bench/extract_scanned.py [--generated N] [--seed S] [--sroie N] [--jobs J]
                                                   [--photos] [--credit-notes F]
                                                   [--withholding F] [--discounts F]
                                                   [--breakdown F]

1. Generated invoices (``generator.generate_documents``, seeds >= 10000 were never used in
   development) degraded by ``generator.render_scanned``: 200-300 dpi, up to ±2.5° skew, noise,
   blur and JPEG artefacts. Header-field accuracy over the 13 contract fields (a field absent in
   the ground truth must come out None) and line-item F1, scored like bench/extract_digital.py
   (strict: amount, quantity, unit price and folded description equal), and a second F1 that
   accepts a description at least 90 % similar (rapidfuzz ratio): OCR slips in descriptions.
   ``--photos`` saves the same scans as TIFFs that state no resolution, as a phone photo
   arrives: Tesseract then assumes 300 dpi, and the second engine reads them too
   (``ARFLOW_OCR_SECOND_ENGINE``). ``--credit-notes F``: about that share of them are credit
   notes, and their type and referred invoice are counted too (as in bench/extract_digital.py).
   ``--withholding F``: about that share of the Spanish ones print an IRPF withholding, and
   the withholding and total of those are counted too (as in bench/extract_digital.py).
   ``--discounts F``: about that share of them print a document-level discount and/or
   shipping charge, and the allowances, charges and subtotal of those are counted too.
   ``--breakdown F``: about that share of the taxed ones print their VAT breakdown with its
   bases, and the rows read are counted (``bench/breakdown_rows.py``).
2. SROIE 2019 receipts from the corpus (``$ARFLOW_CORPUS`` or ``../shared/corpus``): company
   (exact after case and whitespace normalisation), date and total (a ground-truth total
   written with its currency, "RM7.95", is read as 7.95); also for each half of the sorted
   keys (even and odd positions): a general rule moves both halves the same way, a rule
   fitted to a few receipts moves one.
Documents run in J processes (default 2), each OCR process single-threaded.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from rapidfuzz.fuzz import ratio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from arflow.settings import Settings, load_settings  # noqa: E402
from bench.corpus import require_corpus  # noqa: E402
from bench.extract_digital import (  # noqa: E402
    HEADER,
    Mix,
    add_mix_arguments,
    line_counts,
    line_key,
    norm_text,
    same,
)
from extractors.api import extract_file  # noqa: E402
from extractors.dates import parse_date  # noqa: E402
from extractors.ocr.pages import RAPIDOCR  # noqa: E402
from models.domain import ExtractionResult, Invoice, InvoiceLine  # noqa: E402


def _extract(path: Path, settings: Settings) -> ExtractionResult:
    return extract_file(path, settings)


def extract_many(paths: list[Path], settings: Settings, jobs: int) -> list[ExtractionResult]:
    one = replace(settings, workers=1)
    # Spawned, not forked: the generator's rendering leaves OpenCV's thread pool running in
    # this process, and a forked child that touches it (cv2.setNumThreads) hangs for good.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=spawn) as pool:
        return list(pool.map(_extract, paths, [one] * len(paths)))


def make_scans(out: Path, count: int, seed: int, photos: bool = False,
               mix: Mix | None = None) -> list[tuple[Path, Invoice]]:
    from generator import load_ground_truth, render_scanned

    mix = mix or Mix()
    rng = random.Random(seed)
    scans = []
    pdfs = mix.generate(out, count, seed)
    for pdf in (p for p in pdfs if p.suffix == ".pdf"):
        dpi = rng.choice((200, 250, 300))
        suffix = ".scan.tif" if photos else ".scan.pdf"
        scan = render_scanned(pdf, pdf.with_suffix(suffix), seed=rng.randrange(10**6),
                              dpi=dpi, jpeg_quality=rng.randrange(55, 85))
        scans.append((_unscaled(scan) if photos else scan, load_ground_truth(pdf)))
    return scans


def _unscaled(scan: Path) -> Path:
    """The scan's pages as a TIFF that states no resolution, as a photo arrives."""
    from PIL import Image, ImageSequence

    with Image.open(scan) as tiff:
        pages = [frame.copy() for frame in ImageSequence.Iterator(tiff)]
    for page in pages:
        page.info.pop("dpi", None)
    out = scan.with_suffix(".photo.tif")
    pages[0].save(out, save_all=True, append_images=pages[1:])
    return out


def bench_generated(count: int, seed: int, settings: Settings, jobs: int, *,
                    photos: bool = False, mix: Mix | None = None) -> None:
    mix = mix or Mix()
    with tempfile.TemporaryDirectory() as tmp:
        scans = make_scans(Path(tmp), count, seed, photos, mix)
        started = time.perf_counter()
        results = extract_many([s for s, _ in scans], settings, jobs)
        elapsed = time.perf_counter() - started
    right = dict.fromkeys(HEADER, 0)
    hits = got_n = truth_n = fuzzy_hits = 0
    pages = 0
    for (_, truth), result in zip(scans, results, strict=True):
        pages += result.pages
        for name in HEADER:
            right[name] += same(truth.get(name), result.invoice.get(name))
        h, g, t = line_counts(truth.lines, result.invoice.lines, True)
        hits, got_n, truth_n = hits + h, got_n + g, truth_n + t
        fuzzy_hits += fuzzy_line_hits(truth.lines, result.invoice.lines)
    n = len(scans)
    total = sum(right.values())
    form = "TIFFs stating no resolution, as photos" if photos else "image-only PDFs"
    print(f"[scanned] {n} generated scans ({form}, 200-300 dpi, ±2.5°, noise, blur, "
          f"JPEG), seeds from {seed}, {pages} pages in {elapsed:.1f} s with {jobs} processes; "
          f"{_read_again(results)}")
    share = 100 * total / max(n * len(HEADER), 1)
    print(f"    header fields {total}/{n * len(HEADER)} = {share:.2f}%")
    for name in HEADER:
        print(f"    {name:15s} {right[name]}/{n} = {100 * right[name] / max(n, 1):.1f}%")
    for label, n_hits in (("strict: description equal", hits),
                          (f"description similarity >= {FUZZY_DESCRIPTION}", fuzzy_hits)):
        p, r = n_hits / max(got_n, 1), n_hits / max(truth_n, 1)
        print(f"    line items ({label}): P={p:.4f} R={r:.4f}"
              f" F1={100 * 2 * p * r / max(p + r, 1e-9):.2f}% ({truth_n} lines)")
    pairs = [(truth, result.invoice) for (_, truth), result in zip(scans, results, strict=True)]
    for line in mix.lines(pairs):
        print(line)


FUZZY_DESCRIPTION = 90  # rapidfuzz ``ratio`` (0-100) of the folded descriptions


def fuzzy_line_hits(truth: list[InvoiceLine], got: list[InvoiceLine]) -> int:
    """Lines whose amount, quantity and unit price are equal and whose descriptions (case and
    whitespace folded) are at least ``FUZZY_DESCRIPTION`` similar: an OCR slip inside a
    description ("H07V-K 16 mm²" read "HO7V-K 16 mm?") does not lose the whole line."""
    remaining = list(truth)
    hits = 0
    for line in got:
        for index, want in enumerate(remaining):
            if line_key(line, False) == line_key(want, False) and ratio(
                    norm_text(line.description or ""), norm_text(want.description or "")
            ) >= FUZZY_DESCRIPTION:
                del remaining[index]
                hits += 1
                break
    return hits


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def _amount(text: str | None) -> Decimal | None:
    """The ground truth's total; a few carry their currency ("RM7.95", "$8.20")."""
    digits = str(text or "").replace(",", "").removeprefix("RM").lstrip("$ ")
    try:
        return Decimal(digits) if digits else None
    except InvalidOperation:
        return None


SROIE_FIELDS: dict[str, Callable[[dict[str, Any], Invoice], bool]] = {
    "date": lambda gt, inv: parse_date(gt["date"]) == inv.issue_date,
    "total": lambda gt, inv: _amount(gt["total"]) == inv.total,
    "company": lambda gt, inv: _norm(gt["company"]) == _norm(inv.seller.name),
}


def _as_pdf(image: Path, out: Path) -> Path:
    """The receipt as an image-only PDF, as a phone's scanner app saves one: the page then
    states a resolution, so only a weak Tesseract reading calls the second engine."""
    from PIL import Image

    target = out / f"{image.stem}.pdf"
    with Image.open(image) as picture:
        picture.convert("RGB").save(target, resolution=300.0)
    return target


def bench_sroie(limit: int, settings: Settings, jobs: int, as_pdf: bool = False) -> None:
    corpus = require_corpus("[sroie]")
    if corpus is None:
        return
    folder = corpus / "sroie2019"
    keys = sorted(p.stem for p in (folder / "entities").glob("*.json"))[:limit]
    truths = [json.loads((folder / "entities" / f"{k}.json").read_text()) for k in keys]
    images = [folder / "img" / f"{k}.jpg" for k in keys]
    with tempfile.TemporaryDirectory() as tmp:
        paths = [_as_pdf(p, Path(tmp)) for p in images] if as_pdf else images
        started = time.perf_counter()
        results = extract_many(paths, settings, jobs)
        elapsed = time.perf_counter() - started
    form = "image-only PDFs at 300 dpi" if as_pdf else "JPEG"
    print(f"[sroie] {len(keys)} receipts ({form}) in {elapsed:.1f} s with {jobs} processes"
          f" (halves: sorted keys at even / odd positions); {_read_again(results)}")
    for name, check in SROIE_FIELDS.items():
        hits = [check(gt, r.invoice) for gt, r in zip(truths, results, strict=True)]
        print(f"    {name:8s} {_share(hits)}   even {_share(hits[0::2])}"
              f"   odd {_share(hits[1::2])}")


def _read_again(results: list[ExtractionResult]) -> str:
    both = sum(RAPIDOCR in r.engines for r in results)
    again = sum(r.readings - (RAPIDOCR in r.engines) > 1 for r in results)
    return (f"{again} read again by Tesseract for a missing or implausible field"
            f" (ARFLOW_OCR_REREAD), {both} read by both engines (ARFLOW_OCR_SECOND_ENGINE)")


def _share(hits: list[bool]) -> str:
    right = sum(hits)
    return f"{right}/{len(hits)} = {100 * right / max(len(hits), 1):.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generated", type=int, default=40)
    parser.add_argument("--seed", type=int, default=50000)
    parser.add_argument("--sroie", type=int, default=101)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--photos", action="store_true",
                        help="save the generated scans as TIFFs that state no resolution")
    parser.add_argument("--sroie-pdf", action="store_true",
                        help="read the SROIE receipts as image-only PDFs (300 dpi)")
    add_mix_arguments(parser, "invoices")
    args = parser.parse_args()
    settings = load_settings()
    if args.generated:
        bench_generated(args.generated, args.seed, settings, args.jobs, photos=args.photos,
                        mix=Mix.from_args(args))
    if args.sroie:
        bench_sroie(args.sroie, settings, args.jobs, args.sroie_pdf)


if __name__ == "__main__":
    main()
