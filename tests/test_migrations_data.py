"""Upgrading a database full of data (`arflow db upgrade`), from every older revision to head,
on SQLite and PostgreSQL.

For each starting point an empty database is migrated to it and every table it has is filled
as arflow of that time stored its data: typed through `models.types` (money and quantities
with four decimals, scaled integers on SQLite; UTC datetimes; JSON), ids given by the
database, some rows deleted again (ids with gaps), non-ASCII text, NULL where arflow left a
column empty, an audit chain appended by `models.audit.append_audit`, and the rows of a
feature only once the schema has it (split parts from 0008, exports from 0009, number claims
from 0011). Then the database goes to head and:

* every row is still there with every value, compared by primary key; a column a migration
  added holds what that migration promises (`ADDED`; NULL for the others), none is NULL where
  head declares NOT NULL, and the tables created since are empty;
* the schema is head's (`compare_metadata` finds nothing: no column, index or constraint
  missing), the audit log's triggers are there and refuse UPDATE and DELETE, foreign keys
  hold, money is still stored as exact numbers;
* the audit chain verifies (`verify_chain` and `arflow audit verify`); head's code reads the
  data (`load_master_data`, `arflow report --json`, the approvers' digest) and writes after it
  (an event chains on, a document takes the next id);
* a second `upgrade head` changes nothing.

Every revision before head is a starting point, not only those that alter a table: from R
every later migration runs over the rows R's software wrote (from 0001, all of them over a
full database); the three whose next migration only creates a table are marked slow
(`REDUNDANT`). So are the first editions of the two migrations edited after they were
committed (`EDITIONS`): a database they migrated carries the same revision stamp without the
columns added to the file later.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import Column, Connection, Engine, MetaData, Table, inspect, select, text
from sqlalchemy.orm import Session

from arflow.cli import cli
from arflow.db import alembic_config, current_revision, make_engine, session_scope, upgrade
from arflow.engines import engine_for
from arflow.errors import StorageError
from matching.normalize import invoice_number_keys, seller_key
from models import repo
from models.approval_matrix import load_matrix
from models.audit import append_audit, verify_chain
from models.db import Base, reason_codes_text
from models.digest import digests
from models.types import Amount, Quantity

D = Decimal
Rows = dict[str, dict[Any, dict[str, Any]]]  # table -> primary key -> column -> value


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [s.revision for s in reversed(list(script.walk_revisions()))]


REVISIONS = _revisions()
HEAD = REVISIONS[-1]


# --- the first editions of migrations edited in place (git log migrations/versions) ---------

def _0006_at_38abff6(op: Operations) -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.add_column(sa.Column("invoice_type", sa.String(20), nullable=False,
                                   server_default="invoice"))
        batch.add_column(sa.Column("preceding_invoice", sa.String(64), nullable=True))


def _0006_at_bd5d1b1(op: Operations) -> None:
    _0006_at_38abff6(op)
    with op.batch_alter_table("invoices") as batch:
        batch.add_column(sa.Column("withholding", Amount(), nullable=True))


def _0013_at_a3a8f3f(op: Operations) -> None:
    with op.batch_alter_table("review_items") as batch:
        batch.add_column(sa.Column("received_total", Amount(), nullable=True))
        batch.add_column(sa.Column("received_currency", sa.String(3), nullable=True))
    for column in ("total", "currency"):
        op.execute(f"UPDATE review_items SET received_{column} = (SELECT invoices.{column} "
                   "FROM invoices WHERE invoices.document_id = review_items.document_id)")


# edition -> (the revision before, the revision it stamps, what it did)
EDITIONS: dict[str, tuple[str, str, Callable[[Operations], None]]] = {
    "0006@38abff6": ("0005_review_reason_codes", "0006_invoice_type", _0006_at_38abff6),
    "0006@bd5d1b1": ("0005_review_reason_codes", "0006_invoice_type", _0006_at_bd5d1b1),
    "0013@a3a8f3f": ("0012_audit_filters", "0013_review_received_amount", _0013_at_a3a8f3f),
}
# Starts whose next migration only creates a table: their rows are a subset of those the next
# start carries through the same later migrations, so they run with the slow tests.
REDUNDANT = {"0002_users", "0003_ingest", "0010_user_email"}
STARTS = [pytest.param(s, marks=pytest.mark.slow) if s in REDUNDANT else s
          for s in [*REVISIONS[:-1], *EDITIONS]]


def _migrate_to_start(url: str, start: str) -> None:
    if start not in EDITIONS:
        upgrade(url, start)
        return
    before, stamp, edition = EDITIONS[start]
    upgrade(url, before)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            edition(Operations(MigrationContext.configure(conn)))
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": stamp})
    finally:
        engine.dispose()


# --- the schema as it is now, with head's column types ---------------------------------------

def _tables_now(engine: Engine) -> dict[str, Table]:
    """Every table the database has, limited to the columns it has, typed as head types them
    (a column gone at head would need its own check of where its values went)."""
    inspector = inspect(engine)
    meta = MetaData()
    tables: dict[str, Table] = {}
    for name in inspector.get_table_names():
        if name == "alembic_version":
            continue
        head = Base.metadata.tables.get(name)
        assert head is not None, f"table {name} is gone at head: check where its rows went"
        columns = [c["name"] for c in inspector.get_columns(name)]
        gone = [c for c in columns if c not in head.c]
        assert not gone, f"{name}.{gone} gone at head: check where their values went"
        tables[name] = Table(name, meta, *(
            Column(c, head.c[c].type, primary_key=head.c[c].primary_key) for c in columns))
    return tables


def _snapshot(engine: Engine, tables: Mapping[str, Table]) -> Rows:
    out: Rows = {}
    with engine.connect() as conn:
        for name, table in tables.items():
            key = next(iter(table.primary_key.columns))
            rows = conn.execute(select(table).order_by(key)).mappings()
            out[name] = {row[key.name]: dict(row) for row in rows}
    return out


class Filler:
    """Inserts rows into the tables the database has, leaving out the columns it lacks;
    the database gives the ids, as it did to arflow."""

    def __init__(self, conn: Connection, tables: dict[str, Table]) -> None:
        self.conn = conn
        self.tables = tables
        self.written: Rows = {}

    def has(self, table: str, column: str | None = None) -> bool:
        return table in self.tables and (column is None or column in self.tables[table].c)

    def add(self, table: str, **values: Any) -> Any:
        unknown = set(values) - set(Base.metadata.tables[table].c.keys())
        assert not unknown, f"{table} has no {unknown} at head"
        if table not in self.tables:
            return None
        target = self.tables[table]
        row = {k: v for k, v in values.items() if k in target.c}
        key = next(iter(target.primary_key.columns))
        got = self.conn.execute(target.insert().returning(key), row).scalar_one()
        self.written.setdefault(table, {})[got] = row
        return got

    def remove(self, table: str, key: Any) -> None:
        target = self.tables[table]
        self.conn.execute(target.delete().where(next(iter(target.primary_key.columns)) == key))
        del self.written[table][key]


# --- what arflow of that time stored -------------------------------------------------------

T0 = datetime(2026, 11, 23, 7, 45, 14, 250_001, tzinfo=UTC)
ACME, MUELLER = ("Acme Iberia SL", "ESB58378431"), ("Müller & Söhne GmbH", "DE136695976")


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _sha(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def _problem(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **extra}


def _extraction(source: str, number: str | None, total: str | None) -> dict[str, Any]:
    box = {"text": total or "", "x0": 402.5, "top": 701.25, "x1": 451.0, "bottom": 712.5,
           "page": 1, "conf": 1.0}
    return {"source": source, "status": "ok", "kind": "digital", "pages": 1,
            "invoice": {"invoice_number": number, "total": total, "currency": "EUR"},
            "confidence": {"invoice_number": 0.99, "total": 0.971}, "errors": [],
            "evidence": {"total": [box]}}


def _master(f: Filler) -> dict[str, int]:
    acme = f.add("parties", name=ACME[0], tax_id=ACME[1], iban="ES9121000418450200051332",
                 email="ap@acme.example")
    f.add("parties", name=MUELLER[0], tax_id=MUELLER[1], iban=None, email=None)
    f.add("parties", name="株式会社東京商事 (Tōkyō Shōji)", tax_id="JP1234567890123", iban=None,
          email="請求書@tokyo.example")
    po1 = f.add("orders", order_number="PO-1001", party_id=acme, counterparty_tax_id=ACME[1],
                counterparty_name=ACME[0], order_date=date(2026, 10, 1), currency="EUR")
    po2 = f.add("orders", order_number="PO/2026/Ü-7", party_id=None, counterparty_tax_id=None,
                counterparty_name=MUELLER[0], order_date=date(2026, 10, 3), currency="CHF")
    ids = {"acme": acme, "po1": po1, "po2": po2}
    ids["widgets"] = f.add("order_lines", order_id=po1, line_no=1, quantity=D(10),
                           description="Widgets — blau/grün, 10 mm", unit_price=D("12.5000"),
                           tax_rate=D(21))
    ids["bolts"] = f.add("order_lines", order_id=po1, line_no=2, description="Bolts, M8 × 40",
                         quantity=D(100), unit_price=D("0.1234"), tax_rate=D("21"))
    ids["hours"] = f.add("order_lines", order_id=po2, line_no=1, description=None,
                         quantity=D("2.5"), unit_price=D("800.0000"), tax_rate=None)
    for line, quantity, day in (("widgets", "4", 5), ("widgets", "6", 9), ("bolts", "100", 5),
                                ("bolts", "-3.5", 12)):  # the last: goods sent back
        f.add("receipts", order_line_id=ids[line], quantity_received=D(quantity),
              received_date=date(2026, 10, day))
    return ids


def _document(f: Filler, source: str, status: str, **values: Any) -> int:
    row = {"sha256": _sha(source), "source_name": source, "size_bytes": 48_213,
           "original_path": f"/srv/arflow/inbox/{source}", "kind": "digital", "status": status,
           "extraction_status": "ok", "pages": 1, "received_at": _at(2)}
    doc: int = f.add("documents", **{**row, **values})
    return doc


def _invoice(f: Filler, doc: int, number: str | None, amounts: tuple[str, str, str] | None,
             lines: list[tuple[str | None, str | None, str | None, int | None]],
             **values: Any) -> int:
    subtotal, tax, total = (D(a) for a in amounts) if amounts else (None, None, None)
    invoice: int = f.add(
        "invoices", document_id=doc, invoice_number=number, subtotal=subtotal, tax_total=tax,
        total=total, **values)
    for no, (description, quantity, price, order_line) in enumerate(lines):
        amount = None if quantity is None or price is None else D(quantity) * D(price)
        line = f.add("invoice_lines", invoice_id=invoice, line_no=no, description=description,
                     quantity=None if quantity is None else D(quantity),
                     unit_price=None if price is None else D(price), amount=amount,
                     tax_rate=D(21) if amount is not None else None,
                     adjustment=D("-1.2345") if no == 1 else None)
        if order_line is not None:
            f.add("matches", invoice_line_id=line, order_line_id=order_line,
                  quantity=None if no == 1 else D(quantity or 0))
    return invoice


def _documents(f: Filler, ids: dict[str, int]) -> dict[str, int]:
    batch = f.add("batches", started_at=_at(0), finished_at=_at(5.5), source="/srv/arflow/inbox",
                  total=5, auto_approved=1, needs_review=3, failed=1, duplicates=0)
    f.add("batches", started_at=_at(1440), finished_at=None, source=None, total=0,
          auto_approved=0, needs_review=0, failed=0, duplicates=0)  # a run that was killed
    acme = {"seller_name": ACME[0], "seller_tax_id": ACME[1], "currency": "EUR",
            "seller_address": "Calle Mayor 1\n28013 Madrid", "party_id": ids["acme"],
            "buyer_name": "Compras Ñandú S.A.", "buyer_tax_id": "A28017895",
            "issue_date": date(2026, 10, 20), "due_date": date(2026, 11, 19),
            "payment_terms": "30 días fecha factura", "order_number": "PO-1001",
            "matched_order_id": ids["po1"], "iban": "ES9121000418450200051332"}
    docs = {"auto": _document(f, "A-2026-0001.pdf", "auto_approved", batch_id=batch,
                              extraction=_extraction("A-2026-0001.pdf", "A-2026/0001", "45.38"),
                              reasons=[])}
    _invoice(f, docs["auto"], "A-2026/0001", ("37.5000", "7.8750", "45.3750"),
             [("Widgets — blau/grün", "3", "12.5000", ids["widgets"])], **acme)
    review = [_problem("PRICE_VARIANCE", "Unit price 13.1000 differs from the order's 12.50",
                       field="lines[0].unit_price", expected="12.50", found="13.1000"),
              _problem("TOTAL_VARIANCE", "Total 1493.8270 differs from the order's 137.34",
                       expected="137.34", found="1493.8270"),
              _problem("PRICE_VARIANCE", "Unit price 0.1300 differs from the order's 0.1234",
                       field="lines[1].unit_price", expected="0.1234", found="0.1300")]
    docs["review"] = _document(f, "Factura nº 77 (copia).pdf", "needs_review", batch_id=batch,
                               reasons=review,
                               extraction=_extraction("Factura nº 77 (copia).pdf", "B-77",
                                                      "1493.83"))
    _invoice(f, docs["review"], "B-77", ("1234.5678", "259.2592", "1493.8270"),
             [("Widgets", "2.5", "13.1000", ids["widgets"]), ("Bolts", "96.5", "0.1300",
                                                               ids["bolts"])],
             allowances=D("10.0000"), charges=D("2.5000"),
             tax_breakdown=[{"rate": "21", "base": "1234.5678", "amount": "259.2592"}],
             **acme)
    bank = [_problem("BANK_DETAILS_CHANGED", "The IBAN differs from the one on file",
                     field="iban", expected=None, found="DE89370400440532013000")]
    docs["approved"] = _document(f, "Rechnung_Nr. 42 – Müller.pdf", "approved", batch_id=batch,
                                 reasons=bank, extraction=None)
    _invoice(f, docs["approved"], "RE-2026-0042", ("2000.0000", "0.0000", "2000.0000"),
             [("Beratung (Stunden) à 800,00", "2.5", "800.0000", ids["hours"])],
             seller_name=MUELLER[0], seller_tax_id=MUELLER[1], currency="CHF",
             iban="DE89370400440532013000", matched_order_id=ids["po2"],
             withholding=D("300.0000"), issue_date=date(2026, 10, 28))
    dup = [_problem("DUPLICATE_INVOICE", "Already received as A-2026-0001.pdf",
                    field="invoice_number", found="A-2026/0001")]
    docs["rejected"] = _document(f, "abono_\\xf1.pdf", "rejected", batch_id=batch, reasons=dup)
    _invoice(f, docs["rejected"], "AB-2026/0001", ("-37.5000", "-7.8750", "-45.3750"),
             [("Devolución widgets", "-3", "12.5000", None)], invoice_type="credit_note",
             preceding_invoice="A-2026/0001", **{**acme, "matched_order_id": None})
    failed = _problem("OCR_FAILED", "Tesseract timed out on page 2 (120 s)", page=2)
    docs["failed"] = _document(f, "scan 2026-11-23 08.15.tif", "failed", batch_id=batch,
                               kind="scan", extraction_status="failed", pages=3,
                               error_code="OCR_FAILED", error_message=failed["message"],
                               reasons=[failed])
    f.add("documents", sha256=_sha("left.pdf"), source_name="left.pdf", size_bytes=0,
          status="received", received_at=_at(1441))  # a worker crashed: every other column NULL
    if f.has("documents", "parent_id"):
        _parts(f, docs, batch)
    return docs


def _parts(f: Filler, docs: dict[str, int], batch: int) -> None:
    """A scanner's batch split into one document per invoice (0008)."""
    whole = _document(f, "lote-escáner.pdf", "split", batch_id=batch, kind="scan",
                      extraction_status="split", pages=4)
    docs["part"] = _document(f, "lote-escáner.pdf#1-2", "auto_approved", parent_id=whole,
                             batch_id=batch, kind="scan")
    _invoice(f, docs["part"], "L-0001", ("100.0000", "21.0000", "121.0000"), [], **{
        "seller_name": ACME[0], "seller_tax_id": ACME[1], "currency": "EUR"})
    low = [_problem("LOW_CONFIDENCE", "total read with confidence 0.41", field="total"),
           _problem("MISSING_FIELD", "No invoice number found", field="invoice_number")]
    docs["held"] = _document(f, "lote-escáner.pdf#3-4", "needs_review", parent_id=whole,
                             batch_id=batch, kind="scan", reasons=low)
    _invoice(f, docs["held"], None, None, [(None, None, None, None)])


