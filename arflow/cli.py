"""The `arflow` command. The one boundary where errors become messages and exit codes."""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from arflow import report
from arflow.console import print_summary, progress_bar
from arflow.errors import (
    ArflowError,
    DocumentError,
    InternalError,
    StorageError,
    ToolError,
    ToolMissing,
    ToolTimeout,
)
from arflow.intake import check_inbox
from arflow.reasons import REASONS, Reason
from arflow.settings import Settings, ensure_folder, load_settings

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

    from arflow.export import Written
    from arflow.runner import BatchSummary
    from ingest.documents import IngestContext
    from ingest.dropfolder import DropFolder
    from models.audit_log import AuditEntry

EXIT_UNEXPECTED = 70
# every status a document can have: `models.domain.DocumentStatus` and `models.db.DOC_RECEIVED`
# (spelled out so that `arflow --help` does not import the ORM)
STATUSES = ("received", "auto_approved", "needs_review", "approved", "rejected", "failed",
            "split")
# the codes a failed document can carry: the reasons, an external tool's failure, a bug, and
# a value the database refused (`arflow.pipeline.refused_outcome`)
RETRY_CODES = (*(str(r) for r in Reason), ToolError.code, ToolTimeout.code, ToolMissing.code,
               InternalError.code, StorageError.code)


class ListenError(ArflowError):
    """`arflow serve` cannot listen: the port is taken, or the address is not this host's."""

    code = "CANNOT_LISTEN"
    exit_code = 9


@click.group()
@click.version_option(package_name="arflow")
def cli() -> None:
    """arflow: ingest, extract, validate, match and route supplier invoices."""


def _settings() -> Settings:
    return load_settings()


@cli.command()
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (the default).")
def extract(files: tuple[Path, ...], as_json: bool) -> None:
    """Extract invoice fields from FILES; a bad file is reported and the others go on
    (exit 3 when any file failed)."""
    from extractors.api import extract_file

    settings = _settings()
    failed: list[str] = []
    for path in files:
        result = extract_file(path, settings)
        result.source = str(path)
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
        if result.status == "failed":
            codes = ", ".join(dict.fromkeys(str(e.code) for e in result.errors)) or "failed"
            failed.append(f"{path.name} ({codes})")
    if failed:  # after every file: a script must not mistake a partial answer for a whole one
        raise DocumentError(f"{len(failed)} of {len(files)} file(s) failed: {'; '.join(failed)}",
                            code="EXTRACT_FAILED")


@cli.command(name="import")
@click.argument("kind", type=click.Choice(["parties", "orders", "receipts"]))
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(kind: str, csv_file: Path) -> None:
    """Import master data (upsert by natural key; a bad file writes nothing)."""
    from arflow.db import session_scope
    from arflow.engines import engine_for
    from arflow.masterdata import import_csv

    with session_scope(engine_for(_settings().database_url)) as session:
        result = import_csv(session, kind, csv_file,  # type: ignore[arg-type]
                            tol=_settings().tolerances)
    click.echo(f"{kind}: {result}")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)


@cli.command()
@click.option("--inbox", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--engine", type=click.Choice(["prefect", "plain"]), default="prefect",
              show_default=True, help="Run as a Prefect flow, or as plain function calls.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Extraction processes (default: cores).")
def run(inbox: Path, engine: str, workers: int | None) -> None:
    """Run the batch once over the files in INBOX; already-processed files are skipped."""
    settings = _settings()
    if workers:
        settings = replace(settings, workers=workers)
    ensure_folder(settings.home)
    check_inbox(settings, inbox)
    with progress_bar():
        summary = _run_engine(engine, settings, inbox)
    report_path, rows = _write_batch_report(settings, summary.batch_id)
    print_summary(summary, report_path, _status_totals(settings), review_reasons(rows))


