"""The command-line contract: `arflow extract --json`, `import`, `run`, `report`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from arflow.cli import cli
from arflow.errors import DocumentError

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
EINVOICE = ROOT / "tests" / "data" / "einvoice"


def _lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_extract_reports_bad_files_and_goes_on(runner: CliRunner, tmp_path: Path) -> None:
    good = sorted((DATA / "invoices").glob("*.pdf"))[0]
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.pdf"
    corrupt.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 50)
    text = tmp_path / "notes.txt"
    text.write_text("hello, not an invoice")
    args = ["extract", "--json", str(empty), str(good), str(corrupt), str(text)]
    result = runner.invoke(cli, args)
    assert isinstance(result.exception, DocumentError), result.output  # `main`: exit 3
    assert result.exception.code == "EXTRACT_FAILED"
    assert "3 of 4 file(s) failed" in result.exception.message
    rows = _lines(result.output)
    assert [r["source"] for r in rows] == [str(empty), str(good), str(corrupt), str(text)]
    assert [r["status"] for r in rows] == ["failed", "ok", "failed", "failed"]
    codes = [[e["code"] for e in r["errors"]] for r in rows]  # type: ignore[union-attr]
    assert codes[0] == ["EMPTY_DOCUMENT"]
    assert codes[2] == ["UNREADABLE_DOCUMENT"]
    assert codes[3] == ["UNSUPPORTED_FORMAT"]
    invoice = rows[1]["invoice"]
    assert isinstance(invoice, dict) and invoice["invoice_number"]


def test_extract_json_contract_keys(runner: CliRunner) -> None:
    good = sorted((DATA / "invoices").glob("*.pdf"))[0]
    row = _lines(runner.invoke(cli, ["extract", "--json", str(good)]).output)[0]
    assert set(row) == {"source", "status", "kind", "invoice", "confidence", "errors"}
    invoice = row["invoice"]
    assert isinstance(invoice, dict)
    assert set(invoice) == {
        "invoice_number", "issue_date", "due_date", "currency", "seller", "buyer",
        "order_number", "subtotal", "tax_total", "total", "iban", "payment_terms", "lines",
        "invoice_type", "preceding_invoice", "withholding", "allowances", "charges",
    }
    assert (invoice["invoice_type"], invoice["preceding_invoice"]) == ("invoice", None)
    assert row["kind"] == "digital"
    assert all(0.0 <= v <= 1.0 for v in row["confidence"].values())  # type: ignore[union-attr]


def test_extract_einvoice_xml(runner: CliRunner) -> None:
    sample = next(p for p in sorted(EINVOICE.glob("*.xml")) if "hostile" not in p.name.lower()
                  and "bomb" not in p.name.lower() and "xxe" not in p.name.lower())
    row = _lines(runner.invoke(cli, ["extract", "--json", str(sample)]).output)[0]
    assert row["kind"] == "einvoice"
    assert row["status"] in ("ok", "partial")


def _import_sample(runner: CliRunner) -> None:
    for kind in ("parties", "orders", "receipts"):
        result = runner.invoke(cli, ["import", kind, str(DATA / f"{kind}.csv")])
        assert result.exit_code == 0, result.output


def test_run_then_report_then_rerun_skips(runner: CliRunner, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(DATA / "invoices", inbox)
    (inbox / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    _import_sample(runner)
    first = runner.invoke(cli, ["run", "--inbox", str(inbox), "--engine", "plain"])
    assert first.exit_code == 0, first.output
    rows = _lines(runner.invoke(cli, ["report", "--json"]).output)
    expected = json.loads((DATA / "expected.json").read_text())
    by_source = {r["source"]: r for r in rows}
    assert len(rows) == len(expected) + 1
    assert by_source["broken.pdf"]["status"] == "failed"
    for name, exp in expected.items():
        assert by_source[name]["status"] == exp["status"], name
    quarantined = list((tmp_path / "home" / "quarantine").glob("*broken.pdf"))
    assert len(quarantined) == 1 and quarantined[0].read_bytes() == b"%PDF-1.4 truncated"
    second = runner.invoke(cli, ["run", "--inbox", str(inbox), "--engine", "plain"])
    assert second.exit_code == 0
    summary = " ".join(second.output.split())
    assert "all batches" in summary and f"documents │ 0 │ {len(rows)} │" in summary
    assert len(_lines(runner.invoke(cli, ["report", "--json"]).output)) == len(rows)
    csv_text = runner.invoke(cli, ["report", "--format", "csv"]).output
    assert csv_text.splitlines()[0].startswith("source,sha256,status,order_number,reasons")
    assert len(csv_text.splitlines()) == len(rows) + 1


def test_import_bad_row_exits_nonzero_with_line(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "parties.csv"
    bad.write_text("name,tax_id,iban,email\nAcme,B58378431,NOT-AN-IBAN,a@b.c\n")
    result = runner.invoke(cli, ["import", "parties", str(bad)], standalone_mode=False)
    assert result.exception is not None
    assert "line 2" in str(result.exception)
