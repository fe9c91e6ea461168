"""The pages: login, queue, item (with decisions and corrections), documents, dashboard,
audit."""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from arflow.db import session_scope
from arflow.errors import ArflowError, StorageError
from models import approvals, exports
from models.audit_log import actions, last_check
from models.bank_details import accept_bank_details
from models.corrections import correct_field
from models.db import Document, Export, ReviewItem, User
from models.users import UserError, attempt_login, change_password, close_session
from webapp import audit_log
from webapp.app import WebContext, error_page, render
from webapp.audit_log import AuditFilter
from webapp.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Forbidden,
    check_csrf,
    new_token,
    require_login,
    set_cookie,
)
from webapp.documents import STATUSES as DOCUMENT_STATUSES
from webapp.documents import DocumentFilter, load_documents
from webapp.item import item_view
from webapp.pages import document_path, has_pages, page_png
from webapp.parties import PartyFilter, load_parties
from webapp.queue import (
    SORTS,
    STATUSES,
    QueueFilter,
    count_items,
    load_page,
    reason_counts,
)
from webapp.stats import dashboard

# a database key (an item's, an export's): larger numbers (or text) are no such thing, a 404
# page rather than a database error
ItemId = Annotated[int, PathParam(ge=1, le=2**63 - 1)]

router = APIRouter()
log = logging.getLogger(__name__)
Action = Callable[[Session, User, int, WebContext], None]


def _query(request: Request, names: set[str]) -> dict[str, str]:
    """The query's values for `names` (a filter's fields) without NUL characters, which no
    stored text holds and PostgreSQL refuses in a query (a 500 before)."""
    return {k: v.replace("\x00", "") for k, v in request.query_params.items() if k in names}


def _ctx(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/queue", error: str = "",
               wait: int = 0) -> Response:
    ctx, token = _ctx(request), new_token()
    response = render(ctx, request, "login.html", {"csrf": token, "next": _safe(next),
                                                   "error": error, "wait": wait, "user": None})
    set_cookie(response, LOGIN_CSRF_COOKIE, token, secure=ctx.secure_cookies, max_age=3600)
    return response


def _safe(target: str) -> str:
    """Only local paths after login (no open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") else "/queue"


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    return await run_in_threadpool(_login, request, form)


def _login(request: Request, form: Any) -> Response:
    ctx = _ctx(request)
    check_csrf(request.cookies.get(LOGIN_CSRF_COOKIE), form.get("csrf"))
    client = request.client.host if request.client else None
    with session_scope(ctx.engine) as session:
        attempt = attempt_login(session, str(form.get("username", "")),
                                str(form.get("password", "")), client)
    if attempt.wait is not None:
        minutes = max(1, math.ceil(attempt.wait.total_seconds() / 60))
        return RedirectResponse(f"/login?error=locked&wait={minutes}", status_code=303)
    token = attempt.token
    if token is None:
        return RedirectResponse("/login?error=1", status_code=303)
    response = RedirectResponse(_safe(str(form.get("next", "/queue"))), status_code=303)
    set_cookie(response, SESSION_COOKIE, token, secure=ctx.secure_cookies)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    return await run_in_threadpool(_logout, request, form)


def _logout(request: Request, form: Any) -> Response:
    ctx = _ctx(request)
    with session_scope(ctx.engine) as session:
        logged = require_login(request, session)
        check_csrf(logged.csrf_token, form.get("csrf"))
        close_session(session, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(request: Request) -> Response:
    with session_scope(_ctx(request).engine) as session:
        require_login(request, session)
    return RedirectResponse("/queue", status_code=303)


@router.get("/queue", response_class=HTMLResponse)
def queue(request: Request) -> Response:
    ctx = _ctx(request)
    names = {f.name for f in fields(QueueFilter)} - {"desc"}
    flt = QueueFilter(**_query(request, names), desc=request.query_params.get("desc") == "1")
    if flt.sort not in SORTS or flt.status not in STATUSES:
        flt = QueueFilter()
    with session_scope(ctx.engine) as session:
        logged = require_login(request, session)
        page = load_page(session, flt, ctx.matrix)
        total = count_items(session, flt.status)
        counts = reason_counts(session, flt.status)
    return render(ctx, request, "queue.html", {
        "user": logged.user, "csrf": logged.csrf_token, "page": page, "total": total,
        "counts": counts, "flt": flt, "sorts": SORTS, "statuses": STATUSES})


@router.get("/documents", response_class=HTMLResponse)
def documents(request: Request) -> Response:
    """Every document, whatever happened to it: any logged-in user may search them."""
    ctx = _ctx(request)
    flt = DocumentFilter(**_query(request, {f.name for f in fields(DocumentFilter)}))
    if flt.status not in DOCUMENT_STATUSES:
        flt = replace(flt, status="any")
    with session_scope(ctx.engine) as session:
        logged = require_login(request, session)
        page = load_documents(session, flt)
    return render(ctx, request, "documents.html", {
        "user": logged.user, "csrf": logged.csrf_token, "page": page, "flt": flt,
        "statuses": DOCUMENT_STATUSES})


@router.get("/account", response_class=HTMLResponse)
def account(request: Request) -> Response:
    """The logged-in user's own account: role, limit, and a form to change the password."""
    ctx = _ctx(request)
    with session_scope(ctx.engine) as session:
        logged = require_login(request, session)
    return render(ctx, request, "account.html", {"user": logged.user, "csrf": logged.csrf_token,
                                                 "error": None, "done": False})