def review_reasons(rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Documents waiting for review, per reason: a failed document's code (EMPTY_DOCUMENT...)
    is not a review reason; failed documents are counted, and quarantined, on their own."""
    counts: dict[str, int] = {}
    for row in rows:
        if row["status"] == "needs_review":
            for code in row.get("reasons") or []:
                counts[code] = counts.get(code, 0) + 1
    return counts


def _run_engine(engine: str, settings: Settings, inbox: Path) -> BatchSummary:
    if engine == "plain":
        from arflow.runner import run_batch

        return run_batch(settings, inbox)
    os.environ.setdefault("PREFECT_HOME", str(settings.home / "prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # the temporary API server's first start (a new PREFECT_HOME: migrations) took 27 s on a
    # busy 2-core machine and Prefect gives up after 20 s; the batch then failed outright
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    from flows.batch import batch_run

    return batch_run(str(inbox), settings.database_url)


def _status_totals(settings: Settings) -> dict[str, int]:
    """Documents per status over every batch so far (the database as it is now)."""
    from arflow.db import session_scope
    from arflow.engines import engine_for
    from models import repo

    totals: dict[str, int] = {}
    with session_scope(engine_for(settings.database_url)) as session:
        for row in repo.report_rows(session):
            totals[row["status"]] = totals.get(row["status"], 0) + 1
    return totals


def _write_batch_report(settings: Settings, batch_id: int) -> tuple[Path, list[dict[str, Any]]]:
    """The batch's CSV report under `reports/`; with its rows, for the summary."""
    from arflow.db import session_scope
    from arflow.engines import engine_for
    from models import repo

    with session_scope(engine_for(settings.database_url)) as session:
        rows = repo.report_rows(session, batch_id=batch_id)
    path = ensure_folder(settings.reports_dir, "reports folder") / f"batch-{batch_id}.csv"
    path.write_text(report.to_csv(rows), encoding="utf-8")
    return path, rows


def _drop_folder(inbox: Path, stable_delay: float) -> tuple[IngestContext, DropFolder]:
    from ingest.documents import open_context
    from ingest.dropfolder import DropFolder

    settings = _settings()
    ensure_folder(settings.home)
    folder = DropFolder.from_settings(settings, inbox, stable_delay=stable_delay)
    return open_context(settings, f"drop:{folder.inbox}"), folder


_STABLE = click.option("--stable-delay", type=float, default=2.0, show_default=True,
                       help="Seconds a file's size and mtime must stay unchanged.")
_DIR = click.argument("inbox", type=click.Path(exists=True, file_okay=False, path_type=Path))


@cli.command()
@_DIR
@_STABLE
@click.option("--processes", type=int, default=1, show_default=True,
              help="Worker processes for this pass (CPU-heavy documents such as scans).")
def poll(inbox: Path, stable_delay: float, processes: int) -> None:
    """One pass over the drop folder INBOX: take complete files, archive or quarantine them."""
    from ingest.dropfolder import poll_once, stable_files
    from ingest.parallel import take_in_processes

    ctx, folder = _drop_folder(inbox, stable_delay)
    if processes > 1:
        summary = take_in_processes(ctx.settings, folder, stable_files(folder), processes)
    else:
        summary = poll_once(ctx, folder)
    click.echo(f"{summary.taken} taken: {counts_text(summary.outcomes)}; busy elsewhere: "
               f"{summary.busy}")
    for line in summary.waiting:
        click.echo(f"left for a later pass: {line}")
    for error in summary.errors:
        click.echo(f"left in place: {error}", err=True)
    if summary.errors:
        sys.exit(1)


@cli.command()
@_DIR
@_STABLE
@click.option("--interval", type=float, default=5.0, show_default=True,
              help="Seconds between rescans (with events: the longest sleep).")
@click.option("--polling", is_flag=True, help="No file-system events (network shares).")
def watch(inbox: Path, stable_delay: float, interval: float, polling: bool) -> None:
    """Watch the drop folder INBOX and take files as they become complete (Ctrl-C stops)."""
    from ingest.watch import watch as run_watch

    ctx, folder = _drop_folder(inbox, stable_delay)
    run_watch(ctx, folder, interval=interval, polling=polling,
              on_pass=lambda s: click.echo(f"{s.taken} taken: {counts_text(s.outcomes)}"))


def counts_text(counts: dict[str, int]) -> str:
    """`{"processed": 5, "duplicate": 1}` as people read it: "5 processed, 1 duplicate"."""
    return ", ".join(f"{n} {what}" for what, n in counts.items()) or "none"


@cli.command()
@click.option("--reason", "codes", multiple=True, callback=lambda _c, _p, v: _retry_codes(v),
              help="Only documents that failed with this code (repeatable), e.g. OCR_FAILED.")
def retry(codes: tuple[str, ...]) -> None:
    """Read failed documents again, once their cause is fixed (from their kept bytes)."""
    from arflow.db import session_scope
    from arflow.engines import engine_for
    from arflow.retry import retry_failed
    from models import repo

    settings = _settings()
    engine = engine_for(settings.database_url)
    with session_scope(engine) as session:
        master = repo.load_master_data(session)
    with progress_bar():
        done = retry_failed(engine, settings, master, codes)
    for item in done:
        now = item.status or "bytes not found: left failed"
        why = f" ({', '.join(item.reasons)})" if item.reasons else ""
        click.echo(f"{item.source_name}: was {item.before} -> {now}{why}")
    counts: dict[str, int] = {}
    for item in done:
        now = item.status or "bytes not found"
        counts[now] = counts.get(now, 0) + 1
    click.echo(f"{len(done)} retried: {counts_text(counts) if done else 'nothing failed'}")
    if any(item.status is None for item in done):
        sys.exit(1)


def _retry_codes(given: tuple[str, ...]) -> tuple[str, ...]:
    """`--reason` codes, upper-cased; an unknown one is a usage error listing the known ones
    (it would match no document and look like "nothing to retry")."""
    codes = tuple(code.strip().upper() for code in given)
    unknown = [code for code in codes if code not in RETRY_CODES]
    if unknown:
        raise click.BadParameter(f"unknown reason code {unknown[0]!r}; use one of "
                                 f"{', '.join(RETRY_CODES)} (`arflow reasons` explains them)",
                                 param_hint="'--reason'")
    return codes


@cli.group()
def mail() -> None:
    """The mailbox channel (IMAP; settings from ARFLOW_IMAP_*)."""


@mail.command(name="fetch")
@click.option("--max-message-bytes", type=int, default=None,
              help="Larger messages are recorded as oversized and not fetched.")
def mail_fetch(max_message_bytes: int | None) -> None:
    """One pass over the mailbox folder: take invoice attachments, record every message."""
    from ingest.documents import open_context
    from ingest.eml import MailLimits
    from ingest.imap import ImapConfig
    from ingest.mailbox import fetch_mailbox

    settings = _settings()
    ensure_folder(settings.home)
    config = ImapConfig.from_env(dict(os.environ))
    limits = MailLimits(max_message_bytes=max_message_bytes) if max_message_bytes else None
    summary = fetch_mailbox(open_context(settings, f"mail:{config.mailbox}"), config, limits)
    click.echo(f"messages: {counts_text(summary.outcomes)}; re-acknowledged: "
               f"{summary.acknowledged}")
    for note in summary.notes:
        click.echo(f"  {note}")


@mail.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per message.")
def mail_list(as_json: bool) -> None:
    """Messages that gave no document (no invoice attached, oversized, malformed), oldest
    first, each with why: nothing that arrived by mail goes unseen."""
    from arflow.db import session_scope
    from arflow.engines import engine_for
    from ingest.mail_ledger import without_invoice

    with session_scope(engine_for(_settings().database_url)) as session:
        for message in without_invoice(session):
            fields = {"seen_at": message.seen_at.isoformat(timespec="seconds"),
                      "mailbox": message.mailbox, "uid": message.uid,
                      "message_id": message.message_id, "outcome": message.outcome,
                      "reason": message.error}
            click.echo(json.dumps(fields, ensure_ascii=False) if as_json else
                       f"{fields['seen_at']}  {message.mailbox} #{message.uid}  "
                       f"{message.outcome}: {message.error or 'no reason recorded'}")


@cli.command(name="report")
@click.option("--json", "as_json", is_flag=True, help="Shorthand for --format json.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "xlsx", "html"]),
              default="json", show_default=True)
@click.option("--status", type=click.Choice(STATUSES), default=None,
              help="Only documents with this status.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file (its folder must exist); xlsx needs it on a terminal.")
@click.pass_context
def report_(ctx: click.Context, as_json: bool, fmt: str, status: str | None,
            output: Path | None) -> None:
    """One record per ingested document: status, matched order, reasons, extracted invoice."""
    from arflow.db import session_scope
    from arflow.engines import engine_for
    from models import repo

    fmt = _report_format(ctx, as_json, fmt)
    if output is not None:
        _check_output_folder(output)
    elif fmt == "xlsx" and _stdout_is_terminal():
        raise click.UsageError("an xlsx workbook is binary: write it to a file with -o "
                               "FILE.xlsx (or redirect standard output)")
    with session_scope(engine_for(_settings().database_url)) as session:
        rows = repo.report_rows(session, status=status)
        if fmt in ("xlsx", "html"):
            from arflow.reports_html import render

            content = render(session, rows, fmt)
        else:
            content = (report.to_json_lines(rows) if fmt == "json" else
                       report.to_csv(rows)).encode("utf-8")
    if output is None:
        click.echo(content, nl=False)
    else:
        _write_output(output, content)
        click.echo(f"wrote {len(rows)} record(s) to {output}", err=True)


def _report_format(ctx: click.Context, as_json: bool, fmt: str) -> str:
    """`--json` is `--format json`: given with another `--format` it is a contradiction,
    which is refused rather than settled silently one way."""
    explicit = ctx.get_parameter_source("fmt") is not click.core.ParameterSource.DEFAULT
    if as_json and explicit and fmt != "json":
        raise click.UsageError(f"--json means --format json; it conflicts with --format {fmt} "
                               f"(give one of them)")
    return "json" if as_json else fmt


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def _check_output_folder(path: Path) -> None:
    """A report's folder must exist, checked before any work. It is not created: a missing
    folder is far more often a typing error than a wish (as for `cp` or a shell redirect)."""
    folder = path.parent
    if not folder.is_dir():
        raise click.BadParameter(f"cannot write {path}: the folder {folder} does not exist",
                                 param_hint="'-o' / '--output'")


def _write_output(path: Path, content: bytes) -> None:
    """Write a report to `path`; a refusal (permissions, a full disk) is a usage error
    naming the file, not a traceback."""
    try:
        path.write_bytes(content)
    except OSError as err:
        raise click.BadParameter(f"cannot write {path}: {err.strerror or err}",
                                 param_hint="'-o' / '--output'") from err


@cli.command(name="export")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv",
              show_default=True, help="csv: one row per invoice; jsonl: with lines and matches.")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of the export files (default: $ARFLOW_HOME/exports).")
