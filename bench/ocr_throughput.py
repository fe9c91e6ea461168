"""OCR benchmark: arflow's OCR path against bare Tesseract, worker scaling, and the effect of
each clean-up step on word recall.

    .venv/bin/python bench/ocr_throughput.py throughput --pages 6
    .venv/bin/python bench/ocr_throughput.py processes --pages 12
    .venv/bin/python bench/ocr_throughput.py steps --pages 4 --sroie 12

``throughput``: N scanned invoice pages (the generator's invoices through its scanner, or
``--source synthetic`` pages, 300 dpi PNG). Per page, interleaved in the same run: bare
``tesseract IMG stdout --dpi 300 -l spa+eng`` (OMP_THREAD_LIMIT=1); ``ocr_document`` (decode +
clean-up + OCR + TSV parsing); ``ocr_with_qr`` (the same + the QR search on each page image);
and ``extract_file`` (everything the pipeline does to a scan: probe, OCR, QR search, fields,
QR cross-check). Wall and CPU (this process + its waited-for tesseract children) ratios to
bare. Then one N-page TIFF through ``ocr_document`` with 1 and 2 OCR threads in one process.
Target: extract_file <= 1.3x bare per page.

``processes``: the issue's scaling figure. N single-page scans through ``extract_file`` in a
pool of 1 and of 2 worker processes (forkserver, ``workers=1`` each: one single-threaded
tesseract per process, as ``arflow.pipeline.extract_all`` runs them), each pool warmed up
first (imports, first tesseract), 1 / 2 / 1 / 2 interleaved. Also CPU seconds per document
(measured inside the workers), so a busy machine shows up as wall time, not CPU. Target:
2 processes >= 1.7x the documents/s of 1 (needs two idle cores: compare with the load average).

``steps``: word recall (multiset of expected words found exactly) of each clean-up
configuration on synthetic pages with three degradations and on real SROIE receipt scans
(shared/corpus/sroie2019, recall against their line transcripts).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from math import nan
from pathlib import Path
from typing import TypeVar

import cv2
import pypdfium2 as pdfium
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arflow.errors import ToolTimeout
from arflow.settings import Settings, load_settings
from extractors.api import extract_file
from extractors.ocr import pages as ocr_pages
from extractors.ocr import synthetic as syn
from extractors.ocr.pages import ocr_document, ocr_with_qr
from extractors.ocr.preprocess import PreprocessOptions
from models.domain import WordBox

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
    steps: dict[str, Callable[[Path], list[str]]] = {
        "bare": bare,
        "ocr_document": lambda path: _texts(ocr_document(path, settings)),
        "ocr_with_qr": lambda path: _texts(ocr_with_qr(path, settings).pages),
        "extract_file": lambda path: _full(path, settings),
    }
    rows: dict[str, list[tuple[float, float, float]]] = {name: [] for name in steps}
    for path, words in files:  # interleaved, so drift on a shared machine hits all alike
        for name, step in steps.items():
            wall, cpu, found = timed(partial(step, path))
            rows[name].append((wall, cpu, syn.word_recall(words, found) if found else nan))
    for name, vals in rows.items():
        print(f"{name:>12} wall s/page: " + " ".join(f"{v[0]:.2f}" for v in vals)
              + f" | mean wall {statistics.mean(v[0] for v in vals):.3f}"
              f" cpu {statistics.mean(v[1] for v in vals):.3f} recall "
              f"{statistics.mean(v[2] for v in vals):.3f}")
    base = [statistics.mean(b[i] for b in rows["bare"]) for i in (0, 1)]
    for name in ("ocr_document", "ocr_with_qr", "extract_file"):
        ratio = [statistics.mean(a[i] for a in rows[name]) / base[i] for i in (0, 1)]
        print(f"arflow {name} / bare per page: wall {ratio[0]:.2f}, cpu {ratio[1]:.2f}"
              + (" (target <= 1.3)" if name == "extract_file" else ""))


def _texts(pages: list[list[WordBox]]) -> list[str]:
    return [w.text for page in pages for w in page]


def _full(path: Path, settings: Settings) -> list[str]:
    result = extract_file(path, settings)
    if result.status == "failed":
        raise RuntimeError(f"{path.name}: {result.errors}")
    return []


def scanned_files(out: Path, pages: int, source: str) -> list[tuple[Path, list[str]]]:
    return (generator_pages(out, pages) if source == "generator"
            else make_pages(out, pages, syn.SCANNER))


def warm_paths(tmp: Path, files: list[tuple[Path, list[str]]]) -> list[Path]:
    """A scan, then the generator's digital PDFs of the scanned invoices: one-time costs
    (imports, the lazy spaCy import of ``extractors.terms`` on the first payment-terms line:
    ~0.5-0.9 s once per process) stay out of the per-page figures."""
    return [files[0][0], *sorted((tmp / "pdf").glob("*.pdf"))]


def throughput(pages: int, source: str) -> None:
    settings = replace(load_settings(), workers=1)
    with tempfile.TemporaryDirectory() as tmp:
        files = scanned_files(Path(tmp), pages, source)
        print(f"pages: {pages} from {source} (300 dpi PNG), {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.1f}")
        bare(files[0][0])
        for path in warm_paths(Path(tmp), files):
            extract_file(path, settings)
        per_page(files, settings)
        tiff = Path(tmp) / "doc.tiff"
        frames = [Image.open(p) for p, _ in files]
        frames[0].save(tiff, save_all=True, append_images=frames[1:], compression="tiff_lzw",
                       dpi=(300, 300))
        for workers in (1, 2, 1, 2):
            wall, cpu, _ = timed(partial(ocr_document, tiff, replace(settings, workers=workers)))
            print(f"{pages}-page TIFF, {workers} OCR thread(s) in one process: {wall:.2f} s, "
                  f"{pages / wall:.2f} pages/s, CPU {cpu:.2f} s = {cpu / wall:.2f} cores busy, "
                  f"load average {os.getloadavg()[0]:.1f}")
        print("(threads in one process; the issue's figure is `processes`)")


def _warm(paths: list[Path], cv_threads: int | None) -> None:
    """Pool initializer: imports and first documents, so the timed part is steady state."""
    if cv_threads is not None:
        ocr_pages.OPENCV_THREADS = cv_threads
    for path in paths:
        extract_file(path, replace(load_settings(), workers=1))


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _extract_timed(path: Path) -> tuple[str, float]:
    """(status, CPU seconds of this worker process and its tesseract children)."""
    start = cpu_seconds()
    status = str(extract_file(path, replace(load_settings(), workers=1)).status)
    return status, cpu_seconds() - start


def run_pool(paths: list[Path], processes: int, warm: list[Path],
             cv_threads: int | None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of ``paths`` through a warmed pool of ``processes``."""
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(processes, mp_context=context, initializer=_warm,
                             initargs=(warm, cv_threads)) as pool:
        while len(set(pool.map(_pid_after, [0.3] * processes * 2))) < processes:
            pass  # until every worker has run its initializer and taken a task
        start = time.perf_counter()
        done = list(pool.map(_extract_timed, paths))
        wall = time.perf_counter() - start
    if any(status == "failed" for status, _ in done):
        raise RuntimeError("a document failed")
    return wall, sum(cpu for _, cpu in done)


