"""A file whose writer paused longer than the settle window: its format says where it ends, the
end is missing, so `arflow run` and the drop folder leave it for a later pass instead of
quarantining half a file (`arflow.completeness`); once unchanged for the wait it is taken as it
is, and a file that really is cut short is quarantined with its reason as before."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from click.testing import CliRunner

from arflow.cli import cli
from arflow.completeness import held_back, incomplete_wait, missing_end
from arflow.errors import ConfigError
from tests.test_run_intake import _run, _sources

DATA = Path(__file__).resolve().parents[1] / "data"
PDF = sorted((DATA / "invoices").glob("*.pdf"))[0]
XML = Path(__file__).resolve().parent / "data" / "einvoice" / "en16931-ubl-tc434-example2.xml"


def _image(fmt: str) -> bytes:
    page = pdfium.PdfDocument(str(PDF))[0]
    out = io.BytesIO()
    page.render(scale=1).to_pil().save(out, format=fmt)
    return out.getvalue()


def _old(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.mark.parametrize("kind", ["pdf", "png", "jpeg", "xml"])
def test_a_whole_file_has_its_end_and_a_cut_one_does_not(tmp_path: Path, kind: str) -> None:
    whole = {"pdf": PDF.read_bytes, "xml": XML.read_bytes,
             "png": lambda: _image("PNG"), "jpeg": lambda: _image("JPEG")}[kind]()
    path = tmp_path / f"file.{kind}"
    path.write_bytes(whole)
    assert missing_end(path) is None
    path.write_bytes(whole[: len(whole) * 2 // 3])
    assert missing_end(path) is not None


def test_formats_without_an_end_marker_and_empty_files(tmp_path: Path) -> None:
    tiff = tmp_path / "scan.tiff"
    tiff.write_bytes(_image("TIFF")[:5000])  # TIFF has no end marker: judged by time only
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    assert missing_end(tiff) is None
    assert missing_end(empty) == "no bytes yet"
    assert missing_end(tmp_path / "gone.pdf") is None  # reading it later says why


def test_held_back_only_while_recent(tmp_path: Path) -> None:
    path = tmp_path / "half.pdf"
    path.write_bytes(PDF.read_bytes()[:1500])
    mtime = path.stat().st_mtime_ns
    why = held_back(path, mtime, wait=60, now_ns=mtime + 10 * 10**9)
    assert why is not None and "%%EOF" in why and "ARFLOW_INCOMPLETE_WAIT_SECONDS" in why
    assert held_back(path, mtime, wait=60, now_ns=mtime + 61 * 10**9) is None
    assert held_back(path, mtime, wait=0, now_ns=mtime) is None


def test_the_wait_is_read_from_the_environment() -> None:
    assert incomplete_wait({}) == 300.0
    assert incomplete_wait({"ARFLOW_INCOMPLETE_WAIT_SECONDS": "0"}) == 0.0
    for bad in ("-1", "soon", "inf"):
        with pytest.raises(ConfigError, match="ARFLOW_INCOMPLETE_WAIT_SECONDS"):
            incomplete_wait({"ARFLOW_INCOMPLETE_WAIT_SECONDS": bad})


def test_run_leaves_a_paused_pdf_and_reads_it_once_finished(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two thirds of a PDF written 20 s ago (past the 2 s settle window, so the window alone
    takes it and quarantines it as unreadable): left for the next run; written to the end, it
    is read whole. Without the check the first run stores it as failed."""
    monkeypatch.setenv("ARFLOW_SETTLE_SECONDS", "2")
    monkeypatch.setenv("ARFLOW_INCOMPLETE_WAIT_SECONDS", "120")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    whole = PDF.read_bytes()
    (inbox / "done.pdf").write_bytes(sorted((DATA / "invoices").glob("*.pdf"))[1].read_bytes())
    _old(inbox / "done.pdf", 60)
    paused = inbox / "paused.pdf"
    paused.write_bytes(whole[: len(whole) * 2 // 3])
    _old(paused, 20)
    shown = _run(runner, inbox)
    assert f"left for the next run (still being written): {paused}" in shown
    assert list(_sources(runner)) == ["done.pdf"]
    assert not (tmp_path / "home" / "quarantine").exists()
    paused.write_bytes(whole)
    _old(paused, 20)
    _run(runner, inbox)
    sources = _sources(runner)
    assert sorted(sources) == ["done.pdf", "paused.pdf"] and sources["paused.pdf"] != "failed"


def test_run_takes_a_cut_file_once_the_wait_is_over(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The writer never comes back: after the wait the file is taken as it is, quarantined
    with its reason and its bytes kept, as any unreadable file."""
    monkeypatch.setenv("ARFLOW_INCOMPLETE_WAIT_SECONDS", "120")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    cut = PDF.read_bytes()[:1500]
    (inbox / "cut.pdf").write_bytes(cut)
    _old(inbox / "cut.pdf", 121)
    _run(runner, inbox)
    assert _sources(runner) == {"cut.pdf": "failed"}
    kept = [p for p in (tmp_path / "home" / "quarantine").iterdir()
            if not p.name.endswith(".reason.json")]
    assert [p.read_bytes() for p in kept] == [cut]


def test_the_drop_folder_leaves_a_paused_pdf_in_place_until_finished(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ARFLOW_INCOMPLETE_WAIT_SECONDS", "120")
    inbox = tmp_path / "drop"
    inbox.mkdir()
    whole = PDF.read_bytes()
    paused = inbox / "paused.pdf"
    paused.write_bytes(whole[:1500])
    _old(paused, 30)
    result = runner.invoke(cli, ["poll", str(inbox), "--stable-delay", "0.05"])
    assert result.exit_code == 0, result.output
    assert "0 taken" in result.output and "left for a later pass" in result.output
    assert "%%EOF" in result.output and paused.read_bytes() == whole[:1500]
    paused.write_bytes(whole)
    _old(paused, 30)
    result = runner.invoke(cli, ["poll", str(inbox), "--stable-delay", "0.05"])
    assert result.exit_code == 0, result.output
    assert "1 taken" in result.output and "processed" in result.output
    assert not paused.exists()