@click.option("--again", type=int, default=None, metavar="N",
              help="Write export N's file again (to --dir, or where it was written).")
@click.option("--list", "show", is_flag=True, help="List every export and stop.")
def export_(fmt: str, folder: Path | None, again: int | None, show: bool) -> None:
    """Hand accepted invoices on for posting and payment: each exactly once, in one file."""
    from arflow.export import iter_listing, run_export, write_again

    settings = _settings()
    sessions = _sessions(settings)
    actor = f"cli:{_user()}"
    if show:
        for e in iter_listing(sessions):
            click.echo(f"{e.id}\t{e.created_at:%Y-%m-%d %H:%M}\t{e.status}\t{e.documents}\t"
                       f"{e.path}\t{e.file_sha256 or ''}")
        return
    if again is not None:
        done: list[Written] = [write_again(sessions, again, actor, folder)]
    else:
        done = run_export(sessions, folder or settings.exports_dir, fmt, actor)
    for written in done:
        click.echo(_written_line(written))
    if not done:
        click.echo("nothing to export: no accepted invoice is waiting")


def _sessions(settings: Settings) -> Callable[[], AbstractContextManager[Session]]:
    from arflow.db import session_scope
    from arflow.engines import engine_for

    engine = engine_for(settings.database_url)
    return lambda: session_scope(engine)


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _written_line(written: Written) -> str:
    sums = ", ".join(f"{v:f} {k}" for k, v in sorted(written.payable.items())) or "nothing"
    line = (f"export {written.export_id}: {written.invoices} invoice(s), payable {sums} -> "
            f"{written.path} (sha256 {written.sha256[:12]})")
    if written.resumed:
        line += "; left pending by another run (interrupted, or just starting), written now"
    if written.identical is not None:
        line += "; identical to the file first written" if written.identical else (
            "; DIFFERS from the file first written (its sha256 is in the audit log)")
    return line


