"""Label vocabularies (ES, EN, with DE/FR/NL/PT/IT extras) and the label finder.

A label is a phrase of normalised words (see `layout.norm`) at the start of a line segment.
Each phrase has a strength 0..1: how surely it announces the field ("Invoice number" is sure,
a bare "Date" is not). Phrase matching is a dictionary lookup on the first word and a
longest match over the following words. spaCy was measured for this and not used: a blank
``es`` pipeline with a PhraseMatcher over the same vocabulary took 32 ms for 2,870 corpus
lines against 11 ms here, plus ~1.0 s to import spaCy and build the pipeline per process,
and a phrase matcher over a fixed vocabulary adds nothing a dictionary lookup does not do
(the words are already tokenised by position; no trained model exists here). Positions,
not token context, carry the signal on invoices. An OCR word one letter off a vocabulary
word is read as that word (`fuzzy`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from extractors.fuzzy import Vocabulary
from extractors.layout import Line, norm
from models.domain import WordBox

# field -> ((phrase, strength), ...). Phrases use normalised words ("nº" -> "no").
VOCAB: dict[str, tuple[tuple[str, float], ...]] = {
    "invoice_number": (
        ("no factura", 1), ("numero de factura", 1), ("no de factura", 1), ("factura no", 1),
        ("factura", 0.5), ("num factura", 1), ("factura numero", 1), ("invoice no", 1),
        ("invoice number", 1), ("invoice", 0.5), ("invoice nr", 1), ("invoice id", 1),
        ("invoice ref", 0.9), ("rechnungsnr", 1), ("rechnungsnummer", 1), ("rechnung no", 1),
        ("rechnung", 0.4), ("facture no", 1), ("numero de facture", 1), ("facture", 0.4),
        ("factuurnummer", 1), ("factuur", 0.5), ("factuur no", 1), ("no", 0.3),
        ("numero", 0.3), ("serie y numero", 0.9), ("invoice serial", 0.2),
        ("receipt number", 0.8), ("receipt no", 0.8), ("belegnummer", 0.8), ("beleg-nr", 0.8),
        ("rechnungs-nr", 1), ("invoice reference", 0.9), ("document no", 0.7),
        ("avoir", 0.5), ("gutschrift", 0.5), ("credit note", 0.8), ("credit note no", 1),
        ("factura rectificativa", 0.8), ("nota de credito", 0.8),
        # a credit note's or correction's own number
        ("credit note number", 1),
        ("nota de credito no", 1), ("nota de abono", 0.8), ("nota de abono no", 1),
        ("no de abono", 1), ("no abono", 1), ("numero de abono", 1),
        ("factura rectificativa no", 1), ("no rectificativa", 1),
        ("no factura rectificativa", 1), ("avoir no", 1), ("gutschrift no", 1),
        ("rechnungskorrektur no", 1),
    ),
    "issue_date": (
        ("fecha", 0.8), ("fecha de factura", 1), ("fecha factura", 1), ("fecha de emision", 1),
        ("fecha emision", 1), ("fecha de expedicion", 1), ("invoice date", 1), ("date", 0.7),
        ("date of issue", 1), ("date issued", 1), ("issue date", 1), ("issued", 0.7),
        ("datum", 0.7), ("rechnungsdatum", 1), ("factuurdatum", 1), ("factuur datum", 1),
        ("date de facture", 1), ("date de facturation", 1), ("data", 0.5), ("invoice dated", 1),
        ("issued on", 1), ("billed on", 0.8), ("payment date", 0.5), ("date paid", 0.5),
        ("belegdatum", 0.9), ("ausstellungsdatum", 1), ("data de emissao", 1),
    ),
    "due_date": (
        ("fecha de vencimiento", 1), ("vencimiento", 1), ("fecha vencimiento", 1),
        ("fecha limite de pago", 1), ("due date", 1), ("date due", 1), ("payment due", 0.9),
        ("due", 0.6), ("due on", 0.8), ("falligkeitsdatum", 1), ("fallig am", 1),
        ("zahlbar bis", 1), ("vervaldatum", 1), ("date limite de paiement", 1),
        ("echeance", 1), ("date d'echeance", 1), ("pay by", 0.8), ("payable by", 0.8),
    ),
    "order_number": (
        ("su pedido", 1), ("pedido", 0.9), ("no pedido", 1), ("pedido no", 1),
        ("numero de pedido", 1), ("no de pedido", 1), ("referencia pedido", 1),
        ("p.o. number", 1), ("p.o. no", 1), ("p.o", 0.9), ("po number", 1), ("po no", 1),
        ("po", 0.8), ("purchase order", 1), ("purchase order no", 1), ("order", 0.7),
        ("order no", 1), ("order number", 1), ("order id", 1), ("your order", 1),
        ("customer po", 1), ("ordernummer", 1), ("bestellnummer", 1), ("bestellung", 0.8),
        ("commande", 0.8), ("no de commande", 1), ("your reference", 0.6), ("order ref", 1),
        ("ref. pedido", 1), ("ref pedido", 1), ("order reference", 1), ("po ref", 1),
    ),
    "subtotal": (
        ("base imponible", 1), ("subtotal", 1), ("sub-total", 1), ("sub total", 1),
        ("total ht", 1), ("net amount", 1), ("total net", 1), ("net total", 1),
        ("importe neto", 1), ("total neto", 1), ("total sin iva", 1), ("nettobetrag", 1),
        ("zwischensumme", 1), ("summe netto", 1), ("rechnungssumme ohne ust", 1),
        ("nettosumme", 1), ("warenwert", 0.7), ("montant total ht", 1), ("exclusief btw", 1),
        ("subtotaal", 1),
        ("montant ht", 1), ("taxable amount", 1), ("total excl. vat", 1), ("total before tax", 1),
        ("amount before tax", 1), ("total ex. tax", 1), ("total ex tax", 1),
        ("total excluding vat", 1), ("total excl. tax", 1),
        ("total sales (excluding gst)", 1), ("total excl. gst", 1), ("total excluding gst", 1),
        ("total exclusive of tax", 1), ("imponibile", 1), ("totale imponibile", 1),
    ),
    "tax_total": (
        ("iva", 0.9), ("cuota iva", 1), ("total iva", 1), ("importe iva", 1), ("cuota", 0.6),
        ("tax", 0.8), ("vat", 0.8), ("sales tax", 1), ("total tax", 1), ("tax amount", 1),
        ("vat amount", 1), ("total vat", 1), ("tva", 0.8), ("montant tva", 1), ("mwst", 0.8),
        ("ust", 0.7), ("umsatzsteuer", 0.9), ("steuerbetrag", 0.9), ("mwst.-betrag", 1),
        ("total tva", 1), ("montant de la tva", 1), ("btw", 0.7), ("impuestos", 0.9), ("igic", 0.9),
        ("gst", 0.8), ("total gst", 1), ("gst amount", 1), ("sst", 0.8),
    ),
    "total": (
        ("total", 0.8), ("total factura", 1), ("importe total", 1), ("total a pagar", 1),
        ("total importe", 1), ("total due", 0.9), ("amount due", 0.7), ("balance due", 0.6),
        ("grand total", 1), ("invoice total", 1), ("total amount", 1), ("total ttc", 1),
        ("gesamtbetrag", 0.8), ("rechnungsbetrag", 1), ("endbetrag", 1), ("gesamt", 0.7),
        ("zahlbetrag", 1), ("bruttosumme", 0.9), ("rechnungssumme", 0.9), ("bruttobetrag", 0.9),
        ("gesamtsumme", 1), ("summe brutto", 1), ("total a payer", 1), ("net a payer", 1),
        ("totaal", 0.9), ("factuur totaal", 1), ("somme a payer", 1), ("invoice amount", 0.9),
        ("total amount due", 1), ("total (eur)", 1), ("total eur", 1), ("total usd", 1),
        ("total a pagar (eur)", 1), ("amount payable", 0.9), ("total to pay", 1),
        ("total paid", 0.6), ("total general", 1), ("total at checkout", 0.9),
        ("total in", 1), ("amount paid", 0.6), ("summe", 0.7), ("endsumme", 1),
        ("total amount paid", 0.9), ("total incl. vat", 1), ("total incl. tax", 1),
        ("total (incl. vat)", 1), ("total con iva", 1), ("total iva incluido", 1),
        # receipts
        ("total payable", 1), ("total after rounding", 1), ("rounded total", 1),
        ("total rounded", 1), ("nett total", 1), ("total incl. gst", 1), ("total (incl gst)", 1),
        ("total inclusive gst", 1), ("total incl gst", 1), ("total sales (inclusive of gst)", 1),
        ("total sales inclusive gst", 1), ("total sales (incl gst)", 1), ("total sales", 0.9),
        ("total amount payable", 1), ("amount payable", 1), ("net amount payable", 1),
        ("total (rm)", 1), ("total rm", 1), ("grand total (rm)", 1), ("total amount (rm)", 1),
        ("final total", 1), ("total amt", 0.9), ("total amt payable", 1),
        ("total amt incl. gst", 1), ("total amt incl gst", 1), ("total amount incl. gst", 1),
        ("total amount incl gst", 1), ("net total payable", 1),
        # after a withholding: what is paid (``totals`` adds the withholding back)
        ("liquido a percibir", 1), ("total liquido", 1), ("importo netto a pagare", 1),
        ("netto a pagare", 1), ("totale documento", 1), ("totale fattura", 1),
    ),
    # Income tax the payer keeps back (Spanish IRPF retención, Italian ritenuta d'acconto):
    # never VAT, never a total; ``totals`` ties it to the total with the arithmetic.
    "withholding": (
        ("retencion", 1), ("retenciones", 1), ("retencion irpf", 1), ("ret. irpf", 1),
        ("irpf", 0.8), ("retencion a cuenta", 1), ("retencion a cuenta irpf", 1),
        ("retencion irpf a cuenta", 1), ("menos retencion irpf", 1), ("menos irpf", 1),
        ("withholding", 0.9), ("withholding tax", 1), ("withholding tax irpf", 1),
        ("less withholding tax", 1), ("irpf withholding", 1), ("ritenuta", 1),
        ("ritenuta d'acconto", 1), ("ritenuta d'acconto irpef", 1), ("ritenuta irpef", 1),
    ),
    # The lines' sum above document-level allowances and charges (EN 16931 BT-106), when it
    # is not labelled as a subtotal: it ends the line-item table, and ``adjustments`` ties it.
    "line_total": (
        ("suma", 0.9), ("importe bruto", 1), ("total bruto", 1), ("suma de lineas", 1),
        ("gross amount", 1), ("goods total", 1), ("total goods", 1), ("merchandise total", 1),
        ("items subtotal", 1), ("summe positionen", 1),
    ),
    # Document-level allowances and charges (EN 16931 BT-107 / BT-108) in the totals block:
    # ``adjustments`` takes them only when the lines, the tax base and the total tie them.
    "allowance": (
        ("descuento", 1), ("dto", 1), ("dto pronto pago", 1), ("descuento pronto pago", 1),
        ("descuento por pronto pago", 1), ("dto comercial", 1), ("descuento comercial", 1),
        ("rappel", 1), ("bonificacion", 0.9), ("menos descuento", 1), ("discount", 1),
        ("trade discount", 1), ("early payment discount", 1), ("prompt payment discount", 1),
        ("cash discount", 1), ("volume discount", 1), ("volume rebate", 1), ("rebate", 0.9),
        ("less discount", 1), ("skonto", 1), ("rabatt", 1), ("remise", 1), ("sconto", 1),
    ),
    "charge": (
        ("portes", 1), ("gastos de envio", 1), ("envio", 0.9), ("transporte", 0.9),
        ("gastos de transporte", 1), ("embalaje", 0.9), ("gastos de embalaje", 1),
        ("shipping", 1), ("shipping and handling", 1), ("shipping & handling", 1),
        ("shipping charge", 1), ("shipping charges", 1), ("freight", 1),
        ("freight charges", 1), ("handling", 0.9), ("handling charge", 1), ("handling fee", 1),
        ("delivery charge", 1), ("delivery charges", 1), ("postage", 0.9),
        ("postage and packing", 1), ("frais de port", 1), ("versandkosten", 1), ("fracht", 1),
    ),
    # Receipts: what the customer handed over and got back (cash - change = total)
    "cash": (("cash", 1), ("cash received", 1), ("cash tendered", 1), ("tunai", 1),
             ("cash paid", 1), ("tender", 0.9), ("tendered", 0.9), ("amount tendered", 1),
             ("total tender", 0.9), ("total tendered", 0.9), ("received", 0.8),
             ("amount received", 1), ("paid", 0.6)),
    "change": (("change", 1), ("change due", 1), ("baki", 1), ("cash change", 1)),
    # Receipts paid by card: the amount charged is the total (no change is given)
    "card": (("visa", 0.9), ("visa card", 1), ("master card", 1), ("mastercard", 1),
             ("credit card", 1), ("debit card", 1), ("card payment", 1), ("card paid", 1)),
    # "Total qty: 4" and the like: counts, not money (a label here keeps "total" away)
    "count": (
        ("total qty", 1), ("total quantity", 1), ("total items", 1), ("total item", 1),
        ("total qty.", 1), ("total savings", 1), ("total discount", 1), ("item(s)", 1),
        ("qty(s)", 1), ("total no. of items", 1), ("no. of items", 1), ("total pieces", 1),
        ("total rounding", 1), ("rounding", 1), ("rounding adj", 1), ("rounding adjustment", 1),
    ),
    "iban": (("iban", 1), ("iban no", 1), ("cuenta", 0.5), ("account", 0.4), ("bank account", 0.6)),
    "payment_terms": (
        ("payment terms", 1), ("terms", 0.7), ("terms of payment", 1),
        ("condiciones de pago", 1), ("forma de pago", 0.9), ("plazo de pago", 1),
        ("zahlungsbedingungen", 1), ("conditions de paiement", 1), ("betalingstermijn", 1),
    ),
    "currency": (("currency", 1), ("moneda", 1), ("divisa", 1), ("wahrung", 1),
                 ("payment currency", 1), ("devise", 1), ("all amounts in", 1),
                 ("amounts in", 1), ("importes en", 1)),
    "buyer": (
        ("bill to", 1), ("billed to", 1), ("facturar a", 1), ("cliente", 0.9),
        ("customer", 0.7), ("sold to", 1), ("invoice to", 1), ("rechnung an", 1),
        ("factuuradres", 1), ("datos del cliente", 1), ("client", 0.8), ("facturado a", 1),
        ("bill-to", 1), ("to", 0.3), ("billing address", 0.9), ("customer name", 1),
        ("destinatario", 0.9), ("kunde", 0.8), ("receptor", 0.9),
    ),
    "ship_to": (
        ("ship to", 1), ("shipping address", 1), ("enviar a", 1), ("direccion de envio", 1),
        ("lieferadresse", 1), ("afleveradres", 1), ("deliver to", 1), ("entrega", 0.8),
        ("lieferanschrift", 1), ("adresse de livraison", 1),
    ),
    "seller": (
        ("from", 0.6), ("seller", 1), ("proveedor", 1), ("emisor", 1), ("vendor", 1),
        ("supplier", 1), ("sold by", 1), ("issued by", 1), ("provided by", 1),
        ("datos del emisor", 1), ("product(s) provided by", 1), ("remit to", 0.8),
    ),
    "tax_id": (
        ("nif", 1), ("cif", 1), ("nie", 1), ("n.i.f", 1), ("c.i.f", 1), ("nif/cif", 1),
        ("vat", 0.7), ("vat no", 1), ("vat number", 1), ("vat id", 1), ("vat reg. no", 1),
        ("tax id", 1), ("ein", 1), ("ust-id", 1), ("ustid", 1), ("ust-idnr", 1),
        ("btw", 0.7), ("tva", 0.7), ("vat#", 1), ("nif-iva", 1), ("no tva", 1),
        ("tax number", 1), ("tva intracommunautaire", 1), ("fein", 1), ("abn", 0.8),
        ("gst id", 1), ("gst id no", 1), ("gst no", 1), ("gst reg no", 1), ("gst reg", 1),
        ("gst registration no", 1), ("gst reg. no", 1),
    ),
}


# The invoice a credit note or corrected invoice refers to (EN 16931 BT-25), by phrases
# kept out of VOCAB: their words ("factura", "invoice") label the document's own number too,
# and an invoice's labels must read as before. The value is an invoice-number-like token
# (``candidates``); a phrase of strength >= STRONG_REFERENCE counts on any document, a
# weaker one ("Invoice reference", "Factura original") only on a document titled as a
# credit note or correction (``doc_type``).
STRONG_REFERENCE = 0.9
REFERENCE_VOCAB: tuple[tuple[str, float], ...] = (
    ("rectifica a la factura", 1), ("rectifica la factura", 1), ("factura rectificada", 1),
    ("abono de la factura", 1), ("factura original", 0.7), ("factura de origen", 0.7),
    ("credit note for invoice", 1), ("refers to invoice", 1), ("corrects invoice", 1),
    ("original invoice", 0.7), ("original invoice number", 0.7), ("invoice reference", 0.6),
    ("related invoice", 0.7), ("referenced invoice", 0.7),
    ("facture rectifiee", 1), ("avoir sur facture", 1), ("facture liee", 0.7),
    ("facture d'origine", 0.7), ("facture initiale", 0.7),
    ("korrigierte rechnung", 1), ("ursprungsrechnung", 0.7), ("ursprungsbeleg-nr", 0.7),
    ("originalrechnung", 0.7),
)

_DOCUMENT_WORDS = ("rechnung", "factura", "invoice", "facture", "factuur", "gutschrift",
                   "avoir", "simplificada", "rectificativa", "korrektur")


@dataclass(frozen=True)
class LabelHit:
    field: str
    strength: float
    line: Line
    start: int  # index of the first label word in line.words
    end: int  # index after the last label word

    @property
    def words(self) -> list[WordBox]:
        return self.line.words[self.start : self.end]

    @property
    def x0(self) -> float:
        return self.line.words[self.start].x0

    @property
    def x1(self) -> float:
        return self.line.words[self.end - 1].x1


Index = dict[str, list[tuple[tuple[str, ...], str, float]]]


def _build_index(vocab: dict[str, tuple[tuple[str, float], ...]]) -> Index:
    index: Index = {}
    for name, phrases in vocab.items():
        for phrase, strength in phrases:
            tokens = tuple(norm(tok) for tok in phrase.split())
            index.setdefault(tokens[0], []).append((tokens, name, float(strength)))
    for entries in index.values():
        entries.sort(key=lambda e: -len(e[0]))
    return index


_INDEX = _build_index(VOCAB)
# each reference phrase also with a number mark after it ("Rectifica a la factura nº")
_REFERENCE_INDEX = _build_index({"preceding_invoice": tuple(
    (f"{phrase}{tail}", strength) for phrase, strength in REFERENCE_VOCAB for tail in ("", " no"))})
# OCR-tolerant matching only for the words of these fields: seller words ("supplier") are
# too close to ordinary ones ("supplies" on a receipt became a seller label).
_FUZZY_FIELDS = ("invoice_number", "issue_date", "due_date", "order_number", "subtotal",
                 "tax_total", "total", "count", "buyer", "cash", "change", "card", "line_total",
                 "allowance", "charge")
# and the distinctive words of a withholding label (not its "a", "less", "cuenta")
_FUZZY_EXTRA = ("retencion", "retenciones", "irpf", "withholding", "ritenuta")
_WORDS = Vocabulary([*(norm(tok) for name in _FUZZY_FIELDS for phrase, _ in VOCAB[name]
                       for tok in phrase.split()), *_FUZZY_EXTRA])


def find_labels(line: Line) -> list[LabelHit]:
    """Labels starting at the start of a segment of ``line`` (longest phrase wins), and the
    totals-block labels that follow them in one segment (`_run_on`)."""
    hits: list[LabelHit] = []
    tokens = _tokens(line)
    for start, stop in segment_spans(line):
        found = _segment_hits(line, tokens, start, stop, _INDEX)
        hits.extend(found)
        hits.extend(_run_on(line, tokens, found, stop))
        if not found:
            hits.extend(_number_marks(line, tokens, start + 1, stop))
    return hits


# Labels of a totals block's rows (amounts under them in boxed layouts), and the ones of
# them OCR runs together with their neighbours in one segment.
_TOTALS_LABELS = frozenset(("subtotal", "tax_total", "total", "withholding", "line_total",
                            "allowance", "charge"))
_ROW_LABELS = frozenset(("line_total", "allowance", "charge"))
_RATE = re.compile(r"^\(?\d{1,2}(?:[.,]\d{1,2})?%\)?$")


def _run_on(line: Line, tokens: list[str], found: list[LabelHit], stop: int) -> list[LabelHit]:
    """Totals labels right after a label in the same segment (after its rate, if any): OCR
    reads a row of boxed labels — "Embalaje Base imponible", "Descuento 2% Base imponible"
    — as one segment. Only runs that involve an allowance, charge or lines' sum label."""
    out: list[LabelHit] = []
    while found and found[0].field in _TOTALS_LABELS:
        end = found[0].end
        end += int(end < stop and _RATE.match(line.words[end].text) is not None)
        after = _hits_at(line, tokens, end, stop, _INDEX) if end < stop else []
        after = [h for h in after if h.field in _TOTALS_LABELS
                 and (h.field in _ROW_LABELS or found[0].field in _ROW_LABELS)]
        out.extend(after)
        found = after
    return out


