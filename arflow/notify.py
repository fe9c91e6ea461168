"""`arflow notify`: tell each approver, by e-mail, which invoices wait for them.

The items each user may approve now come from `models.digest`; this module writes one plain
text message per user (oldest items first, overdue ones marked, a link per item when
``ARFLOW_BASE_URL`` names the web UI), sends them over one SMTP connection
(`arflow.mailer`) and appends one audit event per message sent. Items nobody may approve are
returned apart, for the command to report: no digest can unblock them.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy.orm import Session

from arflow.mailer import SmtpConfig, send_all
from models.approval_matrix import ApprovalMatrix
from models.audit import append_audit
from models.digest import Digest, Waiting, digests
from models.types import utcnow

MAX_LISTED = 50  # items listed in one message; the rest are counted, with the queue's link
ACTOR = "arflow notify"
Sessions = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class NotifyOptions:
    overdue_after: timedelta = timedelta(days=3)
    base_url: str | None = None  # the web UI, for links
    dry_run: bool = False  # compose and report, send nothing


@dataclass(frozen=True)
class Outcome:
    """One user's digest: how many items, how many overdue, and what became of it."""

    user: str
    email: str | None
    items: int
    overdue: int
    result: str  # "sent", "dry run", "no e-mail address", or the server's refusal


@dataclass(frozen=True)
class NotifyReport:
    outcomes: list[Outcome]
    unassignable: list[Waiting]


def notify(sessions: Sessions, matrix: ApprovalMatrix, smtp: SmtpConfig | None,
           options: NotifyOptions) -> NotifyReport:
    """Compose every approver's digest and send it (unless `options.dry_run`)."""
    now = utcnow()
    with sessions() as session:
        found = digests(session, matrix)
        messages = {d.user.name: compose(d, now, options, smtp) for d in found.per_user
                    if d.user.email}
        if smtp is None or options.dry_run:
            return NotifyReport(_outcomes(found.per_user, now, options, None), found.unassignable)
        sent = send_all(smtp, list(messages.values()))
        for digest in found.per_user:
            if digest.user.email in sent.accepted:
                append_audit(session, actor=ACTOR, action="notify.digest", entity="user",
                             entity_id=digest.user.id,
                             after={"to": digest.user.email,
                                    "items": [w.item_id for w in digest.items]})
    return NotifyReport(_outcomes(found.per_user, now, options, sent.refused), found.unassignable)


def _outcomes(per_user: list[Digest], now: datetime, options: NotifyOptions,
              refused: dict[str, str] | None) -> list[Outcome]:
    out = []
    for digest in per_user:
        email = digest.user.email
        if email is None:
            result = "no e-mail address"
        elif refused is None:
            result = "dry run"
        else:
            result = f"refused: {refused[email]}" if email in refused else "sent"
        overdue = sum(w.age(now) > options.overdue_after for w in digest.items)
        out.append(Outcome(digest.user.name, email, len(digest.items), overdue, result))
    return out


def compose(digest: Digest, now: datetime, options: NotifyOptions,
            smtp: SmtpConfig | None) -> EmailMessage:
    """The digest as a plain-text message. Invoice text is untrusted: each value is cut to
    one line of printable characters, and only the body carries it (the subject holds
    counts only)."""
    items, user = digest.items, digest.user
    overdue = sum(w.age(now) > options.overdue_after for w in items)
    message = EmailMessage()
    message["Subject"] = (f"arflow: {len(items)} invoice(s) wait for your approval"
                          + (f" ({overdue} overdue)" if overdue else ""))
    message["From"] = smtp.sender if smtp else "arflow@localhost"
    message["To"] = str(user.email)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="arflow")
    limit = "no limit" if user.approval_limit is None else f"limit {user.approval_limit:f}"
    lines = [f"Hello {_one_line(user.name)},", "",
             f"{len(items)} invoice(s) wait for your decision ({user.role}, {limit}); "
             f"{overdue} waited more than {_days(options.overdue_after)}.", ""]
    lines += [_item_line(w, now, options) for w in items[:MAX_LISTED]]
    if len(items) > MAX_LISTED:
        rest = f"... and {len(items) - MAX_LISTED} more"
        lines.append(f"{rest}: {options.base_url}/queue" if options.base_url else rest)
    lines += ["", "Oldest first. Each needs your sign-off or a rejection with a reason "
              "(one on hold, once its hold is released).",
              "-- arflow"]
    message.set_content("\n".join(lines) + "\n")
    return message


def _item_line(item: Waiting, now: datetime, options: NotifyOptions) -> str:
    amount = "amount unknown" if item.total is None else (
        f"{item.total:,.2f} {_one_line(item.currency or '')}".strip())
    late = "  OVERDUE" if item.age(now) > options.overdue_after else ""
    held = " (on hold: release the hold to decide it)" if item.status == "on_hold" else ""
    second = "  second approval (signed: " + ", ".join(item.signed) + ")" if item.signed else ""
    link = f"  {options.base_url}/items/{item.item_id}" if options.base_url else ""
    return (f"#{item.item_id}{held}  {_days(item.age(now))}  "
            f"{_one_line(item.seller or item.source)}  {amount}  "
            f"{', '.join(item.reasons) or '-'}{second}{late}{link}")


def _days(span: timedelta) -> str:
    days = span.total_seconds() / 86400
    return f"{days:.0f} day(s)" if days >= 1 else f"{span.total_seconds() / 3600:.0f} hour(s)"


def _one_line(text: str, width: int = 60) -> str:
    printable = "".join(c if c.isprintable() else " " for c in text)
    flat = " ".join(printable.split())
    return flat if len(flat) <= width else flat[:width - 1] + "…"
