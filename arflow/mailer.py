"""The SMTP server behind one small wrapper: STARTTLS, TLS or plain (loopback), a timeout on
every call, typed errors (`MailerError`, `MailerTimeout`, `MailerAuthError`).

Settings come from the environment (`ARFLOW_SMTP_*`, see `SmtpConfig.from_env`). One
connection sends a list of messages; a recipient the server refuses fails that message only,
and the others are still sent (`Sent.refused`).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

from arflow.errors import ConfigError, ToolError, ToolTimeout

SECURITY = ("starttls", "tls", "plain")


class MailerError(ToolError):
    code = "SMTP_ERROR"


class MailerTimeout(MailerError, ToolTimeout):
    code = "SMTP_TIMEOUT"


class MailerAuthError(MailerError):
    code = "SMTP_AUTH"


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    sender: str
    port: int = 587
    security: str = "starttls"  # starttls | tls | plain (plain: a relay on loopback)
    user: str | None = None
    password: str | None = None
    timeout_s: float = 30.0
    ca_file: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SmtpConfig:
        missing = [k for k in ("HOST", "FROM") if not env.get(f"ARFLOW_SMTP_{k}")]
        if missing:
            names = ", ".join(f"ARFLOW_SMTP_{k}" for k in missing)
            raise ConfigError(f"SMTP settings missing: {names}")
        security = env.get("ARFLOW_SMTP_SECURITY", "starttls").lower()
        if security not in SECURITY:
            raise ConfigError(f"ARFLOW_SMTP_SECURITY must be one of {SECURITY}, not {security!r}")
        default_port = {"tls": "465", "starttls": "587", "plain": "25"}[security]
        try:
            port = int(env.get("ARFLOW_SMTP_PORT", default_port))
            timeout = float(env.get("ARFLOW_SMTP_TIMEOUT", "30"))
        except ValueError as err:
            raise ConfigError(f"ARFLOW_SMTP_PORT / ARFLOW_SMTP_TIMEOUT: {err}") from err
        return cls(host=env["ARFLOW_SMTP_HOST"], sender=env["ARFLOW_SMTP_FROM"], port=port,
                   security=security, user=env.get("ARFLOW_SMTP_USER") or None,
                   password=env.get("ARFLOW_SMTP_PASSWORD") or None, timeout_s=timeout,
                   ca_file=env.get("ARFLOW_SMTP_CA_FILE") or None)


@dataclass(frozen=True)
class Sent:
    """What one connection did: messages accepted, and refused ones with the server's word."""

    accepted: list[str] = field(default_factory=list)  # recipients
    refused: dict[str, str] = field(default_factory=dict)  # recipient → reply


@contextmanager
def smtp_errors(config: SmtpConfig) -> Iterator[None]:
    """Translate socket, TLS and protocol failures raised inside the block."""
    where = f"SMTP {config.host}:{config.port}"
    try:
        yield
    except TimeoutError as err:
        raise MailerTimeout(f"{where}: timed out after {config.timeout_s:g} s") from err
    except smtplib.SMTPAuthenticationError as err:
        raise MailerAuthError(f"{where}: login refused ({err.smtp_code})") from err
    except (smtplib.SMTPException, ssl.SSLError, OSError) as err:
        raise MailerError(f"{where}: {err}") from err


def send_all(config: SmtpConfig, messages: Sequence[EmailMessage]) -> Sent:
    """Send `messages` (each to its To address) over one connection."""
    sent = Sent()
    if not messages:
        return sent
    with smtp_errors(config), _connect(config) as smtp:
        for message in messages:
            recipient = str(message["To"])
            try:
                smtp.send_message(message, from_addr=config.sender, to_addrs=[recipient])
            except smtplib.SMTPRecipientsRefused as err:
                code, reply = err.recipients.get(recipient, (0, b"refused"))
                sent.refused[recipient] = f"{code} {reply.decode(errors='replace')}"
            except smtplib.SMTPDataError as err:
                sent.refused[recipient] = f"{err.smtp_code} {err.smtp_error!r}"
            else:
                sent.accepted.append(recipient)
    return sent


def _connect(config: SmtpConfig) -> smtplib.SMTP:
    context = ssl.create_default_context(cafile=config.ca_file)
    smtp: smtplib.SMTP
    if config.security == "tls":
        smtp = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout_s,
                                context=context)
    else:
        smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout_s)
    try:
        if config.security == "starttls":
            smtp.starttls(context=context)
        if config.user and config.password:
            smtp.login(config.user, config.password)
    except BaseException:
        smtp.close()
        raise
    return smtp
