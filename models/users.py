"""Reviewers and their browser sessions: scrypt password hashes, hashed session tokens.

The rules for names and passwords live here, so that every path (`arflow users add`, the web
UI's password change) enforces them: a name is 1 to 64 letters, digits or . _ @ - starting
with a letter or digit (names appear in URLs, the audit log and e-mails); a password is 8 to
1,024 characters (scrypt hashes any length; the cap keeps a pasted file from being taken).
Passwords are stored as `scrypt$n$r$p$salt$hash` (hex), verified in constant time. A session
cookie carries a random token; the database keeps only its SHA-256 and a per-session CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from arflow.errors import ArflowError
from models.audit import append_audit
from models.db import User, WebSession
from models.throttle import clear_failures, record_failure, wait_before_login
from models.types import utcnow

ROLES = ("clerk", "manager", "finance_lead")
SESSION_TTL = timedelta(hours=12)
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
USER_NAME = re.compile(r"[^\W_][\w.@-]{0,63}")  # letters (José too), digits and . _ @ -


class UserError(ArflowError):
    code = "USER_ERROR"
    exit_code = 2


def name_problem(name: str) -> str | None:
    """What is wrong with `name` as a user name; None when nothing is."""
    if USER_NAME.fullmatch(name):
        return None
    return (f"{name[:80]!r}: use 1 to 64 letters, digits or . _ @ - "
            f"(starting with a letter or digit)")


def password_too_long(password: str, *, new: bool = False) -> str | None:
    """The refusal of a password over `MAX_PASSWORD` characters; None when it is not."""
    if len(password) <= MAX_PASSWORD:
        return None
    which = "the new password" if new else "the password"
    return (f"{which} is too long ({len(password)} characters; at most {MAX_PASSWORD} "
            f"characters)")


def password_problem(password: str, *, new: bool = False) -> str | None:
    """What is wrong with `password` as a new password (too short, too long); None when
    nothing is."""
    if len(password) < MIN_PASSWORD:
        which = "the new password is" if new else "password"
        return f"{which} too short (at least {MIN_PASSWORD} characters)"
    return password_too_long(password, new=new)


@dataclass(frozen=True)
class LoggedIn:
    """The user behind a session, with the session's CSRF token."""

    user: User
    csrf_token: str


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    n, r, p = _SCRYPT["n"], _SCRYPT["r"], _SCRYPT["p"]
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        found = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), dklen=32,
                               n=int(n), r=int(r), p=int(p))
    except ValueError:
        return False
    return hmac.compare_digest(found.hex(), digest)


def add_user(session: Session, name: str, password: str, role: str,
             limit: Decimal | None, *, email: str | None = None, actor: str = "cli") -> User:
    """Create (or replace the password, role and limit of, and reactivate) a user; `email`
    (kept when not given) is where the approvers' digest goes. Audited (`user.add` or
    `user.update`, the password never); a reset password ends the user's browser sessions."""
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    for problem in (name_problem(name), password_problem(password)):
        if problem is not None:
            raise UserError(problem)
    user = session.scalar(select(User).where(User.name == name))
    before = None if user is None else _profile(user)
    if user is None:
        user = User(name=name)
        session.add(user)
    else:
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    user.password_hash = hash_password(password)
    user.role, user.approval_limit, user.active = role, limit, True
    if email is not None:
        user.email = checked_email(email)
    clear_failures(session, name)  # a reset password also lifts a login throttle
    session.flush()
    append_audit(session, actor=actor, action="user.add" if before is None else "user.update",
                 entity="user", entity_id=user.id, before=before,
                 after={**_profile(user), "password": "set"})
    return user


