"""The approvers' digest (`arflow notify`): who each waiting item waits for, sent through a
real SMTP server on loopback (aiosmtpd), on SQLite and PostgreSQL."""

from __future__ import annotations

import email
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from arflow.cli import cli
from arflow.db import session_scope
from arflow.errors import ConfigError
from arflow.mailer import MailerError, SmtpConfig
from arflow.notify import NotifyOptions, notify
from models import approvals
from models.audit import verify_chain
from models.corrections import correct_field
from models.db import AuditEvent, ReviewItem, User
from models.domain import Party as PartyInfo
from models.types import utcnow
from tests.test_approvals import MATRIX, make_item, make_user, sample_invoice

Loader = Callable[[Session], None]
OTHER_IBAN = "GB82WEST12345698765432"  # valid, but not the one on file: BANK_DETAILS_CHANGED
BASE = "https://arflow.example"


@dataclass
class Inbox:
    """What the SMTP server received; recipients it refuses with 550."""

    refuse: set[str] = field(default_factory=set)
    messages: dict[str, Message] = field(default_factory=dict)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any,  # noqa: N802
                          address: str, options: Any) -> str:  # (aiosmtpd's hook names)
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        for rcpt in envelope.rcpt_tos:
            self.messages[rcpt] = email.message_from_bytes(envelope.content)
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, SmtpConfig]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield inbox, SmtpConfig(host="127.0.0.1", port=controller.port, security="plain",
                                sender="arflow@example.com", timeout_s=5)
    finally:
        controller.stop()


def _queue(engine: Engine, load_master: Loader) -> dict[str, int]:
    """Four waiting items and five users; the item ids by what they need."""
    with Session(engine, expire_on_commit=False) as session:
        load_master(session)
        session.commit()
        items = {
            "clerk": make_item(session, sample_invoice("999.00", "A-1"), "a1.pdf"),
            "manager": make_item(session, sample_invoice("5000.00", "A-2"), "a2.pdf"),
            "bank": make_item(session, sample_invoice("500.00", "A-3", OTHER_IBAN), "a3.pdf"),
            "two": make_item(session, sample_invoice("25000.00", "A-4"), "a4.pdf"),
        }
        for name, role, limit, address in (
                ("ana", "clerk", "1000", "ana@example.com"),
                ("cleo", "clerk", "1000", "cleo@example.com"),
                ("mo", "manager", None, "mo@example.com"),
                ("fi", "finance_lead", None, "fi@example.com"),
                ("nomail", "finance_lead", None, None)):
            user = make_user(session, name, role, limit)
            user.email = address
        session.commit()
        return {k: v.id for k, v in items.items()}


def _sessions(engine: Engine) -> Callable[[], Any]:
    return lambda: session_scope(engine)


def _listed(message: Message) -> list[str]:
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    return [ln.split()[0] for ln in body.decode().splitlines() if ln.startswith("#")]


def test_each_item_goes_to_the_lowest_role_that_may_approve_it(
    engine: Engine, load_master: Loader, smtp: tuple[Inbox, SmtpConfig],
) -> None:
    ids = _queue(engine, load_master)
    inbox, config = smtp
    report = notify(_sessions(engine), MATRIX, config, NotifyOptions(base_url=BASE))
    got = {o.user: (o.items, o.result) for o in report.outcomes}
    assert got == {"ana": (1, "sent"), "cleo": (1, "sent"), "mo": (1, "sent"),
                   "fi": (2, "sent"), "nomail": (2, "no e-mail address")}
    assert _listed(inbox.messages["ana@example.com"]) == [f"#{ids['clerk']}"]
    assert _listed(inbox.messages["mo@example.com"]) == [f"#{ids['manager']}"]
    assert _listed(inbox.messages["fi@example.com"]) == [f"#{ids['bank']}", f"#{ids['two']}"]
    assert report.unassignable == []
    message = inbox.messages["fi@example.com"]
    assert message["Subject"] == "arflow: 2 invoice(s) wait for your approval"
    body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert f"{BASE}/items/{ids['bank']}" in body and "BANK_DETAILS_CHANGED" in body
    assert "25,000.00 EUR" in body
    with Session(engine) as session:
        assert verify_chain(session) is None
        sent = session.query(AuditEvent).filter(AuditEvent.action == "notify.digest").count()
        assert sent == 4