@router.post("/account/password")
async def change_own_password(request: Request) -> Response:
    form = await request.form()
    return await run_in_threadpool(_change_password, request, form)


def _change_password(request: Request, form: Any) -> Response:
    """The password changed (`models.users.change_password`); a refusal is shown on the page
    (400) and a wrong current password still counts as a failed login (committed)."""
    ctx = _ctx(request)
    error = None
    with session_scope(ctx.engine) as session:
        logged = require_login(request, session)
        check_csrf(logged.csrf_token, form.get("csrf"))
        new = str(form.get("new", ""))
        try:
            if new != str(form.get("again", "")):
                raise UserError("the two new passwords differ")
            change_password(session, logged.user, str(form.get("current", "")), new,
                            keep=request.cookies.get(SESSION_COOKIE),
                            client=request.client.host if request.client else None)
        except UserError as err:
            error = err.message
    return render(ctx, request, "account.html",
                  {"user": logged.user, "csrf": logged.csrf_token, "error": error,
                   "done": error is None}, status=400 if error else 200)


@router.get("/suppliers", response_class=HTMLResponse)
def suppliers(request: Request) -> Response:
    """The party master with each supplier's bank account on file and its last change."""
    ctx = _ctx(request)
    flt = PartyFilter(**_query(request, {f.name for f in fields(PartyFilter)}))
    with session_scope(ctx.engine) as session:
        logged = require_login(request, session)
        page = load_parties(session, flt)
    return render(ctx, request, "suppliers.html", {
        "user": logged.user, "csrf": logged.csrf_token, "page": page, "flt": flt})


@router.get("/items/{item_id}", response_class=HTMLResponse)
def item_page(request: Request, item_id: ItemId, done: str = "", pages: str = "") -> Response:
    """`pages=all`: every page of a long document, not only the first ones."""
    return _item_response(request, item_id, message=DONE.get(done, ""), status=200,
                          every_page=pages == "all")


def _item_response(request: Request, item_id: int, *, message: str, status: int,
                   error: bool = False, every_page: bool = False) -> Response:
    ctx = _ctx(request)
    with session_scope(ctx.engine) as session:
        logged = require_login(request, session)
        view = item_view(session, item_id, logged.user, ctx.settings, ctx.matrix,
                         every_page=every_page)
        if view is None:
            return error_page(ctx, request, f"There is no review item {item_id}.", 404,
                              logged=logged, title="Not found")
        return render(ctx, request, "item.html", {
            "user": logged.user, "csrf": logged.csrf_token, "v": view, "message": message,
            "error": error}, status=status)


