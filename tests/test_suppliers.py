"""The Suppliers page: the party master with invoices received, items waiting and the last
change of each supplier's bank account, searched by name or tax ID (HTTP, the demo data)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from test_webapp import login, seed_demo

from arflow.db import make_engine, session_scope
from arflow.masterdata import import_csv
from arflow.settings import Settings
from models.db import Invoice, Party
from webapp.app import create_app

ROOT = Path(__file__).resolve().parents[1]
CHANGED_IBAN = "GB82WEST12345698765432"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The demo (a real batch over sample invoices), then an ERP file that changes the first
    supplier's IBAN."""
    home = tmp_path_factory.mktemp("suppliers")
    settings = seed_demo(home)
    lines = (ROOT / "data" / "parties.csv").read_text(encoding="utf-8").splitlines()
    name, tax_id, _, email = lines[1].split(",")
    erp = home / "erp.csv"
    erp.write_text("\n".join([lines[0], f"{name},{tax_id},{CHANGED_IBAN},{email}"]) + "\n",
                   encoding="utf-8")
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        import_csv(session, "parties", erp)
    engine.dispose()
    return settings


def _counts(settings: Settings) -> dict[str, int]:
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        rows = session.execute(select(Party.tax_id, func.count(Invoice.id))
                               .join(Invoice, Invoice.party_id == Party.id)
                               .group_by(Party.tax_id)).tuples().all()
    engine.dispose()
    return dict(rows)


def test_suppliers_with_their_account_and_its_last_change(web: Settings) -> None:
    with TestClient(create_app(web), follow_redirects=False) as client:
        login(client, "cleo")
        page = client.get("/suppliers").text
        assert "10 on file" in page and page.count('<tr id="party-') == 10
        for tax_id, count in _counts(web).items():
            row = re.search(rf"<td>{tax_id}</td>.*?</tr>", page, re.S)
            assert row is not None and f'<td class="num">{count}</td>' in row.group(0)
        waiting = re.findall(r'<a href="/queue\?counterparty=[^"]+">(\d+)</a>', page)
        assert sum(int(n) for n in waiting) == 3  # the demo's three items in review
        changed = re.search(r"<td>B08824625</td>.*?</tr>", page, re.S)
        assert changed is not None
        assert CHANGED_IBAN in changed.group(0) and "UTC by import" in changed.group(0)
        assert "history" not in changed.group(0)  # the audit log is for finance leads
        found = client.get("/suppliers", params={"text": "B-08824625"}).text
        assert found.count('<tr id="party-') == 1 and "Transportes Levante" in found
        by_name = client.get("/suppliers", params={"text": "ferreter"}).text
        assert by_name.count('<tr id="party-') == 1
        login(client, "fiona")
        lead = client.get("/suppliers", params={"text": "B08824625"}).text
        assert "entity=party&amp;entity_id=" in lead and ">history</a>" in lead
        assert "No supplier matches." in client.get("/suppliers", params={"text": "zzz"}).text
