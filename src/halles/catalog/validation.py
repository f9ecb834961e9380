"""Field rules shared by the forms, the services and the bulk import. Each returns the
cleaned value or raises FieldError with a message a seller can act on."""

import re
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from stdnum import ean

from halles.core.money import MoneyError, parse_amount

VAT_RATES_FR = (Decimal("0"), Decimal("2.1"), Decimal("5.5"), Decimal("10"), Decimal("20"))


class FieldError(ValueError):
    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


# What Excel writes for a long number in a narrow column ("3,60003E+10"): digits are lost.
SCIENTIFIC_NOTATION = re.compile(r"[0-9]+(?:[.,][0-9]*)?[eE]\+?[0-9]+")


def canonical_gtin(digits: str) -> str:
    """The key of a GTIN of 8 to 14 digits: GS1 reads every GTIN as its 14-digit form padded
    with zeros; Halles stores that form without its first digit when it is a 0 (13 digits,
    an EAN-13) and whole otherwise (a GTIN-14 with a packaging indicator). So the UPC-A
    036000291452, the EAN-13 0036000291452 and the number 36000291452 (what Excel leaves of
    them) are one key, 0036000291452; the EAN-8 12345670 is 0000012345670."""
    if len(digits) == 14:
        return digits[1:] if digits[0] == "0" else digits
    return digits.zfill(13)


def clean_gtin(value: str) -> str | None:
    """A GTIN (EAN-8, UPC-A, EAN-13, GTIN-14, or one of them whose leading zeros were lost:
    8 to 14 digits) with a valid check digit, in its canonical form; '' -> None."""
    value = (value or "").strip().replace(" ", "").replace("-", "")
    if not value:
        return None
    if SCIENTIFIC_NOTATION.fullmatch(value):
        raise FieldError(
            _(
                "This code was written as a rounded number (%(value)s), as Excel does with "
                "long numbers: its digits are lost. Format the column as text and enter the "
                "codes again."
            )
            % {"value": value}
        )
    if not (value.isascii() and value.isdigit()) or not 8 <= len(value) <= 14:
        raise FieldError(_("A GTIN/EAN has 8 to 14 digits."))
    if not ean.is_valid(value.zfill(14)):  # leading zeros do not change the check digit
        raise FieldError(_("The check digit of this GTIN/EAN is wrong."))
    return canonical_gtin(value)


def clean_price(value) -> int:
    """A price in euros ('12,50') -> cents; must be above zero."""
    try:
        cents = parse_amount(value)
    except MoneyError as exc:
        raise FieldError(_("Not a valid price: use a number such as 12.50.")) from exc
    if cents <= 0:
        raise FieldError(_("The price must be above zero."))
    return cents


def clean_quantity(value, *, allow_zero: bool = True) -> int:
    text = str(value).strip()
    try:
        number = int(text)
    except ValueError as exc:
        raise FieldError(_("Not a whole number.")) from exc
    if number < 0:
        raise FieldError(_("Cannot be negative."))
    if number == 0 and not allow_zero:
        raise FieldError(_("Must be at least 1."))
    return number


def clean_vat_rate(value, allowed=VAT_RATES_FR) -> Decimal:
    try:
        rate = Decimal(str(value).strip().replace(",", ".").rstrip("%").strip())
    except InvalidOperation as exc:
        raise FieldError(_("Not a VAT rate.")) from exc
    if rate not in allowed:
        raise FieldError(
            _("VAT rate not allowed; use one of: %(rates)s")
            % {"rates": ", ".join(str(r) for r in allowed)}
        )
    return rate


def clean_sku(value: str) -> str:
    value = (value or "").strip()
    if not value:
        raise FieldError(_("The SKU is required."))
    if len(value) > 100:
        raise FieldError(_("The SKU is longer than 100 characters."))
    return value