def _review(f: Filler, docs: dict[str, int]) -> None:
    """Items as opened (0013 on: with the total, currency and codes as received; the first
    one's total and codes since corrected)."""
    for key, status, role, version, received in (
            ("review", "open", None, 1, ("1500.0000", "EUR", ["SUSPECTED_DUPLICATE"])),
            ("approved", "approved", "manager", 3, ("2000.0000", "CHF", [])),
            ("rejected", "rejected", "finance_lead", 2, ("-45.3750", "EUR", [])),
            ("held", "on_hold", None, 2, (None, None, []))):
        if key not in docs:
            continue
        reasons = f.written["documents"][docs[key]]["reasons"]
        codes = [p["code"] for p in reasons]
        item = f.add("review_items", document_id=docs[key], status=status, reasons=reasons,
                     reason_codes=reason_codes_text(codes), assigned_role=role,
                     created_at=_at(5), updated_at=_at(60 * version), version=version,
                     received_total=None if received[0] is None else D(received[0]),
                     received_currency=received[1],
                     received_reason_codes=reason_codes_text(codes + received[2]))
        for actor in {"open": ["ana"], "approved": ["ana", "zoë.müller"]}.get(status, []):
            f.add("review_approvals", review_item_id=item, actor=actor, at=_at(30))


