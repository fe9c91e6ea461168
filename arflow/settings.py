"""Settings in one object, read from the environment when asked for (never at import time)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from arflow.errors import ConfigError

N = TypeVar("N", int, float)


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
# the word engines of `extractors.digital.PDF_ENGINES` (kept equal by tests/test_cli_qa.py;
# not imported from there, so reading the settings does not load pdfium)
PDF_ENGINES = ("pdfium", "pdfplumber")


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """The settings from `env` (default: the process environment). A value that cannot be
    used is a `ConfigError` naming the variable and what it may be, raised when a command
    starts rather than as a crash (or a silent surprise) in the middle of a batch."""
    env = dict(os.environ) if env is None else env
    home = Path(env.get("ARFLOW_HOME", ".arflow")).expanduser().resolve()
    url = env.get("ARFLOW_DATABASE_URL") or f"sqlite:///{home / 'arflow.db'}"
    return Settings(
        home=home,
        database_url=url,
        ocr_lang=env.get("ARFLOW_OCR_LANG", "spa+eng"),
        ocr_timeout_s=_seconds(env, "ARFLOW_OCR_TIMEOUT", 120.0),
        ocr_reread=env.get("ARFLOW_OCR_REREAD", "1").strip().lower() not in _OFF,
        ocr_second_engine=_second_engine(env.get("ARFLOW_OCR_SECOND_ENGINE", "auto")),
        min_confidence=_fraction(env, "ARFLOW_MIN_CONFIDENCE", 0.6),
        pdf_engine=_pdf_engine(env.get("ARFLOW_PDF_ENGINE", "pdfium")),
        workers=_positive_int(env, "ARFLOW_WORKERS", os.cpu_count() or 1),
    )


def ensure_folder(folder: Path, what: str = "ARFLOW_HOME folder") -> Path:
    """Create `folder` (and its parents) if needed; a folder that cannot be made (a read-only
    disk, /proc, a file in the way) is a `ConfigError` naming it, not a traceback."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise ConfigError(f"cannot create {what} {folder}: {reason}; set ARFLOW_HOME to a "
                          f"writable folder") from err
    return folder


def _positive_int(env: dict[str, str], name: str, default: int) -> int:
    return env_number(env, name, default, int, valid=lambda v: v >= 1,
                   what="a whole number, at least 1")


def _fraction(env: dict[str, str], name: str, default: float) -> float:
    return env_number(env, name, default, float, valid=lambda v: 0.0 <= v <= 1.0,
                   what="a number between 0 and 1 (e.g. 0.6)")


def _seconds(env: dict[str, str], name: str, default: float) -> float:
    return env_number(env, name, default, float, valid=lambda v: 0.0 < v < math.inf,
                   what="a positive number of seconds")


def env_number(env: dict[str, str], name: str, default: N, parse: Callable[[str], N], *,
            valid: Callable[[N], bool], what: str) -> N:
    """The variable `name` parsed, `default` when unset or blank; anything `parse` cannot
    read or `valid` refuses (NaN too: it compares false) is a configuration error naming
    the variable, the value and what is allowed."""
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = parse(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be {what}, not {raw!r}") from None
    if not valid(value):
        raise ConfigError(f"{name} must be {what}, not {raw!r}")
    return value


def _pdf_engine(value: str) -> str:
    engine = value.strip().lower()
    if engine not in PDF_ENGINES:
        raise ConfigError(f"ARFLOW_PDF_ENGINE must be {' or '.join(PDF_ENGINES)}, not {value!r}")
    return engine


def _second_engine(value: str) -> str:
    mode = value.strip().lower()
    if mode in _OFF:
        return "off"
    if mode not in ("auto", "always"):
        raise ConfigError(f"ARFLOW_OCR_SECOND_ENGINE must be auto, always or off, not {value!r}")
    return mode
