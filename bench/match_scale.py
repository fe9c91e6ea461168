"""Scale benchmark of validation + matching: 1,000,000 order lines and 100,000 invoices.

Data is synthetic (numpy, no PDFs): 100,000 orders of 10 lines over 5,000 suppliers; each invoice
bills one order; 90 % print the order number (in varied layouts), 10 % leave it out and need the
candidate search; ~1 % carry a price variance, ~1 % are resent copies of an earlier invoice.

Figures, all measured in the same run:
  floor  — a bare pandas merge of the invoices with the order lines on an integer order key
           (factorised before the clock starts: the cheapest merge there is);
  floor as stored — the same bare merge on the order-number strings as the frames hold them
           (printed numbers against order numbers; no normalisation, so few rows pair up);
  unavoidable steps — work any engine fed this data must do and the floors leave out:
           normalising the 100,000 printed order numbers, and reading the 1,000,000 order
           lines' Decimal quantities and prices as numbers;
  core   — the set-based core: `build_context` (indexes over the master data) + `prepare`
           (seller resolution, order-number merge, amount/date candidate search);
  full   — `evaluate_batch` end to end (the core plus the per-invoice Decimal checks).
Peak memory is the process's maximum RSS (resource.getrusage), which includes the input data.

Usage: python bench/match_scale.py [--small]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matching.context import build_context
from matching.engine import evaluate_batch, gc_paused
from matching.lookup import amount_candidates, number_hits
from matching.normalize import norm_order_number
from matching.prepare import lookup_frame, prepare, seller_of
from matching.types import Candidate, MasterData
from models.domain import Invoice, InvoiceLine, Party

LINES_PER_ORDER = 10
N_PARTIES = 5_000
TODAY = date(2025, 1, 1)
DAY0 = date(2024, 1, 1)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _tax_ids(n: int) -> list[str]:
    from stdnum.es import cif
    bodies = [f"B{7_000_000 + i:07d}" for i in range(n)]
    return [b + cif.calc_check_digits(b)[0] for b in bodies]


def _ibans(n: int) -> list[str]:
    from stdnum import iban
    from stdnum.es import ccc
    out = []
    for i in range(n):
        bank, account = "21000418", f"{1_000_000 + i:010d}"
        number = bank + ccc.calc_check_digits(bank + "00" + account) + account
        out.append("ES" + iban.calc_check_digits("ES00" + number) + number)
    return out


def _decimals(values: np.ndarray, scale: int) -> np.ndarray:
    """Decimal objects for integer values / 10**scale, through a table of the distinct values."""
    uniq, inverse = np.unique(values, return_inverse=True)
    table = np.array([Decimal(int(v)).scaleb(-scale) for v in uniq], dtype=object)
    return table[inverse]


def make_master(n_orders: int, rng: np.random.Generator) -> tuple[MasterData, dict[str, object]]:
    n_lines = n_orders * LINES_PER_ORDER
    tax, ibans = _tax_ids(N_PARTIES), _ibans(N_PARTIES)
    names = [f"Supplier {i:05d} S.L." for i in range(N_PARTIES)]
    parties = pd.DataFrame({"party_id": np.arange(N_PARTIES), "name": names, "tax_id": tax,
                            "iban": ibans, "email": None})
    order_party = rng.integers(0, N_PARTIES, n_orders)
    order_day = rng.integers(0, 300, n_orders)
    code = np.repeat(np.arange(n_orders), LINES_PER_ORDER)
    qty = np.clip(np.rint(rng.lognormal(2.5, 1.0, n_lines)), 1, 10_000).astype(np.int64)
    cents = np.clip(np.rint(rng.lognormal(8.0, 1.5, n_lines)), 1, 10**8).astype(np.int64)
    numbers = np.array([f"PO-{i:06d}" for i in range(n_orders)], dtype=object)
    days = pd.to_datetime(DAY0) + pd.to_timedelta(order_day, unit="D")
    lines = pd.DataFrame({
        "order_line_id": np.arange(n_lines), "order_number": numbers[code],
        "counterparty_tax_id": np.array(tax, dtype=object)[order_party][code],
        "counterparty_name": np.array(names, dtype=object)[order_party][code],
        "order_date": np.array(days.date, dtype=object)[code], "currency": "EUR",
        "line_no": np.tile(np.arange(1, LINES_PER_ORDER + 1), n_orders),
        "description": np.array([f"Article {i % 5000:04d} steel part" for i in range(5000)],
                                dtype=object)[rng.integers(0, 5000, n_lines)],
        "quantity": _decimals(qty, 0), "unit_price": _decimals(cents, 2),
        "tax_rate": Decimal(21), "quantity_received": _decimals(qty, 0),
        "quantity_invoiced": Decimal(0),
    })
    seen = pd.DataFrame({"document_id": [f"old-{i}" for i in range(50_000)],
                         "seller_tax_id": np.array(tax, dtype=object)[rng.integers(0, N_PARTIES,
                                                                                   50_000)],
                         "seller_name": None, "invoice_number": [f"OLD-{i}" for i in range(50_000)],
                         "total": Decimal("1.00"), "issue_date": date(2023, 6, 1)})
    extra = {"order_party": order_party, "order_day": order_day, "names": names, "tax": tax,
             "ibans": ibans}
    return MasterData(parties, lines, seen), extra


def make_invoices(master: MasterData, extra: dict[str, object], n_inv: int,
                  rng: np.random.Generator) -> list[Candidate]:
    lines = master.order_lines
    cols = {c: lines[c].to_numpy() for c in ("description", "quantity", "unit_price")}
    order_party, order_day = np.asarray(extra["order_party"]), np.asarray(extra["order_day"])
    names, tax, ibans = (list(extra[k]) for k in ("names", "tax", "ibans"))  # type: ignore[call-overload]
    layouts = ("PO-{:06d}", "PO {}", "Pedido nº {:07d}", "{}")
    out = []
    for k, o in enumerate(rng.permutation(len(order_party))[:n_inv]):
        start = int(o) * LINES_PER_ORDER
        inv_lines = [InvoiceLine(cols["description"][i], cols["quantity"][i],
                                 cols["unit_price"][i], cols["quantity"][i] * cols["unit_price"][i],
                                 Decimal(21)) for i in range(start, start + LINES_PER_ORDER)]
        if k % 97 == 5:  # a price variance of 3 % on the first line
            first = inv_lines[0]
            price = (first.unit_price * Decimal("1.03")).quantize(Decimal("0.01"))
            inv_lines[0] = InvoiceLine(first.description, first.quantity, price,
                                       first.quantity * price, Decimal(21))
        sub = sum((ln.amount for ln in inv_lines if ln.amount is not None), Decimal(0))
        taxes = (sub * Decimal("0.21")).quantize(Decimal("0.01"))
        p = int(order_party[o])
        issue = DAY0 + timedelta(days=int(order_day[o]) + 10)
        out.append(Candidate(f"inv-{k}", Invoice(
            invoice_number=f"F-{k:07d}", issue_date=issue, due_date=issue + timedelta(days=30),
            currency="EUR", seller=Party(names[p], tax[p]), buyer=Party("Us S.A.", "A28015865"),
            order_number=None if k % 10 == 3 else layouts[k % 4].format(int(o)),
            subtotal=sub, tax_total=taxes, total=sub + taxes, iban=ibans[p], lines=inv_lines)))
        if k % 100 == 7 and out:  # a resent copy of an earlier invoice, number in another layout
            first_inv = out[k // 2].invoice
            copy = Invoice(**{**first_inv.__dict__,
                              "invoice_number": first_inv.invoice_number.replace("F-", "f ")})
            out[-1] = Candidate(f"inv-{k}", copy)
    return out


def bare_merge_seconds(master: MasterData, invoices: list[Candidate]) -> float:
    """The floor: invoices × order lines on an integer order key (factorised beforehand)."""
    code, _ = pd.factorize(master.order_lines["order_number"])
    right = pd.DataFrame({"order_code": code, "line": np.arange(len(code))})
    left = pd.DataFrame({"order_code": np.random.default_rng(1).permutation(code.max() + 1)[
        : len(invoices)], "inv": np.arange(len(invoices))})
    start = time.perf_counter()
    merged = left.merge(right, on="order_code", how="inner")
    elapsed = time.perf_counter() - start
    assert len(merged) == len(invoices) * LINES_PER_ORDER
    return elapsed


def bare_string_merge_seconds(master: MasterData, invoices: list[Candidate]) -> float:
    """The same bare merge on the strings as stored: printed order numbers × order numbers."""
    right = master.order_lines[["order_number", "order_line_id"]]
    left = pd.DataFrame({"order_number": [c.invoice.order_number for c in invoices],
                         "inv": np.arange(len(invoices))})
    start = time.perf_counter()
    left.merge(right, on="order_number", how="inner")
    return time.perf_counter() - start


def unavoidable_seconds(master: MasterData, invoices: list[Candidate]) -> tuple[float, float]:
    """(normalise the printed order numbers, read the order lines' Decimals as numbers)."""
    printed = [c.invoice.order_number for c in invoices]
    norm_order_number.cache_clear()  # timed cold, as a new batch meets new numbers
    start = time.perf_counter()
    [norm_order_number(n) for n in printed]
    normalised = time.perf_counter() - start
    start = time.perf_counter()
    for name in ("quantity", "unit_price"):
        master.order_lines[name].to_numpy(dtype=np.float64)
    return normalised, time.perf_counter() - start


def _lookup_seconds(headers: pd.DataFrame, frame: pd.DataFrame) -> float:
    """The set-based lookups alone, on keys already built (number hits for every invoice and
    the amount search for every invoice: a superset of what `prepare` asks)."""
    start = time.perf_counter()
    number_hits(headers, frame)
    amount_candidates(headers, frame)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="100k order lines, 10k invoices")
    args = parser.parse_args()
    n_orders, n_inv = (10_000, 10_000) if args.small else (100_000, 100_000)
    rng = np.random.default_rng(7)
    t0 = time.perf_counter()
    master, extra = make_master(n_orders, rng)
    invoices = make_invoices(master, extra, n_inv, rng)
    print(f"generated {len(master.order_lines):,} order lines, {len(invoices):,} invoices "
          f"in {time.perf_counter() - t0:.1f} s; peak RSS so far {_peak_mb():.0f} MB")
    floor = min(bare_merge_seconds(master, invoices) for _ in range(3))
    stored = min(bare_string_merge_seconds(master, invoices) for _ in range(3))
    normalise, read = map(min, zip(*(unavoidable_seconds(master, invoices) for _ in range(3)),
                                   strict=True))
    with gc_paused():  # as inside evaluate_batch
        start = time.perf_counter()
        ctx = build_context(master, None, TODAY)
        built = time.perf_counter() - start
        prepare([c.invoice for c in invoices], ctx)
        core = time.perf_counter() - start
    frame = lookup_frame([c.invoice for c in invoices],
                         [seller_of(c.invoice, ctx) for c in invoices])
    lookups = min(_lookup_seconds(ctx.orders.headers, frame) for _ in range(3))
    del ctx, frame
    start, cpu = time.perf_counter(), time.process_time()
    decisions = evaluate_batch(invoices, master, None, TODAY)
    full, cpu = time.perf_counter() - start, time.process_time() - cpu
    approved = sum(d.status == "auto_approved" for d in decisions)
    codes = pd.Series([c for d in decisions for c in d.reason_codes]).value_counts()
    print(f"floor (bare integer merge, best of 3): {floor * 1000:.1f} ms")
    print(f"floor as stored (the same merge on the order-number strings, best of 3): "
          f"{stored * 1000:.1f} ms = {stored / floor:.1f}× floor")
    print(f"unavoidable steps (best of 3): normalise printed order numbers {normalise * 1000:.1f}"
          f" ms = {normalise / floor:.1f}× floor; order-line Decimals as numbers "
          f"{read * 1000:.1f} ms = {read / floor:.1f}× floor")
    print(f"lookups (number merge + amount/date search on the integer keys, best of 3): "
          f"{lookups * 1000:.1f} ms = {lookups / floor:.1f}× floor")
    print(f"core  (build_context {built:.2f} s + prepare): {core:.2f} s "
          f"= {core / floor:.0f}× floor")
    print(f"full  (evaluate_batch): {full:.2f} s = {full / floor:.0f}× floor "
          f"= {full / stored:.0f}× floor as stored, "
          f"{full / len(invoices) * 1e6:.0f} µs/invoice; CPU {cpu:.2f} s "
          f"(wall > CPU means the shared machine was busy)")
    print(f"peak RSS (whole process, incl. input data): {_peak_mb():.0f} MB")
    print(f"auto_approved {approved:,} of {len(decisions):,}; reasons: {codes.to_dict()}")


if __name__ == "__main__":
    main()