def deactivate_user(session: Session, name: str, *, actor: str = "cli") -> User:
    """Take a user's access away at once (their browser sessions end); audited. `add_user`
    gives it back, with a new password."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise UserError(f"no user named {name!r}")
    before = _profile(user)
    user.active = False
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.flush()
    append_audit(session, actor=actor, action="user.deactivate", entity="user",
                 entity_id=user.id, before=before, after=_profile(user))
    return user


def change_password(session: Session, user: User, current: str, new: str, *,
                    keep: str | None, client: str | None = None) -> None:
    """A user's own password changed from the web UI: the current one must be right (a wrong
    one counts as a failed login, under the same throttle), the new one long enough and not
    the same; a new one over `MAX_PASSWORD` is refused before anything is hashed. Every other
    browser session of the user ends (the one whose token is `keep`
    stays); audited (`user.password`, never the password)."""
    too_long = password_too_long(new, new=True)
    if too_long is not None:
        raise UserError(too_long)
    wait = wait_before_login(session, user.name)
    if wait is not None:
        raise UserError("too many failed attempts for this user: try again later")
    if len(current) > MAX_PASSWORD or not verify_password(current, user.password_hash):
        record_failure(session, user.name, client)
        raise UserError("the current password is wrong")
    problem = password_problem(new, new=True)
    if problem is not None:
        raise UserError(problem)
    if new == current:
        raise UserError("the new password is the current one")
    user.password_hash = hash_password(new)
    kept = _token_hash(keep) if keep else ""
    session.execute(delete(WebSession).where(WebSession.user_id == user.id,
                                             WebSession.token_hash != kept))
    session.flush()
    append_audit(session, actor=user.name, action="user.password", entity="user",
                 entity_id=user.id, after={"password": "changed", "other_sessions": "ended"})


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))


def _profile(user: User) -> dict[str, object]:
    limit = user.approval_limit
    return {"name": user.name, "role": user.role, "active": user.active, "email": user.email,
            "limit": None if limit is None else str(limit)}


def checked_email(address: str) -> str:
    """`address` if it is one plain mailbox (name@domain, no spaces or line breaks, which
    would let it add mail headers); else `UserError`."""
    local, at, domain = address.strip().rpartition("@")
    if (not at or not local or "." not in domain or len(address) > 320
            or any(c.isspace() or c in "<>,;\"" for c in address.strip())):
        raise UserError(f"not an e-mail address: {address!r}")
    return address.strip()


def authenticate(session: Session, name: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.name == name, User.active.is_(True)))
    if user is None:
        verify_password(password, hash_password("timing-equaliser"))
        return None
    return user if verify_password(password, user.password_hash) else None


@dataclass(frozen=True)
class LoginAttempt:
    """A new session's cookie token, or nothing; `wait` when the name is throttled."""

    token: str | None = None
    wait: timedelta | None = None


def attempt_login(session: Session, name: str, password: str,
                  client: str | None) -> LoginAttempt:
    """Check a login under the throttle (`models.throttle`); open a session when it is right.
    A name no user can have (`name_problem`: a NUL, which PostgreSQL refuses in a query,
    1 MB of text) fails at once: no user to guess for, nothing to count."""
    if name_problem(name) is not None:
        return LoginAttempt()
    wait = wait_before_login(session, name)
    if wait is not None:
        return LoginAttempt(wait=wait)
    user = authenticate(session, name, password)
    if user is None:
        record_failure(session, name, client)
        return LoginAttempt()
    clear_failures(session, name)
    return LoginAttempt(token=open_session(session, user))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, user: User) -> str:
    """Start a browser session; returns the cookie token (stored only as a hash)."""
    token = secrets.token_urlsafe(32)
    session.execute(delete(WebSession).where(WebSession.expires_at <= utcnow()))
    session.add(WebSession(token_hash=_token_hash(token), user_id=user.id,
                           csrf_token=secrets.token_urlsafe(32),
                           expires_at=utcnow() + SESSION_TTL))
    session.flush()
    return token


def session_user(session: Session, token: str | None) -> LoggedIn | None:
    if not token:
        return None
    row = session.get(WebSession, _token_hash(token))
    if row is None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return LoggedIn(user=user, csrf_token=row.csrf_token)


def close_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(WebSession).where(WebSession.token_hash == _token_hash(token)))
