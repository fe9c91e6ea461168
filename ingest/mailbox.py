"""Mailbox intake: every message of the configured IMAP folder is read once.

Per message: size check (over the cap: recorded `oversized`, never fetched) → fetch without
setting \\Seen → parse (`ingest.eml`) → each attachment stored content-addressed under
`archive/mail/` and taken as a document (claimed in the database: at most once) → ledger row
committed → only then flagged `$ArflowDone` (or moved) on the server → `acknowledged_at`.
A disconnect anywhere leaves the message unflagged and unrecorded, or recorded but not
acknowledged; the next run finishes either without taking any attachment twice.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from arflow.db import session_scope
from arflow.errors import DocumentError
from arflow.intake import fingerprint
from ingest import documents, mail_ledger
from ingest.documents import IngestContext
from ingest.eml import Attachment, MailLimits, OversizedMessage, parse_message
from ingest.imap import ImapClient, ImapConfig
from ingest.mail_ledger import MailOutcome


@dataclass
class MailSummary:
    outcomes: dict[str, int] = field(default_factory=dict)
    acknowledged: int = 0

    def add(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


@dataclass(frozen=True)
class MessageResult:
    outcome: MailOutcome
    message_id: str | None = None
    error: str | None = None
    documents: list[str] = field(default_factory=list)


def store_attachment(archive: Path, attachment: Attachment) -> Path:
    """Write the attachment once, named by content: archive/mail/<ab>/<sha12>-<name>."""
    digest = hashlib.sha256(attachment.data).hexdigest()
    target = archive / "mail" / digest[:2] / f"{digest[:12]}-{attachment.name}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.partial")
        tmp.write_bytes(attachment.data)
        os.replace(tmp, target)
    return target


def ingest_attachment(ctx: IngestContext, attachment: Attachment) -> str:
    """Take one attachment as a document (unless known or held elsewhere); its sha256."""
    file = fingerprint(store_attachment(ctx.settings.archive_dir, attachment))
    with documents.locked(ctx, file) as (session, document):
        if document is not None:
            documents.process_locked(ctx, session, document, file)
    return file.sha256


def read_message(ctx: IngestContext, raw: bytes, limits: MailLimits) -> MessageResult:
    """Parse a message and take its attachments (also used for `.eml` drop-folder files)."""
    try:
        parsed = parse_message(raw, limits)
    except OversizedMessage as err:
        return MessageResult(MailOutcome.OVERSIZED, error=err.message)
    except DocumentError as err:
        return MessageResult(MailOutcome.MALFORMED, error=err.message)
    shas = [ingest_attachment(ctx, a) for a in parsed.attachments]
    outcome = MailOutcome.INGESTED if shas else MailOutcome.NO_INVOICE
    return MessageResult(outcome, parsed.message_id, "; ".join(parsed.skipped) or None, shas)


def _handle(ctx: IngestContext, client: ImapClient, uid: int, limits: MailLimits
            ) -> MessageResult:
    size = client.size_of(uid)
    if size > limits.max_message_bytes:
        return MessageResult(MailOutcome.OVERSIZED,
                             error=f"{size} bytes exceeds {limits.max_message_bytes}")
    return read_message(ctx, client.fetch(uid), limits)


def _record(ctx: IngestContext, config: ImapConfig, validity: int, uid: int,
            result: MessageResult) -> None:
    with session_scope(ctx.engine) as session:
        mail_ledger.record_message(
            session, mailbox=config.mailbox, uidvalidity=validity, uid=uid,
            outcome=result.outcome, message_id=result.message_id, error=result.error,
            documents=result.documents)


def _acknowledge(ctx: IngestContext, client: ImapClient, uid: int) -> None:
    client.acknowledge(uid)
    with session_scope(ctx.engine) as session:
        mail_ledger.mark_acknowledged(session, client.config.mailbox, client.uidvalidity, uid)


def _stamp_flagged(ctx: IngestContext, config: ImapConfig, validity: int) -> None:
    """Rows whose flag reached the server but whose stamp did not (a crash in between)."""
    with session_scope(ctx.engine) as session:
        for uid in mail_ledger.unacknowledged(session, config.mailbox, validity):
            mail_ledger.mark_acknowledged(session, config.mailbox, validity, uid)


def fetch_mailbox(
    ctx: IngestContext, config: ImapConfig, limits: MailLimits | None = None,
    on_message: Callable[[int], None] | None = None,
) -> MailSummary:
    """One pass over the folder. `on_message(uid)` runs after each message (tests, progress)."""
    limits = limits or MailLimits()
    summary = MailSummary()
    with ImapClient(config) as client:
        validity = client.uidvalidity
        with session_scope(ctx.engine) as session:
            known = mail_ledger.known_uids(session, config.mailbox, validity)
        for uid in client.search_pending():
            if uid in known:  # recorded before: never fetched again, only acknowledged
                _acknowledge(ctx, client, uid)
                summary.acknowledged += 1
                continue
            result = _handle(ctx, client, uid, limits)
            _record(ctx, config, validity, uid, result)
            _acknowledge(ctx, client, uid)
            summary.add(result.outcome)
            if on_message is not None:
                on_message(uid)
        _stamp_flagged(ctx, config, validity)
    ctx.finish()
    return summary
