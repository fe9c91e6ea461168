import os
import time
from pathlib import Path

import pytest

from arflow.errors import ConfigError
from arflow.intake import (
    InboxFile,
    Waiting,
    discover,
    fingerprint,
    is_candidate,
    settle_window,
    settled,
    stage,
    state_paths,
    unique_by_content,
)
from arflow.settings import Settings, load_settings


def test_discover_ignores_hidden_temporary_and_sidecar_files(tmp_path: Path) -> None:
    for name in ("a.pdf", "b.PNG", ".hidden.pdf", "c.pdf.part", "d.tmp", "a.gt.json", "~$lock"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "e.xml").write_bytes(b"<x/>")
    assert [p.name for p in discover(tmp_path)] == ["a.pdf", "b.PNG", "e.xml"]


def test_directories_are_not_candidates(tmp_path: Path) -> None:
    assert not is_candidate(tmp_path)


def test_same_bytes_under_two_names_are_one_document(tmp_path: Path) -> None:
    (tmp_path / "one.pdf").write_bytes(b"%PDF-same")
    (tmp_path / "two.pdf").write_bytes(b"%PDF-same")
    (tmp_path / "three.pdf").write_bytes(b"%PDF-other")
    files = [fingerprint(p) for p in discover(tmp_path)]
    first, repeats = unique_by_content(files)
    assert [f.name for f in first] == ["one.pdf", "three.pdf"]
    assert [f.name for f in repeats] == ["two.pdf"]
    assert files[0].sha256 == files[2].sha256 and files[0].size == 9


def test_missing_inbox_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a directory"):
        discover(tmp_path / "missing")


def test_discover_skips_every_hidden_folder_relative_to_the_inbox(tmp_path: Path) -> None:
    inbox = tmp_path / ".visible-inbox-in-a-hidden-place"
    (inbox / "in" / ".hidden_dir" / "deeper").mkdir(parents=True)
    (inbox / "in" / "001.pdf").write_bytes(b"x")
    (inbox / "in" / ".hidden_dir" / "010.pdf").write_bytes(b"x")
    (inbox / "in" / ".hidden_dir" / "deeper" / "011.pdf").write_bytes(b"x")
    assert [p.relative_to(inbox).as_posix() for p in discover(inbox)] == ["in/001.pdf"]


def test_discover_leaves_out_excluded_folders_and_files(tmp_path: Path) -> None:
    (tmp_path / "state" / "quarantine").mkdir(parents=True)
    (tmp_path / "state" / "quarantine" / "q.pdf").write_bytes(b"x")
    (tmp_path / "a.pdf").write_bytes(b"x")
    (tmp_path / "own.db").write_bytes(b"x")
    found = discover(tmp_path, exclude=[tmp_path / "state", tmp_path / "own.db"])
    assert [p.name for p in found] == ["a.pdf"]


def _settings(home: Path, url: str | None = None) -> Settings:
    env = {"ARFLOW_HOME": str(home)} | ({"ARFLOW_DATABASE_URL": url} if url else {})
    return load_settings(env)


def test_state_paths_keep_arflows_own_files_out_of_an_inbox_holding_them(tmp_path: Path) -> None:
    """The home inside the inbox, and a SQLite database configured elsewhere in it."""
    inbox = tmp_path / "inbox"
    (inbox / "home" / "reports").mkdir(parents=True)
    (inbox / "home" / "reports" / "batch-1.csv").write_text("source\n")
    for name in ("own.db", "own.db-wal", "own.db-shm", "a.pdf"):
        (inbox / name).write_bytes(b"x")
    settings = _settings(inbox / "home", f"sqlite:///{inbox / 'own.db'}")
    assert [p.name for p in discover(inbox, state_paths(settings, inbox))] == ["a.pdf"]


def test_an_inbox_inside_the_home_is_read_but_not_the_home_or_its_state(tmp_path: Path) -> None:
    home = tmp_path / "srv"
    (home / "inbox").mkdir(parents=True)
    (home / "inbox" / "a.pdf").write_bytes(b"x")
    assert [p.name for p in discover(home / "inbox", state_paths(_settings(home), home / "inbox"))
            ] == ["a.pdf"]
    with pytest.raises(ConfigError, match="ARFLOW_HOME itself"):
        state_paths(_settings(home), home)
    (home / "quarantine").mkdir()
    with pytest.raises(ConfigError, match="inside arflow's own folder"):
        state_paths(_settings(home), home / "quarantine")


def test_settle_window_from_the_environment() -> None:
    assert settle_window({}) == 2.0
    assert settle_window({"ARFLOW_SETTLE_SECONDS": "0"}) == 0.0
    for bad in ("-1", "soon", "nan"):
        with pytest.raises(ConfigError, match="ARFLOW_SETTLE_SECONDS"):
            settle_window({"ARFLOW_SETTLE_SECONDS": bad})


def test_settled_leaves_out_files_modified_within_the_window(tmp_path: Path) -> None:
    old, new = tmp_path / "old.pdf", tmp_path / "new.pdf"
    for path, age in ((old, 10.0), (new, 0.5)):
        path.write_bytes(b"x")
        os.utime(path, (time.time() - age, time.time() - age))
    ready, waiting = settled([old, new, tmp_path / "gone.pdf"], 2.0)
    assert [p for p, _ in ready] == [old]
    assert [w.path for w in waiting] == [new] and "still being written" in waiting[0].why


def test_a_staged_copy_holds_the_fingerprinted_bytes_or_none(tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    path.write_bytes(b"%PDF-first")
    file = fingerprint(path)
    staged = stage(file, tmp_path / "staging")
    assert isinstance(staged, InboxFile) and staged.content.read_bytes() == b"%PDF-first"
    assert staged.content.name == "a.pdf" and staged.path == path
    path.write_bytes(b"%PDF-second")
    left = stage(file, tmp_path / "staging-2")
    assert isinstance(left, Waiting) and "changed" in left.why
    assert not any((tmp_path / "staging-2").rglob("*.pdf"))
