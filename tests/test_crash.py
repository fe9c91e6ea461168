"""Crash safety of the drop folder: `arflow poll` killed with SIGKILL mid-batch, then rerun.

Every file must end exactly once in archive/ or quarantine/, every content hash exactly once
as a document, no document left half-done, one ledger row per dropped file."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from arflow.db import make_engine, session_scope
from arflow.intake import sha256_of
from generator.invoices import generate_documents
from models import db

REPO = Path(__file__).resolve().parent.parent
ARFLOW = Path(sys.executable).with_name("arflow")
GOOD, CORRUPT, COPIES = 50, 4, 2

pytestmark = pytest.mark.slow


def _drop(tmp: Path, seed: int) -> dict[str, str]:
    """Fill tmp/inbox with good, corrupt and byte-identical files; name -> sha256."""
    generated = tmp / "generated"
    pdfs = generate_documents(generated, GOOD, seed)
    inbox = tmp / "inbox"
    inbox.mkdir()
    for pdf in pdfs:
        shutil.copy(pdf, inbox / pdf.name)
    for i in range(CORRUPT):
        (inbox / f"corrupt_{i}.pdf").write_bytes(b"%PDF-1.4\n" + os.urandom(200 + i))
    for i in range(COPIES):
        shutil.copy(pdfs[i], inbox / f"copy_of_{pdfs[i].name}")
    (inbox / "scan.pdf.part").write_bytes(b"still being written")
    (inbox / ".hidden.pdf").write_bytes(b"hidden")
    return {p.name: sha256_of(p) for p in inbox.iterdir() if p.name[0] != "." and
            not p.name.endswith(".part")}


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ, ARFLOW_HOME=str(home), ARFLOW_WORKERS="1", PYTHONPATH=str(REPO))
    env.pop("ARFLOW_DATABASE_URL", None)
    return env


def _poll(tmp: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(ARFLOW), "poll", str(tmp / "inbox"), "--stable-delay", "0"],
                            env=_env(tmp / "home"), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def _moved(home: Path) -> list[Path]:
    """Files moved out of the inbox into the home's folders. The OCR page cache (``cache/``,
    made and removed while a scan is read) is left out: walking it raced its removal
    (os.walk skips a folder gone meanwhile, where Path.rglob raised FileNotFoundError)."""
    found = []
    for root, dirs, files in os.walk(home):
        dirs[:] = [d for d in dirs if d != "cache"]
        if Path(root) != home:
            found += [Path(root, f) for f in files
                      if not f.endswith(".reason.json") and not f.startswith(".")]
    return found


def _kill_midway(tmp: Path, rng: random.Random) -> int:
    """Start a poll and SIGKILL it once a random number of files has been moved."""
    threshold = len(_moved(tmp / "home")) + rng.randint(1, GOOD // 3)
    proc = _poll(tmp)
    deadline = time.monotonic() + 60
    while len(_moved(tmp / "home")) < threshold and proc.poll() is None:
        assert time.monotonic() < deadline, "poll made no progress"
        time.sleep(0.01)
    time.sleep(rng.uniform(0, 0.15))  # land anywhere inside a document's handling
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return len(_moved(tmp / "home"))


def _check(tmp: Path, dropped: dict[str, str]) -> None:
    home = tmp / "home"
    leftover = {p.name for p in (tmp / "inbox").iterdir()}
    assert leftover == {"scan.pdf.part", ".hidden.pdf"}, "a dropped file was left behind"
    moved = Counter(sha256_of(p) for p in _moved(home))
    assert sum(moved.values()) == len(dropped), "a file is missing or was copied twice"
    assert moved == Counter(dropped.values())
    quarantined = [p for p in (home / "quarantine").iterdir() if p.suffix == ".pdf"]
    assert len(quarantined) == CORRUPT
    assert all(p.with_name(p.name + ".reason.json").is_file() for p in quarantined)
    engine = make_engine(f"sqlite:///{home / 'arflow.db'}")
    with session_scope(engine) as session:
        shas = list(session.scalars(select(db.Document.sha256)))
        assert sorted(shas) == sorted(set(dropped.values())), "a document is missing or doubled"
        assert session.scalar(select(func.count()).where(db.Document.status == "received")) == 0
        rows = session.execute(select(db.DropFile.name, db.DropFile.outcome)).all()
        assert sorted(name for name, _ in rows) == sorted(dropped), "one ledger row per file"
        assert Counter(o for _, o in rows) == {"processed": GOOD, "quarantined": CORRUPT,
                                               "duplicate": COPIES}
        invoices = session.scalar(select(func.count()).select_from(db.Invoice))
        assert invoices == GOOD, "an invoice row is missing or duplicated"
    engine.dispose()


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_sigkill_mid_batch_then_rerun_takes_every_file_exactly_once(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    dropped = _drop(tmp_path, seed)
    for _ in range(2):  # two kills at random points, then a run to the end
        moved = _kill_midway(tmp_path, rng)
        assert 0 < moved < len(dropped), "the kill must land mid-batch"
    rerun = _poll(tmp_path)
    output, _ = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, output.decode()
    _check(tmp_path, dropped)