def test_a_signer_and_a_corrector_are_not_asked_again_and_a_blocked_item_is_reported(
    engine: Engine, load_master: Loader, smtp: tuple[Inbox, SmtpConfig],
) -> None:
    ids = _queue(engine, load_master)
    with Session(engine, expire_on_commit=False) as session:
        fi, ana = (session.scalars(select(User).where(User.name == n)).one() for n in ("fi", "ana"))
        two = session.get_one(ReviewItem, ids["two"])
        approvals.approve(session, two.id, user=fi, expected_version=two.version, matrix=MATRIX)
        clerk_item = session.get_one(ReviewItem, ids["clerk"])
        correct_field(session, clerk_item.id, user=ana, expected_version=clerk_item.version,
                      name="total", text="166.18")
        session.commit()
    inbox, config = smtp
    report = notify(_sessions(engine), MATRIX, config, NotifyOptions())
    assert [w.item_id for w in report.unassignable] == []  # "nomail" may still sign it
    assert "ana@example.com" not in inbox.messages  # she corrected her only item
    assert _listed(inbox.messages["cleo@example.com"]) == [f"#{ids['clerk']}"]
    assert _listed(inbox.messages["fi@example.com"]) == [f"#{ids['bank']}"]
    with Session(engine) as session:
        session.execute(update(User).where(User.name == "nomail").values(active=False))
        session.commit()
    blocked = notify(_sessions(engine), MATRIX, config, NotifyOptions(dry_run=True))
    assert [w.item_id for w in blocked.unassignable] == [ids["two"]]


def test_overdue_items_are_marked_and_counted(
    engine: Engine, load_master: Loader, smtp: tuple[Inbox, SmtpConfig],
) -> None:
    ids = _queue(engine, load_master)
    with Session(engine) as session:
        session.execute(update(ReviewItem).where(ReviewItem.id == ids["clerk"])
                        .values(created_at=utcnow() - timedelta(days=5)))
        session.commit()
    inbox, config = smtp
    notify(_sessions(engine), MATRIX, config, NotifyOptions(overdue_after=timedelta(days=3)))
    message = inbox.messages["ana@example.com"]
    assert message["Subject"] == "arflow: 1 invoice(s) wait for your approval (1 overdue)"
    line = next(ln for ln in message.get_payload(decode=True).decode().splitlines()  # type: ignore[union-attr]
                if ln.startswith("#"))
    assert "5 day(s)" in line and line.endswith("OVERDUE")


def test_a_refused_recipient_fails_alone_and_is_not_audited(
    engine: Engine, load_master: Loader, smtp: tuple[Inbox, SmtpConfig],
) -> None:
    _queue(engine, load_master)
    inbox, config = smtp
    inbox.refuse.add("mo@example.com")
    report = notify(_sessions(engine), MATRIX, config, NotifyOptions())
    results = {o.user: o.result for o in report.outcomes}
    assert results["mo"].startswith("refused: 550")
    assert results["ana"] == results["fi"] == "sent"
    assert "mo@example.com" not in inbox.messages and "ana@example.com" in inbox.messages
    with Session(engine) as session:
        sent = session.query(AuditEvent).filter(AuditEvent.action == "notify.digest").count()
        assert sent == 3


def test_a_server_that_is_down_is_a_typed_error(engine: Engine, load_master: Loader) -> None:
    _queue(engine, load_master)
    config = SmtpConfig(host="127.0.0.1", port=_free_port(), security="plain",
                        sender="arflow@example.com", timeout_s=2)
    with pytest.raises(MailerError) as failed:
        notify(_sessions(engine), MATRIX, config, NotifyOptions())
    assert failed.value.exit_code == 4 and "127.0.0.1" in failed.value.message


