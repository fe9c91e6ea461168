"""Mailbox intake: every message of the configured IMAP folder is read once.

Per message: size check (over the cap: recorded `oversized`, never fetched) → fetch without
setting \\Seen → parse (`ingest.eml`) → each attachment stored content-addressed under
`archive/mail/` and taken as a document (claimed in the database: at most once; one that
cannot be read, or that the database refuses — STORAGE_ERROR, that attachment alone, the
others go on: `pipeline.persist_isolated` — also gets a copy and a reason file under
`quarantine/`, as in a batch) → ledger row committed (`ingested`, naming every attachment
taken, failed ones included) → only then flagged `$ArflowDone` (or moved) on the server →
`acknowledged_at`.

No message goes by unseen: one without an invoice, an oversized or a malformed one is
recorded with a reason a person can act on (who sent it, its subject, what it held), logged
as a warning and listed in the pass's `MailSummary.notes`.
A disconnect anywhere leaves the message unflagged and unrecorded, or recorded but not
acknowledged; the next run finishes either without taking any attachment twice.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from arflow.db import session_scope
from arflow.errors import DocumentError
from arflow.intake import fingerprint
from arflow.names import short_name
from ingest import documents, mail_ledger, moves
from ingest.documents import IngestContext
from ingest.eml import Attachment, MailLimits, OversizedMessage, ParsedMessage, parse_message
from ingest.imap import ImapClient, ImapConfig
from ingest.mail_ledger import MailOutcome

log = logging.getLogger(__name__)
LISTED = 20  # parts named in a message's note, at most


@dataclass
class MailSummary:
    """Messages of one pass by outcome; `notes`: one line per message that gave no document
    (`message <uid>: <outcome>: <reason>`), for whoever runs the pass to show."""

    outcomes: dict[str, int] = field(default_factory=dict)
    acknowledged: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


@dataclass(frozen=True)
class MessageResult:
    outcome: MailOutcome
    message_id: str | None = None
    error: str | None = None
    documents: list[str] = field(default_factory=list)


def store_attachment(archive: Path, attachment: Attachment) -> Path:
    """Write the attachment once, named by content: archive/mail/<ab>/<sha12>-<name>. A name
    of many bytes (120 characters of 3 or 4 bytes each, `eml.safe_name`) is shortened
    (`names.short_name`): the file could not be written, and the pass stopped on it."""
    digest = hashlib.sha256(attachment.data).hexdigest()
    target = archive / "mail" / digest[:2] / f"{digest[:12]}-{short_name(attachment.name)}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.partial")
        tmp.write_bytes(attachment.data)
        os.replace(tmp, target)
    return target


def ingest_attachment(ctx: IngestContext, attachment: Attachment) -> str:
    """Take one attachment as a document (unless known or held elsewhere); its sha256.
    One that cannot be read (empty, corrupt) is also copied to quarantine with its reason."""
    file = fingerprint(store_attachment(ctx.settings.archive_dir, attachment))
    with documents.locked(ctx, file) as (session, document):
        taken = (None if document is None
                 else documents.process_locked(ctx, session, document, file))
    if taken is not None and taken.processed and taken.failed:
        moves.keep_in_quarantine(ctx.settings.quarantine_dir, file, taken.reasons)
    return file.sha256


def read_message(ctx: IngestContext, raw: bytes, limits: MailLimits,
                 origin: str = "message") -> MessageResult:
    """Parse a message and take its attachments (also used for `.eml` drop-folder files).
    `origin` names the message in the warning logged when it gives no document."""
    try:
        parsed = parse_message(raw, limits)
    except OversizedMessage as err:
        return _unseen(origin, MessageResult(MailOutcome.OVERSIZED, error=err.message))
    except DocumentError as err:
        return _unseen(origin, MessageResult(MailOutcome.MALFORMED, error=err.message))
    shas = [ingest_attachment(ctx, a) for a in parsed.attachments]
    if not shas:
        return _unseen(origin, MessageResult(MailOutcome.NO_INVOICE, parsed.message_id,
                                             no_invoice_reason(parsed)))
    return MessageResult(MailOutcome.INGESTED, parsed.message_id, _not_taken(parsed), shas)


def _not_taken(parsed: ParsedMessage) -> str | None:
    """What of the message was not taken, and why; None when everything was. Long lists
    are cut after `LISTED` items (1,000 text parts made one 26 KB warning line)."""
    parts = []
    if parsed.skipped:
        parts.append("not taken: " + _listed(parsed.skipped, "; "))
    if parsed.ignored:
        parts.append("not an invoice format: " + _listed(parsed.ignored, ", "))
    return "; ".join(parts) or None


def _listed(items: list[str], sep: str) -> str:
    shown = sep.join(item[:200] for item in items[:LISTED])
    return shown + (f"{sep}and {len(items) - LISTED} more" if len(items) > LISTED else "")


def no_invoice_reason(parsed: ParsedMessage) -> str:
    """Why a message gave no document, with what a person needs to find it and judge: its
    sender, its subject and what it held (the ledger has no columns for the first two)."""
    subject = (parsed.subject or "")[:200]
    held = _not_taken(parsed) or "it has no attachment"
    return (f'no invoice (PDF, image or e-invoice XML) in the message from '
            f'{parsed.sender or "an unknown sender"}, subject "{subject}": {held}')


def _unseen(origin: str, result: MessageResult) -> MessageResult:
    """A message that gives no document: one warning line (no traceback), so it is seen."""
    log.warning("%s gave no document (%s): %s", origin, result.outcome, result.error)
    return result


def _handle(ctx: IngestContext, client: ImapClient, uid: int, limits: MailLimits
            ) -> MessageResult:
    size = client.size_of(uid)
    if size > limits.max_message_bytes:
        return _unseen(f"mailbox {client.config.mailbox} message {uid}",
                       MessageResult(MailOutcome.OVERSIZED,
                                     error=f"{size} bytes exceeds {limits.max_message_bytes}"))
    return read_message(ctx, client.fetch(uid), limits,
                        origin=f"mailbox {client.config.mailbox} message {uid}")


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
            if result.outcome != MailOutcome.INGESTED:
                summary.notes.append(f"message {uid}: {result.outcome}: {result.error}")
            if on_message is not None:
                on_message(uid)
        _stamp_flagged(ctx, config, validity)
    ctx.finish()
    return summary
