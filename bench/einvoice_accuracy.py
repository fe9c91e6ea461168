"""Accuracy of arflow's e-invoice reader and Swiss QR-bill decoding over the public corpus.

Usage:  .venv/bin/python bench/einvoice_accuracy.py [--corpus DIR] [--show-misses]

Fields: invoice number, issue date, currency, total (tax inclusive, BT-112), seller name
(BT-27) and seller VAT id (BT-31). Only fields the ground truth carries are counted; the
score is the share of those that arflow returns exactly (strings after whitespace folding,
amounts as Decimal, dates as dates).

Ground truth, by source (stated again in the output):
- XML e-invoices (UBL, CII, ZUGFeRD 1.0, FatturaPA): an independent reading written here, not
  the extractor's code: fully namespaced ElementTree paths to each syntax's mandatory
  element for the business term (EN 16931 UBL/CII bindings, ZUGFeRD 1.0, FatturaPA 1.2).
  Written by the extractor's author as separate code (exact paths, no fallbacks, no
  wildcards): it catches mapping, fallback and parsing bugs, not a shared misreading of the
  standard.
- Facturae: the GOBL JSON the XML was generated from (doc.code, issue_date, currency,
  totals.total_with_tax, supplier.name / tax_id.code). Where Facturae encodes the seller as a
  natural person (PersonTypeCode F) the XML cannot carry GOBL's trade name, so the GOBL
  person's name (given surname surname2) is the truth for the seller name.
- Hybrid PDFs with a sidecar ``<pdf>.embedded.xml``: arflow's PDF path (attachment extraction
  + parse) against the independent reading of the sidecar.
- Printed vs XML (information, no ground truth needed): for each hybrid PDF, whether the
  page text (pypdfium2) shows the XML's total, invoice number and issue date
  (`check_against_text`); a flag is either a PDF that prints other data or a spelling the
  check does not know.
- Swiss QR-bills: decoded from the PNG and from the PDF page (rendered), IBAN, amount and
  currency against lines 4, 19 and 20 of the ``.qr.txt`` payload (amount only where given).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from defusedxml.ElementTree import fromstring  # noqa: E402

from bench.corpus import corpus_dir  # noqa: E402
from extractors.einvoice import (  # noqa: E402
    check_against_text,
    extract_embedded_xml,
    parse_einvoice,
)
from extractors.qr import SwissQrBill, decode_file, parse_payload  # noqa: E402
from models.domain import Invoice  # noqa: E402

CORPUS = corpus_dir()
EINVOICE_DIRS = (
    "zugferd-corpus",
    "mustangproject",
    "factur-x-akretion",
    "en16931-examples",
    "peppol-bis3",
    "xrechnung-testsuite",
    "facturae-gobl",
)
FIELDS = ("invoice_number", "issue_date", "currency", "total", "seller.name", "seller.tax_id")
Truth = dict[str, Any]

NS = {
    "ubl": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "ublcn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "z1": "urn:ferd:CrossIndustryDocument:invoice:1p0",
    "z1ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12",
    "z1udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15",
    "fpa": "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2",
}


# ------------------------------------------------------------ independent XML reading
def _t(root: Element, path: str) -> str | None:
    el = root.find(path, NS)
    value = " ".join((el.text or "").split()) if el is not None else ""
    return value or None


def _ymd(value: str | None) -> date | None:
    if not value:
        return None
    digits = value.replace("-", "")[:8]
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


def _dec(value: str | None) -> Decimal | None:
    return Decimal(value) if value else None


def truth_ubl(root: Element) -> Truth:
    party = "cac:AccountingSupplierParty/cac:Party"
    vat = None
    for scheme in root.findall(f"{party}/cac:PartyTaxScheme", NS):
        if _t(scheme, "cac:TaxScheme/cbc:ID") == "VAT":
            vat = _t(scheme, "cbc:CompanyID")
            break
    return {
        "invoice_number": _t(root, "cbc:ID"),
        "issue_date": _ymd(_t(root, "cbc:IssueDate")),
        "currency": _t(root, "cbc:DocumentCurrencyCode"),
        "total": _dec(_t(root, "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount")),
        "seller.name": _t(root, f"{party}/cac:PartyLegalEntity/cbc:RegistrationName"),
        "seller.tax_id": vat,
    }


def truth_cii(root: Element, z1: bool) -> Truth:
    ram, udt = ("z1ram", "z1udt") if z1 else ("ram", "udt")
    doc = "z1:HeaderExchangedDocument" if z1 else "rsm:ExchangedDocument"
    tx = "z1:SpecifiedSupplyChainTradeTransaction" if z1 else "rsm:SupplyChainTradeTransaction"
    agr = f"{tx}/{ram}:" + (
        "ApplicableSupplyChainTradeAgreement" if z1 else "ApplicableHeaderTradeAgreement"
    )
    stl = f"{tx}/{ram}:" + (
        "ApplicableSupplyChainTradeSettlement" if z1 else "ApplicableHeaderTradeSettlement"
    )
    summ = f"{stl}/{ram}:" + (
        "SpecifiedTradeSettlementMonetarySummation"
        if z1
        else "SpecifiedTradeSettlementHeaderMonetarySummation"
    )
    seller = f"{agr}/{ram}:SellerTradeParty"
    return {
        "invoice_number": _t(root, f"{doc}/{ram}:ID"),
        "issue_date": _ymd(_t(root, f"{doc}/{ram}:IssueDateTime/{udt}:DateTimeString")),
        "currency": _t(root, f"{stl}/{ram}:InvoiceCurrencyCode"),
        "total": _dec(_t(root, f"{summ}/{ram}:GrandTotalAmount")),
        "seller.name": _t(root, f"{seller}/{ram}:Name"),
        "seller.tax_id": _t(
            root, f"{seller}/{ram}:SpecifiedTaxRegistration/{ram}:ID[@schemeID='VA']"
        ),
    }


def truth_fatturapa(root: Element) -> Truth:
    gen = "FatturaElettronicaBody/DatiGenerali/DatiGeneraliDocumento"
    seller = "FatturaElettronicaHeader/CedentePrestatore/DatiAnagrafici"
    country, code = (
        _t(root, f"{seller}/IdFiscaleIVA/IdPaese"),
        _t(root, f"{seller}/IdFiscaleIVA/IdCodice"),
    )
    return {
        "invoice_number": _t(root, f"{gen}/Numero"),
        "issue_date": _ymd(_t(root, f"{gen}/Data")),
        "currency": _t(root, f"{gen}/Divisa"),
        "total": _dec(_t(root, f"{gen}/ImportoTotaleDocumento")),
        "seller.name": _t(root, f"{seller}/Anagrafica/Denominazione"),
        "seller.tax_id": f"{country}{code}" if country and code else None,
    }


def truth_xml(data: bytes) -> tuple[str, Truth]:
    root = fromstring(data)
    tag = root.tag
    if tag in (f"{{{NS['ubl']}}}Invoice", f"{{{NS['ublcn']}}}CreditNote"):
        return "UBL", truth_ubl(root)
    if tag == f"{{{NS['rsm']}}}CrossIndustryInvoice":
        return "CII", truth_cii(root, z1=False)
    if tag == f"{{{NS['z1']}}}CrossIndustryDocument":
        return "ZUGFeRD 1.0", truth_cii(root, z1=True)
    if tag == f"{{{NS['fpa']}}}FatturaElettronica":
        return "FatturaPA", truth_fatturapa(root)
    raise ValueError(f"bench has no independent reading for root {tag}")


def truth_gobl(gobl_path: Path, facturae: bytes) -> Truth:
    doc = json.loads(gobl_path.read_text(encoding="utf-8"))["doc"]
    supplier = doc["supplier"]
    name = supplier.get("name")
    if (
        b"<PersonTypeCode>F</PersonTypeCode>"
        in facturae.split(b"<BuyerParty>")[0].split(b"<SellerParty>")[-1]
    ):
        person = supplier["people"][0]["name"]
        name = " ".join(
            p for p in (person.get("given"), person.get("surname"), person.get("surname2")) if p
        )
    series = doc.get("series")
    return {
        "invoice_number": f"{series}-{doc['code']}" if series else doc["code"],
        "issue_date": date.fromisoformat(doc["issue_date"]),
        "currency": doc["currency"],
        "total": Decimal(doc["totals"]["total_with_tax"]),
        "seller.name": name,
        "seller.tax_id": (supplier.get("tax_id") or {}).get("code"),
    }


# ------------------------------------------------------------ scoring
@dataclass
class Score:
    carried: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    correct: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    files: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, name: str, got: Invoice | None, truth: Truth, error: str = "") -> None:
        self.files += 1
        for key in FIELDS:
            want = truth.get(key)
            if want is None:
                continue
            self.carried[key] += 1
            have = got.get(key) if got is not None else None
            if _same(have, want):
                self.correct[key] += 1
            else:
                self.misses.append(f"{name}: {key} want {want!r} got {have!r} {error}".rstrip())


def _same(have: Any, want: Any) -> bool:
    if isinstance(want, str) and isinstance(have, str):
        return " ".join(have.split()) == " ".join(want.split())
    return bool(have == want)


def _arflow(read: Callable[[], Invoice]) -> tuple[Invoice | None, str]:
    try:
        return read(), ""
    except Exception as exc:  # counted as misses, named in the output
        return None, f"[{type(exc).__name__}: {exc}]"


SKIPPED: list[str] = []  # files for which the bench has no ground truth, with the reason


def _truth_for(path: Path, data: bytes) -> tuple[str, Truth] | None:
    try:
        if path.name.endswith(".facturae.xml"):
            gobl = path.with_name(path.name.replace(".facturae.xml", ".gobl.json"))
            return "Facturae vs GOBL JSON", truth_gobl(gobl, data)
        kind, truth = truth_xml(data)
        return kind + " vs XPath", truth
    except (OSError, ValueError, KeyError, IndexError, ArithmeticError) as exc:
        SKIPPED.append(f"{path}: {type(exc).__name__}: {exc}")
        return None


def run_xml(corpus: Path, scores: dict[str, Score]) -> None:
    for folder in EINVOICE_DIRS:
        for path in sorted((corpus / folder).rglob("*")):
            if path.suffix.lower() != ".xml":
                continue
            data = path.read_bytes()
            reading = _truth_for(path, data)
            if reading is None:
                continue
            got, err = _arflow(partial(parse_einvoice, data))
            scores[reading[0]].add(str(path.relative_to(corpus)), got, reading[1], err)


def run_pdfs(corpus: Path, scores: dict[str, Score]) -> None:
    for folder in EINVOICE_DIRS:
        for pdf in sorted((corpus / folder).rglob("*.pdf")):
            sidecar = pdf.with_name(pdf.name + ".embedded.xml")
            if not sidecar.exists():
                continue
            reading = _truth_for(sidecar, sidecar.read_bytes())
            if reading is None:
                continue
            kind, truth = reading[0].removesuffix(" vs XPath"), reading[1]

            def read(pdf: Path = pdf) -> Invoice:
                found = extract_embedded_xml(pdf)
                if found is None:
                    raise LookupError("no embedded XML found")
                return parse_einvoice(found[1])

            got, err = _arflow(read)
            scores[f"PDF embedded ({kind}) vs sidecar XPath"].add(
                str(pdf.relative_to(corpus)), got, truth, err
            )


# ------------------------------------------------------------ printed text vs XML
def run_text_check(corpus: Path) -> tuple[int, list[str]]:
    import pypdfium2 as pdfium

    flagged, count = [], 0
    for folder in EINVOICE_DIRS:
        for pdf_path in sorted((corpus / folder).rglob("*.pdf")):
            try:
                found = extract_embedded_xml(pdf_path)
                if found is None:
                    continue
                pdf = pdfium.PdfDocument(str(pdf_path))
                text = "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
                pdf.close()
                problems = check_against_text(parse_einvoice(found[1]), text)
            except Exception as exc:  # reported, not fatal: the bench covers unseen files
                flagged.append(f"{pdf_path.relative_to(corpus)}: {type(exc).__name__}: {exc}")
                continue
            count += 1
            if problems:
                shown = ", ".join(f"{p.field}={p.expected}" for p in problems)
                flagged.append(f"{pdf_path.relative_to(corpus)}: not printed: {shown}")
    return count, flagged


# ------------------------------------------------------------ Swiss QR-bill
def run_qr(corpus: Path) -> tuple[dict[str, list[int]], list[str], float, int]:
    counts: dict[str, list[int]] = {k: [0, 0] for k in ("payload", "iban", "amount", "currency")}
    misses: list[str] = []
    images = sorted(p for p in (corpus / "swiss-qrbill").glob("*") if p.suffix in (".png", ".pdf"))
    start = time.perf_counter()
    for path in images:
        if not path.with_suffix(".qr.txt").exists():
            misses.append(f"{path.name}: no .qr.txt ground truth, not counted")
            continue
        lines = path.with_suffix(".qr.txt").read_text(encoding="utf-8")
        truth = lines.split("\n")
        codes = _decode(path)
        bill = parse_payload(codes[0]) if codes else None
        got = {
            "payload": codes[0] if codes else None,
            "iban": bill.iban if isinstance(bill, SwissQrBill) else None,
            "amount": bill.amount if isinstance(bill, SwissQrBill) else None,
            "currency": bill.currency if isinstance(bill, SwissQrBill) else None,
        }
        want = {
            "payload": lines,
            "iban": truth[3],
            "amount": _dec(truth[18]),
            "currency": truth[19],
        }
        for key, value in want.items():
            if value is None:
                continue
            counts[key][1] += 1
            if got[key] == value:
                counts[key][0] += 1
            else:
                misses.append(f"{path.name}: {key} want {value!r} got {got[key]!r}")
    return counts, misses, time.perf_counter() - start, len(images)


def _decode(path: Path) -> list[str]:
    try:
        return [c.text for c in decode_file(path)]
    except Exception:
        return []


# ------------------------------------------------------------ report
def _pct(ok: int, n: int) -> str:
    return f"{ok}/{n} = {100 * ok / n:.1f}%" if n else "n/a"


def report(scores: dict[str, Score], show_misses: bool) -> None:
    total = Score()
    for kind in sorted(scores):
        sc = scores[kind]
        print(f"\n{kind}: {sc.files} files")
        for key in FIELDS:
            print(f"  {key:15s} {_pct(sc.correct[key], sc.carried[key])}")
            total.carried[key] += sc.carried[key]
            total.correct[key] += sc.correct[key]
        total.files += sc.files
        total.misses += sc.misses
    ok, n = sum(total.correct.values()), sum(total.carried.values())
    print(f"\nALL e-invoices: {total.files} documents, fields carried {n}, correct {_pct(ok, n)}")
    for key in FIELDS:
        print(f"  {key:15s} {_pct(total.correct[key], total.carried[key])}")
    print(f"no ground truth (skipped): {len(SKIPPED)}")
    for line in SKIPPED:
        print("  " + line)
    print(f"misses: {len(total.misses)}")
    for line in total.misses if show_misses else total.misses[:20]:
        print("  " + line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    corpus: Path = args.corpus
    if not corpus.is_dir():
        print(f"corpus directory {corpus} is ABSENT: nothing measured")
        return 1
    import cv2

    # silence OpenCV's per-decode "ECI is not supported properly" warnings
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    print(__doc__.split("Ground truth, by source")[1].split("\n", 1)[1].rstrip())
    scores: dict[str, Score] = defaultdict(Score)
    start = time.perf_counter()
    run_xml(corpus, scores)
    run_pdfs(corpus, scores)
    elapsed = time.perf_counter() - start
    report(scores, args.show_misses)
    print(f"e-invoice time: {elapsed:.2f} s for {sum(s.files for s in scores.values())} documents")
    n_pdf, flagged = run_text_check(corpus)
    print(f"\nPrinted text vs embedded XML: {len(flagged)} of {n_pdf} hybrid PDFs flagged")
    for line in flagged:
        print("  " + line)
    counts, misses, qr_s, n_img = run_qr(corpus)
    print(f"\nSwiss QR-bill ({n_img} images: PNG + PDF page): decoded with OpenCV, vs .qr.txt")
    for key, (ok, n) in counts.items():
        print(f"  {key:15s} {_pct(ok, n)}")
    for line in misses:
        print("  " + line)
    print(f"QR time: {qr_s:.2f} s ({qr_s / max(n_img, 1):.2f} s per image)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
