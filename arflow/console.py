"""Terminal output: the batch progress bar and the summary table (rich)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from arflow import progress
from arflow.reasons import describe

console = Console(stderr=True)


class _RichListener:
    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.task = bar.add_task("extracting", total=None)

    def started(self, total: int) -> None:
        self.bar.update(self.task, total=total)

    def advanced(self, item: str) -> None:
        self.bar.update(self.task, advance=1, description=f"extracting {Path(item).name[:40]}")


@contextmanager
def progress_bar() -> Iterator[None]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar, \
            progress.listening(_RichListener(bar)):
        yield


def _stdout() -> Console:
    """The console for the summary. Piped or redirected (a log, a cron mail, grep), nothing
    is wrapped at 80 columns: a quarantined file's path stays on its line, table cells whole."""
    out = Console()
    if out.is_terminal:
        return out
    return Console(width=10_000, soft_wrap=True)


def print_summary(summary: Any, report_path: Path, totals: dict[str, int],
                  review_reasons: dict[str, int]) -> None:
    """The batch's outcome table; the reasons of the documents now waiting for review
    (`review_reasons`: failed documents are counted as failed, with their quarantine path,
    not as review reasons); the report's path."""
    out = _stdout()
    table = Table(title=f"arflow batch {summary.batch_id}: {summary.inbox}")
    for column in ("outcome", "this run", "all batches"):
        table.add_column(column, justify="left" if column == "outcome" else "right")
    table.add_row("documents", str(summary.processed), str(sum(totals.values())))
    for status in ("auto_approved", "needs_review", "approved", "rejected", "failed", "split"):
        table.add_row(f"  {status}", str(summary.by_status.get(status, 0)),
                      str(totals.get(status, 0)))
    table.add_row("skipped (already processed)", str(summary.skipped), "")
    table.add_row("  by another run, meanwhile", str(summary.by_another_run), "")
    table.add_row("repeated bytes in this batch", str(summary.repeats), "")
    table.add_row("still being written (next run)", str(len(summary.waiting)), "")
    out.print(table)
    if review_reasons:
        reasons = Table(title="needing review, by reason")
        for col in ("reason", "documents", "meaning"):
            reasons.add_column(col)
        for code, count in sorted(review_reasons.items(), key=lambda kv: (-kv[1], kv[0])):
            reasons.add_row(code, str(count), describe(code))
        out.print(reasons)
    out.print(f"report: {report_path}")
    for path in summary.quarantined:
        out.print(f"quarantined: {path}")
    for path in summary.waiting:
        out.print(f"left for the next run (still being written): {path}")