def _people(f: Filler) -> None:
    scrypt = "scrypt$16384$8$1$" + "7f" * 16 + "$" + "a3" * 32
    ana = f.add("users", name="ana", password_hash=scrypt, role="clerk",
                approval_limit=D("5000.0000"), active=True, created_at=_at(-60),
                email="ana@compras.example")
    f.add("users", name="zoë.müller", password_hash=scrypt, role="manager",
          approval_limit=None, active=True, created_at=_at(-59), email=None)
    f.add("users", name="bob", password_hash=scrypt, role="finance_lead",
          approval_limit=D("123456.7891"), active=False, created_at=_at(-58),
          email="bob@compras.example")
    f.add("web_sessions", token_hash=_sha("cookie"), user_id=ana, csrf_token="c" * 43,
          created_at=_at(10), expires_at=_at(730))
    if f.has("login_failures"):
        gone = f.add("login_failures", user_name="ana", client="192.0.2.7", at=_at(1))
        f.add("login_failures", user_name="zoë.müller", client=None, at=_at(2))
        f.add("login_failures", user_name="ｒｏｏｔ", client="2001:db8::1", at=_at(3))
        f.remove("login_failures", gone)  # the throttle forgets failures past its window


def _ledgers(f: Filler, docs: dict[str, int]) -> None:
    archive = "/srv/arflow/drop/archive/2026-11-23/"
    f.add("drop_files", sha256=_sha("A-2026-0001.pdf"), name="A-2026-0001.pdf",
          original_path="/srv/arflow/drop/A-2026-0001.pdf", size_bytes=48_213,
          outcome="processed", document_id=docs["auto"], target_path=archive + "A-2026-0001.pdf",
          reasons=None, received_at=_at(1), moved_at=_at(6))
    f.add("drop_files", sha256=_sha("scan"), name="scan 2026-11-23 08.15.tif",
          original_path="/srv/arflow/drop/scan 2026-11-23 08.15.tif", size_bytes=9_876_543_210,
          outcome="quarantined", document_id=docs["failed"], reasons=[_problem(
              "OCR_FAILED", "Tesseract timed out on page 2 (120 s)", page=2)],
          target_path="/srv/arflow/quarantine/scan 2026-11-23 08.15.tif", received_at=_at(1),
          moved_at=None)  # the crash came between the commit and the move
    f.add("mail_messages", mailbox="INBOX/Facturas recibidas", uidvalidity=3_000_000_123,
          uid=4_294_967_295, message_id="<20261123.0815.ñ@mail.example>", outcome="ingested",
          error=None, documents=[_sha("Factura nº 77 (copia).pdf")], seen_at=_at(3),
          acknowledged_at=_at(7))
    f.add("mail_messages", mailbox="INBOX/Facturas recibidas", uidvalidity=3_000_000_123,
          uid=17, message_id=None, outcome="no_invoice", documents=None,
          error="no attachment arflow reads: only signature.p7s", seen_at=_at(4),
          acknowledged_at=None)
    if f.has("exports"):
        written = f.add("exports", created_at=_at(120), actor="cli:root", format="csv",
                        status="written", documents=2, path="/var/lib/arflow/exports/"
                        "export-000001.csv", file_sha256=_sha("export"), written_at=_at(121))
        pending = f.add("exports", created_at=_at(180), actor="web:zoë.müller", format="jsonl",
                        status="pending", documents=1, file_sha256=None, written_at=None,
                        path="/var/lib/arflow/exports/export-000002.jsonl")
        table = f.tables["documents"]
        for key, export in (("auto", written), ("part", written), ("approved", pending)):
            if key in docs:
                f.conn.execute(table.update().where(table.c.id == docs[key])
                               .values(export_id=export))
                f.written["documents"][docs[key]]["export_id"] = export
    if f.has("invoice_number_claims"):
        for key, number, seller in (("auto", "A-2026/0001", seller_key(1, *ACME[::-1])),
                                    ("approved", "RE-2026-0042", seller_key(None, *MUELLER[::-1]))):
            for number_key in invoice_number_keys(number):
                f.add("invoice_number_claims", seller_key=seller, number_key=number_key,
                      document_id=docs[key])


