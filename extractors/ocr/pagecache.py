"""OCR readings of the pages of multi-page files, kept for the length of one extraction step.

When a file turns out to hold several invoices, each one's pages are written to a file of
their own and read again (`arflow.splitting`). Those pages render to exactly the same images
(the same image streams, at the same resolution), so their readings are looked up here by
the page image's content and the reading's options instead of being read by OCR a second
time. A lookup that misses (other options, a page never read) simply reads the page.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from extractors.ocr.geometry import PageFrame, Turn
from extractors.ocr.images import PageImage
from models.domain import WordBox

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CachedPage:
    words: list[WordBox]
    qr_texts: list[str]
    frame: PageFrame  # how the page as read lies on the page as received


@dataclass(frozen=True)
class PageCache:
    """Readings under `folder`, keyed by page image and `options` (engine, clean-up, QR)."""

    folder: Path
    options: str

    def key(self, page: PageImage) -> str:
        digest = hashlib.sha256(self.options.encode())
        digest.update(repr((page.image.shape, page.dpi)).encode())
        digest.update(page.image.tobytes())
        return digest.hexdigest()

    def get(self, key: str) -> CachedPage | None:
        path = self.folder / f"{key}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            log.warning("unreadable cached OCR page %s: read again", path.name)
            return None
        frame = data.get("frame") or {}
        turns = tuple(Turn(**turn) for turn in frame.get("turns", ()))
        return CachedPage([WordBox(**w) for w in data["words"]], list(data["qr_texts"]),
                          PageFrame(turns, frame.get("points_per_px", PageFrame.points_per_px)))

    def put(self, key: str, page: CachedPage) -> None:
        """Best effort: a page that cannot be kept is read again when it is asked for."""
        data = {"words": [asdict(w) for w in page.words], "qr_texts": page.qr_texts,
                "frame": asdict(page.frame)}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary = self.folder / f"{key}.tmp"
            temporary.write_text(json.dumps(data), encoding="utf-8")
            temporary.replace(self.folder / f"{key}.json")
        except OSError as exc:
            log.warning("could not keep an OCR page reading: %s", exc)
