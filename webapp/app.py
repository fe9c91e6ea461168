"""The FastAPI application: `create_app(settings)`; served by `arflow serve`.

Server-rendered pages (Jinja2 with autoescaping: invoice text is untrusted), static files
shipped in this package, strict security headers (no inline scripts or styles)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from arflow.db import make_engine, session_scope
from arflow.errors import ArflowError
from arflow.reasons import describe
from arflow.settings import Settings, load_settings
from models.approvals import ApprovalMatrix, load_matrix
from models.users import LoggedIn, session_user
from webapp.auth import SESSION_COOKIE, Forbidden, NotLoggedIn

HERE = Path(__file__).resolve().parent
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass
class WebContext:
    """What every route needs, built once per app."""

    settings: Settings
    engine: Engine
    matrix: ApprovalMatrix
    templates: Jinja2Templates
    secure_cookies: bool


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["describe"] = describe
    env.filters["money"] = lambda v: "—" if v is None else f"{v:,.2f}"
    return Jinja2Templates(env=env)


MAX_BODY = 4 * 1024 * 1024  # bytes of a request body: far above any form of these pages


class _BodyTooLarge(Exception):
    """A request body went past `MAX_BODY` while it was read."""


class _LimitBody:
    """Refuse a request whose body is larger than `MAX_BODY` (413), by its Content-Length
    or, sent in chunks, once that much has arrived: Starlette caps each form field at 1 MB,
    not the number of fields, and the login form needs no session."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if len(length) > 12 or (length.isdigit() and int(length) > MAX_BODY):
            await _too_large(scope, receive, send)
            return
        seen, started = 0, False

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > MAX_BODY:
                raise _BodyTooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, tracked)
        except _BodyTooLarge:
            if started:
                raise
            await _too_large(scope, receive, send)


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    response = PlainTextResponse(f"request too large (at most {MAX_BODY // 1024 // 1024} MB)",
                                 status_code=413, headers={"Connection": "close"})
    await response(scope, receive, send)


class _Headers(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def create_app(settings: Settings | None = None, *, matrix: ApprovalMatrix | None = None,
               secure_cookies: bool | None = None) -> FastAPI:
    settings = settings or load_settings()
    if secure_cookies is None:
        secure_cookies = os.environ.get("ARFLOW_COOKIE_SECURE", "") in ("1", "true", "yes")
    ctx = WebContext(settings, make_engine(settings.database_url), matrix or load_matrix(),
                     _templates(), secure_cookies)
    app = FastAPI(title="arflow review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ctx = ctx
    # inside _Headers (added first): an error raised while the endpoint reads the body
    # reaches _LimitBody plainly, not wrapped by _Headers' task group; the 413 gets headers
    app.add_middleware(_LimitBody)
    app.add_middleware(_Headers)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _add_handlers(app, ctx)
    from webapp import routes  # noqa: PLC0415 (routes import this module)

    app.include_router(routes.router)
    return app


def _add_handlers(app: FastAPI, ctx: WebContext) -> None:
    @app.exception_handler(NotLoggedIn)
    async def _login(request: Request, _exc: NotLoggedIn) -> Response:
        return RedirectResponse(f"/login?next={quote(back_to(request), safe='/')}",
                                status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        logged = await run_in_threadpool(_logged_in, ctx, request)
        return error_page(ctx, request, exc.message, 403, logged=logged)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = "There is no such page." if exc.status_code == 404 else str(exc.detail)
        logged = await run_in_threadpool(_logged_in, ctx, request)
        return error_page(ctx, request, message, exc.status_code, logged=logged,
                          title="Not found" if exc.status_code == 404 else "Refused")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, _exc: RequestValidationError) -> Response:
        logged = await run_in_threadpool(_logged_in, ctx, request)
        return error_page(ctx, request, "There is no such page: part of its address is not "
                          "valid (an item number is a whole number from 1).", 404,
                          logged=logged, title="Not found")


def _logged_in(ctx: WebContext, request: Request) -> LoggedIn | None:
    """Who is logged in, if anyone (for an error page's header and its logout form)."""
    try:
        with session_scope(ctx.engine) as session:
            return session_user(session, request.cookies.get(SESSION_COOKIE))
    except ArflowError:  # the database is away: the error page without the header
        return None


def back_to(request: Request) -> str:
    """Where to return after logging in: the page asked for, with its query; for a form
    posted once the session had ended, the page the form was on (the item), since a POST
    address cannot be opened again (it answered "Method Not Allowed")."""
    if request.method == "GET":
        query = request.url.query
        return request.url.path + (f"?{query}" if query else "")
    item = _ITEM_ACTION.match(request.url.path)
    return item.group(1) if item else "/queue"


_ITEM_ACTION = re.compile(r"^(/items/\d+)/")


def error_page(ctx: WebContext, request: Request, message: str, status: int, *,
               logged: LoggedIn | None = None, title: str = "Refused") -> HTMLResponse:
    """The error page, as a person sees it (never a traceback or raw JSON); with the header
    of a logged-in user when `logged` is given (its logout form needs their CSRF token)."""
    values = {"message": message, "title": title, "user": logged.user if logged else None,
              "csrf": logged.csrf_token if logged else ""}
    return render(ctx, request, "error.html", values, status=status)


def render(ctx: WebContext, request: Request, name: str, values: dict[str, Any],
           status: int = 200) -> HTMLResponse:
    return ctx.templates.TemplateResponse(request, name, values, status_code=status)
