"""The IMAP server behind one small wrapper: TLS or STARTTLS, a timeout on every call,
typed errors (`MailboxError`, `MailboxTimeout`, `MailboxAuthError`), UIDs only.

Credentials come from the environment (`ARFLOW_IMAP_*`, see `ImapConfig.from_env`) or, in a
Prefect deployment, from a Secret block (`flows/mailbox.py`).
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from types import TracebackType

from arflow.errors import ConfigError, ToolError, ToolTimeout

log = logging.getLogger(__name__)
DONE_KEYWORD = "$ArflowDone"
SECURITY = ("tls", "starttls", "plain")


class MailboxError(ToolError):
    code = "IMAP_ERROR"


class MailboxTimeout(MailboxError, ToolTimeout):
    code = "IMAP_TIMEOUT"


class MailboxAuthError(MailboxError):
    code = "IMAP_AUTH"


@dataclass(frozen=True)
class ImapConfig:
    host: str
    user: str
    password: str
    port: int = 993
    folder: str = "INBOX"
    security: str = "tls"  # tls | starttls | plain (plain: tests on loopback only)
    timeout_s: float = 30.0
    processed_folder: str | None = None  # move there when done; else flag $ArflowDone
    ca_file: str | None = None

    @property
    def mailbox(self) -> str:
        """The ledger's name for this folder: user@host:port/folder."""
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"

    @classmethod
    def from_env(cls, env: dict[str, str]) -> ImapConfig:
        missing = [k for k in ("HOST", "USER", "PASSWORD") if not env.get(f"ARFLOW_IMAP_{k}")]
        if missing:
            names = ", ".join(f"ARFLOW_IMAP_{k}" for k in missing)
            raise ConfigError(f"IMAP settings missing: {names}")
        security = env.get("ARFLOW_IMAP_SECURITY", "tls").lower()
        if security not in SECURITY:
            raise ConfigError(f"ARFLOW_IMAP_SECURITY must be one of {SECURITY}, not {security!r}")
        default_port = "993" if security == "tls" else "143"
        return cls(host=env["ARFLOW_IMAP_HOST"], user=env["ARFLOW_IMAP_USER"],
                   password=env["ARFLOW_IMAP_PASSWORD"], security=security,
                   port=int(env.get("ARFLOW_IMAP_PORT", default_port)),
                   folder=env.get("ARFLOW_IMAP_FOLDER", "INBOX"),
                   timeout_s=float(env.get("ARFLOW_IMAP_TIMEOUT", "30")),
                   processed_folder=env.get("ARFLOW_IMAP_PROCESSED_FOLDER") or None,
                   ca_file=env.get("ARFLOW_IMAP_CA_FILE") or None)


@contextmanager
def imap_errors(what: str) -> Iterator[None]:
    """Translate socket, TLS and protocol failures raised inside the block."""
    try:
        yield
    except TimeoutError as err:
        raise MailboxTimeout(f"IMAP {what}: timed out") from err
    except imaplib.IMAP4.abort as err:
        raise MailboxError(f"IMAP {what}: connection lost: {err}") from err
    except imaplib.IMAP4.error as err:
        raise MailboxError(f"IMAP {what}: {err}") from err
    except (OSError, ssl.SSLError) as err:
        raise MailboxError(f"IMAP {what}: {type(err).__name__}: {err}") from err


class ImapClient:
    """One logged-in connection with the configured folder selected."""

    def __init__(self, config: ImapConfig) -> None:
        self.config = config
        self.uidvalidity = 0
        self._conn: imaplib.IMAP4 | None = None

    def __enter__(self) -> ImapClient:
        self._conn = self._connect()
        self._login()
        self.uidvalidity = self._select(self.config.folder)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._conn is not None:
            with suppress(imaplib.IMAP4.error, OSError):  # the connection may be gone already
                self._conn.logout()
            self._conn = None

    @property
    def conn(self) -> imaplib.IMAP4:
        if self._conn is None:
            raise MailboxError("IMAP: not connected")
        return self._conn

    def _connect(self) -> imaplib.IMAP4:
        cfg = self.config
        context = ssl.create_default_context(cafile=cfg.ca_file)
        with imap_errors(f"connect to {cfg.host}:{cfg.port}"):
            if cfg.security == "tls":
                return imaplib.IMAP4_SSL(cfg.host, cfg.port, ssl_context=context,
                                         timeout=cfg.timeout_s)
            conn = imaplib.IMAP4(cfg.host, cfg.port, timeout=cfg.timeout_s)
            if cfg.security == "starttls":
                conn.starttls(ssl_context=context)
            return conn

    def _login(self) -> None:
        try:
            self.conn.login(self.config.user, self.config.password)
        except imaplib.IMAP4.abort as err:
            raise MailboxError(f"IMAP login: connection lost: {err}") from err
        except imaplib.IMAP4.error as err:
            raise MailboxAuthError(f"IMAP login as {self.config.user!r} refused: {err}") from err
        except OSError as err:
            raise MailboxError(f"IMAP login: {err}") from err

    def _select(self, folder: str) -> int:
        with imap_errors(f"select {folder}"):
            status, _ = self.conn.select(_quote(folder))
            if status != "OK":
                raise MailboxError(f"IMAP: cannot select folder {folder!r}")
            _, data = self.conn.response("UIDVALIDITY")
        return int(data[0]) if data and data[0] else 0

    def _uid(self, what: str, *args: str) -> list[object]:
        with imap_errors(what):
            status, data = self.conn.uid(*args)
        if status != "OK":
            raise MailboxError(f"IMAP {what}: {status} {data!r}")
        return list(data)

    def search_pending(self) -> list[int]:
        """UIDs of messages not yet marked done, ascending."""
        data = self._uid("search", "SEARCH", "UNKEYWORD", DONE_KEYWORD)
        first = data[0] if data else b""
        return sorted(int(uid) for uid in (first or b"").split()) if isinstance(first, bytes) \
            else []

    def size_of(self, uid: int) -> int:
        data = self._uid("fetch size", "FETCH", str(uid), "(RFC822.SIZE)")
        found = re.search(rb"RFC822\.SIZE (\d+)", _first_bytes(data))
        if found is None:
            raise MailboxError(f"IMAP: message {uid} has no size (expunged?)")
        return int(found.group(1))

    def fetch(self, uid: int) -> bytes:
        """The whole message, without setting \\Seen."""
        for item in self._uid("fetch", "FETCH", str(uid), "(BODY.PEEK[])"):
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                return item[1]
        raise MailboxError(f"IMAP: message {uid} could not be fetched (expunged?)")

    def acknowledge(self, uid: int) -> None:
        """Flag the message done (and seen); move it when a processed folder is configured."""
        self._uid("store", "STORE", str(uid), "+FLAGS", f"(\\Seen {DONE_KEYWORD})")
        if self.config.processed_folder:
            self._uid("move", "MOVE", str(uid), _quote(self.config.processed_folder))


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _first_bytes(data: list[object]) -> bytes:
    for item in data:
        if isinstance(item, bytes):
            return item
        if isinstance(item, tuple) and item and isinstance(item[0], bytes):
            return item[0]
    return b""
