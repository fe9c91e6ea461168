"""``python -m generator``: write random invoices, scanned copies or a whole scenario."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from generator.invoices import generate_documents
from generator.model import LAYOUTS
from generator.plants import SUPPORTED
from generator.scanned import render_scanned
from generator.scenario import build_scenario


def _plant(text: str) -> tuple[str, int]:
    name, _, count = text.partition("=")
    if name not in SUPPORTED:
        raise argparse.ArgumentTypeError(f"{name!r} is not one of {', '.join(SUPPORTED)}")
    return name, int(count or "1")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m generator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    docs = sub.add_parser("documents", help="random invoices: <stem>.pdf + <stem>.gt.json")
    docs.add_argument("out_dir", type=Path)
    docs.add_argument("--count", type=int, default=8)
    docs.add_argument("--seed", type=int, default=1)
    docs.add_argument("--layout", action="append", choices=LAYOUTS, dest="layouts")
    docs.add_argument("--scanned", choices=("png", "jpg", "tif", "pdf"),
                      help="also write a scanned-looking copy of each invoice")
    docs.add_argument("--credit-notes", type=float, default=0.0, metavar="SHARE",
                      help="share of the documents that are credit notes (default 0)")
    docs.add_argument("--withholding", type=float, default=0.0, metavar="SHARE",
                      help="share of the Spanish documents with an IRPF withholding "
                           "(default 0)")
    docs.add_argument("--discounts", type=float, default=0.0, metavar="SHARE",
                      help="share of the documents with a document-level discount or "
                           "shipping charge (default 0)")
    docs.add_argument("--breakdown", type=float, default=0.0, metavar="SHARE",
                      help="share of the taxed documents printing their VAT breakdown with "
                           "its bases (default 0)")
    scen = sub.add_parser("scenario", help="master data CSVs + inbox + expected.json")
    scen.add_argument("out_dir", type=Path)
    scen.add_argument("--seed", type=int, default=7)
    scen.add_argument("--invoices", type=int, default=16)
    scen.add_argument("--plant", type=_plant, action="append", default=[],
                      metavar="REASON[=N]", help=f"one of: {', '.join(SUPPORTED)}")
    scen.add_argument("--split-batches", action="store_true")
    scen.add_argument("--inbox-name", default="inbox")
    scen.add_argument("--breakdown", type=float, default=0.0, metavar="SHARE",
                      help="share of the taxed invoices printing their VAT breakdown (default 0)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "documents":
        paths = generate_documents(args.out_dir, args.count, args.seed, layouts=args.layouts,
                                   credit_notes=args.credit_notes,
                                   withholding=args.withholding,
                                   discounts=args.discounts,
                                   breakdown=args.breakdown)
        for index, path in enumerate(paths):
            if args.scanned:
                scan = path.with_name(f"{path.stem}.scan.{args.scanned}")
                render_scanned(path, scan, seed=args.seed * 1000 + index)
        sys.stdout.write(f"wrote {len(paths)} invoices to {args.out_dir}\n")
        return 0
    planted: dict[str, int] = {}
    for name, count in args.plant:
        planted[name] = planted.get(name, 0) + count
    scenario = build_scenario(args.out_dir, args.seed, n_invoices=args.invoices,
                              planted=planted, split_batches=args.split_batches,
                              inbox_name=args.inbox_name, breakdown=args.breakdown)
    sys.stdout.write(f"wrote {len(scenario.invoices)} invoices, {scenario.parties_csv.name}, "
                     f"{scenario.orders_csv.name}, {scenario.receipts_csv.name} and "
                     f"{scenario.expected_json.name} to {scenario.root}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