EVENTS: tuple[tuple[str, str, str, str, dict[str, Any] | None, dict[str, Any] | None], ...] = (
    ("import", "masterdata.import", "party", "1", None,
     {"name": ACME[0], "iban": "ES91 2100 0418 4502 0005 1332", "file": "parties.csv"}),
    ("system", "document.store", "document", "2", None,
     {"status": "needs_review", "reasons": ["PRICE_VARIANCE", "TOTAL_VARIANCE"]}),
    ("ana", "review.correct", "review_item", "1",
     {"field": "total", "value": "1.500,00", "reasons": ["TOTAL_VARIANCE"]},
     {"field": "total", "value": "1493.8270", "reasons": ["PRICE_VARIANCE", "TOTAL_VARIANCE"]}),
    ("zoë.müller", "review.approve", "review_item", "2", {"status": "open"},
     {"status": "approved", "note": "Bankverbindung telefonisch bestätigt ✓",
      "approvers": ["ana", "zoë.müller"], "limit": None}),
    ("bob", "review.reject", "review_item", "3", {"status": "open", "version": 1},
     {"status": "rejected", "note": "Doppelt — ya pagada", "version": 2}),
    ("cli:root", "export.create", "export", "1", None,
     {"documents": 2, "payable": {"EUR": "166.3750"}, "ratio": 0.5}),
)


