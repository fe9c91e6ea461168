"""A complete test scenario: master data CSVs, an inbox of invoices and the expected outcome.

The buyer ("us") is one fixed company; an invoice's counterparty is its SELLER. Clean invoices
bill what was received on one of our orders; each planted invoice carries one problem, named by
its reason code. ``expected.json`` maps each invoice file name to ``{"status", "reasons",
"also_acceptable", "order_number", "order_number_printed", "batch", "duplicate_of", ...}``.
With ``split_batches`` the duplicates and the over-billing follow-ups arrive in
``inbox/batch2`` after ``inbox/batch1``.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import orders as od
from generator.invoices import document_seeds, write_document
from generator.plants import ALSO_ACCEPTABLE, SUPPORTED
from generator.scenario_plan import LATE_KINDS, Planner, Slot

EXPECTED_FILE = "expected.json"


@dataclass(frozen=True)
class Scenario:
    root: Path
    parties_csv: Path
    orders_csv: Path
    receipts_csv: Path
    inbox: Path
    batches: tuple[Path, ...]
    truth_dir: Path
    expected_json: Path
    invoices: tuple[Path, ...]

    def expected(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.expected_json.read_text(encoding="utf-8"))
        return data


def planted_kinds(planted: Mapping[str, int] | None, n_invoices: int) -> list[str]:
    """The planted reason codes, one per problem invoice; raises ValueError if impossible."""
    planted = planted or {}
    unknown = set(planted) - set(SUPPORTED)
    if unknown:
        raise ValueError(f"cannot plant {sorted(unknown)}; supported: {list(SUPPORTED)}")
    kinds = [kind for kind in SUPPORTED for _ in range(planted.get(kind, 0))]
    originals = sum(1 for k in kinds if k in (*LATE_KINDS, "OVER_BILLING"))
    if len(kinds) + originals > n_invoices:
        raise ValueError(f"{len(kinds)} planted invoices (and up to {originals} originals) "
                         f"do not fit in n_invoices={n_invoices}")
    return kinds


def _plan(planner: Planner, kinds: list[str], n_invoices: int, split: bool) -> list[Slot]:
    clean = planner.clean_slots(n_invoices - len(kinds))
    # Originals for duplicates and follow-ups: short orders first (popped from the end).
    free = sorted(clean, key=lambda s: -len(s.order.lines))
    planted = [planner.planted_slot(k, i, free, split) for i, k in enumerate(kinds)]
    early = [s for s in clean + planted if s.batch == 1 and s.kind not in LATE_KINDS]
    planner.rng.shuffle(early)
    late = [s for s in planted if s not in early]
    return early + late


def build_scenario(out_dir: Path, seed: int, *, n_invoices: int,
                   planted: Mapping[str, int] | None = None, split_batches: bool = False,
                   inbox_name: str = "inbox", open_orders: int | None = None,
                   breakdown: float = 0.0) -> Scenario:
    """Write parties/orders/receipts CSVs, the invoice PDFs and ``expected.json``; about a
    `breakdown` share of the taxed invoices print their VAT breakdown (one rate, as their
    order's; ``generator.breakdown``), 0 writing exactly the scenario written before."""
    kinds = planted_kinds(planted, n_invoices)
    planner = Planner(seed, breakdown=breakdown)
    slots = _plan(planner, kinds, n_invoices, split_batches)
    for _ in range(n_invoices // 4 if open_orders is None else open_orders):
        planner.new_order(planner.rng.choice(planner.sellers))  # orders not invoiced yet
    planner.assign_layouts(slots)
    inbox, truth = out_dir / inbox_name, out_dir / "truth"
    batches = (inbox / "batch1", inbox / "batch2") if split_batches else (inbox,)
    expected, paths = {}, []
    for position, (slot, doc_seed) in enumerate(
            zip(slots, document_seeds(seed, len(slots)), strict=True), start=1):
        slot.name = f"{position:03d}_{_slug(slot.seller.name)}"
        doc = planner.document(slot, doc_seed)
        paths.append(write_document(doc, batches[slot.batch - 1], slot.name, truth))
        expected[f"{slot.name}.pdf"] = _expectation(slot, doc.language)
    return _write_master(out_dir, planner, expected, batches, tuple(paths))


def _expectation(slot: Slot, language: str) -> dict[str, Any]:
    kind = slot.kind
    return {
        "status": "needs_review" if kind else "auto_approved",
        "reasons": [kind] if kind else [],
        "also_acceptable": sorted(ALSO_ACCEPTABLE.get(kind, ())) if kind else [],
        "order_number": slot.order.number if slot.order_on_file else None,
        "order_number_printed": slot.order_printed,
        "batch": slot.batch,
        "seller_tax_id": slot.seller.tax_id,
        "duplicate_of": f"{slot.original.name}.pdf" if slot.original else None,
        "layout": slot.layout,
        "language": language,
    }


def _write_master(root: Path, planner: Planner, expected: dict[str, Any],
                  batches: tuple[Path, ...], paths: tuple[Path, ...]) -> Scenario:
    root.mkdir(parents=True, exist_ok=True)
    expected_json = root / EXPECTED_FILE
    expected_json.write_text(json.dumps(expected, indent=2, ensure_ascii=False) + "\n",
                             encoding="utf-8")
    return Scenario(
        root=root,
        parties_csv=od.write_parties(root / "parties.csv", planner.sellers),
        orders_csv=od.write_orders(root / "orders.csv", planner.orders),
        receipts_csv=od.write_receipts(root / "receipts.csv", planner.orders),
        inbox=batches[0].parent if len(batches) > 1 else batches[0],
        batches=batches, truth_dir=root / "truth", expected_json=expected_json,
        invoices=paths)


def _slug(name: str) -> str:
    """``Suministros Ibérica S.L.`` → ``suministros_iberica``."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = ["".join(ch for ch in w if ch.isalnum()) for w in plain.split()[:2]]
    return "_".join(w for w in words if w) or "invoice"
