"""Valid (and deliberately invalid) tax IDs and IBANs, with real check digits.

Every generator here is checked against python-stdnum, so a ground-truth identifier is
valid unless it was corrupted on purpose by `corrupt_tax_id` / `corrupt_iban`.
"""

from __future__ import annotations

import random

from stdnum import iban as std_iban
from stdnum import luhn
from stdnum.es import ccc, cif, dni
from stdnum.es import nif as es_nif
from stdnum.eu import vat as eu_vat
from stdnum.gb import vat as gb_vat_std
from stdnum.iso7064 import mod_11_10
from stdnum.us import ein as us_ein

_ES_PROVINCES = ("08", "28", "46", "41", "48", "29", "50", "15", "33", "03")
_EIN_PREFIXES = ("12", "20", "26", "27", "45", "46", "84", "94", "95")
_EIN_BAD_PREFIXES = ("07", "08", "09", "17", "18", "19", "28", "29", "49", "69", "70", "89")
_ES_BANKS = ("2100", "0049", "0182", "0081", "0128", "2085", "3058")
_DE_BANKS = ("10070000", "37040044", "50010517", "70020270", "20041111")
_FR_BANKS = ("30004", "30003", "20041", "10278", "11315")
_GB_BANKS = ("NWBK", "BARC", "LOYD", "MIDL", "HBUK")


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def es_cif(rng: random.Random, letter: str = "B") -> str:
    """A Spanish company CIF such as ``B08123456X`` (check digit for A/B companies)."""
    body = letter + rng.choice(_ES_PROVINCES) + _digits(rng, 5)
    return body + cif.calc_check_digits(body)[0]


def es_dni(rng: random.Random) -> str:
    """A Spanish personal NIF (DNI) for a sole trader: 8 digits and a check letter."""
    digits = str(rng.randint(10_000_000, 79_999_999))
    return digits + dni.calc_check_digit(digits)


def de_vat(rng: random.Random) -> str:
    body = str(rng.randint(1, 9)) + _digits(rng, 7)
    return "DE" + body + mod_11_10.calc_check_digit(body)


def fr_vat(rng: random.Random) -> str:
    body = str(rng.randint(3, 9)) + _digits(rng, 7)
    siren = body + luhn.calc_check_digit(body)
    key = int(siren + "12") % 97
    return f"FR{key:02d}{siren}"


def gb_vat(rng: random.Random) -> str:
    body = str(rng.randint(1, 9)) + _digits(rng, 6)
    total = sum(w * int(d) for w, d in zip((8, 7, 6, 5, 4, 3, 2), body, strict=True))
    return f"GB{body}{(-total) % 97:02d}"


def us_ein_number(rng: random.Random) -> str:
    return f"{rng.choice(_EIN_PREFIXES)}-{_digits(rng, 7)}"


def tax_id_for(rng: random.Random, country: str) -> str:
    """The compact tax ID a company of `country` prints (ES: CIF without prefix)."""
    makers = {"ES": es_cif, "DE": de_vat, "FR": fr_vat, "GB": gb_vat, "US": us_ein_number}
    return makers[country](rng)


def _with_iban_check(country: str, bban: str) -> str:
    return country + std_iban.calc_check_digits(country + "00" + bban) + bban


def _fr_rib_key(bank: str, branch: str, account: str) -> str:
    return f"{97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97:02d}"


def iban_for(rng: random.Random, country: str) -> str | None:
    """A compact IBAN with valid national and IBAN check digits; None for US sellers."""
    if country == "ES":
        bank, branch, account = rng.choice(_ES_BANKS), _digits(rng, 4), _digits(rng, 10)
        check = ccc.calc_check_digits(bank + branch + "00" + account)
        return _with_iban_check("ES", bank + branch + check + account)
    if country == "DE":
        return _with_iban_check("DE", rng.choice(_DE_BANKS) + _digits(rng, 10))
    if country == "FR":
        bank, branch, account = rng.choice(_FR_BANKS), _digits(rng, 5), _digits(rng, 11)
        return _with_iban_check("FR", bank + branch + account + _fr_rib_key(bank, branch, account))
    if country == "GB":
        return _with_iban_check("GB", rng.choice(_GB_BANKS) + _digits(rng, 14))
    return None


def format_iban(value: str) -> str:
    """Print form: groups of four characters."""
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4))


def is_valid_tax_id(value: str) -> bool:
    """True when `value` is a valid Spanish NIF/CIF, EU or UK VAT number, or US EIN."""
    if value.upper().startswith("GB"):
        return bool(gb_vat_std.is_valid(value))
    validators = (es_nif.is_valid, eu_vat.is_valid, us_ein.is_valid)
    return any(bool(check(value)) for check in validators)


def is_valid_iban(value: str) -> bool:
    return bool(std_iban.is_valid(value))


def _replace_char(value: str, index: int, rng: random.Random) -> str:
    pool = "0123456789" if value[index].isdigit() else "ABCDEFGHJKLMNPQRSTVWXYZ"
    choice = rng.choice([c for c in pool if c != value[index]])
    return value[:index] + choice + value[index + 1 :]


def corrupt_tax_id(value: str, rng: random.Random) -> str:
    """Change the check character so the ID keeps its format but fails its checksum.

    A US EIN has no check digit: it gets a prefix the IRS never assigns instead.
    """
    if us_ein.is_valid(value):
        return rng.choice(_EIN_BAD_PREFIXES) + value[2:]
    index = len(value) - 1
    while True:
        bad = _replace_char(value, index, rng)
        if not is_valid_tax_id(bad):
            return bad


def corrupt_iban(value: str, rng: random.Random) -> str:
    """Change one account digit so the IBAN checksum fails (format unchanged)."""
    while True:
        index = rng.randrange(len(value) - 6, len(value))
        bad = _replace_char(value, index, rng)
        if not is_valid_iban(bad):
            return bad