@router.get("/items/{item_id}/pages/{page}.png")
def page_image(request: Request, item_id: ItemId, page: int) -> Response:
    ctx = _ctx(request)
    with session_scope(ctx.engine) as session:
        require_login(request, session)
        item = session.get(ReviewItem, item_id)
        document = session.get(Document, item.document_id) if item else None
        path = document_path(document, ctx.settings) if document else None
    if path is None or not has_pages(path) or page < 0:
        return Response("no page image", status_code=404, media_type="text/plain")
    try:
        png = page_png(path, path.stat().st_mtime, page, float(ctx.settings.ocr_dpi))
    except IndexError:
        return Response("no such page", status_code=404, media_type="text/plain")
    except ArflowError:  # an image page of more pixels than any page may be shown with
        return Response("page too large to show", status_code=404, media_type="text/plain")
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


DECISIONS = ("approve", "reject", "hold", "release", "escalate")
# Fixed confirmation texts, chosen by key: a link cannot make the page say anything else.
DONE = {"approve": "Your approval is recorded.", "reject": "The item is rejected.",
        "hold": "The item is on hold.", "release": "The hold is released.",
        "escalate": "The item is escalated.",
        "correct": "Field corrected; validation and matching were run again.",
        "bank": "The new account is on file; validation and matching were run again, here "
                "and on this supplier's other waiting invoices stating the old or new account."}


@router.post("/items/{item_id}/decide")
async def decide(request: Request, item_id: ItemId) -> Response:
    form = await request.form()
    action, note = str(form.get("action", "")), str(form.get("note", ""))
    if action not in DECISIONS:
        raise Forbidden(f"unknown decision {action!r}")

    def run(session: Session, user: User, version: int, ctx: WebContext) -> None:
        _decision(session, item_id, action=action, note=note, user=user, version=version,
                  ctx=ctx)

    return await run_in_threadpool(_act, request, item_id, form, action, run)


def _decision(session: Session, item_id: int, *, action: str, note: str, user: User,
              version: int, ctx: WebContext) -> None:
    if action == "approve":
        approvals.approve(session, item_id, user=user, expected_version=version,
                          matrix=ctx.matrix)
    elif action == "reject":
        approvals.reject(session, item_id, user=user, expected_version=version, reason=note,
                         matrix=ctx.matrix)
    elif action == "hold":
        approvals.hold(session, item_id, user=user, expected_version=version,
                       matrix=ctx.matrix, note=note)
    elif action == "release":
        approvals.release(session, item_id, user=user, expected_version=version,
                          matrix=ctx.matrix, note=note)
    else:
        approvals.escalate(session, item_id, user=user, expected_version=version,
                           matrix=ctx.matrix, note=note)


@router.post("/items/{item_id}/correct")
async def correct(request: Request, item_id: ItemId) -> Response:
    form = await request.form()
    name, text = str(form.get("field", "")), str(form.get("value", ""))

    def run(session: Session, user: User, version: int, ctx: WebContext) -> None:
        correct_field(session, item_id, user=user, expected_version=version, name=name,
                      text=text, tol=ctx.settings.tolerances)

    return await run_in_threadpool(_act, request, item_id, form, "correct", run)


@router.post("/items/{item_id}/bank-details")
async def bank_details(request: Request, item_id: ItemId) -> Response:
    """Put the invoice's IBAN on file for its seller (`models.bank_details`)."""
    form = await request.form()
    confirmation = str(form.get("confirmation", ""))

    def run(session: Session, user: User, version: int, ctx: WebContext) -> None:
        accept_bank_details(session, item_id, user=user, expected_version=version,
                            matrix=ctx.matrix,
                            confirmation=approvals.checked_note(confirmation, "confirmation"),
                            tol=ctx.settings.tolerances)

    return await run_in_threadpool(_act, request, item_id, form, "bank", run)


