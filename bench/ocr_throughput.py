"""OCR benchmark: arflow's OCR path against bare Tesseract, worker scaling, and the effect of
each clean-up step on word recall.

    .venv/bin/python bench/ocr_throughput.py throughput --pages 6
    .venv/bin/python bench/ocr_throughput.py steps --pages 4 --sroie 12

``throughput``: N synthetic scanned pages (extractors.ocr.synthetic, 300 dpi, degraded like a
cheap scanner) as PNG files. Per page, in the same run: bare ``tesseract IMG stdout --dpi 300
-l spa+eng`` (OMP_THREAD_LIMIT=1) vs ``ocr_document`` on the same file with one worker
(decode + clean-up + OCR + TSV parsing). Then one N-page TIFF through ``ocr_document`` with 1
and 2 workers. Targets: arflow <= 1.3x bare per page; 2 workers >= 1.7x one.

``steps``: word recall (multiset of expected words found exactly) of each clean-up
configuration on synthetic pages with three degradations and on real SROIE receipt scans
(shared/corpus/sroie2019, recall against their line transcripts).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TypeVar

import cv2
import pypdfium2 as pdfium
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arflow.errors import ToolTimeout
from arflow.settings import Settings, load_settings
from extractors.api import extract_file
from extractors.ocr import synthetic as syn
from extractors.ocr.pages import ocr_document
from extractors.ocr.preprocess import PreprocessOptions

T = TypeVar("T")
SROIE = Path("/work/shared/corpus/sroie2019")
OFF = PreprocessOptions(remove_border=False, orientation="off", deskew=False,
                        sauvola_if_uneven=False)
DEFAULT = PreprocessOptions()
# name: (clean-up options, Tesseract thresholding_method: 0 Otsu, 2 Sauvola); "auto" switches
# to Sauvola on unevenly lit pages (the default).
CONFIGS: dict[str, tuple[PreprocessOptions | None, int]] = {
    "none/otsu": (None, 0),
    "none/sauvola": (None, 2),
    "border/otsu": (replace(OFF, remove_border=True), 0),
    "border/sauvola": (replace(OFF, remove_border=True), 2),
    "deskew/sauvola": (replace(OFF, deskew=True), 2),
    "orient/sauvola": (replace(OFF, orientation="heuristic"), 2),
    "denoise/sauvola": (replace(OFF, denoise=True), 2),
    "binarize(cv)": (replace(OFF, binarize=True), 0),
    "default/otsu": (replace(DEFAULT, sauvola_if_uneven=False), 0),
    "default/sauvola": (DEFAULT, 2),
    "default/auto": (DEFAULT, 0),
    "default+border": (replace(DEFAULT, remove_border=True), 0),
    "default+denoise": (replace(DEFAULT, denoise=True), 0),
    "default+binarize": (replace(DEFAULT, binarize=True, sauvola_if_uneven=False), 0),
}
DEGRADATIONS = {
    "scanner": syn.SCANNER,
    "heavy": syn.Degradation(angle_deg=-3.0, border_px=60, shading=0.6, blur_sigma=1.2,
                             noise_sigma=30.0, jpeg_quality=25),
    "upside-down": syn.Degradation(angle_deg=181.5, border_px=30, shading=0.3, noise_sigma=12.0,
                                   jpeg_quality=40),
}


def make_pages(out: Path, count: int, spec: syn.Degradation,
               seed0: int = 100) -> list[tuple[Path, list[str]]]:
    pages = []
    for i in range(count):
        img, words = syn.scanned_page(out, seed0 + i, spec, items=6 + i % 6)
        path = out / f"page-{seed0 + i}.png"
        cv2.imwrite(str(path), img)
        pages.append((path, words))
    return pages


def generator_pages(out: Path, count: int) -> list[tuple[Path, list[str]]]:
    """First pages of the generator's invoices, scanned by its ``render_scanned`` (PNG)."""
    from generator.invoices import generate_documents
    from generator.scanned import render_scanned

    pages = []
    for i, pdf in enumerate(generate_documents(out / "pdf", count, seed=11)):
        doc = pdfium.PdfDocument(pdf)
        try:
            textpage = doc[0].get_textpage()
            words = textpage.get_text_range().split()
            textpage.close()
        finally:
            doc.close()
        png = render_scanned(pdf, out / f"scan-{i}.png", seed=i, dpi=300, noise=10.0)
        pages.append((png, words))
    return pages


def cpu_seconds() -> float:
    """CPU time of this process and its waited-for children (robust to other load)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn: Callable[[], T]) -> tuple[float, float, T]:
    """(wall seconds, CPU seconds, result) of ``fn()``."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = fn()
    return time.perf_counter() - wall, cpu_seconds() - cpu, result


def bare(path: Path) -> list[str]:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    proc = subprocess.run(["tesseract", str(path), "stdout", "--dpi", "300", "-l", "spa+eng"],
                          capture_output=True, check=True, env=env)
    return proc.stdout.decode("utf-8", "replace").split()


