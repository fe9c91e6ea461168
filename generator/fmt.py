"""How values are printed: amount notations, date formats and label synonyms per language."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}
_MONTHS_ES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
              "septiembre", "octubre", "noviembre", "diciembre")
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")


def money(value: Decimal) -> Decimal:
    """Round to cents, half away from zero (the rule every amount in the generator uses)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class AmountStyle:
    decimal: str      # "." or ","
    thousands: str    # ",", "." or " "
    currency: str     # "symbol_prefix" | "symbol_suffix" | "code_prefix" | "code_suffix" | "none"

    def number(self, value: Decimal, places: int = 2) -> str:
        text = f"{value:,.{places}f}"
        return text.replace(",", "\x00").replace(".", self.decimal).replace("\x00", self.thousands)

    def amount(self, value: Decimal, currency: str, *, bare: bool = False) -> str:
        text = self.number(value)
        if bare or self.currency == "none":
            return text
        symbol = SYMBOLS[currency]
        return {
            "symbol_prefix": f"{symbol}{text}",
            "symbol_suffix": f"{text} {symbol}",
            "code_prefix": f"{currency} {text}",
            "code_suffix": f"{text} {currency}",
        }[self.currency]

    def quantity(self, value: Decimal) -> str:
        if value == value.to_integral_value():
            return str(int(value))
        return self.number(value, 1 if value * 10 == (value * 10).to_integral_value() else 2)


_AMOUNT_STYLES = {
    "es": (AmountStyle(",", ".", "symbol_suffix"), AmountStyle(",", ".", "none"),
           AmountStyle(",", " ", "symbol_suffix"), AmountStyle(",", ".", "code_suffix")),
    "en": (AmountStyle(".", ",", "symbol_prefix"), AmountStyle(".", ",", "code_prefix"),
           AmountStyle(".", ",", "none"), AmountStyle(",", ".", "symbol_suffix")),
}
_DATE_STYLES = {"es": ("dmy_slash", "dmy_dash", "es_long", "iso"),
                "en": ("en_long", "dmon", "iso", "dmy_slash")}


def pick_amount_style(rng: random.Random, language: str, currency: str) -> AmountStyle:
    """A notation that fits the language; non-euro amounts keep the decimal point in English."""
    options: tuple[AmountStyle, ...] = _AMOUNT_STYLES[language]
    if language == "en" and currency != "EUR":
        options = tuple(s for s in options if s.decimal == ".")
    return rng.choice(options)


_MONTH_FIRST = {"dmy_slash": "mdy_slash", "dmy_dash": "mdy_dash"}
MONTH_FIRST_COUNTRIES = ("US",)


def pick_date_style(rng: random.Random, language: str, country: str = "") -> str:
    """A date style for the language; sellers in a month-first country (the US) print numeric
    dates month-first (``02/14/2026``) and keep the textual styles. The draw is the same for
    every country, so other sellers' documents do not change."""
    style = rng.choice(_DATE_STYLES[language])
    if country in MONTH_FIRST_COUNTRIES:
        return _MONTH_FIRST.get(style, style)
    return style


def format_date(value: date, style: str) -> str:
    formats = {
        "dmy_slash": f"{value.day:02d}/{value.month:02d}/{value.year}",
        "dmy_dash": f"{value.day:02d}-{value.month:02d}-{value.year}",
        "mdy_slash": f"{value.month:02d}/{value.day:02d}/{value.year}",
        "mdy_dash": f"{value.month:02d}-{value.day:02d}-{value.year}",
        "es_long": f"{value.day} de {_MONTHS_ES[value.month - 1]} de {value.year}",
        "en_long": f"{_MONTHS_EN[value.month - 1]} {value.day}, {value.year}",
        "dmon": f"{value.day:02d}-{_MONTHS_EN[value.month - 1][:3]}-{value.year}",
        "iso": value.isoformat(),
    }
    return formats[style]


_LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "title": ("INVOICE", "Invoice", "TAX INVOICE"),
        "invoice_number": ("Invoice No.", "Invoice #", "Invoice number", "Invoice Number"),
        "issue_date": ("Invoice Date", "Date", "Date of issue"),
        "due_date": ("Due Date", "Payment due", "Due"),
        "order_number": ("P.O. Number", "Order ref", "Your order", "PO #", "Purchase Order"),
        "bill_to": ("Bill To", "Invoice to", "Customer"),
        "subtotal": ("Subtotal", "Net amount", "Total excl. tax"),
        "tax": ("Tax", "VAT", "Sales tax"),
        "total": ("Amount due", "Total", "Total due", "Invoice total"),
        "terms": ("Terms", "Payment terms"),
        "currency": ("Currency", "All amounts in"),
        "description": ("Description", "Item"), "quantity": ("Qty", "Quantity"),
        "unit_price": ("Unit price", "Rate", "Price"), "amount": ("Amount", "Line total"),
        "rate": ("VAT %", "Tax %"), "page": ("Page",), "of": ("of",),
        "bank": ("Bank details", "Payment by bank transfer to"),
    },
    "es": {
        "title": ("FACTURA", "Factura"),
        "invoice_number": ("Nº Factura", "Número de factura", "Factura nº", "Nº de factura"),
        "issue_date": ("Fecha", "Fecha de factura", "Fecha de emisión"),
        "due_date": ("Fecha de vencimiento", "Vencimiento"),
        "order_number": ("Su pedido", "Pedido", "Nº pedido", "Ref. pedido"),
        "bill_to": ("Cliente", "Facturar a", "Datos del cliente"),
        "subtotal": ("Base imponible",),
        "tax": ("IVA",),
        "total": ("Total factura", "Total", "Importe total", "Total a pagar"),
        "terms": ("Forma de pago", "Condiciones de pago"),
        "currency": ("Moneda", "Importes en"),
        "description": ("Descripción", "Concepto"), "quantity": ("Cantidad", "Uds."),
        "unit_price": ("Precio", "Precio unit."), "amount": ("Importe",),
        "rate": ("% IVA",), "page": ("Página",), "of": ("de",),
        "bank": ("Datos bancarios", "Transferencia a"),
    },
}


def pick_labels(rng: random.Random, language: str) -> dict[str, str]:
    return {key: rng.choice(options) for key, options in _LABELS[language].items()}


_TERMS = {
    "en": ((30, "Net 30"), (15, "Net 15"), (60, "Net 60"), (0, "Due on receipt"),
           (45, "Net 45")),
    "es": ((30, "30 días"), (60, "60 días fecha factura"), (30, "Transferencia a 30 días"),
           (0, "Contado"), (90, "90 días")),
}


def pick_terms(rng: random.Random, language: str) -> tuple[int, str]:
    """(days until due, printed payment-terms text)."""
    return rng.choice(_TERMS[language])


def reverse_charge_note(language: str) -> str:
    if language == "es":
        return "Operación con inversión del sujeto pasivo (art. 84 LIVA)."
    return "Reverse charge: VAT to be accounted for by the recipient (Art. 196 VAT Directive)."