def _act(request: Request, item_id: int, form: Any, done: str, action: Action) -> Response:
    """Log-in and CSRF check, then the action in its own transaction. A refusal or a
    conflict rolls back and shows the item again with the message (403 / 409)."""
    ctx = _ctx(request)
    try:
        version = int(str(form.get("version", "")))
    except ValueError:
        version = -1
    try:
        with session_scope(ctx.engine) as session:
            logged = require_login(request, session)
            check_csrf(logged.csrf_token, form.get("csrf"))
            action(session, logged.user, version, ctx)
    except ArflowError as err:
        status, message = _refusal(err)
        return _item_response(request, item_id, message=message, status=status, error=True)
    return RedirectResponse(f"/items/{item_id}?done={done}", status_code=303)


def _refusal(err: ArflowError) -> tuple[int, str]:
    """The status and the text an approver sees for an action that did not happen: a
    refusal (403), a conflict (409), a database failure (503: its code, not the message,
    which names the database server; that goes to the log), or another error (400)."""
    if isinstance(err, approvals.ApprovalRefused):
        return 403, err.message
    if err.code == "REVIEW_CONFLICT":
        return 409, err.message
    if isinstance(err, StorageError) and err.code != "REVIEW_NOT_FOUND":
        log.warning("review action failed: %s [%s]", err.message, err.code)
        return 503, (f"The database could not take this ({err.code}); nothing was changed. "
                     "Try again; if it keeps failing, tell an administrator.")
    return 400, err.message


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request) -> Response:
    ctx = _ctx(request)
    with session_scope(ctx.engine) as session:
        logged = require_login(request, session)
        board = dashboard(session, ctx.matrix)
    return render(ctx, request, "dashboard.html", {"user": logged.user,
                                                   "csrf": logged.csrf_token, "board": board})


EXPORT_ROLES = ("manager", "finance_lead")


@router.get("/exports", response_class=HTMLResponse)
def exports_page(request: Request) -> Response:
    """Every export of accepted invoices (`arflow export`), newest first, with its file."""
    ctx = _ctx(request)
    with session_scope(ctx.engine) as session:
        logged = require_login(request, session, roles=EXPORT_ROLES)
        rows = list(reversed(exports.listing(session)))
        waiting = exports.exportable(session)
    return render(ctx, request, "exports.html", {"user": logged.user, "csrf": logged.csrf_token,
                                                 "exports": rows, "waiting": waiting})


@router.get("/exports/{export_id}/file")
def export_file(request: Request, export_id: ItemId) -> Response:
    """The export's file, only while its bytes are the ones recorded when it was written."""
    ctx = _ctx(request)
    with session_scope(ctx.engine) as session:
        require_login(request, session, roles=EXPORT_ROLES)
        export = session.get(Export, export_id)
    if export is None or export.file_sha256 is None:
        return Response("no such export file", status_code=404, media_type="text/plain")
    content = _read_verified(Path(export.path), export.file_sha256)
    if content is None:
        return Response(f"export {export_id}'s file is missing or changed since it was written; "
                        f"write it again with: arflow export --again {export_id}",
                        status_code=409, media_type="text/plain")
    media = "text/csv" if export.format == "csv" else "application/x-ndjson"
    return Response(content, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{Path(export.path).name}"'})


def _read_verified(path: Path, sha256: str) -> bytes | None:
    try:
        content = path.read_bytes()
    except OSError:
        return None
    return content if hashlib.sha256(content).hexdigest() == sha256 else None


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request) -> Response:
    ctx = _ctx(request)
    """The log, newest first and filtered; the whole chain verified only when asked
    (``?verify=1``): it walks every event, about 2 s per 100,000 here."""
    flt = AuditFilter(**_query(request, {f.name for f in fields(AuditFilter)}))
    with session_scope(ctx.engine) as session:
        logged = require_login(request, session, roles=("finance_lead",))
        check = audit_log.check_chain(session) if request.query_params.get("verify") else None
        page = audit_log.load_page(session, flt)
        known = actions(session)
        last = last_check(session)
    return render(ctx, request, "audit.html", {
        "user": logged.user, "csrf": logged.csrf_token, "check": check, "last": last,
        "page": page, "flt": flt, "actions": known, "link": audit_log.link})
