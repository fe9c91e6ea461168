"""Exception and document reports: JSON lines and CSV (one row per ingested document).

File names and invoice fields are the senders' text: CSV cells go through
`arflow.cells.safe_cell`, as the exports' do, so a spreadsheet never runs one as a formula.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from arflow.cells import safe_cell

CSV_COLUMNS = (
    "source", "sha256", "status", "order_number", "reasons", "invoice_number", "issue_date",
    "due_date", "seller_name", "seller_tax_id", "currency", "subtotal", "tax_total", "total",
    "invoice_type", "preceding_invoice", "withholding", "export_id",
)


def to_json_lines(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def flatten(row: dict[str, Any]) -> dict[str, str]:
    invoice = row.get("invoice") or {}
    seller = invoice.get("seller") or {}
    flat = {
        "source": row["source"], "sha256": row["sha256"], "status": row["status"],
        "order_number": row.get("order_number"), "reasons": ";".join(row.get("reasons", [])),
        "seller_name": seller.get("name"), "seller_tax_id": seller.get("tax_id"),
        "export_id": row.get("export_id"),
    }
    for key in ("invoice_number", "issue_date", "due_date", "currency", "subtotal",
                "tax_total", "total", "invoice_type", "preceding_invoice", "withholding"):
        flat[key] = invoice.get(key)
    return {k: "" if v is None else str(v) for k, v in flat.items()}


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as CSV (`arflow report --format csv`, the batch reports), formula-safe."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: safe_cell(v) for k, v in flatten(row).items()})
    return buffer.getvalue()
