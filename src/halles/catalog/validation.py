"""Field rules shared by the forms, the services and the bulk import. Each returns the
cleaned value or raises FieldError with a message a seller can act on."""

from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from stdnum import ean

from halles.core.money import MoneyError, parse_amount

VAT_RATES_FR = (Decimal("0"), Decimal("2.1"), Decimal("5.5"), Decimal("10"), Decimal("20"))


class FieldError(ValueError):
    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def clean_gtin(value: str) -> str | None:
    """EAN-8, UPC-A (12), EAN-13 or GTIN-14 with a valid check digit; '' -> None."""
    value = (value or "").strip().replace(" ", "").replace("-", "")
    if not value:
        return None
    if not value.isdigit() or len(value) not in (8, 12, 13, 14):
        raise FieldError(_("A GTIN/EAN has 8, 12, 13 or 14 digits."))
    if not ean.is_valid(value):
        raise FieldError(_("The check digit of this GTIN/EAN is wrong."))
    return value


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
