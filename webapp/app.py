"""The FastAPI application: `create_app(settings)`; served by `arflow serve`.

Server-rendered pages (Jinja2 with autoescaping: invoice text is untrusted), static files
shipped in this package, strict security headers (no inline scripts or styles)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from arflow.db import make_engine
from arflow.reasons import describe
from arflow.settings import Settings, load_settings
from models.approvals import ApprovalMatrix, load_matrix
from webapp.auth import Forbidden, NotLoggedIn

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
    app.add_middleware(_Headers)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _add_handlers(app, ctx)
    from webapp import routes  # noqa: PLC0415 (routes import this module)

    app.include_router(routes.router)
    return app


def _add_handlers(app: FastAPI, ctx: WebContext) -> None:
    @app.exception_handler(NotLoggedIn)
    async def _login(request: Request, _exc: NotLoggedIn) -> Response:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return render(ctx, request, "error.html", {"message": exc.message, "user": None},
                      status=403)


def render(ctx: WebContext, request: Request, name: str, values: dict[str, Any],
           status: int = 200) -> HTMLResponse:
    return ctx.templates.TemplateResponse(request, name, values, status_code=status)
