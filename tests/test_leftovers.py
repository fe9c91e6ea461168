"""Working folders a crashed batch left behind (`arflow.leftovers`): `arflow run` killed with
SIGKILL while it reads its staged copies leaves `staging/batch-*`; the next run removes it,
and never a folder whose batch is still alive."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from arflow import leftovers
from generator.invoices import generate_documents

REPO = Path(__file__).resolve().parent.parent
ARFLOW = Path(sys.executable).with_name("arflow")
_HOLD = """
import sys, time
from pathlib import Path
from arflow import leftovers
folder, _ = leftovers.make(Path(sys.argv[1]), "batch-")
print(folder, flush=True)
time.sleep(600)
"""


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ, ARFLOW_HOME=str(home), ARFLOW_WORKERS="1", PYTHONPATH=str(REPO),
               ARFLOW_SETTLE_SECONDS="0")
    env.pop("ARFLOW_DATABASE_URL", None)
    return env


def _age(folder: Path, seconds: float) -> None:
    """Date the folder's owner file back, as if its batch had started `seconds` ago."""
    owner = folder / leftovers.OWNER
    then = time.time() - seconds
    os.utime(owner, (then, then))


def _batches(home: Path) -> list[Path]:
    staging = home / "staging"
    return sorted(staging.glob("batch-*")) if staging.is_dir() else []


def _staged(home: Path) -> list[Path]:
    """The copies in a staging folder (named by their content hash)."""
    return [p for folder in _batches(home) for p in folder.iterdir() if p.name != leftovers.OWNER]


def _kill_while_staged(home: Path, inbox: Path) -> Path:
    proc = subprocess.Popen([str(ARFLOW), "run", "--inbox", str(inbox)], env=_env(home),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not _staged(home) and proc.poll() is None:
        assert time.monotonic() < deadline, "the run never staged its files"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    found = _batches(home)
    assert len(found) == 1, "the kill must land while the batch holds its staging folder"
    return found[0]


@pytest.mark.slow
def test_a_killed_runs_staging_folder_is_removed_by_the_next_run(tmp_path: Path) -> None:
    home, inbox = tmp_path / "home", tmp_path / "inbox"
    inbox.mkdir()
    for pdf in generate_documents(tmp_path / "generated", 12, seed=4242):
        shutil.copy(pdf, inbox / pdf.name)
    subprocess.run([str(ARFLOW), "db", "upgrade"], env=_env(home), check=True,
                   capture_output=True)
    left = _kill_while_staged(home, inbox)
    assert _staged(home), "the staged copies stay behind"
    _age(left, 2 * leftovers.YOUNG_S)
    rerun = subprocess.run([str(ARFLOW), "run", "--inbox", str(inbox)], env=_env(home),
                           capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert not left.exists()
    assert _batches(home) == [], "the rerun removes its own folder as well"


def test_a_living_batchs_folder_is_kept_however_old(tmp_path: Path) -> None:
    root = tmp_path / "staging"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(root)], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        folder = Path(holder.stdout.readline().strip())
        _age(folder, 10 * leftovers.ORPHAN_S)
        assert leftovers.sweep(root, "batch-") == []
        assert folder.is_dir()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert leftovers.sweep(root, "batch-") == [folder]
    assert not folder.exists()


def test_a_folder_a_moment_old_is_kept_even_unlocked(tmp_path: Path) -> None:
    """Its batch may not have taken the lock yet."""
    root = tmp_path / "staging"
    folder, fd = leftovers.make(root, "batch-")
    os.close(fd)
    assert leftovers.sweep(root, "batch-") == []
    _age(folder, 2 * leftovers.YOUNG_S)
    assert leftovers.sweep(root, "batch-") == [folder]


def test_a_folder_without_owner_goes_after_an_hour(tmp_path: Path) -> None:
    root = tmp_path / "staging"
    old, new, other = root / "batch-old", root / "batch-new", root / "keep-me"
    for folder in (old, new, other):
        folder.mkdir(parents=True)
        (folder / "copy.pdf").write_bytes(b"%PDF-1.4")
    then = time.time() - leftovers.ORPHAN_S - 5
    os.utime(old, (then, then))
    os.utime(other, (then, then))
    assert leftovers.sweep(root, "batch-") == [old]
    assert new.is_dir() and other.is_dir()


def test_working_folder_is_removed_and_unlocked_after_the_block(tmp_path: Path) -> None:
    with leftovers.working_folder(tmp_path, "ocr-pages-") as folder:
        assert (folder / leftovers.OWNER).is_file()
    assert not folder.exists()
