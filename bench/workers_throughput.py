"""Drop-folder throughput with 1 and 2 worker processes on one inbox, against PostgreSQL.

Usage:  .venv/bin/python bench/workers_throughput.py [--docs N] [--kind auto|digital|scanned]
                                                      [--seed S]

Each worker is a real `arflow poll` process (ARFLOW_WORKERS=1: one extraction process each),
sharing one inbox and one PostgreSQL schema, exactly as two machines on a shared folder would.
`--kind auto` uses scanned documents (generator.scanned) when an OCR extractor is registered,
else digital PDFs, and says which. Reported: wall time from start until every worker has
exited, documents per second, and the start-up cost of one `arflow poll` on an empty inbox
(measured in the same run), so the steady-state rate can be read off too.
Needs PostgreSQL at ARFLOW_TEST_POSTGRES_URL (default postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from arflow.db import normalize_url  # noqa: E402
from extractors.api import extract_file  # noqa: E402
from generator.invoices import generate_documents  # noqa: E402

ARFLOW = Path(sys.executable).with_name("arflow")
PG_URL = os.environ.get("ARFLOW_TEST_POSTGRES_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def make_documents(out: Path, count: int, kind: str, seed: int) -> str:
    pdfs = generate_documents(out / "digital", count, seed)
    if kind == "auto":
        kind = "scanned" if _ocr_available(pdfs[0], out) else "digital"
    if kind == "digital":
        return kind
    from generator.scanned import render_scanned

    for i, pdf in enumerate(pdfs):
        render_scanned(pdf, out / "scanned" / f"{pdf.stem}.pdf", seed=seed + i)
    return kind


def _ocr_available(pdf: Path, out: Path) -> bool:
    from generator.scanned import render_scanned

    probe = render_scanned(pdf, out / "probe" / "probe.pdf", seed=1)
    return str(extract_file(probe).status) != "failed"


def schema_url() -> tuple[str, str]:
    schema = f"arflow_bench_{uuid.uuid4().hex[:12]}"
    with create_engine(normalize_url(PG_URL)).begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = normalize_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return schema, url.render_as_string(hide_password=False)


def drop_schema(schema: str) -> None:
    with create_engine(normalize_url(PG_URL)).begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def run_workers(source: Path, workdir: Path, workers: int) -> float:
    inbox, home = workdir / "inbox", workdir / "home"
    shutil.copytree(source, inbox, ignore=shutil.ignore_patterns("*.json"))
    schema, url = schema_url()
    env = dict(os.environ, ARFLOW_HOME=str(home), ARFLOW_DATABASE_URL=url,
               ARFLOW_WORKERS="1", PYTHONPATH=str(REPO))
    migrate = [str(ARFLOW), "db", "upgrade"]
    subprocess.run(migrate, env=env, check=True, capture_output=True)
    command = [str(ARFLOW), "poll", str(inbox), "--stable-delay", "0"]
    start = time.perf_counter()
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(workers)]
    outputs = [p.communicate()[0].strip() for p in procs]
    elapsed = time.perf_counter() - start
    drop_schema(schema)
    print(f"  {workers} worker(s): {elapsed:.2f} s   {outputs}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=60)
    parser.add_argument("--kind", choices=["auto", "digital", "scanned"], default="auto")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="arflow-bench-") as tmp:
        root = Path(tmp)
        kind = make_documents(root, args.docs, args.kind, args.seed)
        print(f"{args.docs} {kind} documents, {os.cpu_count()} CPU(s)")
        (root / "empty").mkdir()
        startup = run_workers(root / "empty", root / "w0", 1)
        times = {n: run_workers(root / kind, root / f"w{n}", n) for n in (1, 2)}
    for n, seconds in times.items():
        steady = args.docs / max(seconds - startup, 1e-9)
        print(f"{n} worker(s): {args.docs / seconds:.2f} docs/s wall, "
              f"{steady:.2f} docs/s after the {startup:.2f} s start-up")
    print(f"speed-up 2 vs 1: {times[1] / times[2]:.2f}x")


if __name__ == "__main__":
    main()