def _fill(conn: Connection, tables: dict[str, Table]) -> Rows:
    f = Filler(conn, tables)
    ids = _master(f)
    docs = _documents(f, ids)
    _review(f, docs)
    if f.has("users"):
        _people(f)
    if f.has("drop_files"):
        _ledgers(f, docs)
    session = Session(bind=conn)  # joins the transaction of `conn`
    for actor, action, entity, entity_id, before, after in EVENTS:
        append_audit(session, actor=actor, action=action, entity=entity, entity_id=entity_id,
                     before=before, after=after)
    session.close()
    return f.written


# --- what each migration promises for the rows it finds ---------------------------------------

def _codes(row: Mapping[str, Any]) -> str:
    return reason_codes_text(p["code"] for p in row["reasons"] or [] if "code" in p)


def _of_invoice(column: str) -> Callable[[Mapping[str, Any], Rows], Any]:
    def value(row: Mapping[str, Any], before: Rows) -> Any:
        found = [i[column] for i in before["invoices"].values()
                 if i["document_id"] == row["document_id"]]
        return found[0] if found else None
    return value


# (table, column) -> the value a migration gives the rows it finds; other added columns: NULL
ADDED: dict[tuple[str, str], Callable[[Mapping[str, Any], Rows], Any]] = {
    ("review_items", "reason_codes"): lambda row, _: _codes(row),  # 0005
    ("invoices", "invoice_type"): lambda row, _: "invoice",  # 0006
    ("review_items", "received_total"): _of_invoice("total"),  # 0013
    ("review_items", "received_currency"): _of_invoice("currency"),  # 0013
    ("review_items", "received_reason_codes"):  # 0013: the reasons at the upgrade
        lambda row, _: row["reason_codes"] if "reason_codes" in row else _codes(row),
}


