"""The drop folder: stability, archive/quarantine moves, duplicates, crash windows, watch."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from arflow.db import make_engine, session_scope
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
    summary = poll_task.fn(str(inbox), 0.05, settings.database_url)
    assert summary.outcomes == {"processed": 1, "quarantined": 1}
    assert (summary.busy, summary.errors) == (0, [])


def test_an_unexpected_error_fails_that_file_and_the_others_go_on(
    settings: Settings, inbox: Path, pdfs: list[Path]
) -> None:
    """An extractor's bug fails that file with INTERNAL_ERROR (quarantined, its bytes kept,
    `arflow retry --reason INTERNAL_ERROR` once fixed), as in `arflow run`; before, the file
    was left in place and failed again on every pass."""
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
    assert summary.outcomes == {"processed": 1, "quarantined": 1} and not summary.errors
    assert list(inbox.iterdir()) == []
    [reason] = folder.quarantine.glob("*poison.pdf.reason.json")
    assert "extractor bug" in reason.read_text() and "INTERNAL_ERROR" in reason.read_text()
    [kept] = folder.quarantine.glob("*poison.pdf")
    assert kept.read_bytes() == pdfs[0].read_bytes()
    assert _count(ctx, db.Invoice) == 1


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


# --- Links and read-only folders (QA): bytes archived for real, nothing silent, no tracebacks ---


def _drop_rows(ctx: IngestContext) -> dict[str, tuple[str, str | None]]:
    with session_scope(ctx.engine) as session:
        return {row.name: (row.outcome, row.moved_at and row.target_path)
                for row in session.scalars(select(db.DropFile))}


def test_a_linked_file_is_archived_as_its_bytes_and_only_the_link_is_removed(
    settings: Settings, inbox: Path, pdfs: list[Path], tmp_path: Path
) -> None:
    """`ln -s /elsewhere/004.pdf drop/link004.pdf`: the archive holds a regular file with the
    bytes that were processed; the link leaves the drop folder; its target is not ours."""
    elsewhere = tmp_path / "elsewhere" / "004.pdf"
    elsewhere.parent.mkdir()
    shutil.copy(pdfs[0], elsewhere)
    (inbox / "link004.pdf").symlink_to(elsewhere)
    ctx, folder = _ctx_folder(settings, inbox)
    assert poll_once(ctx, folder).outcomes == {"processed": 1}
    (archived,) = folder.archive.rglob("link004.pdf")
    assert not archived.is_symlink() and archived.read_bytes() == pdfs[0].read_bytes()
    assert not list(inbox.iterdir())
    assert elsewhere.is_file() and not elsewhere.is_symlink()
    assert elsewhere.read_bytes() == pdfs[0].read_bytes()
    assert _count(ctx, db.Invoice) == 1


def test_links_that_are_not_files_are_quarantined_once_with_a_reason(
    settings: Settings, inbox: Path, pdfs: list[Path], tmp_path: Path
) -> None:
    """A dangling link, a link to a folder outside and a link looping back to the drop folder
    are never followed: each is moved to quarantine (as the link it is) with a reason file
    naming where it points, recorded once; what they point to is left alone."""
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(pdfs[1], outside / "not-ours.pdf")
    (inbox / "dangling.pdf").symlink_to(tmp_path / "nowhere.pdf")
    (inbox / "linked-folder").symlink_to(outside, target_is_directory=True)
    (inbox / "sub").mkdir()
    (inbox / "sub" / "loop").symlink_to(inbox, target_is_directory=True)
    ctx, folder = _ctx_folder(settings, inbox)
    assert poll_once(ctx, folder).outcomes == {"quarantined": 3}
    assert [p.name for p in inbox.rglob("*")] == ["sub"]
    assert [p.name for p in outside.iterdir()] == ["not-ours.pdf"]
    for name, points_to in (("dangling.pdf", tmp_path / "nowhere.pdf"),
                            ("linked-folder", outside), ("loop", inbox)):
        kept = folder.quarantine / name
        assert kept.is_symlink() and kept.readlink() == points_to
        reason = kept.with_name(name + ".reason.json").read_text()
        assert "UNREADABLE_DOCUMENT" in reason and str(points_to) in reason
    assert {name: outcome for name, (outcome, _) in _drop_rows(ctx).items()} == {
        "dangling.pdf": "quarantined", "linked-folder": "quarantined", "loop": "quarantined"}
    assert poll_once(ctx, folder).outcomes == {} and _count(ctx, db.Document) == 0


def _fail_removals_under(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every unlink under `folder` fails as on a read-only file system (EROFS)."""
    real = os.unlink

    def unlink(path: Any, *args: Any, **kwargs: Any) -> None:
        if Path(path).is_relative_to(folder):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        real(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)


