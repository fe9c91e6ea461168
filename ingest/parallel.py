"""One drop-folder pass spread over several processes (CPU-heavy documents: OCR).

Uses the stdlib `ProcessPoolExecutor` (forkserver), one chunk of files per process, each
process with its own engine and batch. Safe by construction: every document is claimed in
the database, exactly as with several independent workers."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from arflow.settings import Settings
from ingest.documents import open_context
from ingest.dropfolder import DropFolder, PassSummary, take_all


def _take_chunk(settings: Settings, folder: DropFolder, paths: list[Path]) -> PassSummary:
    return take_all(open_context(settings, f"drop:{folder.inbox}"), folder, paths)


def merge(summaries: list[PassSummary]) -> PassSummary:
    total = PassSummary()
    for summary in summaries:
        for outcome, count in summary.outcomes.items():
            total.outcomes[outcome] = total.outcomes.get(outcome, 0) + count
        total.busy += summary.busy
        total.waiting.extend(summary.waiting)
        total.errors.extend(summary.errors)
        total.not_writable.extend(summary.not_writable)
    return total


def take_in_processes(
    settings: Settings, folder: DropFolder, paths: list[Path], processes: int
) -> PassSummary:
    """Take `paths` with `processes` worker processes (round-robin chunks)."""
    chunks = [paths[i::processes] for i in range(processes) if paths[i::processes]]
    if len(chunks) <= 1:
        return _take_chunk(settings, folder, paths)
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=len(chunks), mp_context=context) as pool:
        futures = [pool.submit(_take_chunk, settings, folder, chunk) for chunk in chunks]
        return merge([future.result() for future in futures])
