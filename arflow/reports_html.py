"""Exception reports beyond CSV/JSON: an XLSX workbook and a self-contained HTML page with
the dashboard's charts (server-side SVG, styles inline: one file to mail or archive)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy.orm import Session

from arflow.reasons import describe
from arflow.report import CSV_COLUMNS, flatten

MONEY_COLUMNS = ("subtotal", "tax_total", "total", "withholding")
FINDING_COLUMNS = ("source", "status", "code", "meaning", "field", "expected", "found",
                   "message")
TEMPLATES = Path(__file__).resolve().parent.parent / "webapp" / "templates"


def findings(rows: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """One row per reason of every document: what was expected and what was found."""
    return [{"source": row["source"], "status": row["status"], "code": p["code"],
             "meaning": describe(p["code"]), "field": p.get("field") or "",
             "expected": p.get("expected") or "", "found": p.get("found") or "",
             "message": p.get("message") or ""}
            for row in rows for p in row.get("problems") or []]


def _cell(column: str, value: str) -> Any:
    if column in MONEY_COLUMNS and value:
        return Decimal(value)
    return value


def _append(sheet: Any, values: list[Any]) -> None:
    """One row whose text stays text: openpyxl stores a string starting with `=` as a live
    formula, and a file name or seller name is the sender's text (`arflow.cells`)."""
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        if cell.data_type == "f":
            cell.data_type = "s"


def to_xlsx(rows: Sequence[dict[str, Any]]) -> bytes:
    """Sheet `documents` (the CSV columns, amounts as numbers) and sheet `findings`; every
    text a string cell, never a formula."""
    from openpyxl import Workbook  # type: ignore[import-untyped]  # noqa: PLC0415

    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = "documents"
    sheet.append(list(CSV_COLUMNS))
    for row in rows:
        flat = flatten(row)
        _append(sheet, [_cell(c, flat[c]) for c in CSV_COLUMNS])
    found = book.create_sheet("findings")
    found.append(list(FINDING_COLUMNS))
    for item in findings(rows):
        _append(found, [item[c] for c in FINDING_COLUMNS])
    for ws in (sheet, found):
        ws.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_html(session: Session, rows: Sequence[dict[str, Any]]) -> str:
    """The exception report: the dashboard charts and one table row per finding."""
    from models.approvals import load_matrix  # noqa: PLC0415
    from webapp.stats import dashboard  # noqa: PLC0415

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    css = (TEMPLATES.parent / "static" / "style.css").read_text(encoding="utf-8")
    exceptions = [r for r in rows if r.get("problems")]
    return env.get_template("report.html").render(
        css=css, board=dashboard(session, load_matrix()), documents=len(rows),
        exceptions=len(exceptions), findings=findings(exceptions),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))


def render(session: Session, rows: Sequence[dict[str, Any]], fmt: str) -> bytes:
    """The report as file content: `xlsx` or `html`."""
    if fmt == "xlsx":
        return to_xlsx(rows)
    return to_html(session, rows).encode("utf-8")