@cli.command()
@click.option("--dry-run", is_flag=True, help="Compose and report every digest; send nothing.")
@click.option("--overdue-days", type=float, default=3.0, show_default=True,
              help="Items waiting longer are marked OVERDUE.")
def notify(dry_run: bool, overdue_days: float) -> None:
    """E-mail each approver the invoices waiting for them (SMTP settings: ARFLOW_SMTP_*)."""
    from datetime import timedelta

    from arflow.mailer import SmtpConfig
    from arflow.notify import NotifyOptions
    from arflow.notify import notify as send_digests
    from models.approval_matrix import load_matrix

    settings = _settings()
    smtp = None if dry_run else SmtpConfig.from_env(os.environ)
    options = NotifyOptions(timedelta(days=overdue_days),
                            os.environ.get("ARFLOW_BASE_URL", "").rstrip("/") or None, dry_run)
    report = send_digests(_sessions(settings), load_matrix(), smtp, options)
    for o in report.outcomes:
        click.echo(f"{o.user} <{o.email or '-'}>: {o.items} item(s), {o.overdue} overdue: "
                   f"{o.result}")
    if not report.outcomes:
        click.echo("no invoice waits for an approver")
    for item in report.unassignable:
        click.echo(f"#{item.item_id} {item.source}: no active user may approve it (needs a "
                   f"{item.role}; check users' roles and limits)", err=True)
    if any(o.result.startswith("refused") for o in report.outcomes):
        sys.exit(1)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
