"""`arflow run`'s intake as QA found it: every file accounted for (processed, flagged, left
for the next run or quarantined with a reason), never its own state, never a file still being
written, and a quarantine copy that is exactly the bytes that were fingerprinted and read."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from arflow import intake, pipeline
from arflow.cli import cli
from arflow.errors import ConfigError
from arflow.runner import run_batch
from arflow.settings import load_settings

DATA = Path(__file__).resolve().parents[1] / "data"
INVOICES = sorted((DATA / "invoices").glob("*.pdf"))


def _sources(runner: CliRunner) -> dict[str, str]:
    out = runner.invoke(cli, ["report", "--json"]).output
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {row["source"]: row["status"] for row in rows}


def _run(runner: CliRunner, inbox: Path) -> str:
    result = runner.invoke(cli, ["run", "--inbox", str(inbox), "--engine", "plain"])
    assert result.exit_code == 0, result.output
    return result.output


def _old(path: Path, seconds: float = 60) -> None:
    """As if written a while ago (and finished since)."""
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.mark.parametrize("home_name", [".arflow", "state"])
def test_run_never_takes_its_own_state_or_hidden_folders(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home_name: str,
) -> None:
    """`cd inbox && arflow run --inbox .` with ARFLOW_HOME inside the inbox (hidden by
    default, or not): its database, reports and quarantine are never documents, and a
    hidden folder of the inbox is left alone; a second run adds nothing."""
    inbox = tmp_path / "inbox"
    (inbox / "in" / ".hidden_dir").mkdir(parents=True)
    shutil.copy2(INVOICES[0], inbox / "in" / "001.pdf")
    shutil.copy2(INVOICES[9], inbox / "in" / ".hidden_dir" / "010.pdf")
    (inbox / "in" / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    _old(inbox / "in" / "broken.pdf")
    monkeypatch.setenv("ARFLOW_HOME", home_name)  # relative: resolved in the inbox
    monkeypatch.chdir(inbox)
    for _ in range(3):
        _run(runner, Path("."))
        sources = _sources(runner)
        assert sorted(sources) == ["001.pdf", "broken.pdf"] and sources["broken.pdf"] == "failed"
    quarantine = inbox / home_name / "quarantine"
    copies = sorted(p.name for p in quarantine.iterdir() if not p.name.endswith(".reason.json"))
    assert copies == [f"{hashlib.sha256(b'%PDF-1.4 truncated').hexdigest()[:12]}-broken.pdf"]
    assert (quarantine / f"{copies[0]}.reason.json").is_file()


def test_run_leaves_a_file_still_being_written_for_the_next_run(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """QA: 1000 bytes of a PDF written, the rest 8 s later, a run in between. The partial
    file is not read (no `failed` document, no quarantine copy); the next run after it is
    finished reads it whole."""
    monkeypatch.setenv("ARFLOW_SETTLE_SECONDS", "2")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy2(INVOICES[1], inbox / "done.pdf")  # copy2: an old modification time
    whole = INVOICES[0].read_bytes()
    (inbox / "partial.pdf").write_bytes(whole[:1000])
    shown = _run(runner, inbox)
    assert f"left for the next run (still being written): {inbox / 'partial.pdf'}" in shown
    assert list(_sources(runner)) == ["done.pdf"]
    assert not (tmp_path / "home" / "quarantine").exists()
    (inbox / "partial.pdf").write_bytes(whole)
    _old(inbox / "partial.pdf")
    _run(runner, inbox)
    sources = _sources(runner)
    assert sorted(sources) == ["done.pdf", "partial.pdf"] and sources["partial.pdf"] != "failed"


def test_a_file_that_changes_while_fingerprinted_is_left_for_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Old enough to look finished, but written to again while its hash was computed: its
    size and modification time differ from discovery's, so it is not taken this run."""
    monkeypatch.setenv("ARFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARFLOW_WORKERS", "1")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    target = inbox / "growing.pdf"
    target.write_bytes(INVOICES[0].read_bytes()[:1000])
    _old(target)
    real = intake.sha256_of
    appended: list[Path] = []

    def hash_then_append(path: Path, chunk: int = 1 << 20) -> str:
        digest = real(path, chunk)
        if path == target and not appended:
            appended.append(path)
            with path.open("ab") as handle:
                handle.write(b"more bytes")
        return digest

    monkeypatch.setattr(intake, "sha256_of", hash_then_append)
    summary = run_batch(load_settings(), inbox)
    assert summary.processed == 0 and not summary.quarantined
    assert getattr(summary, "waiting", None) == [str(target)]


def test_quarantine_copy_is_the_bytes_that_were_fingerprinted_and_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The file is replaced after it was fingerprinted: the quarantine copy still holds the
    bytes whose hash names it (the ones read), and its reason file says the file changed."""
    monkeypatch.setenv("ARFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARFLOW_WORKERS", "1")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    original = b"%PDF-1.4\n" + b"\x00garbage" * 20
    path = inbox / "corrupt.pdf"
    path.write_bytes(original)
    _old(path)
    real = pipeline.extract_all

    def replace_then_extract(*args, **kwargs):  # type: ignore[no-untyped-def]
        path.write_bytes(b"%PDF-1.7 something else entirely, and longer" * 100)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "extract_all", replace_then_extract)
    summary = run_batch(load_settings(), inbox)
    assert summary.by_status == {"failed": 1}
    (copy,) = (Path(p) for p in summary.quarantined)
    assert copy.read_bytes() == original
    assert copy.name == f"{hashlib.sha256(original).hexdigest()[:12]}-corrupt.pdf"
    reason = json.loads(copy.with_name(copy.name + ".reason.json").read_text())
    assert reason["source"] == str(path)
    assert reason["sha256"] == hashlib.sha256(original).hexdigest()
    assert "changed" in reason.get("note", "")
    assert list((tmp_path / "home" / "staging").iterdir()) == []  # private copies removed


def test_an_inbox_arflow_may_not_read_is_refused_before_any_engine_starts(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """QA: with the Prefect engine, `arflow run --inbox $ARFLOW_HOME` printed two tracebacks
    (the flow run's) before its configuration error; it is now said before Prefect starts."""
    import flows.batch

    def started(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the Prefect flow was started")

    monkeypatch.setattr(flows.batch, "batch_run", started)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    for inbox, said in ((home, "ARFLOW_HOME itself"),
                        (home / "quarantine", "inside arflow's own folder")):
        inbox.mkdir(exist_ok=True)
        result = runner.invoke(cli, ["run", "--inbox", str(inbox)])  # the prefect engine
        assert isinstance(result.exception, ConfigError), result.output
        assert said in str(result.exception)
