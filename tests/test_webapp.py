"""The web UI through HTTP (no browser): login, roles, CSRF, queue, item, decisions,
escaping, dashboard; the XLSX/HTML reports and `arflow audit verify`."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session
from test_approvals import make_item, sample_invoice

from arflow.cli import cli
from arflow.db import make_engine, session_scope, upgrade
from arflow.errors import ArflowError
from arflow.export import run_export
from arflow.masterdata import import_csv
from arflow.reports_html import to_html, to_xlsx
from arflow.runner import run_batch
from arflow.settings import Settings, load_settings
from generator.bundles import write_bundle
from models import repo
from models.audit import append_audit
from models.db import Document, ReviewItem
from models.throttle import MAX_FAILURES
from models.users import add_user
from webapp.app import create_app

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ("001_ferreteria_hermanos.pdf", "002_transportes_alcazar.pdf",
           "004_informatica_guadalquivir.pdf", "010_ferreteria_hermanos.pdf")
USERS = {"cleo": ("clerk", "1000"), "carl": ("clerk", "1000"), "max": ("manager", "10000"),
         "fiona": ("finance_lead", None)}


def seed_demo(home: Path, bundled: tuple[str, ...] = ()) -> Settings:
    """A real batch over four sample invoices (three need review) and four users; or, with
    `bundled`, over those sample invoices merged into one file, ``scanner.pdf``."""
    inbox = home / "inbox"
    inbox.mkdir(parents=True)
    if bundled:
        write_bundle([ROOT / "data" / "invoices" / n for n in bundled], inbox / "scanner.pdf",
                     ROOT / "data" / "truth")
    for name in () if bundled else SAMPLES:
        shutil.copy(ROOT / "data" / "invoices" / name, inbox / name)
    return run_demo_batch(home, inbox)


def run_demo_batch(home: Path, inbox: Path) -> Settings:
    """A home on SQLite with the sample master data and `USERS`, after one batch over
    `inbox`."""
    settings = replace(load_settings({"ARFLOW_HOME": str(home)}), workers=1)
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        for kind in ("parties", "orders", "receipts"):
            import_csv(session, kind, ROOT / "data" / f"{kind}.csv")
        for name, (role, limit) in USERS.items():
            add_user(session, name, f"password-{name}", role,
                     None if limit is None else Decimal(limit))
    engine.dispose()
    run_batch(settings, inbox)
    return settings


def items_by_source(settings: Settings) -> dict[str, tuple[int, int, list[str]]]:
    """source name -> (item id, version, reason codes)."""
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        rows = session.execute(select(ReviewItem, Document.source_name).join(
            Document, Document.id == ReviewItem.document_id)).all()
        out = {src: (item.id, item.version, sorted({p["code"] for p in item.reasons}))
               for item, src in rows}
    engine.dispose()
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return seed_demo(tmp_path_factory.mktemp("web"))


@pytest.fixture
def client(demo: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(demo), follow_redirects=False) as test_client:
        yield test_client


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


def login(client: TestClient, name: str) -> None:
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": name, "password": f"password-{name}",
                                           "csrf": token, "next": "/queue"})
    assert response.status_code == 303 and response.headers["location"] == "/queue"


def test_every_page_needs_login(client: TestClient) -> None:
    for path in ("/", "/queue", "/dashboard", "/audit", "/exports", "/exports/1/file", "/suppliers",
                 "/items/1", "/items/1/pages/0.png"):
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login"), path
    posted = client.post("/items/1/decide", data={"action": "approve"})
    # a form sent after the session ended comes back to its item after login, not to the
    # POST address (QA: "Method Not Allowed"); a page keeps its query
    assert (posted.status_code, posted.headers["location"]) == (303, "/login?next=/items/1")
    filtered = client.get("/queue?reason=PRICE_VARIANCE&sort=amount")
    assert filtered.headers["location"] == (
        "/login?next=/queue%3Freason%3DPRICE_VARIANCE%26sort%3Damount")
    login_page = client.get(filtered.headers["location"]).text
    assert 'value="/queue?reason=PRICE_VARIANCE&amp;sort=amount"' in login_page


def test_login_cookie_flags_and_wrong_password(demo: Settings) -> None:
    with TestClient(create_app(demo, secure_cookies=True), follow_redirects=False,
                    base_url="https://testserver") as client:
        token = csrf_of(client.get("/login").text)
        bad = client.post("/login", data={"username": "cleo", "password": "nope-nope",
                                          "csrf": token})
        assert bad.headers["location"] == "/login?error=1"
        good = client.post("/login", data={"username": "cleo", "password": "password-cleo",
                                           "csrf": token, "next": "//evil.example/"})
        cookie = good.headers["set-cookie"].lower()
        assert "arflow_session=" in cookie and "httponly" in cookie
        assert "samesite=lax" in cookie and "secure" in cookie
        assert good.headers["location"] == "/queue"  # no open redirect


def test_repeated_wrong_passwords_throttle_the_user_name(demo: Settings) -> None:
    add_user_in(demo, "tess", "password-tess", "clerk")
    with TestClient(create_app(demo), follow_redirects=False) as client:
        def attempt(password: str) -> str:
            token = csrf_of(client.get("/login").text)
            return client.post("/login", data={"username": "tess", "password": password,
                                               "csrf": token}).headers["location"]

        assert [attempt(f"guess-{i}") for i in range(MAX_FAILURES)] == ["/login?error=1"] * 5
        locked = attempt("password-tess")  # right password, but the name is throttled
        assert locked == "/login?error=locked&wait=15"
        page = client.get(locked).text
        assert "Too many failed attempts" in page and "15 minutes" in page
        assert attempt("password-cleo") == locked  # still refused, not counted as a try
        add_user_in(demo, "tess", "password-tess-2", "clerk")  # an administrator resets it
        assert attempt("password-tess-2") == "/queue"


def add_user_in(settings: Settings, name: str, password: str, role: str) -> None:
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        add_user(session, name, password, role, None)
    engine.dispose()


def test_the_queue_is_paged_and_keeps_its_filters(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("webapp.queue.PAGE_SIZE", 1)
    login(client, "fiona")
    first = client.get("/queue?sort=amount&desc=1").text
    total = len(items_by_source_rows(first))
    assert total == 1 and "page 1 of 3" in first and 'rel="prev"' not in first
    assert "/queue?status=open&amp;sort=amount&amp;desc=1&amp;page=2" in first
    second = client.get("/queue?status=open&sort=amount&desc=1&page=2").text
    last = client.get("/queue?status=open&sort=amount&desc=1&page=99").text  # clamped
    assert "page 2 of 3" in second and 'rel="prev"' in second and 'rel="next"' in second
    assert "page 3 of 3" in last and 'rel="next"' not in last
    shown = [items_by_source_rows(p)[0] for p in (first, second, last)]
    assert len(set(shown)) == 3, "each page shows a different item"
    assert "page 1 of 3" in client.get("/queue?page=abc").text


def items_by_source_rows(page: str) -> list[str]:
    """The item links of the queue table, in order."""
    return re.findall(r'<td><a href="/items/(\d+)">\1</a></td>', page)


def test_login_without_csrf_is_refused(client: TestClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": "cleo", "password": "password-cleo"})
    assert response.status_code == 403 and "CSRF" in response.text


def test_queue_filters_sorts_and_counts(client: TestClient) -> None:
    login(client, "cleo")
    page = client.get("/queue").text
    assert page.count('href="/items/') == 2 * 3  # three items, two links each
    assert re.search(r"ARITHMETIC_MISMATCH <b>1</b>", page)
    one = client.get("/queue", params={"reason": "BANK_DETAILS_CHANGED"}).text
    assert "010_ferreteria_hermanos.pdf" in one and "004_informatica" not in one
    by_amount = client.get("/queue", params={"sort": "amount", "desc": "1"}).text
    assert by_amount.index("004_informatica") < by_amount.index("001_ferreteria")
    nobody = client.get("/queue", params={"counterparty": "no such company"}).text
    assert "Nothing to review here." in nobody
    assert "Nothing to review here." in client.get("/queue", params={"older_than": "2"}).text
    ferreteria = client.get("/queue", params={"counterparty": "ferretería", "older_than": "0"})
    assert ferreteria.text.count('href="/items/') == 2 * 2
    large = client.get("/queue", params={"min_amount": "1000", "max_amount": "5000"}).text
    assert large.count('href="/items/') == 2 * 2 and "001_ferreteria" not in large
    assert client.get("/queue").headers["content-security-policy"].startswith("default-src")


def test_item_page_shows_evidence_lines_and_reasons(client: TestClient, demo: Settings) -> None:
    login(client, "cleo")
    item_id, _, codes = items_by_source(demo)["001_ferreteria_hermanos.pdf"]
    assert codes == ["PRICE_VARIANCE", "TOTAL_VARIANCE"]
    page = client.get(f"/items/{item_id}").text
    assert "A unit price differs from the order beyond tolerance." in page
    highlighted = re.findall(r'<rect class="box reason" data-field="([^"]+)"', page)
    assert "lines" in highlighted and "subtotal" in highlighted
    assert "not matched" not in page and "Palé europeo de madera" in page
    image = client.get(f"/items/{item_id}/pages/0.png")
    assert image.headers["content-type"] == "image/png" and image.content[:4] == b"\x89PNG"
    assert client.get(f"/items/{item_id}/pages/9.png").status_code == 404


def test_an_invoice_split_from_a_file_names_it_and_links_its_other_invoices(
    tmp_path: Path,
) -> None:
    settings = seed_demo(tmp_path / "home", bundled=("001_ferreteria_hermanos.pdf",
                                                     "004_informatica_guadalquivir.pdf"))
    items = items_by_source(settings)
    first, _, _ = items["scanner.pdf, page 1"]
    second, _, _ = items["scanner.pdf, page 2"]
    with TestClient(create_app(settings), follow_redirects=False) as client:
        login(client, "cleo")
        page = client.get(f"/items/{first}").text
    part_of = re.search(r'<dd id="part-of">(.*?)</dd>', page, re.S)
    assert part_of is not None and part_of.group(1).startswith("scanner.pdf; its other invoices:")
    assert f'<a href="/items/{second}">scanner.pdf, page 2</a> (needs_review)' in part_of.group(1)


def test_post_without_or_with_wrong_csrf_is_refused(client: TestClient, demo: Settings) -> None:
    login(client, "fiona")
    item_id, version, _ = items_by_source(demo)["004_informatica_guadalquivir.pdf"]
    for data in ({}, {"csrf": "forged"}):
        response = client.post(f"/items/{item_id}/decide",
                               data={"action": "hold", "version": str(version), **data})
        assert response.status_code == 403 and "CSRF" in response.text
    assert items_by_source(demo)["004_informatica_guadalquivir.pdf"][1] == version


def test_every_page_of_a_document_is_shown(demo: Settings) -> None:
    """A two-page invoice whose evidence is all on page 1 shows both pages, not only those
    with highlighted evidence (QA pass 2: approvers must see the whole invoice)."""
    from models.db import Document
    from webapp.item import Box, _page_sizes, _pages

    two_pages = Path(__file__).resolve().parents[1] / "data" / "invoices" / "005_talleres_la.pdf"
    document = Document(source_name=two_pages.name, original_path=str(two_pages), sha256="0")
    evidence = [Box(0, 10, 10, 50, 12, "total", "1.0", True)]
    assert [p.index for p in _pages(_page_sizes(document, demo), evidence)] == [0, 1]


def test_missing_items_and_pages_are_error_pages_not_500s(client: TestClient) -> None:
    """A link to an item that does not exist (any number, or none), a form posted to one,
    and an unknown address: a 404 page for people, never a server error or raw JSON."""
    login(client, "cleo")
    token = csrf_of(client.get("/queue").text)
    for path in ("/items/999", "/items/0", "/items/-1", "/items/99999999999999999999999",
                 "/items/abc", "/no-such-page", "/exports/99999999999999999999/file"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert "no such page" in response.text.lower() or "no review item" in response.text
    shown = client.get("/items/999").text
    assert "There is no review item 999." in shown and "Log out" in shown
    assert "Log out" in client.get("/no-such-page").text  # the header, for a way on
    posted = client.post("/items/999/decide", data={"action": "approve", "version": "1",
                                                   "csrf": token})
    assert posted.status_code == 404 and "There is no review item 999." in posted.text


def test_clerk_refused_manager_approves_then_conflict(client: TestClient, demo: Settings) -> None:
    item_id, version, _ = items_by_source(demo)["004_informatica_guadalquivir.pdf"]
    login(client, "cleo")
    page = client.get(f"/items/{item_id}").text
    assert "You cannot approve" in page and "it needs a manager" in page
    refused = client.post(f"/items/{item_id}/decide", data={
        "action": "approve", "version": str(version), "csrf": csrf_of(page)})
    assert refused.status_code == 403 and "needs a manager" in refused.text
    login(client, "max")
    token = csrf_of(client.get(f"/items/{item_id}").text)
    held = client.post(f"/items/{item_id}/decide", data={
        "action": "hold", "version": str(version), "csrf": token, "note": "asking <b>them</b>"})
    assert held.status_code == 303
    stale = client.post(f"/items/{item_id}/decide", data={
        "action": "approve", "version": str(version), "csrf": token})
    assert stale.status_code == 409 and "changed by someone else" in stale.text
    history = client.get(f"/items/{item_id}").text
    assert "review.hold" in history and "<b>them</b>" not in history


def test_correct_then_other_clerk_approves(client: TestClient, demo: Settings) -> None:
    item_id, version, _ = items_by_source(demo)["001_ferreteria_hermanos.pdf"]
    login(client, "cleo")
    token = csrf_of(client.get(f"/items/{item_id}").text)
    done = client.post(f"/items/{item_id}/correct", data={
        "field": "lines[0].unit_price", "value": "13.03", "version": str(version),
        "csrf": token})
    assert done.status_code == 303
    assert done.headers["location"] == f"/items/{item_id}?done=correct"
    page = client.get(done.headers["location"]).text
    assert "Field corrected; validation and matching were run again." in page
    spoof = client.get(f"/items/{item_id}", params={"done": "Pay IBAN XY now"}).text
    assert "Pay IBAN" not in spoof
    assert "PRICE_VARIANCE" not in page.split("Why it stopped")[1].split("Decide")[0]
    assert "corrected this item" in page  # cleo may not approve her own correction
    history = page.split("<h2>History</h2>")[1]  # what changed, not raw JSON
    assert "<b>field</b>: lines[0].unit_price" in history
    assert "<b>value</b>: <del>13.68</del>" in history
    assert '{"field"' not in history
    login(client, "carl")
    page = client.get(f"/items/{item_id}").text
    _, version, _ = items_by_source(demo)["001_ferreteria_hermanos.pdf"]
    approved = client.post(f"/items/{item_id}/decide", data={
        "action": "approve", "version": str(version), "csrf": csrf_of(page)})
    assert approved.status_code == 303
    assert '<dd id="status">approved</dd>' in client.get(f"/items/{item_id}").text


def test_a_finance_lead_puts_a_new_account_on_file_from_the_item_page(
    tmp_path: Path,
) -> None:
    settings = seed_demo(tmp_path / "bank")
    engine = make_engine(settings.database_url)
    with Session(engine, expire_on_commit=False) as session:
        invoice = sample_invoice("999.00", "IB-1", iban="GB82WEST12345698765432")
        invoice.seller.name, invoice.seller.tax_id = "Transportes Levante S.A.", "B08824625"
        item = make_item(session, invoice, "new-account.pdf")
    engine.dispose()
    assert "BANK_DETAILS_CHANGED" in items_by_source(settings)["new-account.pdf"][2]
    with TestClient(create_app(settings), follow_redirects=False) as client:
        login(client, "max")
        page = client.get(f"/items/{item.id}").text
        assert "On file: <code>ES8401281948192199351819</code>" in page
        assert "on the invoice: <code>GB82WEST12345698765432</code>" in page
        refused = client.post(f"/items/{item.id}/bank-details", data={
            "confirmation": "called them", "version": str(item.version),
            "csrf": csrf_of(page)})
        assert refused.status_code == 403 and "it needs a finance_lead" in refused.text
        login(client, "fiona")
        page = client.get(f"/items/{item.id}").text
        done = client.post(f"/items/{item.id}/bank-details", data={
            "confirmation": "called Levante's accounts desk on the number on file",
            "version": str(item.version), "csrf": csrf_of(page)})
        assert done.status_code == 303
        page = client.get(done.headers["location"]).text
        assert "The new account is on file" in page and 'id="bank"' not in page
        assert "BANK_DETAILS_CHANGED" not in page.split("Why it stopped")[1].split("Decide")[0]
        assert "corrected this item" in page  # fiona may not also approve the invoice
    with session_scope(make_engine(settings.database_url)) as session:
        iban = session.scalar(text("SELECT iban FROM parties WHERE tax_id = 'B08824625'"))
    assert iban == "GB82WEST12345698765432"


def test_exports_are_listed_and_their_files_served_only_unchanged(tmp_path: Path) -> None:
    settings = seed_demo(tmp_path / "exports")
    engine = make_engine(settings.database_url)
    (written,) = run_export(lambda: session_scope(engine), tmp_path / "out", "csv", "cli:test")
    engine.dispose()
    with TestClient(create_app(settings), follow_redirects=False) as client:
        login(client, "cleo")
        assert client.get("/exports").status_code == 403
        assert client.get("/exports/1/file").status_code == 403
        login(client, "max")
        page = client.get("/exports").text
        assert '<a href="/exports">Exports</a>' in page and 'data-export="1"' in page
        assert "No accepted invoice waits" in page
        served = client.get("/exports/1/file")
        assert served.status_code == 200 and served.content == written.path.read_bytes()
        assert 'filename="arflow-export-000001.csv"' in served.headers["content-disposition"]
        written.path.write_bytes(written.path.read_bytes().replace(b"EUR", b"USD"))
        changed = client.get("/exports/1/file")
        assert changed.status_code == 409 and "arflow export --again 1" in changed.text
        assert client.get("/exports/7/file").status_code == 404


def test_untrusted_invoice_text_is_escaped(demo: Settings) -> None:
    engine = make_engine(demo.database_url)
    with Session(engine, expire_on_commit=False) as session:
        invoice = sample_invoice("999.00", "XSS-1")
        invoice.seller.name = '<script>alert("x")</script>'
        item = make_item(session, invoice, "evil.pdf")
    engine.dispose()
    with TestClient(create_app(demo), follow_redirects=False) as client:
        login(client, "fiona")
        for page in (client.get("/queue").text, client.get(f"/items/{item.id}").text,
                     client.get("/dashboard").text):
            assert '<script>alert("x")</script>' not in page
            assert "&lt;script&gt;" in page


def test_dashboard_and_role_protected_audit_page(client: TestClient) -> None:
    login(client, "cleo")
    assert client.get("/audit").status_code == 403
    board = client.get("/dashboard").text
    assert board.count("<svg") == 4 and "Straight-through rate per batch" in board
    assert re.search(r"batch 1 \(\d{4}-\d\d-\d\d\)", board)
    login(client, "fiona")
    assert "The audit chain verifies" in client.get("/audit", params={"verify": "1"}).text


def test_reports_xlsx_and_html(demo: Settings) -> None:
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    engine = make_engine(demo.database_url)
    with session_scope(engine) as session:
        rows = repo.report_rows(session)
        html = to_html(session, rows)
    engine.dispose()
    book = load_workbook(io.BytesIO(to_xlsx(rows)))
    docs, findings = book["documents"], book["findings"]
    assert [c.value for c in docs[1]][:3] == ["source", "sha256", "status"]
    assert docs.max_row == len(rows) + 1
    totals = [r[13].value for r in docs.iter_rows(min_row=2)]
    assert all(isinstance(t, (int, float)) for t in totals if t is not None)
    assert {r[2].value for r in findings.iter_rows(min_row=2)} >= {"BANK_DETAILS_CHANGED"}
    assert html.count("<svg") == 4 and "BANK_DETAILS_CHANGED" in html


def _env(monkeypatch: pytest.MonkeyPatch, url: str, home: Path) -> None:
    monkeypatch.setenv("ARFLOW_DATABASE_URL", url)
    monkeypatch.setenv("ARFLOW_HOME", str(home))


def test_audit_verify_detects_edit_and_delete(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    with session_scope(engine) as session:
        for n in range(4):
            append_audit(session, actor="t", action="review.approve", entity="review_item",
                         entity_id=n, after={"n": n})
    _env(monkeypatch, engine.url.render_as_string(hide_password=False), tmp_path)
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0 and "intact: 4 event(s)" in ok.output
    head = ok.output.split("head ")[1].strip()
    _tamper(engine, "UPDATE audit_events SET after = '{\"n\": 9}' WHERE id = 2")
    edited = runner.invoke(cli, ["audit", "verify"])
    assert isinstance(edited.exception, ArflowError)
    assert edited.exception.code == "AUDIT_TAMPERED" and "at event 2" in edited.exception.message
    _tamper(engine, "DELETE FROM audit_events WHERE id >= 2")
    cut = runner.invoke(cli, ["audit", "verify", "--head", head])
    assert isinstance(cut.exception, ArflowError) and "head is gone" in cut.exception.message


def _tamper(engine: Engine, statement: str) -> None:
    """Change the log behind the triggers' back, as someone with database rights could."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
            conn.execute(text(statement))
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
            conn.execute(text(statement))


def test_cli_users_add_and_report_formats(
    demo: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    _env(monkeypatch, demo.database_url, demo.home)
    monkeypatch.setenv("ARFLOW_PASSWORD", "password-nina")
    runner = CliRunner()
    added = runner.invoke(cli, ["users", "add", "nina", "--role", "manager", "--limit", "500"])
    assert added.exit_code == 0 and "nina: manager, limit 500" in added.output
    out = tmp_path / "r.xlsx"
    assert runner.invoke(cli, ["report", "--format", "xlsx", "-o", str(out)]).exit_code == 0
    assert out.read_bytes()[:2] == b"PK"
    html = runner.invoke(cli, ["report", "--format", "html"])
    assert html.exit_code == 0 and "<svg" in html.output
