"""Mailbox intake against a real dovecot on loopback (started per module, messages APPENDed
over IMAP), plus the .eml parsing rules and `.eml` files in the drop folder."""

from __future__ import annotations

import imaplib
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from arflow.cli import cli
from arflow.db import session_scope
from arflow.errors import ConfigError
from arflow.settings import Settings, load_settings
from generator.invoices import generate_documents
from ingest.documents import IngestContext, open_context
from ingest.dropfolder import DropFolder, poll_once
from ingest.eml import MailLimits, parse_message, safe_name
from ingest.imap import DONE_KEYWORD, ImapConfig, MailboxAuthError, MailboxError
from ingest.mailbox import fetch_mailbox
from models import db, repo

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "s3cret"

CONF = """base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
default_internal_user = {internal}
default_login_user = {login}
disable_plaintext_auth = no
first_valid_uid = {uid}
first_valid_gid = {gid}
auth_mechanisms = plain login
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
mail_location = maildir:{d}/mail/%u
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Dovecot:
    folder: Path
    imap: int
    imaps: int

    @property
    def conf(self) -> Path:
        return self.folder / "dovecot.conf"

    @property
    def ca_file(self) -> str:
        return str(self.folder / "cert.pem")

    def config(self, user: str, security: str = "tls", **extra: object) -> ImapConfig:
        port = self.imaps if security == "tls" else self.imap
        return ImapConfig(host="127.0.0.1", port=port, user=user, password=PASSWORD,
                          security=security, timeout_s=10, ca_file=self.ca_file,
                          **extra)  # type: ignore[arg-type]

    def kick(self, user: str) -> None:
        """Server-side disconnect of every session of `user` (a real mid-fetch failure)."""
        subprocess.run(["doveadm", "-c", str(self.conf), "kick", user], check=True,
                       capture_output=True, timeout=10)

    def append(self, user: str, *messages: bytes) -> None:
        conn = imaplib.IMAP4("127.0.0.1", self.imap, timeout=10)
        conn.login(user, PASSWORD)
        for raw in messages:
            assert conn.append("INBOX", None, None, raw)[0] == "OK"
        conn.logout()

    def flags(self, user: str) -> list[bytes]:
        conn = imaplib.IMAP4("127.0.0.1", self.imap, timeout=10)
        conn.login(user, PASSWORD)
        conn.select("INBOX", readonly=True)
        _, data = conn.uid("FETCH", "1:*", "(FLAGS)")
        conn.logout()
        return [d for d in data if isinstance(d, bytes)]


def _users() -> tuple[str, str, int, int]:
    """(internal, login, mail uid, gid): dovecot's own users when root, else ourselves."""
    if os.getuid() != 0:
        me = pwd.getpwuid(os.getuid()).pw_name
        return me, me, os.getuid(), os.getgid()
    mail = pwd.getpwnam("dovecot")
    return "dovecot", "dovenull", mail.pw_uid, mail.pw_gid


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    if not Path(DOVECOT).exists():
        if os.environ.get("CI"):
            pytest.fail("dovecot is not installed (apt-get install dovecot-imapd)")
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd)")
    folder = Path(tempfile.mkdtemp(prefix="arflow-dovecot-"))
    folder.chmod(0o755)  # the unprivileged login process reaches its sockets through it
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"),
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    internal, login, uid, gid = _users()
    (folder / "mail").mkdir()
    os.chown(folder / "mail", uid, gid)
    server = Dovecot(folder, _free_port(), _free_port())
    server.conf.write_text(CONF.format(d=folder, internal=internal, login=login, uid=uid,
                                       gid=gid, password=PASSWORD, imap=server.imap,
                                       imaps=server.imaps))
    proc = subprocess.Popen([DOVECOT, "-F", "-c", str(server.conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    try:
        _wait_listening(server.imap, proc)
        yield server
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        shutil.rmtree(folder, ignore_errors=True)


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert proc.poll() is None, "dovecot exited at start-up"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("dovecot did not start listening")


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return generate_documents(tmp_path_factory.mktemp("gen"), 6, seed=31)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return replace(load_settings({"ARFLOW_HOME": str(tmp_path / "home")}), workers=1)


@pytest.fixture
def ctx(settings: Settings) -> IngestContext:
    return open_context(settings, "mail:test")


@pytest.fixture
def user() -> str:
    return f"ap{uuid.uuid4().hex[:10]}"  # a fresh, empty mailbox per test


def _mail(subject: str, *files: tuple[str, bytes], text: str = "See attached.") -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = "supplier@example.com", "ap@example.com"
    message["Subject"], message["Message-ID"] = subject, f"<{uuid.uuid4().hex}@example.com>"
    message.set_content(text)
    for name, data in files:
        message.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return message


def _with_eml(subject: str, inner: EmailMessage) -> bytes:
    outer = _mail(subject)
    outer.add_attachment(inner.as_bytes(), maintype="application", subtype="octet-stream",
                         filename="forwarded.eml")
    return outer.as_bytes()


def _count(ctx: IngestContext, model: type[db.Base]) -> int:
    with session_scope(ctx.engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _ledger(ctx: IngestContext) -> dict[int, str]:
    with session_scope(ctx.engine) as session:
        rows = session.execute(select(db.MailMessage.uid, db.MailMessage.outcome)).all()
        return {uid: outcome for uid, outcome in rows}


def test_attachment_names_are_never_paths() -> None:
    assert safe_name("../../etc/passwd.pdf", "x") == "passwd.pdf"
    assert safe_name("C:\\Users\\a\\inv 1.pdf", "x") == "inv 1.pdf"
    assert safe_name("..", "fallback.pdf") == "fallback.pdf"
    assert safe_name("a;rm -rf $(x)|.pdf", "x") == "a_rm -rf _x_.pdf"
    assert len(safe_name("n" * 300 + ".pdf", "x")) <= 120


def test_nested_messages_and_caps_when_parsing(pdfs: list[Path]) -> None:
    inner = _mail("inner", ("inner.pdf", pdfs[0].read_bytes()))
    outer = _mail("outer", ("big.pdf", b"%PDF" + b"0" * 5000))
    outer.add_attachment(inner)  # message/rfc822
    parsed = parse_message(outer.as_bytes(), MailLimits(max_attachment_bytes=4000))
    assert [a.name for a in parsed.attachments] == ["inner.pdf"]
    assert parsed.skipped and "big.pdf" in parsed.skipped[0]


def test_tls_ingests_every_invoice_once_and_flags_after_commit(
    dovecot: Dovecot, ctx: IngestContext, user: str, pdfs: list[Path]
) -> None:
    dovecot.append(
        user,
        _mail("plain", ("../../evil/inv.pdf", pdfs[0].read_bytes())).as_bytes(),
        _with_eml("forwarded", _mail("inner", ("fwd.pdf", pdfs[1].read_bytes()))),
        _mail("no invoice", text="Hello, just a question.").as_bytes(),
        _mail("same invoice again", ("copy.pdf", pdfs[0].read_bytes())).as_bytes(),
    )
    summary = fetch_mailbox(ctx, dovecot.config(user, "tls"))
    assert summary.outcomes == {"ingested": 3, "no_invoice": 1}
    assert _ledger(ctx) == {1: "ingested", 2: "ingested", 3: "no_invoice", 4: "ingested"}
    assert _count(ctx, db.Document) == 2 and _count(ctx, db.Invoice) == 2
    assert all(DONE_KEYWORD.encode() in f for f in dovecot.flags(user))
    stored = [p.name for p in (ctx.settings.archive_dir / "mail").rglob("*.pdf")]
    assert any(name.endswith("-inv.pdf") for name in stored)  # no directories from the name
    again = fetch_mailbox(ctx, dovecot.config(user, "tls"))
    assert again.outcomes == {} and _count(ctx, db.MailMessage) == 4


def test_an_attachment_holding_several_invoices_is_split_once(
    dovecot: Dovecot, ctx: IngestContext, user: str, pdfs: list[Path], tmp_path: Path,
) -> None:
    """A supplier's PDF of three invoices, mailed: three invoices, the file kept as `split`,
    and a second pass takes nothing again."""
    from generator.bundles import write_bundle
    from models.domain import pages_label

    parts = write_bundle(pdfs[2:5], tmp_path / "batch.pdf")
    batch = (tmp_path / "batch.pdf").read_bytes()
    dovecot.append(user, _mail("three invoices", ("batch.pdf", batch)).as_bytes())
    summary = fetch_mailbox(ctx, dovecot.config(user, "tls"))
    assert summary.outcomes == {"ingested": 1}
    with session_scope(ctx.engine) as session:
        rows = repo.report_rows(session)
    (whole,) = [r for r in rows if r["source"].endswith("-batch.pdf")]  # stored as archived
    assert whole["status"] == "split"
    invoices = {r["source"].removeprefix(whole["source"]): r["invoice"]["invoice_number"]
                for r in rows if r is not whole}
    assert invoices == {f", {pages_label(p.first, p.last)}": p.number for p in parts}
    assert _count(ctx, db.Invoice) == 3
    again = fetch_mailbox(ctx, dovecot.config(user, "tls"))
    assert again.outcomes == {} and _count(ctx, db.Document) == 4


def test_starttls_records_oversized_and_malformed_and_skips_them(
    dovecot: Dovecot, ctx: IngestContext, user: str, pdfs: list[Path]
) -> None:
    broken = (b"From: a@example.com\r\nSubject: broken\r\nContent-Type: multipart/mixed; "
              b'boundary="XYZ"\r\n\r\nno boundary in this body\r\n')
    big = _mail("big", ("huge.pdf", pdfs[2].read_bytes() + b"%" * 300_000)).as_bytes()
    dovecot.append(user, broken, big, _mail("ok", ("ok.pdf", pdfs[3].read_bytes())).as_bytes())
    limits = MailLimits(max_message_bytes=200_000)
    summary = fetch_mailbox(ctx, dovecot.config(user, "starttls"), limits)
    assert summary.outcomes == {"malformed": 1, "oversized": 1, "ingested": 1}
    with session_scope(ctx.engine) as session:
        rows = session.execute(select(db.MailMessage.uid, db.MailMessage.error)).all()
        errors: dict[int, str | None] = {uid: error for uid, error in rows}
    assert "boundary" in (errors[1] or "").lower() and "exceeds" in (errors[2] or "")
    assert fetch_mailbox(ctx, dovecot.config(user, "starttls"), limits).outcomes == {}


def test_disconnect_mid_fetch_then_rerun_ingests_each_attachment_once(
    dovecot: Dovecot, ctx: IngestContext, user: str, pdfs: list[Path]
) -> None:
    dovecot.append(user, *(_mail(f"inv {i}", (f"inv{i}.pdf", pdfs[i].read_bytes())).as_bytes()
                           for i in range(4)))

    def drop_connection(uid: int) -> None:
        if uid == 2:
            dovecot.kick(user)

    with pytest.raises(MailboxError):
        fetch_mailbox(ctx, dovecot.config(user, "tls"), on_message=drop_connection)
    assert _ledger(ctx) == {1: "ingested", 2: "ingested"}
    summary = fetch_mailbox(ctx, dovecot.config(user, "tls"))
    assert summary.outcomes == {"ingested": 2}
    assert _ledger(ctx) == {uid: "ingested" for uid in (1, 2, 3, 4)}
    assert _count(ctx, db.Document) == 4 and _count(ctx, db.Invoice) == 4
    with session_scope(ctx.engine) as session:
        unacked = session.scalar(select(func.count()).where(
            db.MailMessage.acknowledged_at.is_(None)))
    assert unacked == 0


def test_bad_password_and_unreachable_server_are_typed_errors(
    dovecot: Dovecot, ctx: IngestContext, user: str
) -> None:
    with pytest.raises(MailboxAuthError):
        fetch_mailbox(ctx, replace(dovecot.config(user, "tls"), password="wrong"))
    with pytest.raises(MailboxError):
        fetch_mailbox(ctx, replace(dovecot.config(user, "tls"), port=_free_port()))
    with pytest.raises(MailboxError, match=r"(?i)certificate"):
        fetch_mailbox(ctx, replace(dovecot.config(user, "tls"), ca_file=None))


def test_eml_files_in_the_drop_folder_are_read_like_mail(
    settings: Settings, ctx: IngestContext, tmp_path: Path, pdfs: list[Path]
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "from-scanner.eml").write_bytes(
        _with_eml("fwd", _mail("inner", ("a.pdf", pdfs[4].read_bytes()))))
    (inbox / "chat.eml").write_bytes(_mail("hi", text="no invoice here").as_bytes())
    folder = DropFolder.from_settings(settings, inbox, stable_delay=0.05)
    summary = poll_once(ctx, folder)
    assert summary.outcomes == {"processed": 1, "no_invoice": 1}
    assert _count(ctx, db.Invoice) == 1 and not list(inbox.iterdir())
    assert sorted(p.name for p in folder.archive.rglob("*.eml")) == ["chat.eml",
                                                                     "from-scanner.eml"]


def test_imap_settings_come_from_the_environment_and_are_checked() -> None:
    env = {"ARFLOW_IMAP_HOST": "mail.example.com", "ARFLOW_IMAP_USER": "ap",
           "ARFLOW_IMAP_PASSWORD": "pw", "ARFLOW_IMAP_SECURITY": "starttls"}
    config = ImapConfig.from_env(env)
    assert (config.port, config.folder, config.mailbox) == (
        143, "INBOX", "ap@mail.example.com:143/INBOX")
    with pytest.raises(ConfigError, match="ARFLOW_IMAP_PASSWORD"):
        ImapConfig.from_env({k: v for k, v in env.items() if k != "ARFLOW_IMAP_PASSWORD"})
    with pytest.raises(ConfigError, match="SECURITY"):
        ImapConfig.from_env({**env, "ARFLOW_IMAP_SECURITY": "none"})


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_harness")
def test_the_mailbox_flow_reads_the_password_from_a_secret_block(
    dovecot: Dovecot, settings: Settings, user: str, pdfs: list[Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect.blocks.system import Secret
    from pydantic import SecretStr

    from flows.mailbox import poll_mailbox

    Secret(value=SecretStr(PASSWORD)).save("arflow-imap-test", overwrite=True)
    for key, value in {"HOST": "127.0.0.1", "PORT": str(dovecot.imaps), "USER": user,
                       "SECURITY": "tls", "CA_FILE": dovecot.ca_file}.items():
        monkeypatch.setenv(f"ARFLOW_IMAP_{key}", value)
    monkeypatch.delenv("ARFLOW_IMAP_PASSWORD", raising=False)
    monkeypatch.setenv("ARFLOW_HOME", str(settings.home))
    dovecot.append(user, _mail("inv", ("inv.pdf", pdfs[5].read_bytes())).as_bytes())
    counts = poll_mailbox(password_block="arflow-imap-test", database_url=settings.database_url)
    assert counts == {"ingested": 1, "acknowledged": 0}
    state = poll_mailbox(password_block=None, database_url=settings.database_url,
                         return_state=True)
    assert state.is_failed()  # no password anywhere: a ConfigError, not retried


# --- Nothing mailed is lost silently (QA: octet-stream PDFs, empty attachments, no reason) ---

PNG_HEAD = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
UBL = Path(__file__).parent / "data" / "einvoice" / "peppol-base-example.xml"


def _attach(message: EmailMessage, name: str, data: bytes, ctype: str) -> None:
    maintype, subtype = ctype.split("/")
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)


def test_invoice_attachments_are_recognised_by_content_not_by_type_or_name(
    pdfs: list[Path],
) -> None:
    """What the bytes are decides: a PDF as octet-stream without an extension, an image
    without a name, an e-invoice as text/plain, a JPEG labelled PDF; the stored name gets the
    suffix of what the bytes are (OCR and QR reading go by it). Whatever is not taken is
    listed, so a person can see it."""
    message = _mail("types and names lie")
    _attach(message, "Invoice 2026-0042", pdfs[0].read_bytes(), "application/octet-stream")
    _attach(message, "scan", PNG_HEAD, "application/octet-stream")
    message.add_attachment(UBL.read_text(encoding="utf-8"), subtype="plain",
                           filename="factura.txt")
    _attach(message, "photo.pdf", b"\xff\xd8\xff\xe0" + b"\x00" * 32, "application/pdf")
    _attach(message, "terms.zip", b"PK\x03\x04 not an invoice", "application/zip")
    parsed = parse_message(message.as_bytes())
    assert [a.name for a in parsed.attachments] == [
        "Invoice 2026-0042.pdf", "scan.png", "factura.txt.xml", "photo.pdf.jpg"]
    assert parsed.ignored == ["terms.zip (application/zip)"]
    assert parsed.subject == "types and names lie" and parsed.sender == "supplier@example.com"


def test_empty_and_unnamed_invoices_are_documents_and_no_invoice_has_a_reason(
    dovecot: Dovecot, ctx: IngestContext, user: str, pdfs: list[Path]
) -> None:
    """The QA messages: an octet-stream PDF named `Invoice 2026-0042` is read as an invoice; a
    zero-byte `zero.pdf` is kept and quarantined as EMPTY_DOCUMENT (in the report, with a
    copy and its reason file); a message with no invoice is recorded with a reason naming the
    message and what it held, listed by `mail_ledger.without_invoice` and in the summary."""
    from ingest import mail_ledger

    unnamed = _mail("octet-stream invoice")
    _attach(unnamed, "Invoice 2026-0042", pdfs[1].read_bytes(), "application/octet-stream")
    chat = _mail("Question about order 77", text="Hello, a question.")
    _attach(chat, "logo.gif", b"GIF89a" + b"\x00" * 20, "image/gif")
    dovecot.append(user, unnamed.as_bytes(), _mail("empty", ("zero.pdf", b"")).as_bytes(),
                   chat.as_bytes())
    summary = fetch_mailbox(ctx, dovecot.config(user, "tls"))
    assert summary.outcomes == {"ingested": 2, "no_invoice": 1}
    with session_scope(ctx.engine) as session:
        rows = {r["source"].split("-", 1)[1]: r for r in repo.report_rows(session)}
        (quiet,) = mail_ledger.without_invoice(session)
        error = quiet.error or ""
    assert rows["Invoice 2026-0042.pdf"]["status"] != "failed"
    assert rows["Invoice 2026-0042.pdf"]["invoice"]["invoice_number"]
    assert rows["zero.pdf"]["status"] == "failed"
    assert rows["zero.pdf"]["reasons"] == ["EMPTY_DOCUMENT"]
    (copy,) = [p for p in ctx.settings.quarantine_dir.iterdir()
               if not p.name.endswith(".reason.json")]
    assert copy.name.endswith("-zero.pdf") and copy.read_bytes() == b""
    assert "EMPTY_DOCUMENT" in copy.with_name(copy.name + ".reason.json").read_text()
    assert quiet.uid == 3 and "no invoice" in error and "Question about order 77" in error
    assert "logo.gif (image/gif)" in error and "supplier@example.com" in error
    assert [note.split(":")[0] for note in summary.notes] == ["message 3"]
    listed = CliRunner().invoke(cli, ["mail", "list", "--json"], env={
        "ARFLOW_HOME": str(ctx.settings.home), "ARFLOW_DATABASE_URL": ctx.settings.database_url})
    assert listed.exit_code == 0, listed.output
    (shown,) = [json.loads(line) for line in listed.output.splitlines()]
    assert (shown["uid"], shown["outcome"]) == (3, "no_invoice")
    assert "Question about order 77" in shown["reason"]


def test_an_eml_without_invoice_in_the_drop_folder_keeps_its_reason(
    settings: Settings, ctx: IngestContext, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "chat.eml").write_bytes(_mail("just saying hi", text="no invoice").as_bytes())
    assert poll_once(ctx, DropFolder.from_settings(settings, inbox, stable_delay=0.05)
                     ).outcomes == {"no_invoice": 1}
    with session_scope(ctx.engine) as session:
        reasons = session.scalar(select(db.DropFile.reasons))
    assert reasons and "just saying hi" in reasons[0]["message"]
