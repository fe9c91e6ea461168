"""The item page of a long document: the first 20 pages (and any with highlighted evidence)
are shown, with a link that shows them all; every page's image is served."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from fastapi.testclient import TestClient
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas
from test_webapp import ROOT, items_by_source, login, run_demo_batch

from arflow.settings import Settings
from webapp.app import create_app
from webapp.item import MAX_PAGES_SHOWN

TERMS_PAGES = 24
NAME = "long_terms.pdf"


def _long_invoice(target: Path, work: Path) -> None:
    """A sample invoice followed by pages of general terms, as some suppliers send them."""
    terms = work / "terms.pdf"
    canvas = Canvas(str(terms), pagesize=A4)
    for page in range(TERMS_PAGES):
        canvas.setFont("Helvetica", 11)
        canvas.drawString(72, 760, f"General terms and conditions, clause {page + 1}")
        canvas.drawString(72, 740, "Goods remain our property until paid in full.")
        canvas.showPage()
    canvas.save()
    merged = pdfium.PdfDocument(str(ROOT / "data" / "invoices" / "001_ferreteria_hermanos.pdf"))
    merged.import_pages(pdfium.PdfDocument(str(terms)))
    merged.save(str(target))


@pytest.fixture(scope="module")
def long_doc(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("web-long")
    inbox = home / "inbox"
    inbox.mkdir()
    _long_invoice(inbox / NAME, tmp_path_factory.mktemp("web-long-work"))
    return run_demo_batch(home, inbox)


@pytest.fixture
def client(long_doc: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(long_doc), follow_redirects=False) as test_client:
        login(test_client, "fiona")
        yield test_client


def _shown(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<div class="page" data-page="(\d+)">', page)]


def test_a_long_document_shows_its_first_pages_and_a_link_to_all(
    long_doc: Settings, client: TestClient,
) -> None:
    item_id = items_by_source(long_doc)[NAME][0]
    pages = 1 + TERMS_PAGES
    first = client.get(f"/items/{item_id}")
    assert first.status_code == 200
    assert _shown(first.text) == list(range(MAX_PAGES_SHOWN))
    assert f"{MAX_PAGES_SHOWN} of {pages} pages shown" in first.text
    assert f'href="/items/{item_id}?pages=all"' in first.text
    every = client.get(f"/items/{item_id}?pages=all")
    assert _shown(every.text) == list(range(pages))
    assert 'id="more-pages"' not in every.text
    last = client.get(f"/items/{item_id}/pages/{pages - 1}.png")
    assert last.status_code == 200 and last.headers["content-type"] == "image/png"
