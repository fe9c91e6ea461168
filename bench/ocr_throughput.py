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
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import cv2
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arflow.errors import ToolTimeout  # noqa: E402
from arflow.settings import load_settings  # noqa: E402
from extractors.ocr import synthetic as syn  # noqa: E402
from extractors.ocr.pages import ocr_document  # noqa: E402
from extractors.ocr.preprocess import PreprocessOptions  # noqa: E402

SROIE = Path("/work/shared/corpus/sroie2019")
OFF = PreprocessOptions(remove_border=False, orientation="off", deskew=False)
# name: (clean-up options, Tesseract thresholding_method: 0 Otsu, 2 Sauvola)
CONFIGS: dict[str, tuple[PreprocessOptions | None, int]] = {
    "none/otsu": (None, 0),
    "none/sauvola": (None, 2),
    "border/otsu": (replace(OFF, remove_border=True), 0),
    "border/sauvola": (replace(OFF, remove_border=True), 2),
    "deskew/sauvola": (replace(OFF, deskew=True), 2),
    "orient/sauvola": (replace(OFF, orientation="heuristic"), 2),
    "denoise/sauvola": (replace(OFF, denoise=True), 2),
    "binarize(cv)": (replace(OFF, binarize=True), 0),
    "default/otsu": (PreprocessOptions(), 0),
    "default/sauvola": (PreprocessOptions(), 2),
    "default+denoise": (PreprocessOptions(denoise=True), 2),
    "default+binarize": (PreprocessOptions(binarize=True), 0),
}
DEGRADATIONS = {
    "scanner": syn.SCANNER,
    "heavy": syn.Degradation(angle_deg=-3.0, border_px=60, shading=0.6, blur_sigma=1.2,
                             noise_sigma=30.0, jpeg_quality=25),
    "upside-down": syn.Degradation(angle_deg=181.5, border_px=30, shading=0.3, noise_sigma=12.0,
                                   jpeg_quality=40),
}


def make_pages(out: Path, count: int, spec: syn.Degradation, seed0: int = 100) -> list[tuple[Path, list[str]]]:
    pages = []
    for i in range(count):
        img, words = syn.scanned_page(out, seed0 + i, spec, items=6 + i % 6)
        path = out / f"page-{seed0 + i}.png"
        cv2.imwrite(str(path), img)
        pages.append((path, words))
    return pages


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bare(path: Path) -> None:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    subprocess.run(["tesseract", str(path), "stdout", "--dpi", "300", "-l", "spa+eng"],
                   capture_output=True, check=True, env=env)


def throughput(pages: int) -> None:
    settings = replace(load_settings(), workers=1)
    with tempfile.TemporaryDirectory() as tmp:
        files = [p for p, _ in make_pages(Path(tmp), pages, syn.SCANNER)]
        bare(files[0])
        ocr_document(files[0], settings)  # warm caches and imports
        t_bare, t_arflow = [], []
        for path in files:  # interleaved, so drift on a shared machine hits both alike
            t_bare.append(timed(lambda p=path: bare(p)))
            t_arflow.append(timed(lambda p=path: ocr_document(p, settings)))
        print(f"pages: {pages} (A4, 300 dpi, scanner-degraded PNG)")
        print("bare tesseract s/page: " + " ".join(f"{t:.2f}" for t in t_bare))
        print("arflow ocr     s/page: " + " ".join(f"{t:.2f}" for t in t_arflow))
        b, a = statistics.mean(t_bare), statistics.mean(t_arflow)
        print(f"mean bare {b:.3f} s, arflow {a:.3f} s, ratio {a / b:.2f} (target <= 1.3)")
        tiff = Path(tmp) / "doc.tiff"
        frames = [Image.open(p) for p in files]
        frames[0].save(tiff, save_all=True, append_images=frames[1:], compression="tiff_lzw",
                       dpi=(300, 300))
        one = timed(lambda: ocr_document(tiff, replace(settings, workers=1)))
        two = timed(lambda: ocr_document(tiff, replace(settings, workers=2)))
        print(f"{pages}-page TIFF: 1 worker {one:.2f} s ({pages / one:.2f} pages/s), "
              f"2 workers {two:.2f} s ({pages / two:.2f} pages/s), speed-up {one / two:.2f} "
              "(target >= 1.7)")


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
        sets = {name: make_pages(Path(tmp) / name, pages, spec, seed0=200)
                for name, spec in DEGRADATIONS.items() if (Path(tmp) / name).mkdir() is None}
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
    parser.add_argument("--sroie", type=int, default=12)
    parser.add_argument("--configs", default="", help="comma-separated subset of CONFIGS")
    args = parser.parse_args()
    if args.mode == "throughput":
        throughput(args.pages)
    else:
        steps(args.pages, args.sroie, [c for c in args.configs.split(",") if c] or list(CONFIGS))


if __name__ == "__main__":
    main()
