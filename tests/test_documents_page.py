"""The Documents page: every document, whatever happened to it, searched in SQL on SQLite and
PostgreSQL (invoice numbers compared by the keys matching uses), and served escaped."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from test_webapp import login

from arflow.db import make_engine, upgrade
from arflow.settings import Settings, load_settings
from matching.normalize import invoice_number_keys
from models import db
from models.search import number_keys
from models.types import utcnow
from models.users import add_user
from webapp.app import create_app
from webapp.documents import DocumentFilter, load_documents

HOSTILE = '<script>alert("x")</script> & Co'
AWKWARD = ["F-2024/0012", "f 2024 12", "F2024012", "000", "0-0-5", "A00B", "X001001",
           "Nº 00123/B", "Factura 2026/0803", "ÁÉÑ-0042", "ñandú-7", "øre-Ŧ1", "2ª-³", "", "--",
           "INV-00284", "2026 / 08 / 03"]


def _doc(session: Session, name: str, status: str, *, number: str | None = None,
         seller: str | None = None, tax_id: str | None = None, total: str | None = None,
         reasons: tuple[str, ...] = (), parent: db.Document | None = None,
         received: datetime | None = None, item: bool = False) -> db.Document:
    """One stored document; with an invoice when it has a number or a seller, and a review
    item when `item`."""
    doc = db.Document(sha256=name.ljust(64, "0")[:64], source_name=name, size_bytes=1,
                      status=status, reasons=[{"code": c, "message": c} for c in reasons],
                      parent_id=parent.id if parent else None,
                      received_at=received or utcnow())
    session.add(doc)
    session.flush()
    if number is not None or seller is not None:
        session.add(db.Invoice(document_id=doc.id, invoice_number=number, seller_name=seller,
                               seller_tax_id=tax_id, currency="EUR",
                               total=None if total is None else Decimal(total)))
    if item:
        session.add(db.ReviewItem(document_id=doc.id, reasons=[], version=1,
                                  reason_codes=db.reason_codes_text(reasons)))
    session.flush()
    return doc


def seed(session: Session) -> None:
    """Six documents: auto-approved, in review, failed, a split file and its two invoices."""
    _doc(session, "acme-0012.pdf", "auto_approved", number="F-2024/0012",
         seller="Acme Iberia SL", tax_id="ES B-58378431", total="121.00",
         received=datetime.fromisoformat("2026-10-01T09:00:00+00:00"))
    _doc(session, "globex.pdf", "needs_review", number="G-77", seller=HOSTILE,
         tax_id="DE136695976", total="50.00", reasons=("PRICE_VARIANCE",), item=True,
         received=datetime.fromisoformat("2026-10-02T09:00:00+00:00"))
    _doc(session, "broken.pdf", "failed", reasons=("UNREADABLE_DOCUMENT",),
         received=datetime.fromisoformat("2026-10-03T09:00:00+00:00"))
    scan = _doc(session, "scanner.pdf", "split", reasons=("MULTIPLE_INVOICES",),
                received=datetime.fromisoformat("2026-10-04T09:00:00+00:00"))
    _doc(session, "scanner.pdf, page 1", "auto_approved", number="A-1", seller="Acme Iberia SL",
         tax_id="ESB58378431", total="10.00", parent=scan,
         received=datetime.fromisoformat("2026-10-04T09:00:00+00:00"))
    _doc(session, "scanner.pdf, page 2", "needs_review", number="A-2", seller="Initech",
         total="20.00", parent=scan, reasons=("ORDER_NOT_FOUND",), item=True,
         received=datetime.fromisoformat("2026-10-04T09:00:00+00:00"))
    session.commit()


def found(session: Session, **typed: str) -> list[str]:
    return [r.source for r in load_documents(session, DocumentFilter(**typed)).rows]


def test_search_runs_in_the_database(db_session: Session) -> None:
    seed(db_session)
    newest_first = ["scanner.pdf, page 2", "scanner.pdf, page 1", "scanner.pdf", "broken.pdf",
                    "globex.pdf", "acme-0012.pdf"]
    assert found(db_session) == newest_first
    for typed in ("f 2024 12", "F2024-0012", "2024/12", "f-2024-0012"):
        assert found(db_session, number=typed) == ["acme-0012.pdf"], typed
    assert found(db_session, number="--") == []  # no letter or digit: nothing, not everything
    assert found(db_session, number="a") == ["scanner.pdf, page 2", "scanner.pdf, page 1"]
    assert found(db_session, seller="ACME iberia") == ["scanner.pdf, page 1", "acme-0012.pdf"]
    assert found(db_session, seller="b58378431") == ["scanner.pdf, page 1", "acme-0012.pdf"]
    assert found(db_session, seller="de 136 695 976") == ["globex.pdf"]
    assert found(db_session, seller="& co") == ["globex.pdf"]  # & is a character
    assert found(db_session, file="SCANNER") == newest_first[:3]
    assert found(db_session, file="%") == []  # a character, not a wildcard
    assert found(db_session, status="failed") == ["broken.pdf"]
    assert found(db_session, status="auto_approved", seller="acme") == [
        "scanner.pdf, page 1", "acme-0012.pdf"]
    assert found(db_session, received_from="2026-10-02", received_to="2026-10-03") == [
        "broken.pdf", "globex.pdf"]
    assert found(db_session, received_to="not a date") == newest_first  # ignored


def test_numbers_with_accents_are_found_without_them(db_session: Session) -> None:
    """Non-ASCII text skips the cheap pre-check (its capitals and accents could differ)."""
    _doc(db_session, "accents.pdf", "auto_approved", number="Nº ÁÉÑ-0042", seller="x")
    _doc(db_session, "plain.pdf", "auto_approved", number="NO-AEN-42", seller="x")
    db_session.commit()
    assert found(db_session, number="aen 42") == ["plain.pdf", "accents.pdf"]
    assert found(db_session, number="noaen 0042") == ["plain.pdf", "accents.pdf"]
    assert found(db_session, number="ñ42") == ["plain.pdf", "accents.pdf"]
    assert found(db_session, number="aen 43") == []


def test_rows_show_what_happened(db_session: Session) -> None:
    seed(db_session)
    rows = {r.source: r for r in load_documents(db_session, DocumentFilter()).rows}
    acme, globex, scan = rows["acme-0012.pdf"], rows["globex.pdf"], rows["scanner.pdf"]
    assert (acme.status, acme.invoice_number, acme.total, acme.item_id) == (
        "auto_approved", "F-2024/0012", Decimal("121.00"), None)
    assert globex.reasons == ("PRICE_VARIANCE",) and globex.item_id is not None
    assert rows["broken.pdf"].reasons == ("UNREADABLE_DOCUMENT",)
    assert [(p.source, p.status, p.item_id is not None) for p in scan.parts] == [
        ("scanner.pdf, page 1", "auto_approved", False),
        ("scanner.pdf, page 2", "needs_review", True)]


def test_pages_of_results(db_session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(db_session)
    monkeypatch.setattr("webapp.documents.PAGE_SIZE", 4)
    first = load_documents(db_session, DocumentFilter())
    second = load_documents(db_session, DocumentFilter(page="2"))
    clamped = load_documents(db_session, DocumentFilter(page="9"))
    assert (first.total, first.pages, first.first, first.last) == (6, 2, 1, 4)
    assert [r.source for r in second.rows] == ["globex.pdf", "acme-0012.pdf"]
    assert (second.first, second.last) == (5, 6) and clamped.rows == second.rows
    assert DocumentFilter(number="f 12", page="1").query(2) == "number=f+12&status=any&page=2"


def test_sql_keys_are_the_keys_matching_uses(db_session: Session) -> None:
    for i, number in enumerate(AWKWARD):
        _doc(db_session, f"n{i}.pdf", "auto_approved", number=number, seller="x")
    db_session.commit()
    keys = number_keys(db_session, db.Invoice.invoice_number)
    rows = db_session.execute(select(db.Invoice.invoice_number, keys)
                              .order_by(db.Invoice.id)).all()
    assert [(n, set(k.split())) for n, k in rows] == [
        (n, set(invoice_number_keys(n)) - {""}) for n in AWKWARD]


# --- through HTTP, on SQLite and PostgreSQL -------------------------------------------------------

def seeded_site(db_url: str, tmp_path: Path,
                seed_with: Callable[[Session], None]) -> Iterator[TestClient]:
    """The web app on a migrated database seeded by `seed_with`, with the clerk "cleo"."""
    settings: Settings = replace(load_settings({"ARFLOW_HOME": str(tmp_path),
                                                "ARFLOW_DATABASE_URL": db_url}), workers=1)
    upgrade(db_url)
    engine: Engine = make_engine(db_url)
    with Session(engine) as session:
        seed_with(session)
        add_user(session, "cleo", "password-cleo", "clerk", Decimal(1000))
        session.commit()
    engine.dispose()
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield client


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    yield from seeded_site(db_url, tmp_path, seed)


def _sources(page: str) -> list[str]:
    return re.findall(r'<td class="file">([^<\n]+)', page)


def test_the_documents_page(site: TestClient) -> None:
    assert site.get("/documents").headers["location"] == "/login?next=/documents"
    login(site, "cleo")
    page = site.get("/documents").text
    assert '<a href="/documents">Documents</a>' in page  # in the menu
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in page
    assert _sources(page) == ["scanner.pdf, page 2", "scanner.pdf, page 1", "scanner.pdf",
                              "broken.pdf", "globex.pdf", "acme-0012.pdf"]
    one = site.get("/documents", params={"number": "F 2024 12"}).text
    assert _sources(one) == ["acme-0012.pdf"] and "auto_approved" in one and "121.00 EUR" in one
    split = site.get("/documents", params={"file": "scanner.pdf", "status": "split"}).text
    assert _sources(split) == ["scanner.pdf"]
    assert re.search(r'<a href="/items/\d+">scanner.pdf, page 2</a> \(needs_review\)', split)
    assert "<li>scanner.pdf, page 1 (auto_approved)</li>" in split
    odd = site.get("/documents", params={"status": "<b>", "page": "x"}).text  # reset, page 1
    assert len(_sources(odd)) == 6 and "<b>" not in odd


def test_the_documents_page_is_paged_and_keeps_its_filters(
    site: TestClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("webapp.documents.PAGE_SIZE", 2)
    login(site, "cleo")
    first = site.get("/documents", params={"seller": "acme"}).text
    assert "page 1 of 2" not in first and _sources(first) == ["scanner.pdf, page 1",
                                                            "acme-0012.pdf"]
    every = site.get("/documents").text
    assert "rows 1–2 of 6, page 1 of 3" in every and 'rel="prev"' not in every
    assert 'href="/documents?status=any&amp;page=2" rel="next"' in every
    last = site.get("/documents", params={"page": "3"}).text
    assert _sources(last) == ["globex.pdf", "acme-0012.pdf"] and 'rel="next"' not in last
