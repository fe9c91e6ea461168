"""Settings in one object, read from the environment when asked for (never at import time)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from arflow.errors import ConfigError


@dataclass(frozen=True)
class Tolerances:
    unit_price_pct: Decimal = Decimal("1.0")     # ±1 % on unit price
    total_pct: Decimal = Decimal("0.5")          # ±0.5 % on invoice total
    total_abs: Decimal = Decimal("0.05")         # or 5 cents, whichever is larger
    line_rounding: Decimal = Decimal("0.01")     # one cent per line


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    ocr_lang: str = "spa+eng"
    ocr_timeout_s: float = 120.0
    ocr_dpi: int = 300
    ocr_reread: bool = True  # read a short scan lacking a required field twice more and vote
    # PP-OCR beside Tesseract (extractors.ocr.engines): "auto" (pages of unknown
    # resolution, or read weakly by Tesseract), "always" or "off"
    ocr_second_engine: str = "auto"
    min_confidence: float = 0.6
    max_file_bytes: int = 50 * 1024 * 1024
    max_pages: int = 200
    pdf_engine: str = "pdfium"  # words of digital PDFs: "pdfium" (fast) or "pdfplumber"
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    tolerances: Tolerances = field(default_factory=Tolerances)
    # Where the OCR readings of multi-page files are kept during one extraction step, so that
    # the invoices split out of a file are not read by OCR again (`extractors.ocr.pagecache`).
    ocr_cache_dir: Path | None = None

    @property
    def archive_dir(self) -> Path:
        return self.home / "archive"

    @property
    def quarantine_dir(self) -> Path:
        return self.home / "quarantine"

    @property
    def split_dir(self) -> Path:
        """One PDF per invoice of the files that held several (`arflow.splitting`)."""
        return self.home / "split"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def exports_dir(self) -> Path:
        """Where `arflow export` writes its files unless told otherwise."""
        return self.home / "exports"


_OFF = frozenset(("0", "false", "no", "off"))


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ) if env is None else env
    home = Path(env.get("ARFLOW_HOME", ".arflow")).expanduser().resolve()
    url = env.get("ARFLOW_DATABASE_URL") or f"sqlite:///{home / 'arflow.db'}"
    return Settings(
        home=home,
        database_url=url,
        ocr_lang=env.get("ARFLOW_OCR_LANG", "spa+eng"),
        ocr_timeout_s=float(env.get("ARFLOW_OCR_TIMEOUT", "120")),
        ocr_reread=env.get("ARFLOW_OCR_REREAD", "1").strip().lower() not in _OFF,
        ocr_second_engine=_second_engine(env.get("ARFLOW_OCR_SECOND_ENGINE", "auto")),
        min_confidence=float(env.get("ARFLOW_MIN_CONFIDENCE", "0.6")),
        pdf_engine=env.get("ARFLOW_PDF_ENGINE", "pdfium"),
        workers=int(env.get("ARFLOW_WORKERS", str(os.cpu_count() or 1))),
    )


def _second_engine(value: str) -> str:
    mode = value.strip().lower()
    if mode in _OFF:
        return "off"
    if mode not in ("auto", "always"):
        raise ConfigError(f"ARFLOW_OCR_SECOND_ENGINE must be auto, always or off, not {value!r}")
    return mode