def serve(host: str, port: int) -> None:
    """Serve the review web UI (login, queue, items, dashboard)."""
    import uvicorn

    from webapp.app import create_app

    app = create_app(_settings())
    with _listen(host, port) as sock:
        config = uvicorn.Config(app, host=host, port=port, log_level="info")
        uvicorn.Server(config).run(sockets=[sock])


def _listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound here rather than by uvicorn: a port in use is then told as
    such (exit 9), where uvicorn logs it and exits 3, the code of a document error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise ListenError(f"port {port} is in use on {host}: stop what listens there or "
                              f"choose another --port", code="PORT_IN_USE") from err
        raise ListenError(f"cannot listen on {host}:{port}: {err.strerror or err}") from err


@cli.group()
def users() -> None:
    """Reviewers who log in to the web UI."""


@users.command(name="add")
@click.argument("name", callback=lambda _c, _p, v: _user_name(v))
@click.option("--role", required=True, type=click.Choice(["clerk", "manager", "finance_lead"]))
@click.option("--limit", "limit", default=None,
              help="Approval limit (an amount, 0 or more); none: unlimited.")
@click.option("--password-env", default="ARFLOW_PASSWORD", show_default=True,
              help="Environment variable holding the password; prompted when unset.")
@click.option("--email", default=None, help="Where the approvers' digest goes (arflow notify).")
def users_add(name: str, role: str, limit: str | None, password_env: str,
              email: str | None) -> None:
    """Create a user, or reset their password, role and limit."""
    from decimal import Decimal, InvalidOperation

    from arflow.db import session_scope
    from arflow.engines import engine_for
    from models.users import add_user

    try:
        amount = None if limit is None else Decimal(limit)
    except InvalidOperation as err:
        raise click.BadParameter(f"not an amount: {limit!r}", param_hint="--limit") from err
    if amount is not None and not amount.is_finite():
        raise click.BadParameter(f"not an amount: {limit!r}", param_hint="--limit")
    if amount is not None and amount < 0:
        raise click.BadParameter(f"must not be negative: {limit!r} (leave it out for no limit)",
                                 param_hint="--limit")
    password = _password(password_env)
    with session_scope(engine_for(_settings().database_url)) as session:
        user = add_user(session, name, password, role, amount, email=email)
        address = user.email or "no e-mail"
    click.echo(f"user {name}: {role}, limit {limit or 'none'}, {address}")


def _user_name(name: str) -> str:
    """The rule is `models.users.name_problem`'s; refused here as a usage error."""
    from models.users import name_problem

    problem = name_problem(name)
    if problem is not None:
        raise click.BadParameter(problem, param_hint="NAME")
    return name


def _password(variable: str) -> str:
    """The new password, from `variable` or asked on the terminal; without either there is
    nobody to ask, which is said (rather than failing on a prompt nobody sees)."""
    password = os.environ.get(variable)
    if not password:
        if not sys.stdin.isatty():
            raise click.UsageError(f"a password is needed: set {variable} (or name another "
                                   f"variable with --password-env), or run in a terminal to "
                                   f"be asked for it")
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    from models.users import password_too_long

    too_long = password_too_long(str(password))  # the rest of the rule: `add_user`
    if too_long is not None:
        raise click.UsageError(too_long)
    return str(password)


