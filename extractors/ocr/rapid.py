"""The one wrapper around the second OCR engine: RapidOCR, PaddleOCR's PP-OCR models (text
detection and recognition, Apache-2.0, shipped inside the ``rapidocr`` wheel) run by
onnxruntime in this process.

Tesseract reads clean scans of known resolution well; photos and till receipts of unknown
scale, faint thermal print and dot-matrix type much less so. PP-OCR was trained on such
pictures: on the 101 SROIE receipts it found 84 % of the transcribed words against
Tesseract's 73-74 % (``bench/extract_scanned.py``, module docstring of
``extractors.ocr.engines``). It often runs words together ("SDNBHD"), which is why its
reading is combined with Tesseract's rather than replacing it.

One engine per process, created on first use (two ONNX sessions) and used by one page at a
time (a single runner thread), with one onnxruntime thread (like Tesseract's ``OMP_THREAD_LIMIT=1``:
the pipeline runs one worker per core). The model runs in this process, so a timeout cannot
stop it: the caller stops waiting and gets ``ToolTimeout``; the page image is at most
``MAX_SIDE`` pixels on its longer side for the detector, which bounds the work. Failures
become the typed errors of ``arflow.errors``.
"""

from __future__ import annotations

import importlib.util
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from functools import lru_cache
from typing import Any

from arflow.errors import ToolError, ToolMissing, ToolTimeout
from extractors.ocr.geometry import Image
from models.domain import WordBox

MAX_SIDE = 2000  # the detector's input is shrunk to this many pixels on its longer side
_PARAMS: dict[str, Any] = {
    "Global.log_level": "error",
    "Global.return_word_box": True,
    "Global.use_cls": False,  # pages are upright already (extractors.ocr.preprocess)
    "Global.max_side_len": MAX_SIDE,
    "EngineConfig.onnxruntime.intra_op_num_threads": 1,
    "EngineConfig.onnxruntime.inter_op_num_threads": 1,
}


def available() -> bool:
    return importlib.util.find_spec("rapidocr") is not None


@lru_cache(maxsize=1)
def _engine() -> Any:
    try:
        from rapidocr import RapidOCR  # noqa: PLC0415 - lazy: ~1 s, only photos need it
    except ImportError as exc:
        raise ToolMissing("the second OCR engine is not installed (pip install rapidocr "
                          "onnxruntime)") from exc
    return RapidOCR(params=_PARAMS)


@lru_cache(maxsize=1)
def _runner() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="rapidocr")


def read_words(image: Image, *, dpi: float, page: int = 0,
               timeout_s: float = 120.0) -> list[WordBox]:
    """Words of one upright page image (grey or BGR), boxes in PDF points (x 72 / ``dpi``).

    Raises ``ToolMissing`` when the engine is not installed, ``ToolTimeout`` after
    ``timeout_s`` and ``ToolError`` when the engine fails.
    """
    future = _runner().submit(_recognise, image)
    try:
        lines = future.result(timeout=timeout_s)
    except FutureTimeout as exc:
        raise ToolTimeout(f"rapidocr timed out after {timeout_s:g}s on page {page + 1}") from exc
    return words_of(lines, scale=72.0 / dpi, page=page)


Line = list[tuple[str, float, list[list[float]]]]  # (word, confidence, 4 corners) per word


def _recognise(image: Image) -> list[Line]:
    engine = _engine()
    try:
        result = engine(image)
    except Exception as exc:  # onnxruntime and the engine raise many kinds
        raise ToolError(f"rapidocr failed: {type(exc).__name__}: {exc}") from exc
    return [list(line) for line in (result.word_results or ()) if _is_line(line)]


def _is_line(line: object) -> bool:
    """A line of (word, confidence, corners) triples. A page where the engine read nothing
    gives ``('', 1.0, None)`` in place of its lines (seen on a blank page and on a JPEG
    of PIL-drawn text), which is no line at all."""
    return (isinstance(line, (list, tuple)) and bool(line)
            and all(isinstance(w, (list, tuple)) and len(w) == 3 for w in line))


def words_of(lines: list[Line], *, scale: float, page: int) -> list[WordBox]:
    """Word boxes from the engine's lines; every word of a line gets the line's top and
    bottom (as ``tesseract.parse_tsv`` does), so the layout sees one font size per line."""
    out: list[WordBox] = []
    for line in lines:
        words = [(str(text).strip(), float(conf), corners) for text, conf, corners in line]
        words = [w for w in words if w[0]]
        if not words:
            continue
        ys = [y for _, _, corners in words for _, y in corners]
        top, bottom = min(ys) * scale, max(ys) * scale
        for text, conf, corners in words:
            xs = [x for x, _ in corners]
            out.append(WordBox(text, min(xs) * scale, top, max(xs) * scale, bottom, page,
                               min(max(conf, 0.0), 1.0)))
    return out
