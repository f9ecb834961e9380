"""The columns of an offer file (Mirakl's OF01 names): what each one sets, how its cells are
cleaned, what an empty cell means; and `Layout`, where they are in a given file."""

from __future__ import annotations

from django.utils.translation import gettext as _

from ..models import Offer
from ..validation import FieldError, clean_gtin, clean_price, clean_quantity, clean_vat_rate
from .files import ImportRefused

KEEP = object()  # an empty cell keeps the old value (or the default of a new offer)
ALIASES = {"min-order-quantity": "min-quantity", "max-order-quantity": "max-quantity"}


def _text(value: str) -> str:
    return value


def _limited(length: int):
    def clean(value: str) -> str:
        if len(value) > length:
            raise FieldError(_("Longer than %(max)s characters.") % {"max": length})
        return value

    return clean


def _at_least_one(value: str) -> int:
    return clean_quantity(value, allow_zero=False)


def fast_gtin(value: str) -> str | None:
    """clean_gtin, with a fast path giving the same result in the usual case (8 to 14 ASCII
    digits with the right check digit, returned in the canonical form of
    `validation.canonical_gtin`: 13 digits, or 14 not starting with 0); stdnum's own check
    costs ~25 µs a row."""
    size = len(value)
    if 8 <= size <= 14 and value.isascii() and value.isdigit():
        digits = value.encode()
        odd, even = digits[-2::-2], digits[-3::-2]  # weights 3 and 1 from the right
        total = 3 * (sum(odd) - 48 * len(odd)) + sum(even) - 48 * len(even)
        if -total % 10 == digits[-1] - 48:
            if size == 13:
                return value
            if size == 14:
                return value[1:] if value[0] == "0" else value
            return value.zfill(13)
    return clean_gtin(value)


def fast_price(value: str) -> int:
    """clean_price, with a fast path giving the same result for plain amounts ("12", "12.5",
    "12,50"): parse_amount's Decimal work costs more than the rest of the row's checks."""
    whole, separator, fraction = value.partition("," if "," in value else ".")
    if (
        whole.isdigit()
        and whole.isascii()
        and len(whole) <= 9
        and (
            not separator or (len(fraction) in (1, 2) and fraction.isdigit() and fraction.isascii())
        )
    ):
        cents = int(whole) * 100 + (int(fraction.ljust(2, "0")) if separator else 0)
        if cents > 0:
            return cents
    return clean_price(value)


# column -> (field, cleaner, value of an empty cell). Date and category cleaners need the
# marketplace and are bound in RowParser.
OFFER_COLUMNS = {
    "description": ("description", _text, ""),
    "price": ("price_cents", fast_price, KEEP),
    "quantity": ("stock", clean_quantity, KEEP),
    "vat-rate": ("vat_rate", clean_vat_rate, KEEP),
    "min-quantity": ("min_quantity", _at_least_one, KEEP),
    "max-quantity": ("max_quantity", _at_least_one, None),
    "min-quantity-alert": ("low_stock_threshold", clean_quantity, KEEP),
    "discount-price": ("discount_price_cents", fast_price, None),
    "discount-start-date": ("discount_starts_at", None, None),
    "discount-end-date": ("discount_ends_at", None, None),
}
PRODUCT_COLUMNS = {
    "product-title": ("title", _limited(255), KEEP),
    "product-description": ("description", _text, ""),
    "product-brand": ("brand", _limited(100), ""),
    "product-category": ("category_id", None, None),
}
# Free texts are not cached (rarely repeated); every other column's cleaned values are.
TEXT_CLEANERS = (_text, PRODUCT_COLUMNS["product-title"][1], PRODUCT_COLUMNS["product-brand"][1])
CACHE_SIZE = 20_000  # distinct texts remembered per column
OTHER_COLUMNS = ("sku", "product-id", "product-id-type", "state", "update-delete")
KNOWN_COLUMNS = frozenset(OTHER_COLUMNS) | OFFER_COLUMNS.keys() | PRODUCT_COLUMNS.keys()

# What an import reads and writes of an offer and of a product.
OFFER_FIELDS = (
    "description",
    "price_cents",
    "vat_rate",
    "stock",
    "is_active",
    "min_quantity",
    "max_quantity",
    "discount_price_cents",
    "discount_starts_at",
    "discount_ends_at",
    "low_stock_threshold",
)
PRODUCT_FIELDS = ("title", "description", "brand", "category_id")
OFFER_DEFAULTS = {name: Offer._meta.get_field(name).get_default() for name in OFFER_FIELDS}


def normalise_column(name) -> str:
    name = str(name or "").strip().lower().replace("_", "-")
    return ALIASES.get(name, name)


class Layout:
    """Where each known column is in the rows, and which columns are ignored."""

    def __init__(self, header: list):
        self.width = len(header)
        self.index: dict[str, int] = {}
        self.ignored: list[str] = []
        for position, raw in enumerate(header):
            name = normalise_column(raw)
            if not name:
                continue
            if name in self.index:
                raise ImportRefused(
                    _("The column “%(column)s” appears twice in the header.") % {"column": name}
                )
            if name in KNOWN_COLUMNS:
                self.index[name] = position
            else:
                self.ignored.append(str(raw).strip())
        if "sku" not in self.index:
            raise ImportRefused(
                _("The header (first line) has no “sku” column. Columns found: %(columns)s.")
                % {"columns": ", ".join(str(c).strip() for c in header if c) or "-"},
                field="sku",
            )

    @property
    def has_product_columns(self) -> bool:
        return any(name in self.index for name in PRODUCT_COLUMNS)
