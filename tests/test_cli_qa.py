"""The command line's edges found by QA: spreadsheet formulas in reports, bad options and
settings turned into usage/configuration errors with their exit codes, and human output."""

from __future__ import annotations

import io
import json
import shutil
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook  # type: ignore[import-untyped]

from arflow import cli as cli_module
from arflow import console, report
from arflow.cli import cli, main
from arflow.reports_html import to_xlsx

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
EVIL_NAME = "=cmd|calc!A1.pdf"
EVIL_SELLER = '=HYPERLINK("http://evil.example","click")'


@dataclass(frozen=True)
class Exit:
    code: int
    out: str
    err: str


Run = Callable[..., Exit]


@pytest.fixture
def arflow(runner: CliRunner, monkeypatch: pytest.MonkeyPatch,
           capsys: pytest.CaptureFixture[str]) -> Iterator[Run]:
    """`arflow ARGS...` through `main`, the one boundary that maps errors to exit codes."""
    del runner  # its fixture sets ARFLOW_HOME and one worker

    def run(*args: str) -> Exit:
        monkeypatch.setattr(sys, "argv", ["arflow", *args])
        code = 0
        try:
            main()
        except SystemExit as done:
            code = int(done.code or 0)
        captured = capsys.readouterr()
        return Exit(code, captured.out, captured.err)

    yield run


def _row(source: str, seller: str) -> dict[str, object]:
    return {"source": source, "sha256": "ab" * 32, "status": "needs_review",
            "reasons": ["UNKNOWN_PARTY"], "export_id": None,
            "invoice": {"seller": {"name": seller, "tax_id": None}, "total": "-12.50",
                        "currency": "EUR"},
            "problems": [{"code": "UNKNOWN_PARTY", "field": "seller", "expected": "a party",
                          "found": seller, "message": "unknown"}]}


# 1. formula injection --------------------------------------------------------------------

def test_csv_report_neutralises_formulas_but_keeps_negative_amounts() -> None:
    text = report.to_csv([_row(EVIL_NAME, EVIL_SELLER)])
    line = text.splitlines()[1]
    assert line.startswith("'" + EVIL_NAME)
    assert "'=HYPERLINK" in line and ",-12.50," in line


def test_xlsx_report_writes_formula_like_text_as_text() -> None:
    book = load_workbook(io.BytesIO(to_xlsx([_row(EVIL_NAME, EVIL_SELLER)])))
    documents, findings = book["documents"], book["findings"]
    for cell in (documents["A2"], documents["I2"], findings["G2"]):
        assert cell.data_type == "s", cell.coordinate
    assert (documents["A2"].value, documents["I2"].value) == (EVIL_NAME, EVIL_SELLER)
    assert documents["N2"].value == -12.5  # amounts stay numbers