def find_reference_labels(line: Line) -> list[LabelHit]:
    """``preceding_invoice`` labels (``REFERENCE_VOCAB``) at the start of a segment. These
    long phrases may run on into the next segments: OCR boxes of uneven height split
    "Rectifica | a | la factura nº" into three."""
    tokens = _tokens(line)
    return [hit for start, _ in segment_spans(line)
            for hit in _segment_hits(line, tokens, start, len(tokens), _REFERENCE_INDEX)]


def _tokens(line: Line) -> list[str]:
    """The line's words normalised; an OCR word one letter off a label word reads as it, and
    one glued to the rate after it ("IVA21%", "Rappel5%") reads as its letters."""
    return [norm(w.text) if w.conf >= 1.0 else _WORDS.closest(_unglued(norm(w.text)))
            for w in line.words]


_GLUED_RATE = re.compile(r"^([^\W\d_]{2,})\d{1,2}(?:[.,]\d{1,2})?%$")


def _unglued(token: str) -> str:
    found = _GLUED_RATE.match(token)
    return found.group(1) if found else token


def segment_spans(line: Line) -> list[tuple[int, int]]:
    """(first word, word after the last) of each segment of ``line``."""
    spans: list[tuple[int, int]] = []
    position = 0
    for segment in line.segments:
        spans.append((position, position + len(segment.words)))
        position += len(segment.words)
    return spans


