"""The drop folder: stability, archive/quarantine moves, duplicates, crash windows, watch."""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from arflow.db import session_scope
from arflow.intake import fingerprint
from arflow.masterdata import import_csv
from arflow.settings import Settings, load_settings
from generator.invoices import generate_documents
from ingest import dropfolder, moves
from ingest.documents import IngestContext, open_context
from ingest.dropfolder import DropFolder, poll_once
from ingest.stability import StabilityTracker
from ingest.watch import watch
from models import db, repo


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return generate_documents(tmp_path_factory.mktemp("gen"), 3, seed=5)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    base = load_settings({"ARFLOW_HOME": str(tmp_path / "home")})
    return replace(base, database_url=db_url, workers=1)


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    path = tmp_path / "inbox"
    path.mkdir()
    return path


def _ctx_folder(settings: Settings, inbox: Path) -> tuple[IngestContext, DropFolder]:
    folder = DropFolder.from_settings(settings, inbox, stable_delay=0.05)
    return open_context(settings, "drop:test"), folder


def _count(ctx: IngestContext, model: type[db.Base]) -> int:
    with session_scope(ctx.engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_growing_file_is_not_stable_until_unchanged_for_the_delay(tmp_path: Path) -> None:
    clock = FakeClock()
    tracker = StabilityTracker(delay=2.0, clock=clock)
    path = tmp_path / "scan.pdf"
    path.write_bytes(b"a")
    assert tracker.observe([path]) == []
    clock.now = 1.0
    path.write_bytes(b"ab")  # grew: the clock restarts
    assert tracker.observe([path]) == []
    clock.now = 2.5
    assert tracker.observe([path]) == []
    clock.now = 3.1
    assert tracker.observe([path]) == [path]
    path.unlink()
    assert tracker.observe([path]) == [] and tracker.waiting() == 0


def test_poll_archives_quarantines_ignores_and_records_duplicates(
    settings: Settings, inbox: Path, pdfs: list[Path]
) -> None:
    for pdf in pdfs:
        shutil.copy(pdf, inbox / pdf.name)
    shutil.copy(pdfs[0], inbox / "same-bytes.pdf")
    (inbox / "broken.pdf").write_bytes(b"%PDF-1.7 not really")
    for ignored in ("upload.pdf.part", ".hidden.pdf", "x.tmp", "~$lock.pdf"):
        (inbox / ignored).write_bytes(b"ignored")
    ctx, folder = _ctx_folder(settings, inbox)
    summary = poll_once(ctx, folder)
    assert summary.outcomes == {"processed": 3, "duplicate": 1, "quarantined": 1}
    archived = sorted(p.name for p in folder.archive.rglob("*.pdf"))
    assert archived == sorted([p.name for p in pdfs] + ["same-bytes.pdf"])
    assert all(p.parent.parent.parent == folder.archive for p in folder.archive.rglob("*.pdf"))
    reason = folder.quarantine / "broken.pdf.reason.json"
    assert (folder.quarantine / "broken.pdf").is_file() and '"code"' in reason.read_text()
    assert sorted(p.name for p in inbox.iterdir()) == sorted(
        ["upload.pdf.part", ".hidden.pdf", "x.tmp", "~$lock.pdf"])
    assert _count(ctx, db.Document) == 4 and _count(ctx, db.Invoice) == 3


def test_same_bytes_dropped_again_later_are_a_duplicate_not_processed(
    settings: Settings, inbox: Path, pdfs: list[Path]
) -> None:
    ctx, folder = _ctx_folder(settings, inbox)
    shutil.copy(pdfs[1], inbox / "invoice.pdf")
    assert poll_once(ctx, folder).outcomes == {"processed": 1}
    shutil.copy(pdfs[1], inbox / "invoice.pdf")
    assert poll_once(ctx, folder).outcomes == {"duplicate": 1}
    assert len(list(folder.archive.rglob("invoice*.pdf"))) == 2  # both kept, names differ
    assert _count(ctx, db.Document) == 1 and _count(ctx, db.DropFile) == 2


def test_a_crash_between_commit_and_move_only_moves_on_restart(
    settings: Settings, inbox: Path, pdfs: list[Path]
) -> None:
    ctx, folder = _ctx_folder(settings, inbox)
    path = inbox / pdfs[2].name
    shutil.copy(pdfs[2], path)
    plan = dropfolder._plan(ctx, folder, fingerprint(path))  # committed, then "crash"
    assert plan is not None and path.exists() and _count(ctx, db.Invoice) == 1
    summary = poll_once(ctx, folder)
    assert summary.outcomes == {"resumed": 1}  # only the move was left to do
    assert not path.exists() and plan.target.is_file()
    assert _count(ctx, db.DropFile) == 1 and _count(ctx, db.Invoice) == 1
    with session_scope(ctx.engine) as session:
        assert session.scalar(select(db.DropFile.moved_at)) is not None


def test_moves_are_idempotent_and_never_overwrite_another_file(tmp_path: Path) -> None:
    source, target = tmp_path / "a.pdf", tmp_path / "out" / "a.pdf"
    source.write_bytes(b"one")
    assert moves.move_file(source, target) == target and target.read_bytes() == b"one"
    assert moves.move_file(source, target) is None  # already moved: nothing happens
    other = tmp_path / "b" / "a.pdf"  # another file of the same name, same target chosen
    other.parent.mkdir()
    other.write_bytes(b"other bytes")
    went = moves.move_file(other, target)
    assert went == target.with_name("a-1.pdf") and went.read_bytes() == b"other bytes"
    assert target.read_bytes() == b"one" and not other.exists()
    taken = moves.free_name(target.parent, "a.pdf", "abc")
    assert taken.name == "a.abc.pdf"
    taken.write_bytes(b"two")
    assert moves.free_name(target.parent, "a.pdf", "abc").name == "a.abc-2.pdf"


def _reasons(ctx: IngestContext) -> dict[str, list[str]]:
    with session_scope(ctx.engine) as session:
        return {r["source"]: r["reasons"] for r in repo.report_rows(session)}


def test_a_resent_copy_in_the_same_pass_is_a_duplicate_invoice(
    settings: Settings, inbox: Path, pdfs: list[Path]
) -> None:
    """Other bytes (a resend), the same seller and number, dropped in the same pass: the
    files of one pass are decided one after the other like a batch, so the copy is seen."""
    shutil.copy(pdfs[2], inbox / "a-original.pdf")
    (inbox / "b-resent.pdf").write_bytes(pdfs[2].read_bytes() + b"\n% resent\n")
    ctx, folder = _ctx_folder(settings, inbox)
    assert poll_once(ctx, folder).outcomes == {"processed": 2}
    reasons = _reasons(ctx)
    assert "DUPLICATE_INVOICE" not in reasons["a-original.pdf"]
    assert "DUPLICATE_INVOICE" in reasons["b-resent.pdf"]


def test_each_pass_reads_the_master_data_again(
    settings: Settings, inbox: Path, pdfs: list[Path], tmp_path: Path,
) -> None:
    """A seller added to the party master between two passes of one long-running context
    (`arflow watch`) is known to the second pass."""
    ctx, folder = _ctx_folder(settings, inbox)
    shutil.copy(pdfs[0], inbox / "first.pdf")
    poll_once(ctx, folder)
    assert "UNKNOWN_PARTY" in _reasons(ctx)["first.pdf"]
    with session_scope(ctx.engine) as session:
        seller = repo.report_rows(session)[0]["invoice"]["seller"]
        parties = tmp_path / "parties.csv"
        parties.write_text(f"name,tax_id,iban,email\n\"{seller['name']}\",{seller['tax_id']},,\n",
                           encoding="utf-8")
        import_csv(session, "parties", parties)
    (inbox / "second.pdf").write_bytes(pdfs[0].read_bytes() + b"\n% again\n")
    poll_once(ctx, folder)
    assert "UNKNOWN_PARTY" not in _reasons(ctx)["second.pdf"]


@pytest.mark.parametrize("polling", [False, True], ids=["events", "polling"])
def test_watch_takes_a_file_dropped_while_running(
    tmp_path: Path, inbox: Path, pdfs: list[Path], polling: bool
) -> None:
    settings = replace(load_settings({"ARFLOW_HOME": str(tmp_path / "home")}), workers=1)
    ctx, folder = _ctx_folder(settings, inbox)
    stop = threading.Event()
    runner = threading.Thread(target=watch, args=(ctx, folder),
                              kwargs={"interval": 0.2, "polling": polling, "stop": stop})
    runner.start()
    try:
        shutil.copy(pdfs[0], inbox / "late.pdf")
        deadline = time.monotonic() + 30
        while not list(folder.archive.rglob("late.pdf")) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        runner.join(timeout=10)
    assert list(folder.archive.rglob("late.pdf")) and not runner.is_alive()


def test_the_poll_flow_task_runs_one_pass(
    settings: Settings, inbox: Path, pdfs: list[Path]
) -> None:
    from flows.poll import poll_task

    shutil.copy(pdfs[0], inbox / "a.pdf")
    (inbox / "b.pdf").write_bytes(b"not a pdf at all")
    counts = poll_task.fn(str(inbox), 0.05, settings.database_url)
    assert counts == {"processed": 1, "quarantined": 1, "busy": 0}


def test_an_unexpected_error_leaves_that_file_in_place_and_the_others_go_on(
    settings: Settings, inbox: Path, pdfs: list[Path]
) -> None:
    from extractors.api import register_extractor, unregister_extractor

    def explode(_probe: object, _settings: object) -> None:
        raise RuntimeError("extractor bug")

    shutil.copy(pdfs[0], inbox / "poison.pdf")
    shutil.copy(pdfs[1], inbox / "fine.pdf")
    ctx, folder = _ctx_folder(settings, inbox)
    register_extractor(lambda probe: probe.path.name == "poison.pdf", explode)  # type: ignore[arg-type]
    try:
        summary = poll_once(ctx, folder)
    finally:
        unregister_extractor(explode)  # type: ignore[arg-type]
    assert summary.outcomes == {"processed": 1} and "extractor bug" in summary.errors[0]
    assert [p.name for p in inbox.iterdir()] == ["poison.pdf"]
    assert poll_once(ctx, folder).outcomes == {"processed": 1}  # fixed: taken on the next pass
    assert _count(ctx, db.Invoice) == 2


def test_one_pass_over_two_processes_takes_each_file_once(
    settings: Settings, inbox: Path, pdfs: list[Path]
) -> None:
    from ingest.parallel import take_in_processes

    for pdf in pdfs:
        shutil.copy(pdf, inbox / pdf.name)
        shutil.copy(pdf, inbox / f"copy-{pdf.name}")
    ctx, folder = _ctx_folder(settings, inbox)
    summary = take_in_processes(settings, folder, folder.candidates(), processes=2)
    assert summary.outcomes["processed"] == 3 and not summary.errors
    # a copy met while its twin is being processed elsewhere is left for the next pass
    assert len(list(inbox.iterdir())) == summary.busy == 3 - summary.outcomes.get("duplicate", 0)
    rest = poll_once(ctx, folder)
    assert rest.outcomes.get("duplicate", 0) == summary.busy and not list(inbox.iterdir())
    assert _count(ctx, db.Document) == 3 and _count(ctx, db.DropFile) == 6
