"""The random invoice model: companies, lines, totals and the printed ground truth.

A `Document` holds the ground-truth `Invoice` — exactly what the rendered PDF prints, with
None for anything the layout leaves out — plus the style choices the renderer needs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from generator import catalog, fmt, ids
from models.domain import Invoice, InvoiceLine, Party

LAYOUTS = ("classic", "boxes", "modern", "compact")
LAYOUT_LANGUAGES = {"classic": ("en",), "boxes": ("es",), "modern": ("es", "en"),
                    "compact": ("es", "en")}
CURRENCIES = {"ES": "EUR", "DE": "EUR", "FR": "EUR", "GB": "GBP", "US": "USD"}
_DOMESTIC_RATES = {"ES": ("21", "21", "21", "10", "4"), "DE": ("19",), "FR": ("20",),
                   "GB": ("20",), "US": ("0",)}
_EU = ("ES", "DE", "FR")
# Probability that a layout prints: due date, order number, payment terms, IBAN.
_PRINTS = {"classic": (1.0, 0.8, 1.0, 1.0), "boxes": (0.7, 0.8, 0.6, 1.0),
           "modern": (0.85, 0.8, 0.0, 1.0), "compact": (0.5, 0.8, 0.7, 0.7)}


@dataclass(frozen=True)
class Company:
    name: str
    tax_id: str
    iban: str | None
    email: str
    address: tuple[str, ...]
    country: str

    @property
    def currency(self) -> str:
        return CURRENCIES[self.country]

    @property
    def language(self) -> str:
        return "es" if self.country == "ES" else "en"

    def party(self, *, vat_prefix: bool = False) -> Party:
        """The party as printed; `vat_prefix` prints a Spanish CIF in its EU VAT form."""
        tax_id = f"ES{self.tax_id}" if vat_prefix and self.country == "ES" else self.tax_id
        return Party(name=self.name, tax_id=tax_id, address=", ".join(self.address))


def make_company(rng: random.Random, country: str) -> Company:
    name = catalog.company_name(rng, country)
    return Company(name=name, tax_id=ids.tax_id_for(rng, country),
                   iban=ids.iban_for(rng, country), email=catalog.email_for(name, rng),
                   address=tuple(catalog.address_lines(rng, country)), country=country)


@dataclass(frozen=True)
class LineSpec:
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal


@dataclass(frozen=True)
class TaxLine:
    rate: Decimal
    base: Decimal
    tax: Decimal


@dataclass(frozen=True)
class WithholdingStyle:
    """How a withholding is printed (``generator.withholding``): its row's label with the
    rate, the label of the amount paid below it, an optional "Total factura" row before
    it (None: not printed), and whether its amount is printed with a minus sign."""

    label: str
    due_label: str
    gross_label: str | None
    negative: bool


@dataclass(frozen=True)
class AdjustmentStyle:
    """How document-level allowances and charges are printed (``generator.discounts``): the
    row of the lines' sum, each allowance or charge row (label, amount; an allowance's
    amount is negative), the label of the tax base row after them (None: not printed, the
    tax and total follow), and whether allowances are printed with a minus sign."""

    gross_label: str
    rows: tuple[tuple[str, Decimal], ...]
    base_label: str | None
    negative: bool


@dataclass(frozen=True)
class BreakdownStyle:
    """How the VAT breakdown (base, rate, tax per rate) is printed (``generator.breakdown``):
    as a table (``kind="table"``: its columns as (key, label) in print order — keys
    ``base``, ``rate``, ``tax``, ``gross`` — standing above the totals block or beside it),
    or as the totals block's tax rows with their base (``kind="rows"``: "IVA 21% s/
    1.000,00"). ``rate`` is the rate's notation (``percent``: "21%", ``spaced``: "21 %",
    ``places``: "21,00%", ``bare``: "21,00" under a "%" column label). ``per_rate``: the
    totals block keeps one tax row per rate; else one row, ``tax_label``, with the tax
    total."""

    kind: str
    columns: tuple[tuple[str, str], ...] = ()
    position: str = "above"
    rate: str = "percent"
    joiner: str = ""
    per_rate: bool = True
    tax_label: str = ""


@dataclass
class Document:
    invoice: Invoice
    layout: str
    language: str
    amount_style: fmt.AmountStyle
    date_style: str
    labels: dict[str, str]
    tax_lines: list[TaxLine]
    seed: int
    seller_email: str = ""
    seller_country: str = "ES"
    buyer_country: str = "ES"
    notes: list[str] = field(default_factory=list)
    line_rates_printed: bool = False
    withholding: WithholdingStyle | None = None  # printed when the invoice has one
    adjustments: AdjustmentStyle | None = None  # document-level allowances and charges
    breakdown: BreakdownStyle | None = None  # the VAT breakdown printed with its bases


def tax_rate(rng: random.Random, seller: Company, buyer: Company) -> Decimal:
    """The VAT rate a seller charges this buyer (0 for exports and EU reverse charge)."""
    if seller.country != buyer.country:
        return Decimal(0)
    return Decimal(rng.choice(_DOMESTIC_RATES[seller.country]))


def invoice_number(rng: random.Random, year: int) -> str:
    n = rng.randint(1, 9999)
    return rng.choice((f"F{year}-{n:04d}", f"INV-{n + 10000}", f"{year}/{n:04d}",
                       f"A-{n:06d}", f"FAC-{year % 100}-{n:04d}", f"INV/{year}/{n:05d}"))


def order_number(rng: random.Random, year: int) -> str:
    n = rng.randint(1, 9999)
    return rng.choice((f"PO-{year}-{n:04d}", f"45000{n:05d}", f"PED-{n:04d}"))


def side_stream(feature: str, seed: int) -> random.Random:
    """The random stream of an opt-in `feature`'s draws for the document of `seed`: a stream
    of its own, so that turning the feature on never changes the document's other draws."""
    return random.Random(f"{feature}:{seed}")


