"""Batch summary and exception table as Prefect artifacts (visible on a Prefect server's UI)."""

from __future__ import annotations

from collections.abc import Sequence

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from arflow.pipeline import DocumentOutcome
from arflow.reasons import describe
from arflow.runner import BatchSummary
from models.domain import DocumentStatus


def exception_rows(outcomes: Sequence[DocumentOutcome]) -> list[dict[str, str]]:
    rows = []
    for outcome in outcomes:
        if outcome.decision.status == DocumentStatus.AUTO_APPROVED:
            continue
        invoice = outcome.extraction.invoice
        rows.append({
            "file": outcome.file.name,
            "status": str(outcome.decision.status),
            "seller": invoice.seller.name or "",
            "total": "" if invoice.total is None else f"{invoice.total} {invoice.currency or ''}",
            "reasons": ", ".join(outcome.decision.reason_codes),
        })
    return rows


def summary_markdown(summary: BatchSummary) -> str:
    lines = [f"# Batch {summary.batch_id}", "", f"Inbox: `{summary.inbox}`", "",
             "| outcome | documents |", "|---|---|"]
    lines += [f"| {status} | {count} |" for status, count in sorted(summary.by_status.items())]
    lines += [f"| skipped (already processed) | {summary.skipped} |",
              f"| of them stored by another run meanwhile | {summary.by_another_run} |",
              f"| still being written (next run) | {len(summary.waiting)} |", "",
              "| reason | documents | meaning |", "|---|---|---|"]
    for code, count in sorted(summary.by_reason.items()):
        lines.append(f"| {code} | {count} | {describe(code)} |")
    return "\n".join(lines)


def publish_batch_artifacts(summary: BatchSummary, outcomes: Sequence[DocumentOutcome]) -> None:
    create_markdown_artifact(key="arflow-batch-summary", markdown=summary_markdown(summary),
                             description=f"Batch {summary.batch_id} summary")
    rows = exception_rows(outcomes)
    create_table_artifact(key="arflow-exceptions", table=rows,
                          description=f"{len(rows)} document(s) need attention")
