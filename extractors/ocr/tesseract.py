"""The one wrapper around the ``tesseract`` binary.

Every call runs one single-threaded process (``OMP_THREAD_LIMIT=1``: OpenMP threads make
Tesseract 2-4x slower on a 2-core machine, see shared/PERF-NOTES.md trap 1), always with an
explicit ``--dpi`` (trap 2), on an image *file* (trap 3), with a timeout. Failures become the
typed errors of ``arflow.errors``: the binary or a language missing is ``ToolMissing``, a
timeout is ``ToolTimeout``, a crash, a nonzero exit and "exit 0 but no output" are ``ToolError``.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from arflow.errors import ToolError, ToolMissing, ToolTimeout
from models.domain import WordBox

log = logging.getLogger(__name__)

_TSV_COLUMNS = 12  # level page block par line word left top width height conf text
_WORD_LEVEL = "5"
_LINE_LEVEL = "4"
_MAX_LINE_STRETCH = 2.2  # a line this many times a word's height is not levelled onto it
OTSU, SAUVOLA = 0, 2


@dataclass(frozen=True)
class TesseractOptions:
    """How to run Tesseract on one page image."""

    lang: str = "spa+eng"
    # 4 = one column of text of variable sizes. The default 3 (automatic layout analysis)
    # dropped narrow number columns (quantities, prices) of line-item tables as non-text:
    # line-item F1 41.5 % with 3 against 89.4 % with 4 on 30 generated scans (dev seeds 900+,
    # rules removed); 6 (a uniform block) ran words of large titles together.
    psm: int = 4
    dpi: int = 300
    timeout_s: float = 120.0
    thresholding: int = OTSU  # Tesseract's thresholding_method: 0 Otsu, 1 adaptive Otsu, 2 Sauvola
    kind: str = "tesseract"


def binary() -> str:
    """Path of the tesseract executable, or raise ``ToolMissing``."""
    found = shutil.which("tesseract")
    if found is None:
        raise ToolMissing("tesseract is not installed (no 'tesseract' on PATH)")
    return found


def available() -> bool:
    return shutil.which("tesseract") is not None


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_THREAD_LIMIT": "1"}


def run(args: list[str], timeout_s: float) -> subprocess.CompletedProcess[bytes]:
    """Run tesseract with ``args``; raise a typed error on timeout, crash or nonzero exit."""
    cmd = [binary(), *args]
    log.debug("run %s (timeout %.1fs)", cmd, timeout_s)
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout_s, env=_env(), check=False)
    except subprocess.TimeoutExpired as exc:
        raise ToolTimeout(f"tesseract timed out after {timeout_s:g}s: {' '.join(cmd)}") from exc
    except OSError as exc:
        raise ToolError(f"tesseract could not be started: {exc}") from exc
    if proc.returncode != 0:
        _raise_for_exit(proc)
    return proc


def _raise_for_exit(proc: subprocess.CompletedProcess[bytes]) -> None:
    err = proc.stderr.decode("utf-8", "replace").strip()
    if "Failed loading language" in err or "couldn't load any languages" in err:
        raise ToolMissing(f"tesseract language data missing: {err.splitlines()[0]}")
    how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit {proc.returncode}"
    raise ToolError(f"tesseract failed ({how}): {err[-500:]}")


@lru_cache(maxsize=1)
def version() -> str:
    """Tesseract's version, e.g. ``"5.3.0"``."""
    out = run(["--version"], 30).stdout.decode("utf-8", "replace")
    first = out.strip().splitlines()[0] if out.strip() else ""
    return first.removeprefix("tesseract").strip()


@lru_cache(maxsize=1)
def languages() -> frozenset[str]:
    """Installed traineddata names (``eng``, ``spa``, ``osd`` ...)."""
    out = run(["--list-langs"], 30).stdout.decode("utf-8", "replace")
    return frozenset(ln.strip() for ln in out.splitlines()[1:] if ln.strip())


def check_languages(lang: str) -> None:
    """Raise ``ToolMissing`` unless every ``+``-separated language of ``lang`` is installed."""
    missing = [name for name in lang.split("+") if name not in languages()]
    if missing:
        raise ToolMissing(f"tesseract language data not installed: {', '.join(missing)}")


def image_to_tsv(image_path: Path, opts: TesseractOptions) -> str:
    """Tesseract's TSV output for one image file."""
    check_languages(opts.lang)
    args = [str(image_path), "stdout", "--dpi", str(opts.dpi), "--psm", str(opts.psm),
            "-l", opts.lang]
    if opts.thresholding != OTSU:
        args += ["-c", f"thresholding_method={opts.thresholding}"]
    args.append("tsv")
    proc = run(args, opts.timeout_s)
    text = proc.stdout.decode("utf-8", "replace")
    if not text.strip():
        raise ToolError(f"tesseract exited 0 but wrote no output for {image_path.name}")
    return text


def parse_tsv(tsv: str, *, dpi: int, page: int = 0) -> list[WordBox]:
    """Words of a Tesseract TSV, boxes converted from pixels to PDF points (x 72 / dpi).

    A word's box is a glyph box: "a" is shorter than "Total" on the same line, which the
    layout reads as a change of font size. Each word therefore gets the top and bottom of
    its Tesseract text line (as a text layer gives every word its font's height), unless the
    line is much taller than its words (a skewed or merged line).
    """
    scale = 72.0 / dpi
    rows = [cols for cols in (r.split("\t") for r in tsv.splitlines()[1:])
            if len(cols) >= _TSV_COLUMNS]
    lines = {tuple(c[1:5]): _box(c) for c in rows if c[0] == _LINE_LEVEL}
    words: list[WordBox] = []
    for cols in rows:
        if cols[0] != _WORD_LEVEL or not cols[11].strip():
            continue
        left, top, right, bottom = _level(_box(cols), lines.get(tuple(cols[1:5])))
        words.append(WordBox(text=cols[11].strip(), x0=left * scale, top=top * scale,
                             x1=right * scale, bottom=bottom * scale,
                             page=page, conf=max(0.0, float(cols[10])) / 100.0))
    return words


def _box(cols: list[str]) -> tuple[int, int, int, int]:
    left, top, width, height = (int(c) for c in cols[6:10])
    return left, top, left + width, top + height


def _level(word: tuple[int, int, int, int],
           line: tuple[int, int, int, int] | None) -> tuple[int, int, int, int]:
    """The word's box stretched to its line's height (see ``parse_tsv``)."""
    if line is None:
        return word
    height = max(word[3] - word[1], 1)
    if line[3] - line[1] > _MAX_LINE_STRETCH * height:
        return word
    return word[0], min(word[1], line[1]), word[2], max(word[3], line[3])


def image_to_words(image_path: Path, *, lang: str = "spa+eng", dpi: int = 300, psm: int = 3,
                   timeout_s: float = 120.0, page: int = 0,
                   thresholding: int = OTSU) -> list[WordBox]:
    """OCR one image file into words with boxes in PDF points."""
    opts = TesseractOptions(lang=lang, psm=psm, dpi=dpi, timeout_s=timeout_s,
                            thresholding=thresholding)
    return parse_tsv(image_to_tsv(Path(image_path), opts), dpi=dpi, page=page)


def words_with_options(image_path: Path, opts: TesseractOptions, page: int = 0) -> list[WordBox]:
    return parse_tsv(image_to_tsv(image_path, opts), dpi=opts.dpi, page=page)