def _segment_hits(line: Line, tokens: list[str], start: int, stop: int,
                  index: Index) -> list[LabelHit]:
    """Labels at ``start``, or after an OCR speck there."""
    found = _hits_at(line, tokens, start, stop, index)
    if not found and _ocr_speck(line.words[start]) and start + 1 < stop:
        found = _hits_at(line, tokens, start + 1, stop, index)
    return found


def _ocr_speck(word: WordBox) -> bool:
    """A one- or two-character OCR word ("1", "|", "as") in front of a label: a smudge or
    the edge of the paper read as text ("1 TOTAL INCL. GST@6% RM 7.00")."""
    return word.conf < 1.0 and len(word.text) <= 2 and norm(word.text) not in _INDEX


def _number_marks(line: Line, tokens: list[str], start: int, stop: int) -> list[LabelHit]:
    """``... Rechnung Nr. 42``, ``Factura simplificada nº 7``: a number mark after a document
    word inside a title line reads as an invoice-number label."""
    for index in range(start, stop):
        if tokens[index] == "no" and tokens[index - 1].endswith(_DOCUMENT_WORDS):
            return [LabelHit("invoice_number", 0.8, line, index - 1, index + 1)]
        if index - 2 >= start - 1 and tokens[index] == "no" and tokens[index - 2].endswith(
            _DOCUMENT_WORDS
        ):
            return [LabelHit("invoice_number", 0.7, line, index - 2, index + 1)]
    return []


def _hits_at(line: Line, tokens: list[str], start: int, stop: int,
             index: Index) -> list[LabelHit]:
    """The longest phrase(s) at ``start``; every field whose phrase has that length."""
    best: list[LabelHit] = []
    for phrase, name, strength in index.get(tokens[start], ()):
        end = start + len(phrase)
        if end > stop or tuple(tokens[start:end]) != phrase:
            continue
        if best and end < best[0].end:
            break
        best.append(LabelHit(name, strength, line, start, end))
    return best