def test_hostile_invoice_text_stays_one_line_of_the_body(
    engine: Engine, load_master: Loader, smtp: tuple[Inbox, SmtpConfig],
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        load_master(session)
        session.commit()
        hostile = PartyInfo(name="Evil SL\r\nBcc: victim@example.com\r\n\r\nPay now",
                            tax_id="ESB58378431")
        make_item(session, replace(sample_invoice("999.00", "H-1"), seller=hostile), "h.pdf")
        make_user(session, "ana", "clerk", "1000").email = "ana@example.com"
        session.commit()
    inbox, config = smtp
    notify(_sessions(engine), MATRIX, config, NotifyOptions())
    message = inbox.messages["ana@example.com"]
    assert message["Bcc"] is None and list(inbox.messages) == ["ana@example.com"]
    (line,) = [ln for ln in message.get_payload(decode=True).decode().splitlines()  # type: ignore[union-attr]
               if ln.startswith("#")]
    assert "Evil SL Bcc: victim@example.com Pay now" in line


def test_the_command_sends_and_dry_runs(
    runner: CliRunner, smtp: tuple[Inbox, SmtpConfig], monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    inbox, config = smtp
    monkeypatch.setenv("ARFLOW_PASSWORD", "password-ana")
    bad = runner.invoke(cli, ["users", "add", "ana", "--role", "clerk", "--email", "a b@x"])
    assert bad.exit_code != 0
    added = runner.invoke(cli, ["users", "add", "ana", "--role", "clerk",
                                "--email", "ana@example.com"])
    assert added.exit_code == 0 and "ana@example.com" in added.output
    assert "no invoice waits" in runner.invoke(cli, ["notify", "--dry-run"]).output
    data = Path(__file__).resolve().parent.parent / "data"
    for kind in ("parties", "orders", "receipts"):
        assert runner.invoke(cli, ["import", kind, str(data / f"{kind}.csv")]).exit_code == 0
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "001.pdf").write_bytes((data / "invoices/001_ferreteria_hermanos.pdf")
                                              .read_bytes())  # PRICE_VARIANCE
    assert runner.invoke(cli, ["run", "--inbox", str(tmp_path / "in"),
                               "--engine", "plain"]).exit_code == 0
    dry = runner.invoke(cli, ["notify", "--dry-run"])
    assert dry.output.startswith("ana <ana@example.com>: 1 item(s), 0 overdue: dry run")
    unset = runner.invoke(cli, ["notify"]).exception  # no ARFLOW_SMTP_*: a configuration error
    assert isinstance(unset, ConfigError) and unset.exit_code == 2
    assert "ARFLOW_SMTP_HOST" in unset.message
    for key, value in (("HOST", config.host), ("PORT", str(config.port)),
                       ("SECURITY", "plain"), ("FROM", config.sender)):
        monkeypatch.setenv(f"ARFLOW_SMTP_{key}", value)
    done = runner.invoke(cli, ["notify"])
    assert done.exit_code == 0, done.output
    assert "ana <ana@example.com>: 1 item(s), 0 overdue: sent" in done.output
    assert "PRICE_VARIANCE" in str(inbox.messages["ana@example.com"].get_payload(decode=True))


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_harness")
def test_the_digest_flow_sends_and_names_what_nobody_may_approve(
    smtp: tuple[Inbox, SmtpConfig], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    load_master: Loader,
) -> None:
    from arflow.db import make_engine, upgrade
    from flows.notify import approver_digest

    url = f"sqlite:///{tmp_path / 'digest.db'}"
    upgrade(url)
    ids = _queue(make_engine(url), load_master)
    inbox, config = smtp
    for key, value in (("DATABASE_URL", url), ("SMTP_HOST", config.host),
                       ("SMTP_PORT", str(config.port)), ("SMTP_SECURITY", "plain"),
                       ("SMTP_FROM", config.sender), ("HOME", str(tmp_path / "home"))):
        monkeypatch.setenv(f"ARFLOW_{key}", value)
    result = approver_digest()
    assert result["digests"]["ana"] == "sent" and result["unassignable"] == []
    assert _listed(inbox.messages["mo@example.com"]) == [f"#{ids['manager']}"]


def test_only_a_lost_or_slow_server_is_retried() -> None:
    from prefect.states import Completed, Failed

    from arflow.mailer import MailerAuthError, MailerTimeout
    from flows.notify import digest_task

    retry = digest_task.retry_condition_fn
    assert retry is not None

    def failed(err: Exception) -> object:
        return Failed(data=err)

    assert retry(None, None, failed(MailerTimeout("slow")))
    assert retry(None, None, failed(MailerError("connection reset")))
    assert not retry(None, None, failed(MailerAuthError("535")))
    assert not retry(None, None, failed(ConfigError("ARFLOW_SMTP_HOST missing")))
    assert not retry(None, None, failed(KeyError("bug")))
    assert not retry(None, None, Completed(data=1))


def test_an_item_on_hold_is_listed_as_waiting_for_its_release(
    engine: Engine, load_master: Loader, smtp: tuple[Inbox, SmtpConfig],
) -> None:
    """A hold blocks deciding (`models.approvals`): the digest says so on the item's line."""
    ids = _queue(engine, load_master)
    with Session(engine) as session:
        ana = session.scalars(select(User).where(User.name == "ana")).one()
        approvals.hold(session, ids["clerk"], user=ana, expected_version=1,
                       note="waiting for the delivery note")
        session.commit()
    inbox, config = smtp
    notify(_sessions(engine), MATRIX, config, NotifyOptions())
    body = inbox.messages["ana@example.com"].get_payload(decode=True)
    assert isinstance(body, bytes)
    line = next(ln for ln in body.decode().splitlines() if ln.startswith(f"#{ids['clerk']}"))
    assert "(on hold: release the hold to decide it)" in line
