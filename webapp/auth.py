"""Login state and CSRF for the web UI.

The session cookie is HttpOnly and SameSite=Lax (and Secure when ARFLOW_COOKIE_SECURE=1);
every POST form carries the session's CSRF token, compared in constant time. The login form,
before any session exists, uses a double-submit cookie.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from models.users import LoggedIn, session_user

SESSION_COOKIE = "arflow_session"
LOGIN_CSRF_COOKIE = "arflow_login_csrf"
READ_ROLES = ("clerk", "manager", "finance_lead")


class NotLoggedIn(Exception):
    """Raised by `require_login`; the app answers with a redirect to /login."""


class Forbidden(Exception):
    """A logged-in user without the role, or a form without a valid CSRF token."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def require_login(request: Request, session: Session,
                  roles: tuple[str, ...] = READ_ROLES) -> LoggedIn:
    logged = session_user(session, request.cookies.get(SESSION_COOKIE))
    if logged is None:
        raise NotLoggedIn
    if logged.user.role not in roles:
        raise Forbidden(f"this page needs one of the roles: {', '.join(roles)}")
    return logged


def check_csrf(expected: str | None, sent: object) -> None:
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(expected, sent):
        raise Forbidden("the form's CSRF token is missing or invalid; reload the page")


def set_cookie(response: Response, name: str, value: str, *, secure: bool,
               max_age: int | None = None) -> None:
    response.set_cookie(name, value, httponly=True, samesite="lax", secure=secure,
                        max_age=max_age, path="/")


def new_token() -> str:
    return secrets.token_urlsafe(32)