def _differences(before: Rows, after: Rows) -> list[str]:
    problems = [f"{name}: {len(rows)} row(s) in a table created since"
                for name, rows in after.items() if name not in before and rows]
    for name, rows in before.items():
        now = after[name]
        if list(now) != list(rows):
            problems.append(f"{name}: ids {list(rows)} before, {list(now)} after")
        for key, old in rows.items():
            for column, value in now.get(key, {}).items():
                expected = _expected(name, column, old, before)
                if value != expected:
                    problems.append(f"{name} {key}: {column} = {value!r}, expected {expected!r}")
    return problems


def _expected(table: str, column: str, old: Mapping[str, Any], before: Rows) -> Any:
    if column in old:
        return old[column]
    rule = ADDED.get((table, column))
    if rule is not None:
        return rule(old, before)
    if not Base.metadata.tables[table].c[column].nullable:
        return "<a value: NOT NULL, and ADDED has no rule for it>"
    return None


# --- head's schema, guards and code ----------------------------------------------------------

def _check_schema_and_guards(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], diff
    assert _triggers(engine) == ({"audit_events_append_only"} if _pg(engine) else
                                 {"audit_events_no_update", "audit_events_no_delete"})
    for statement in ("UPDATE audit_events SET actor = 'eve'", "DELETE FROM audit_events"):
        with pytest.raises(StorageError, match="append-only"), session_scope(engine) as session:
            session.execute(text(statement))
    with engine.connect() as conn:
        if _pg(engine):
            unchecked = ("SELECT conname FROM pg_constraint WHERE NOT convalidated "
                         "AND connamespace = current_schema()::regnamespace")
            assert conn.execute(text(unchecked)).all() == []
            return
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        for table in Base.metadata.tables.values():  # scaled integers, never REAL or TEXT
            for column in (c for c in table.c if isinstance(c.type, Amount | Quantity)):
                odd = (f"SELECT count(*) FROM {table.name} "
                       f"WHERE typeof({column.name}) NOT IN ('integer', 'null')")
                assert conn.exec_driver_sql(odd).scalar() == 0, f"{table.name}.{column.name}"