def test_a_read_only_drop_folder_is_one_error_per_pass_and_nothing_is_taken_twice(
    settings: Settings, inbox: Path, pdfs: list[Path], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Simulated (EROFS on every removal in the folder; `test_a_really_read_only_drop_folder`
    does it for real): the files are processed once, their copies archived or quarantined,
    each quarantine copy with its reason file; each pass reports the folder once, with no
    traceback, and a later pass processes nothing again."""
    shutil.copy(pdfs[0], inbox / "good.pdf")
    (inbox / "bad.pdf").write_bytes(b"not a pdf at all")
    _fail_removals_under(inbox, monkeypatch)
    ctx, folder = _ctx_folder(settings, inbox)
    first = poll_once(ctx, folder)
    assert first.outcomes == {"processed": 1, "quarantined": 1}
    assert len(first.errors) == 1 and str(inbox) in first.errors[0]
    assert "cannot be written" in first.errors[0] and "Read-only" in first.errors[0]
    assert (folder.quarantine / "bad.pdf.reason.json").is_file()
    assert [p.name for p in folder.archive.rglob("*.pdf")] == ["good.pdf"]
    second = poll_once(ctx, folder)
    assert second.outcomes == {} and second.errors == first.errors
    assert not [r for r in caplog.records if r.exc_info]
    assert _count(ctx, db.Document) == 2 and _count(ctx, db.DropFile) == 2
    assert _count(ctx, db.Invoice) == 1
    monkeypatch.undo()  # writable again: the next pass only finishes the moves
    assert poll_once(ctx, folder).outcomes == {"resumed": 2} and not list(inbox.iterdir())


@contextmanager
def _read_only(folder: Path) -> Iterator[Path]:
    """`folder` read-only for real: `chmod a-w` when not root; as root (chmod does not stop
    root) a read-only bind mount of it, or a skip when mounting is not allowed here."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    mount = folder.with_name(folder.name + "-ro")
    mount.mkdir()
    bind = subprocess.run(["mount", "--bind", str(folder), str(mount)], capture_output=True,
                          check=False)
    if bind.returncode != 0:
        pytest.skip(f"no bind mount here: {bind.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(mount)], check=True,
                       capture_output=True)
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True, capture_output=True)


def _poll(inbox: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ARFLOW_HOME=str(home), ARFLOW_WORKERS="1",
               PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    env.pop("ARFLOW_DATABASE_URL", None)
    arflow = Path(sys.executable).with_name("arflow")
    return subprocess.run([str(arflow), "poll", str(inbox), "--stable-delay", "0.05"],
                          env=env, capture_output=True, text=True, timeout=180, check=False)


def test_a_really_read_only_drop_folder(tmp_path: Path, pdfs: list[Path]) -> None:
    """The QA report, with a real `arflow poll` on a read-only folder: one clear error per
    pass naming the folder, no traceback, the quarantine copy with its reason file, and the
    second pass takes nothing again."""
    drop, home = tmp_path / "drop", tmp_path / "home"
    drop.mkdir()
    shutil.copy(pdfs[2], drop / "004.pdf")
    (drop / "bad.pdf").write_bytes(b"not a pdf at all")
    with _read_only(drop) as inbox:
        passes = [_poll(inbox, home), _poll(inbox, home)]
        assert sorted(p.name for p in inbox.iterdir()) == ["004.pdf", "bad.pdf"]
    for number, done in enumerate(passes):
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        errors = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(errors) == 1 and f"{inbox} cannot be written" in errors[0], done.stderr
        assert ("processed" in done.stdout) == (number == 0), done.stdout
    assert (home / "quarantine" / "bad.pdf.reason.json").is_file()
    assert [p.name for p in (home / "archive").rglob("*.pdf")] == ["004.pdf"]
    with session_scope(make_engine(f"sqlite:///{home / 'arflow.db'}")) as session:
        rows = session.execute(select(db.DropFile.name, db.DropFile.outcome)).all()
        assert sorted(rows) == [("004.pdf", "processed"), ("bad.pdf", "quarantined")]
        assert session.scalar(select(func.count()).select_from(db.Document)) == 2