@users.command(name="list")
def users_list() -> None:
    """Every user: name, role, approval limit, e-mail, active or not."""
    from arflow.db import session_scope
    from arflow.engines import engine_for
    from models.users import list_users

    with session_scope(engine_for(_settings().database_url)) as session:
        for user in list_users(session):
            state = "active" if user.active else "DEACTIVATED"
            limit = "none" if user.approval_limit is None else f"{user.approval_limit:f}"
            click.echo(f"{user.name:<20} {user.role:<13} limit {limit:<12} "
                       f"{user.email or 'no e-mail':<32} {state}")


@users.command(name="deactivate")
@click.argument("name")
def users_deactivate(name: str) -> None:
    """Take a user's access away at once (their sessions end); `users add` gives it back."""
    from arflow.db import session_scope
    from arflow.engines import engine_for
    from models.users import deactivate_user

    with session_scope(engine_for(_settings().database_url)) as session:
        deactivate_user(session, name)
    click.echo(f"user {name}: deactivated")


@cli.group()
def audit() -> None:
    """The append-only, hash-chained audit log."""


@audit.command(name="verify")
@click.option("--head", default=None, help="A head hash recorded earlier; it must still exist.")
@click.option("--record", is_flag=True,
              help="Record the outcome as an audit.verify event (shown on the Audit page).")
def audit_verify(head: str | None, *, record: bool) -> None:
    """Check every event's hash and link; exit 1 when an event was edited or removed."""
    from arflow.db import session_scope
    from arflow.engines import engine_for
    from models.approvals import audit_status
    from models.audit_log import ChainCheck, record_check

    with session_scope(engine_for(_settings().database_url)) as session:
        count, last, broken = audit_status(session, head)
        if record:
            record_check(session, "cli", ChainCheck(count, last, broken))
    if broken is not None:
        where = "the recorded head is gone" if broken == 0 else f"at event {broken}"
        raise ArflowError(f"audit chain broken ({where}): an event was edited or removed",
                          code="AUDIT_TAMPERED")
    click.echo(f"audit chain intact: {count} event(s), head {last}")


@audit.command(name="list")
@click.option("--actor", default="", help="Who did it (user name, import, system...).")
@click.option("--action", default="", help='An action ("party.bank_details"); ending in "." '
              'a prefix ("review.").')
@click.option("--entity", default="", help="review_item, party, export, document, user.")
@click.option("--id", "entity_id", default="", help="The entity's id.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="From this day (UTC).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event.")
def audit_list(*, actor: str, action: str, entity: str, entity_id: str,
               since: datetime | None, limit: int, as_json: bool) -> None:
    """The newest events first, each with what it changed."""
    from arflow.db import session_scope
    from arflow.engines import engine_for
    from models.audit_log import AuditQuery, load_events

    query = AuditQuery(actor, action, entity, entity_id, since.date() if since else None)
    with session_scope(engine_for(_settings().database_url)) as session:
        events = load_events(session, query, limit=limit)
    for event in events:
        click.echo(_event_json(event) if as_json else _event_text(event))


def _event_text(event: AuditEntry) -> str:
    changed = "; ".join(f"{c.key}: {c.before} -> {c.after}" if c.before is not None
                        else f"{c.key}: {c.after}" for c in event.changes)
    return (f"{event.id:>6} {event.at:%Y-%m-%d %H:%M:%S} {event.actor:<12} {event.action:<20} "
            f"{event.entity} {event.entity_id}  {changed}")


def _event_json(event: AuditEntry) -> str:
    return json.dumps({"id": event.id, "at": event.at.isoformat(), "actor": event.actor,
                       "action": event.action, "entity": event.entity,
                       "entity_id": event.entity_id,
                       "changes": [{"key": c.key, "before": c.before, "after": c.after}
                                   for c in event.changes]}, ensure_ascii=False)


@cli.command()
def reasons() -> None:
    """List every reason code with its meaning."""
    for code, meaning in REASONS.items():
        click.echo(f"{code:<22} {meaning}")


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command(name="upgrade")
def db_upgrade() -> None:
    """Create or migrate arflow's database to the latest schema (idempotent)."""
    from arflow.db import upgrade

    settings = _settings()
    ensure_folder(settings.home)
    upgrade(settings.database_url)
    click.echo(f"database ready: {_masked(settings.database_url)}")


def _masked(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    """Entry point: translate arflow's error tree into messages and exit codes."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ArflowError as exc:
        click.echo(f"error [{exc.code}]: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:
        click.echo(f"unexpected error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_UNEXPECTED)
