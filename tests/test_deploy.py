"""The deployments end to end: a local `prefect server start`, the process pool,
`prefect --no-prompt deploy --all` from prefect.yaml, a worker, one triggered drop-folder
poll run that must end Completed with the file archived. Everything is stopped afterwards."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.invoices import generate_documents

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(args, env=env, cwd=REPO, stdout=handle, stderr=subprocess.STDOUT,
                            start_new_session=True)  # its own group: one signal stops it all


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-2000:]
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("prefect server did not become healthy: " + log.read_text()[-2000:])


@pytest.fixture
def prefect_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    port = str(_free_port())
    api = f"http://127.0.0.1:{port}/api"
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_API_URL=api,
               PREFECT_SERVER_ANALYTICS_ENABLED="false", ARFLOW_HOME=str(tmp_path / "home"),
               ARFLOW_INBOX=str(tmp_path / "batch"), ARFLOW_DROP_DIR=str(tmp_path / "drop"),
               ARFLOW_WORKERS="1", PYTHONPATH=str(REPO), PWD=str(REPO),
               PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("ARFLOW_DATABASE_URL", None)
    server = _start([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
                     port], env, tmp_path / "server.log")
    try:
        _wait_healthy(api, server, tmp_path / "server.log")
        yield env
    finally:
        _stop(server)


def _prefect(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    done = subprocess.run([str(BIN / "prefect"), *args], env=env, cwd=REPO, timeout=timeout,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_deploy_all_and_a_triggered_drop_folder_poll_completes(
    prefect_env: dict[str, str], tmp_path: Path
) -> None:
    drop = Path(prefect_env["ARFLOW_DROP_DIR"])
    drop.mkdir()
    Path(prefect_env["ARFLOW_INBOX"]).mkdir()
    pdf = generate_documents(tmp_path / "gen", 1, seed=3)[0]
    shutil.copy(pdf, drop / pdf.name)
    _prefect(prefect_env, "work-pool", "create", "arflow-process", "--type", "process",
             "--overwrite")
    deployed = _prefect(prefect_env, "--no-prompt", "deploy", "--all")
    for name in ("nightly-batch", "drop-folder-poll", "mailbox-poll", "daily-export",
                 "approver-digest", "audit-verify"):
        assert name in deployed
    worker = _start([str(BIN / "prefect"), "worker", "start", "--pool", "arflow-process"],
                    prefect_env, tmp_path / "worker.log")
    try:
        out = _prefect(prefect_env, "deployment", "run",
                       "arflow-drop-folder-poll/drop-folder-poll", "--param", "stable_delay=0",
                       "--watch", "--watch-timeout", "150", timeout=180)
    finally:
        _stop(worker)
    assert "Completed" in out, out
    archived = list((tmp_path / "home" / "archive").rglob(pdf.name))
    assert archived and not (drop / pdf.name).exists()
