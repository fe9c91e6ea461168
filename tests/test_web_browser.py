"""The review UI in a real browser: Playwright driving Debian's chromium against a uvicorn
server in a thread (one per module). Saves the README's screenshots to docs/screenshots/."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright
from test_webapp import items_by_source, seed_demo

from arflow.settings import Settings
from webapp.app import create_app

CHROMIUM = Path(os.environ.get("ARFLOW_TEST_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
TIMEOUT_MS = 15_000
Server = tuple[str, Settings]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    settings = seed_demo(tmp_path_factory.mktemp("browser"))
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=_free_port(),
                            log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{config.port}", settings
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        message = f"chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 960})
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def login(page: Page, base: str, name: str) -> None:
    page.goto(f"{base}/queue")
    expect(page).to_have_url(re.compile(r"/login\?next=/queue$"))
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", f"password-{name}")
    page.click("form.login button[type=submit]")
    expect(page).to_have_url(f"{base}/queue")


def logout(page: Page) -> None:
    page.click("form.who button")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_filter_open_correct_and_approve(page: Page, server: Server) -> None:
    base, settings = server
    login(page, base, "cleo")
    expect(page.locator("table.queue tbody tr")).to_have_count(3)
    page.screenshot(path=str(SHOTS / "queue.png"), full_page=True)
    page.select_option("select[name=reason]", "PRICE_VARIANCE")
    page.click("form.filters button")
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(1)
    rows.locator("a").first.click()
    expect(page.locator("h1")).to_contain_text("001_ferreteria_hermanos.pdf")
    highlighted = page.locator("rect.box.reason")
    expect(highlighted.first).to_be_visible()
    # the page image is rendered by the server on request: wait until it has arrived
    page.wait_for_function("() => { const img = document.querySelector(\"img[alt^='page 1']\");"
                           " return img !== null && img.complete; }")
    assert page.locator("img[alt^='page 1']").evaluate("img => img.naturalWidth") > 0
    assert "lines" in highlighted.evaluate_all("els => els.map(e => e.dataset.field)")
    page.screenshot(path=str(SHOTS / "item.png"), full_page=True)
    page.select_option("form.correct select[name=field]", "lines[0].unit_price")
    page.fill("form.correct input[name=value]", "13.03")
    page.click("form.correct button")
    expect(page.locator("#message")).to_contain_text("validation and matching were run again")
    expect(page.locator("#refusal")).to_contain_text("corrected this item")
    logout(page)
    login(page, base, "carl")
    item_id = items_by_source(settings)["001_ferreteria_hermanos.pdf"][0]
    page.goto(f"{base}/items/{item_id}")
    expect(page.locator("#refusal")).to_have_count(0)
    page.click("button.approve")
    expect(page.locator("#status")).to_have_text("approved")
    expect(page.locator("table.history")).to_contain_text("review.correct")


def test_clerk_refused_above_limit(page: Page, server: Server) -> None:
    base, settings = server
    item_id = items_by_source(settings)["004_informatica_guadalquivir.pdf"][0]
    login(page, base, "cleo")
    page.goto(f"{base}/items/{item_id}")
    page.click("button.approve")
    expect(page.locator("#message")).to_contain_text("it needs a manager")
    expect(page.locator("#status")).to_have_text("open")


def test_enter_in_the_note_does_not_decide(page: Page, server: Server) -> None:
    """QA: Enter in the note box submitted the form with its first button, Approve. The note
    is a text area now: Enter starts a new line, and only a button decides."""
    base, settings = server
    item_id = items_by_source(settings)["010_ferreteria_hermanos.pdf"][0]
    login(page, base, "fiona")
    page.goto(f"{base}/items/{item_id}")
    note = page.locator("form.decide [name=note]")
    note.fill("price does not match the order, reject")
    note.press("Enter")
    page.wait_for_timeout(500)
    expect(page).to_have_url(f"{base}/items/{item_id}")
    expect(page.locator("#status")).to_have_text("open")
    assert "\n" in note.input_value()


def test_request_without_csrf_token_is_refused(page: Page, server: Server) -> None:
    base, settings = server
    item_id, version, _ = items_by_source(settings)["010_ferreteria_hermanos.pdf"]
    login(page, base, "fiona")
    response = page.request.post(f"{base}/items/{item_id}/decide",
                                 form={"action": "hold", "version": str(version)})
    assert response.status == 403 and "CSRF" in response.text()
    page.goto(f"{base}/items/{item_id}")
    expect(page.locator("#status")).to_have_text("open")


def test_dashboard_charts(page: Page, server: Server) -> None:
    base, _ = server
    login(page, base, "fiona")
    page.goto(f"{base}/dashboard")
    expect(page.locator("figure.chart svg")).to_have_count(4)
    expect(page.locator("figure.chart").first).to_contain_text("BANK_DETAILS_CHANGED")
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)


def test_documents_page_finds_an_auto_approved_invoice(page: Page, server: Server) -> None:
    base, _ = server
    login(page, base, "cleo")
    page.click("header.top nav >> text=Documents")
    expect(page).to_have_url(f"{base}/documents")
    expect(page.locator("table.documents tbody tr")).to_have_count(4)
    page.fill("form.filters input[name=number]", "inv 284")  # printed INV-00284
    page.click("form.filters button")
    rows = page.locator("table.documents tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.locator("td.file")).to_have_text("002_transportes_alcazar.pdf")
    expect(rows.locator("td.status")).to_have_text("auto_approved")
    expect(rows.locator("a.review")).to_have_count(0)  # no review item: nothing stopped it
    page.fill("form.filters input[name=number]", "")
    page.fill("form.filters input[name=seller]", "B15543234")
    page.click("form.filters button")
    expect(rows).to_have_count(2)
    rows.locator("a.review").first.click()
    expect(page.locator("h1")).to_contain_text("010_ferreteria_hermanos.pdf")