def _pg(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def _triggers(engine: Engine) -> set[str]:
    query = ("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
             "AND tgrelid = 'audit_events'::regclass" if _pg(engine) else
             "SELECT name FROM sqlite_master WHERE type = 'trigger'")
    with engine.connect() as conn:
        return {row[0] for row in conn.execute(text(query))}


def _check_head_code(engine: Engine, before: Rows) -> None:
    """Head's reads over the upgraded rows, then writes after them (rolled back)."""
    with Session(engine) as session:
        master = repo.load_master_data(session)
        lines = master.order_lines.set_index("order_line_id")
        sums = {line: (lines.loc[line, "quantity_received"], lines.loc[line, "quantity_invoiced"])
                for line in lines.index}
        assert sums == {1: (D(10), D(3)), 2: (D("96.5"), D(0)), 3: (D(0), D("2.5"))}
        assert len(master.seen_invoices) == len(before["invoices"])
        assert sorted(master.parties["tax_id"]) == sorted(
            p["tax_id"] for p in before["parties"].values())
        waiting = digests(session, load_matrix({}))
        shown = {w.item_id for d in waiting.per_user for w in d.items}
        shown |= {w.item_id for w in waiting.unassignable}
        assert shown == {k for k, r in before["review_items"].items()
                         if r["status"] in ("open", "on_hold")}
        assert verify_chain(session) is None
        last = max(before["audit_events"].values(), key=lambda e: e["id"])
        event = append_audit(session, actor="system", action="audit.verify", entity="audit",
                             entity_id="0", after={"events": len(before["audit_events"])})
        assert (event.id, event.prev_hash) == (last["id"] + 1, last["hash"])
        assert verify_chain(session) is None
        document = repo.create_document(session, sha256=_sha("after"), size_bytes=1,
                                        source_name="nach dem Upgrade.pdf")
        assert document.id == max(before["documents"]) + 1
        session.rollback()


def _check_cli(url: str, home: Path, before: Rows, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARFLOW_HOME", str(home))
    monkeypatch.setenv("ARFLOW_DATABASE_URL", url)
    runner = CliRunner()
    try:
        verified = runner.invoke(cli, ["audit", "verify"])
        report = runner.invoke(cli, ["report", "--json"])
    finally:
        engine_for(url).dispose()  # the CLI's engine stays cached; its connections need not
    events = before["audit_events"]
    head = events[max(events)]["hash"]
    assert (verified.exit_code, verified.output) == (
        0, f"audit chain intact: {len(events)} event(s), head {head}\n"), verified.output
    assert report.exit_code == 0, report.output
    rows = [json.loads(line) for line in report.output.splitlines()]
    assert [(r["document_id"], r["status"]) for r in rows] == [
        (k, d["status"]) for k, d in before["documents"].items()]
    totals = {i["document_id"]: i["total"] for i in before["invoices"].values()}
    assert {r["document_id"]: None if r["invoice"]["total"] is None
            else D(r["invoice"]["total"]) for r in rows if r["invoice"]} == totals


def _schema(engine: Engine) -> str:
    """Tables, columns (types as text), indexes, constraints and triggers, for comparing."""
    inspector = inspect(engine)
    parts = (inspector.get_multi_columns(), inspector.get_multi_indexes(),
             inspector.get_multi_unique_constraints(), inspector.get_multi_foreign_keys())
    return repr([sorted(part.items()) for part in parts] + [sorted(_triggers(engine))])


# --- the tests ---------------------------------------------------------------------------------

@pytest.fixture
def fresh_engine(db_url: str) -> Iterator[Callable[[], Engine]]:
    made: list[Engine] = []

    def make() -> Engine:
        made.append(make_engine(db_url))
        return made[-1]

    yield make
    for engine in made:
        engine.dispose()


@pytest.mark.parametrize("start", STARTS)
def test_upgrade_from_an_older_revision_keeps_every_row(
    db_url: str, start: str, fresh_engine: Callable[[], Engine], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _migrate_to_start(db_url, start)
    engine = fresh_engine()
    tables = _tables_now(engine)
    with engine.begin() as conn:
        written = _fill(conn, tables)
    before = _snapshot(engine, tables)
    stored = {(t, k, c): before[t][k][c] for t, rows in written.items()
              for k, row in rows.items() for c in row}
    assert stored == {(t, k, c): v for t, rows in written.items()
                      for k, row in rows.items() for c, v in row.items()}  # as arflow wrote
    with Session(engine) as session:
        assert verify_chain(session) is None

    upgrade(db_url)
    engine = fresh_engine()
    assert current_revision(engine) == HEAD
    after = _snapshot(engine, Base.metadata.tables)
    assert _differences(before, after) == []
    _check_schema_and_guards(engine)
    _check_head_code(engine, before)
    _check_cli(db_url, tmp_path / "home", before, monkeypatch)

    schema = _schema(engine)
    upgrade(db_url)  # a second upgrade finds nothing to do
    assert current_revision(engine) == HEAD
    assert _snapshot(engine, Base.metadata.tables) == after
    assert _schema(engine) == schema