def per_page(files: list[tuple[Path, list[str]]], settings: Settings) -> None:
    rows: dict[str, list[tuple[float, float, float]]] = {"bare": [], "arflow": [], "full": []}
    for path, words in files:  # interleaved, so drift on a shared machine hits all alike
        wall, cpu, found = timed(partial(bare, path))
        rows["bare"].append((wall, cpu, syn.word_recall(words, found)))
        wall, cpu, pages = timed(partial(ocr_document, path, settings))
        texts = [w.text for page in pages for w in page]
        rows["arflow"].append((wall, cpu, syn.word_recall(words, texts)))
        wall, cpu, _ = timed(partial(extract_file, path, settings))  # + fields + QR search
        rows["full"].append((wall, cpu, float("nan")))
    for name, vals in rows.items():
        print(f"{name:>6} wall s/page: " + " ".join(f"{v[0]:.2f}" for v in vals)
              + f" | mean wall {statistics.mean(v[0] for v in vals):.3f}"
              f" cpu {statistics.mean(v[1] for v in vals):.3f} recall "
              f"{statistics.mean(v[2] for v in vals):.3f}")
    bar = rows["bare"]
    for name, label in (("arflow", "ocr_document"), ("full", "extract_file, all steps")):
        ratio = [statistics.mean(a[i] for a in rows[name]) / statistics.mean(b[i] for b in bar)
                 for i in (0, 1)]
        print(f"arflow {label} / bare per page: wall {ratio[0]:.2f}, cpu {ratio[1]:.2f}"
              " (target <= 1.3)")


def throughput(pages: int, source: str) -> None:
    settings = replace(load_settings(), workers=1)
    with tempfile.TemporaryDirectory() as tmp:
        files = (generator_pages(Path(tmp), pages) if source == "generator"
                 else make_pages(Path(tmp), pages, syn.SCANNER))
        print(f"pages: {pages} from {source} (300 dpi PNG), load average {os.getloadavg()[0]:.1f}")
        bare(files[0][0])
        ocr_document(files[0][0], settings)  # warm caches and imports
        per_page(files, settings)
        tiff = Path(tmp) / "doc.tiff"
        frames = [Image.open(p) for p, _ in files]
        frames[0].save(tiff, save_all=True, append_images=frames[1:], compression="tiff_lzw",
                       dpi=(300, 300))
        for workers in (1, 2, 1, 2):
            wall, cpu, _ = timed(partial(ocr_document, tiff, replace(settings, workers=workers)))
            print(f"{pages}-page TIFF, {workers} worker(s): {wall:.2f} s, "
                  f"{pages / wall:.2f} pages/s, CPU {cpu:.2f} s = {cpu / wall:.2f} cores busy, "
                  f"load average {os.getloadavg()[0]:.1f}")
        print("target: 2 workers >= 1.7x the pages/s of 1 (needs 2 idle cores)")


def sroie_pages(count: int) -> list[tuple[Path, list[str]]]:
    pages = []
    for img in sorted((SROIE / "img").glob("*.jpg"))[:count]:
        words: list[str] = []
        for line in (SROIE / "box" / f"{img.stem}.txt").read_text("utf-8", "replace").splitlines():
            parts = line.split(",", 8)
            if len(parts) == 9:
                words += parts[8].split()
        pages.append((img, words))
    return pages


def recall(path: Path, words: list[str], config: tuple[PreprocessOptions | None, int]
           ) -> tuple[float, float]:
    settings = replace(load_settings(), workers=1, ocr_lang="spa+eng", ocr_timeout_s=30.0)
    start = time.perf_counter()
    try:
        pages = ocr_document(path, settings, clean=config[0], thresholding=config[1])
    except ToolTimeout:
        print(f"  timeout (30 s) on {path.name}")
        return 0.0, time.perf_counter() - start
    found = [w.text for page in pages for w in page]
    return syn.word_recall(words, found), time.perf_counter() - start


def steps(pages: int, sroie: int, names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sets: dict[str, list[tuple[Path, list[str]]]] = {}
        for name, spec in DEGRADATIONS.items():
            (Path(tmp) / name).mkdir()
            sets[name] = make_pages(Path(tmp) / name, pages, spec, seed0=200)
        if sroie and SROIE.exists():
            sets["sroie"] = sroie_pages(sroie)
        print("config            " + "  ".join(f"{n:>11}" for n in sets) + "   s/page")
        with ThreadPoolExecutor(2) as pool:
            for name in names:
                config = CONFIGS[name]
                cells, times = [], []
                for pset in sets.values():
                    res = list(pool.map(lambda pw, c=config: recall(pw[0], pw[1], c), pset))
                    cells.append(statistics.mean(r for r, _ in res))
                    times += [t for _, t in res]
                print(f"{name:<17} " + "  ".join(f"{c:>11.3f}" for c in cells)
                      + f"   {statistics.mean(times):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["throughput", "steps"])
    parser.add_argument("--pages", type=int, default=6)
    parser.add_argument("--source", choices=["generator", "synthetic"], default="generator")
    parser.add_argument("--sroie", type=int, default=12)
    parser.add_argument("--configs", default="", help="comma-separated subset of CONFIGS")
    args = parser.parse_args()
    if args.mode == "throughput":
        throughput(args.pages, args.source)
    else:
        steps(args.pages, args.sroie, [c for c in args.configs.split(",") if c] or list(CONFIGS))


if __name__ == "__main__":
    main()