def processes(pages: int, source: str, cv_threads: int | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = scanned_files(Path(tmp), pages + 1, source)
        warm, paths = warm_paths(Path(tmp), files), [p for p, _ in files[1:]]
        print(f"{len(paths)} single-page scans from {source} (300 dpi PNG) through extract_file,"
              f" {os.cpu_count()} CPUs, OpenCV threads per process: "
              f"{cv_threads if cv_threads is not None else ocr_pages.OPENCV_THREADS}")
        rates: dict[int, list[float]] = {1: [], 2: []}
        for count in (1, 2, 1, 2):
            load = os.getloadavg()[0]
            wall, cpu = run_pool(paths, count, warm, cv_threads)
            rates[count].append(len(paths) / wall)
            print(f"{count} process(es): {wall:.2f} s wall, {len(paths) / wall:.3f} docs/s, "
                  f"CPU {cpu / len(paths):.2f} s/doc = {cpu / wall:.2f} cores busy, "
                  f"load average before {load:.1f}")
        best = {n: max(r) for n, r in rates.items()}
        trials = ", ".join(f"{b / a:.2f}x" for a, b in zip(rates[1], rates[2], strict=True))
        print(f"2 processes / 1 process, docs/s: best of each {best[2] / best[1]:.2f}x, "
              f"per trial {trials} (target >= 1.7x; needs two idle cores)")


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
    parser.add_argument("mode", choices=["throughput", "processes", "steps"])
    parser.add_argument("--pages", type=int, default=6)
    parser.add_argument("--source", choices=["generator", "synthetic"], default="generator")
    parser.add_argument("--sroie", type=int, default=12)
    parser.add_argument("--configs", default="", help="comma-separated subset of CONFIGS")
    parser.add_argument("--cv-threads", type=int, default=None,
                        help="processes: OpenCV threads per worker (default: "
                             "extractors.ocr.pages.OPENCV_THREADS)")
    args = parser.parse_args()
    if args.mode == "throughput":
        throughput(args.pages, args.source)
    elif args.mode == "processes":
        processes(args.pages, args.source, args.cv_threads)
    else:
        steps(args.pages, args.sroie, [c for c in args.configs.split(",") if c] or list(CONFIGS))


if __name__ == "__main__":
    main()
