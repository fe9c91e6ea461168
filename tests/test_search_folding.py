"""Names searched and sorted case-insensitively beyond ASCII (`models.search.lowered`) on the
Suppliers, Documents and queue pages, on SQLite and PostgreSQL alike; and day filters that
reach the end of the calendar (9999-12-31), which must filter, not fail."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import String, literal, null, select
from sqlalchemy.orm import Session
from test_documents_page import seeded_site
from test_webapp import login

from models import db
from models.search import lowered, lowered_contains

# (name, tax ID, file of its one invoice, waiting in the queue)
SUPPLIERS = [
    ("ÁLVAREZ HERMANOS S.L.", "B10000001", "FACTURA-ÁLVAREZ.pdf", True),
    ("álamo y cía", "B10000002", "alamo.pdf", True),
    ("ÁVILA ÓPTICA", "B10000003", "avila.pdf", False),
    ("Straße Bau GmbH", "DE100000004", "strasse.pdf", True),
    ("Acme Iberia SL", "B10000005", "acme.pdf", False),
]


def seed(session: Session) -> None:
    for name, tax_id, source, waiting in SUPPLIERS:
        party = db.Party(name=name, tax_id=tax_id)
        doc = db.Document(sha256=source.ljust(64, "0")[:64], source_name=source, size_bytes=1,
                          status="needs_review" if waiting else "auto_approved")
        session.add_all([party, doc])
        session.flush()
        session.add(db.Invoice(document_id=doc.id, party_id=party.id, seller_name=name,
                               seller_tax_id=tax_id, currency="EUR", total=Decimal("10.00")))
        if waiting:
            session.add(db.ReviewItem(document_id=doc.id, reasons=[], version=1,
                                      reason_codes=db.reason_codes_text(())))
    session.commit()


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    for client in seeded_site(db_url, tmp_path, seed):
        login(client, "cleo")
        yield client


def _suppliers(client: TestClient, **params: str) -> list[str]:
    page = client.get("/suppliers", params=params).text
    return re.findall(r'<tr id="party-\d+">\s*<td>([^<]+)</td>', page)


def _documents(client: TestClient, **params: str) -> list[str]:
    page = client.get("/documents", params=params).text
    return sorted(re.findall(r'<td class="file">([^<\n]+)', page))


def _queue(client: TestClient, **params: str) -> list[str]:
    page = client.get("/queue", params=params).text
    return sorted(re.findall(r'<td><a href="/items/\d+">(\D[^<]*)</a></td>', page))


def test_suppliers_are_found_and_sorted_by_names_beyond_ascii(site: TestClient) -> None:
    assert _suppliers(site, text="álvarez") == ["ÁLVAREZ HERMANOS S.L."]
    assert _suppliers(site, text="Álvarez Hermanos") == ["ÁLVAREZ HERMANOS S.L."]
    assert _suppliers(site, text="ÁLAMO") == ["álamo y cía"]
    assert _suppliers(site, text="óptica") == ["ÁVILA ÓPTICA"]
    assert _suppliers(site, text="á") == ["álamo y cía", "ÁLVAREZ HERMANOS S.L.",
                                          "ÁVILA ÓPTICA"]
    # by the names in lower case, code point by code point: "á" after every ASCII letter
    assert _suppliers(site) == ["Acme Iberia SL", "Straße Bau GmbH", "álamo y cía",
                                "ÁLVAREZ HERMANOS S.L.", "ÁVILA ÓPTICA"]


def test_documents_are_found_by_seller_and_file_names_beyond_ascii(site: TestClient) -> None:
    assert _documents(site, seller="álvarez") == ["FACTURA-ÁLVAREZ.pdf"]
    assert _documents(site, seller="ávila óptica") == ["avila.pdf"]
    assert _documents(site, file="factura-álvarez") == ["FACTURA-ÁLVAREZ.pdf"]


def test_the_queue_is_filtered_by_counterparty_names_beyond_ascii(site: TestClient) -> None:
    assert _queue(site, counterparty="álvarez") == ["FACTURA-ÁLVAREZ.pdf"]
    assert _queue(site, counterparty="ÁLAMO Y CÍA") == ["alamo.pdf"]
    assert _queue(site, counterparty="álvarez", sort="counterparty") == ["FACTURA-ÁLVAREZ.pdf"]
    # the Suppliers page links a supplier's waiting items with its name as stored
    assert _queue(site, counterparty="ÁLVAREZ HERMANOS S.L.") == ["FACTURA-ÁLVAREZ.pdf"]


def test_sharp_s_is_lowered_not_folded_to_ss(site: TestClient) -> None:
    """Typed text and stored names are put in lower case by one function on each database
    (`lower`), so a name is found by itself: "Straße" finds "Straße Bau GmbH" (with
    `str.casefold` for the typed text it became "strasse" and found nothing). "strasse"
    does not find it, on either database (PostgreSQL 15 has no case folding)."""
    assert _suppliers(site, text="Straße") == ["Straße Bau GmbH"]
    assert _suppliers(site, text="STRAßE BAU") == ["Straße Bau GmbH"]
    assert _documents(site, seller="straße") == ["strasse.pdf"]
    assert _queue(site, counterparty="Straße") == ["strasse.pdf"]
    assert _suppliers(site, text="strasse") == []


def test_wildcards_typed_are_characters(site: TestClient) -> None:
    assert _suppliers(site, text="%") == _suppliers(site, text="_") == []
    assert _documents(site, file="_") == _queue(site, counterparty="%") == []
    assert _documents(site, file=".pdf") == sorted(s[2] for s in SUPPLIERS)


@pytest.mark.parametrize("days", [{"received_to": "9999-12-31"},
                                  {"received_from": "9999-12-31"},
                                  {"received_from": "0001-01-01", "received_to": "9999-12-31"}])
def test_documents_filtered_to_the_last_day_of_the_calendar(
    site: TestClient, days: dict[str, str],
) -> None:
    response = site.get("/documents", params=days)
    assert response.status_code == 200
    shown = sorted(re.findall(r'<td class="file">([^<\n]+)', response.text))
    assert shown == ([] if days.get("received_from") == "9999-12-31"
                     else sorted(s[2] for s in SUPPLIERS))


def test_lowered_keeps_null_and_lowers_every_letter(db_session: Session) -> None:
    name = literal("ÁLVAREZ Ñandú ÆØÅ ΣΟΦΙΑ Straße", String)
    assert db_session.scalar(select(lowered(name))) == "álvarez ñandú æøå σοφια straße"
    assert db_session.scalar(select(lowered(null()))) is None
    assert db_session.scalar(select(lowered_contains(null(), "x"))) is None
    assert db_session.scalar(select(lowered_contains(name, "ñANDÚ"))) in (True, 1)
    assert db_session.scalar(select(lowered_contains(name, "n_nd"))) in (False, 0)
