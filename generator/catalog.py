"""Word lists for realistic synthetic companies, addresses and line items (ES and EN)."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

_ES_STEMS = (
    "Suministros", "Distribuciones", "Talleres", "Construcciones", "Papelería", "Ferretería",
    "Transportes", "Hostelería", "Informática", "Electricidad", "Climatización", "Imprenta",
)
_ES_NAMES = (
    "Levante", "Mediterráneo", "del Norte", "Ibérica", "Guadalquivir", "Montserrat", "Alcázar",
    "Hermanos Ruiz", "Gómez e Hijos", "Sierra Nevada", "Costa Brava", "La Mancha", "Atlántico",
)
_ES_FORMS = ("S.L.", "S.A.", "S.L.U.", "SL", "S.Coop.")
_EN_STEMS = (
    "Northwind", "Bluewater", "Redwood", "Summit", "Harbor", "Granite", "Silverline", "Oakridge",
    "Brightpath", "Ironbridge", "Clearview", "Westfield", "Kingsway", "Evergreen",
)
_EN_KINDS = (
    "Supplies", "Logistics", "Office Solutions", "Industrial", "Trading", "Components",
    "Systems", "Print Works", "Facilities", "Engineering", "Data Services",
)
_FORMS = {"US": ("Inc.", "LLC", "Corp."), "GB": ("Ltd", "Ltd.", "PLC"),
          "DE": ("GmbH", "AG", "GmbH & Co. KG"), "FR": ("SAS", "SARL", "S.A.")}

_STREETS = {
    "ES": ("Calle Mayor", "Avenida de la Constitución", "Calle Alcalá", "Carrer de Balmes",
           "Polígono Industrial Las Fuentes, Nave", "Paseo de Gracia", "Calle Colón"),
    "US": ("Main Street", "Oak Avenue", "Industrial Parkway", "Market Street", "Commerce Drive"),
    "GB": ("High Street", "Station Road", "Victoria Road", "Church Lane", "Mill Lane"),
    "DE": ("Hauptstraße", "Bahnhofstraße", "Industriestraße", "Gartenweg", "Lindenallee"),
    "FR": ("rue de la République", "avenue Jean Jaurès", "rue Victor Hugo", "boulevard Voltaire"),
}
_CITIES = {
    "ES": (("28014", "Madrid"), ("08007", "Barcelona"), ("46002", "Valencia"),
           ("41001", "Sevilla"), ("48001", "Bilbao"), ("50001", "Zaragoza"), ("29005", "Málaga")),
    "US": (("Austin, TX", "78701"), ("Denver, CO", "80202"), ("Columbus, OH", "43215"),
           ("Portland, OR", "97204"), ("Raleigh, NC", "27601")),
    "GB": (("Manchester", "M1 2AB"), ("Leeds", "LS1 4DY"), ("Bristol", "BS1 5TR"),
           ("London", "EC1A 1BB")),
    "DE": (("10115", "Berlin"), ("80331", "München"), ("20095", "Hamburg"), ("50667", "Köln")),
    "FR": (("75011", "Paris"), ("69002", "Lyon"), ("31000", "Toulouse"), ("33000", "Bordeaux")),
}
_COUNTRY_NAMES = {"ES": "España", "US": "USA", "GB": "United Kingdom", "DE": "Germany",
                  "FR": "France"}


def company_name(rng: random.Random, country: str) -> str:
    if country == "ES":
        return f"{rng.choice(_ES_STEMS)} {rng.choice(_ES_NAMES)} {rng.choice(_ES_FORMS)}"
    return f"{rng.choice(_EN_STEMS)} {rng.choice(_EN_KINDS)} {rng.choice(_FORMS[country])}"


def address_lines(rng: random.Random, country: str) -> list[str]:
    """Two or three printed address lines in the country's usual order."""
    street = f"{rng.choice(_STREETS[country])} {rng.randint(1, 180)}"
    first, second = rng.choice(_CITIES[country])
    if country in ("US", "GB"):
        number_first = f"{rng.randint(1, 980)} {rng.choice(_STREETS[country])}"
        return [number_first, f"{first} {second}", _COUNTRY_NAMES[country]]
    lines = [street, f"{first} {second}"]
    if country != "ES" or rng.random() < 0.3:
        lines.append(_COUNTRY_NAMES[country])
    return lines


def email_for(name: str, rng: random.Random) -> str:
    plain = unicodedata.normalize("NFKD", name.split(maxsplit=1)[0]).encode("ascii", "ignore")
    word = "".join(ch for ch in plain.decode().lower() if ch.isalpha())
    box = rng.choice(("facturas", "billing", "accounts", "admin", "invoices"))
    return f"{box}@{word or 'empresa'}{rng.randint(1, 99)}.example"


@dataclass(frozen=True)
class Item:
    description: str
    unit_price: Decimal
    integer_qty: bool


_ITEMS_ES = (
    ("Tornillo hexagonal M{n}x40 (caja 100 uds)", 4, 25, True),
    ("Papel A4 80 g, paquete 500 hojas", 3, 6, True),
    ("Cartucho de tóner compatible modelo T-{n}", 25, 90, True),
    ("Horas de mantenimiento preventivo", 35, 65, False),
    ("Cable eléctrico H07V-K {n} mm² (rollo 100 m)", 40, 160, True),
    ("Servicio de transporte Madrid-Valencia", 180, 620, True),
    ("Licencia de software anual, puesto {n}", 90, 450, True),
    ("Guantes de nitrilo talla L (caja 100)", 6, 14, True),
    ("Palé europeo de madera 1200x800", 9, 18, True),
    ("Aceite hidráulico ISO {n} (bidón 20 L)", 45, 110, True),
    ("Consultoría técnica (horas)", 55, 120, False),
    ("Material de embalaje, film estirable {n} mm", 8, 30, True),
)
_ITEMS_EN = (
    ("Hex bolt M{n}x40 (box of 100)", 4, 25, True),
    ("Copy paper A4 80gsm, ream of 500", 3, 6, True),
    ("Toner cartridge T-{n} compatible", 25, 90, True),
    ("Preventive maintenance, labour hours", 35, 65, False),
    ("Cat6 network cable {n} ft", 5, 40, True),
    ("Freight, pallet shipment zone {n}", 150, 600, True),
    ("Annual software subscription, seat {n}", 90, 450, True),
    ("Nitrile gloves size L (box of 100)", 6, 14, True),
    ("Stainless steel bracket type {n}", 2, 12, True),
    ("Hydraulic oil ISO {n} (20 L drum)", 45, 110, True),
    ("Engineering consultancy (hours)", 55, 140, False),
    ("Packaging stretch film {n} mm", 8, 30, True),
)


def random_item(rng: random.Random, language: str) -> Item:
    template, low, high, integer_qty = rng.choice(_ITEMS_ES if language == "es" else _ITEMS_EN)
    description = template.format(n=rng.choice((6, 8, 10, 12, 16, 22, 32, 46, 68, 100, 250)))
    cents = rng.randint(low * 100, high * 100)
    return Item(description, (Decimal(cents) / 100).quantize(Decimal("0.01")), integer_qty)


def random_quantity(rng: random.Random, item: Item) -> Decimal:
    if item.integer_qty:
        return Decimal(rng.choice((1, 1, 2, 3, 4, 5, 6, 8, 10, 12, 20, 24, 50)))
    return Decimal(rng.randint(2, 80)) / 2