def opted_in(feature: str, doc: Document, share: float) -> random.Random | None:
    """`feature`'s stream when `doc` draws it with probability `share` (0: never)."""
    if share <= 0:
        return None
    rng = side_stream(feature, doc.seed)
    return rng if rng.random() < share else None


def random_date(rng: random.Random) -> date:
    return date(2025, 9, 1) + timedelta(days=rng.randint(0, 300))


def build_lines(specs: list[LineSpec]) -> list[InvoiceLine]:
    """Line amount = quantity × unit price, rounded half-up to cents."""
    return [InvoiceLine(description=s.description, quantity=s.quantity,
                        unit_price=s.unit_price, amount=fmt.money(s.quantity * s.unit_price),
                        tax_rate=s.tax_rate) for s in specs]


def tax_breakdown(lines: list[InvoiceLine]) -> list[TaxLine]:
    """Tax per rate on the rate's base (rounded once per rate), highest rate first."""
    bases: dict[Decimal, Decimal] = {}
    for line in lines:
        assert line.tax_rate is not None and line.amount is not None
        bases[line.tax_rate] = bases.get(line.tax_rate, Decimal(0)) + line.amount
    return [TaxLine(rate, base, fmt.money(base * rate / 100))
            for rate, base in sorted(bases.items(), reverse=True)]


@dataclass(frozen=True)
class Header:
    """What the caller decides about an invoice; everything else is drawn by `compose`."""

    seller: Company
    buyer: Company
    layout: str
    issue_date: date
    invoice_number: str | None
    order_number: str | None
    language: str | None = None


def compose(rng: random.Random, seed: int, header: Header, specs: list[LineSpec]) -> Document:
    """Draw the style of one invoice and build its ground truth (what gets printed)."""
    language = header.language or rng.choice(LAYOUT_LANGUAGES[header.layout])
    currency = header.seller.currency
    lines = build_lines(specs)
    taxes = tax_breakdown(lines)
    subtotal = sum((t.base for t in taxes), Decimal(0))
    tax_total = sum((t.tax for t in taxes), Decimal(0))
    days, terms = fmt.pick_terms(rng, language)
    p_due, p_order, p_terms, p_iban = _PRINTS[header.layout]
    invoice = Invoice(
        invoice_number=header.invoice_number, issue_date=header.issue_date,
        due_date=header.issue_date + timedelta(days=days) if rng.random() < p_due else None,
        currency=currency, seller=header.seller.party(vat_prefix=rng.random() < 0.25),
        buyer=header.buyer.party(),
        order_number=header.order_number if rng.random() < p_order else None,
        subtotal=subtotal, tax_total=tax_total, total=subtotal + tax_total,
        iban=header.seller.iban if rng.random() < p_iban else None,
        payment_terms=terms if rng.random() < p_terms else None, lines=lines)
    doc = Document(invoice=invoice, layout=header.layout, language=language,
                   amount_style=fmt.pick_amount_style(rng, language, currency),
                   date_style=fmt.pick_date_style(rng, language, header.seller.country),
                   labels=fmt.pick_labels(rng, language), tax_lines=taxes, seed=seed,
                   seller_email=header.seller.email, seller_country=header.seller.country,
                   buyer_country=header.buyer.country,
                   line_rates_printed=header.layout == "boxes" or len(taxes) > 1)
    if tax_total == 0 and header.seller.country in _EU and header.buyer.country in _EU:
        doc.notes.append(fmt.reverse_charge_note(language))
    return doc


def hide_line_rates(doc: Document) -> None:
    """Per-line tax rates are ground truth only where the layout prints a rate column."""
    if not doc.line_rates_printed:
        for line in doc.invoice.lines:
            line.tax_rate = None


def random_specs(rng: random.Random, seller: Company, buyer: Company, language: str,
                 count: int) -> list[LineSpec]:
    rate = tax_rate(rng, seller, buyer)
    mixed = rate == Decimal(21) and rng.random() < 0.25
    specs = []
    for _ in range(count):
        item = catalog.random_item(rng, language)
        line_rate = Decimal(10) if mixed and rng.random() < 0.3 else rate
        specs.append(LineSpec(item.description, catalog.random_quantity(rng, item),
                              item.unit_price, line_rate))
    return specs


def random_document(seed: int, layout: str) -> Document:
    """A complete random invoice for `layout`, fully determined by `seed`."""
    rng = random.Random(seed)
    language = rng.choice(LAYOUT_LANGUAGES[layout])
    country = "ES" if language == "es" else rng.choice(("US", "GB", "DE", "FR"))
    seller = make_company(rng, country)
    buyer_country = country if rng.random() < 0.7 else rng.choice(("ES", "DE", "GB"))
    buyer = make_company(rng, buyer_country)
    count = rng.randint(25, 60) if layout == "compact" else rng.randint(1, 12)
    issue = random_date(rng)
    header = Header(seller, buyer, layout, issue, invoice_number(rng, issue.year),
                    order_number(rng, issue.year), language)
    doc = compose(rng, seed, header, random_specs(rng, seller, buyer, language, count))
    hide_line_rates(doc)
    return doc