def test_batch_report_of_a_run_neutralises_file_names(runner: CliRunner,
                                                      tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(sorted((DATA / "invoices").glob("*.pdf"))[0], inbox / EVIL_NAME)
    done = runner.invoke(cli, ["run", "--inbox", str(inbox), "--engine", "plain"])
    assert done.exit_code == 0, done.output
    batch = next((tmp_path / "home" / "reports").glob("batch-*.csv")).read_text()
    assert batch.splitlines()[1].startswith("'" + EVIL_NAME)
    assert runner.invoke(cli, ["report", "--format", "csv"]).output.splitlines()[1] \
        .startswith("'" + EVIL_NAME)


# 2. settings ---------------------------------------------------------------------------

@pytest.mark.parametrize(("variable", "value", "named"), [
    ("ARFLOW_WORKERS", "abc", "whole number"),
    ("ARFLOW_WORKERS", "0", "at least 1"),
    ("ARFLOW_MIN_CONFIDENCE", "x", "between 0 and 1"),
    ("ARFLOW_MIN_CONFIDENCE", "2", "between 0 and 1"),
    ("ARFLOW_PDF_ENGINE", "bogus", "pdfium or pdfplumber"),
    ("ARFLOW_OCR_TIMEOUT", "soon", "number of seconds"),
])
def test_bad_settings_are_configuration_errors(arflow: Run, monkeypatch: pytest.MonkeyPatch,
                                               variable: str, value: str, named: str) -> None:
    monkeypatch.setenv(variable, value)
    done = arflow("report", "--json")
    assert done.code == 2, done.err
    assert f"error [CONFIG_ERROR]: {variable}" in done.err and named in done.err
    assert value in done.err


def test_impossible_home_is_named(arflow: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARFLOW_HOME", "/proc/arflow")
    done = arflow("db", "upgrade")
    assert done.code == 2, done.err
    assert "error [CONFIG_ERROR]: cannot create ARFLOW_HOME folder /proc/arflow" in done.err


# 3. report -o into a missing folder ------------------------------------------------------

def test_report_output_into_missing_folder_is_a_usage_error(arflow: Run) -> None:
    done = arflow("report", "-o", "/nonexistent/dir/x.json")
    assert done.code == 2, done.err
    assert "folder /nonexistent/dir does not exist" in done.err
    assert "unexpected" not in done.err


# 4. serve --------------------------------------------------------------------------------

def test_serve_port_out_of_range_is_a_usage_error(arflow: Run) -> None:
    done = arflow("serve", "--port", "99999")
    assert done.code == 2 and "1<=x<=65535" in done.err, done.err
    assert "Traceback" not in done.err + done.out


def test_serve_port_in_use_is_said_plainly(arflow: Run) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = arflow("serve", "--port", str(port))
    assert done.code == 9, done.err
    assert f"error [PORT_IN_USE]: port {port} is in use on 127.0.0.1" in done.err


# 5. options that made no sense -----------------------------------------------------------

@pytest.mark.parametrize("args", [
    ("run", "--inbox", ".", "--workers", "0"),
    ("run", "--inbox", ".", "--workers", "-3"),
])
def test_workers_must_be_positive(arflow: Run, args: tuple[str, ...]) -> None:
    done = arflow(*args)
    assert done.code == 2 and "--workers" in done.err, done.err


def test_report_status_must_be_known(arflow: Run) -> None:
    done = arflow("report", "--status", "bogus")
    assert done.code == 2 and "needs_review" in done.err and "received" in done.err, done.err


def test_retry_reason_must_be_known(arflow: Run) -> None:
    done = arflow("retry", "--reason", "NOPE")
    assert done.code == 2, done.err
    assert "unknown reason code 'NOPE'" in done.err and "OCR_FAILED" in done.err
    assert "TOOL_TIMEOUT" in done.err


@pytest.mark.parametrize(("args", "said"), [
    (("neg", "--limit", "-5"), "must not be negative"),
    (("bad name/<script>",), "letters, digits"),
    (("x" * 65,), "letters, digits"),
])
def test_users_add_refuses_nonsense(arflow: Run, monkeypatch: pytest.MonkeyPatch,
                                    args: tuple[str, ...], said: str) -> None:
    monkeypatch.setenv("ARFLOW_PASSWORD", "long-enough-password")
    done = arflow("users", "add", *args, "--role", "clerk")
    assert done.code == 2 and said in done.err, done.err
    assert arflow("users", "list").out == ""


def test_users_add_caps_password_length(arflow: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARFLOW_PASSWORD", "a" * 100_000)
    done = arflow("users", "add", "ana", "--role", "clerk")
    assert done.code == 2 and "at most 1024 characters" in done.err, done.err[:300]
    assert "a" * 100 not in done.err
    monkeypatch.setenv("ARFLOW_PASSWORD", "a" * 1024)
    assert arflow("users", "add", "ana.b-c_d@x", "--role", "clerk").code == 0
    assert arflow("users", "add", "José", "--role", "clerk", "--limit", "0").code == 0


def test_users_add_without_password_or_terminal_says_so(arflow: Run,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARFLOW_PASSWORD", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    done = arflow("users", "add", "ana", "--role", "clerk")
    assert done.code == 2, done.err
    assert "ARFLOW_PASSWORD" in done.err and "terminal" in done.err


def test_xlsx_to_a_terminal_is_refused(arflow: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_module, "_stdout_is_terminal", lambda: True)
    done = arflow("report", "--format", "xlsx")
    assert done.code == 2 and "-o" in done.err and done.out == "", done.err


def test_json_and_another_format_conflict(arflow: Run) -> None:
    done = arflow("report", "--json", "--format", "csv")
    assert done.code == 2 and "--json" in done.err and "csv" in done.err, done.err
    assert arflow("report", "--json", "--format", "json").code == 0


# 6. output -------------------------------------------------------------------------------

def test_counts_are_human_text() -> None:
    assert cli_module.counts_text({"processed": 5, "duplicate": 1, "quarantined": 5}) == (
        "5 processed, 1 duplicate, 5 quarantined")
    assert cli_module.counts_text({}) == "none"


def test_retry_summary_is_human_text(arflow: Run) -> None:
    done = arflow("retry")
    assert done.code == 0 and done.out.strip() == "0 retried: nothing failed", done.out


def test_summary_lines_do_not_wrap_when_piped(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    @dataclass
    class Summary:
        batch_id: int = 1
        inbox: str = "inbox"
        processed: int = 2
        skipped: int = 0
        repeats: int = 0
        by_status: dict[str, int] | None = None
        quarantined: tuple[str, ...] = ("/q/" + "x" * 150 + ".pdf",)
        waiting: tuple[str, ...] = ()
        by_another_run: int = 0

    console.print_summary(Summary(by_status={"failed": 1, "needs_review": 1}),
                          Path("/r/batch-1.csv"), {}, {"ORDER_NOT_FOUND": 1})
    out = capsys.readouterr().out
    assert "quarantined: /q/" + "x" * 150 + ".pdf\n" in out
    assert "ORDER_NOT_FOUND │ 1         │ No order matches this invoice." in out


def test_review_reasons_count_only_documents_in_review() -> None:
    rows = [{"status": "failed", "reasons": ["EMPTY_DOCUMENT"]},
            {"status": "needs_review", "reasons": ["ORDER_NOT_FOUND", "UNKNOWN_PARTY"]},
            {"status": "needs_review", "reasons": ["ORDER_NOT_FOUND"]},
            {"status": "auto_approved", "reasons": []}]
    assert cli_module.review_reasons(rows) == {"ORDER_NOT_FOUND": 2, "UNKNOWN_PARTY": 1}


# 7. extract ------------------------------------------------------------------------------

def test_extract_missing_path_is_a_usage_error(arflow: Run) -> None:
    done = arflow("extract", "--json", "/nonexistent.pdf")
    assert done.code == 2 and "'/nonexistent.pdf' does not exist" in done.err, done.err
    assert "Errno" not in done.err + done.out


def test_extract_exits_nonzero_when_a_file_failed(arflow: Run, tmp_path: Path) -> None:
    good = sorted((DATA / "invoices").glob("*.pdf"))[0]
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    done = arflow("extract", "--json", str(good), str(empty))
    assert [json.loads(x)["status"] for x in done.out.splitlines()] == ["ok", "failed"]
    assert done.code == 3, done.err
    assert "error [EXTRACT_FAILED]: 1 of 2 file(s) failed: empty.pdf (EMPTY_DOCUMENT)" in done.err
    assert arflow("extract", "--json", str(good)).code == 0


def test_settings_know_the_pdf_engines_the_extractor_knows() -> None:
    from arflow.settings import PDF_ENGINES
    from extractors.digital import PDF_ENGINES as READERS

    assert PDF_ENGINES == READERS
