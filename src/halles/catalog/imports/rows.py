"""Parsing a row, without the database: cleaned values by field and every error of the row."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.utils.translation import gettext as _

from ..validation import FieldError, clean_sku
from .columns import (
    CACHE_SIZE,
    KEEP,
    OFFER_COLUMNS,
    PRODUCT_COLUMNS,
    TEXT_CLEANERS,
    Layout,
    fast_gtin,
)

GTIN_TYPES = frozenset({"EAN", "GTIN", "UPC"})
SHOP_PRODUCT_TYPES = frozenset({"", "SHOP_SKU"})
NEW_STATE = "11"


class Row:
    __slots__ = ("line", "sku", "delete", "gtin", "offer", "product", "errors")

    def __init__(self, line: int):
        self.line = line
        self.sku = ""
        self.delete = False
        self.gtin = None
        self.offer: dict = {}
        self.product: dict = {}
        self.errors: list[tuple[str, str]] = []


def _moment_cleaner(tz, *, end: bool):
    """ISO date or datetime, or dd/mm/yyyy [HH:MM[:SS]]; naive means the marketplace's zone.
    A bare end date includes that day: the discount ends at the next midnight."""

    def clean(value: str) -> datetime:
        text = value.replace("T", " ")
        try:
            if "/" in text:
                day, _sep, clock = text.partition(" ")
                parsed = datetime.strptime(day, "%d/%m/%Y")
                if clock:
                    parsed = datetime.combine(parsed, time.fromisoformat(clock))
                whole_day = not clock
            else:
                parsed = datetime.fromisoformat(text)
                whole_day = len(text) == 10
        except ValueError as exc:
            raise FieldError(_("Not a date: write 2025-01-31 or 31/01/2025.")) from exc
        if whole_day and end:
            parsed += timedelta(days=1)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)

    return clean


class RowParser:
    """Turns cells into a Row: cleaned values by field, and every error of the row."""

    def __init__(self, layout: Layout, *, categories: dict, tz):
        self.layout = layout
        cleaners = {
            "discount-start-date": _moment_cleaner(tz, end=False),
            "discount-end-date": _moment_cleaner(tz, end=True),
            "product-category": self._category_cleaner(categories),
        }
        # (position, column, offer or product, field, cleaner, empty cell, cache): cleaners
        # are pure, so the value of a text seen before is taken from the column's cache.
        self.columns = [
            (
                layout.index[name],
                name,
                is_offer,
                field,
                cleaners.get(name) or cleaner,
                empty,
                None if cleaner in TEXT_CLEANERS else {},
            )
            for is_offer, columns in ((True, OFFER_COLUMNS), (False, PRODUCT_COLUMNS))
            for name, (field, cleaner, empty) in columns.items()
            if name in layout.index
        ]
        get = layout.index.get
        self.width = layout.width
        self.i_sku = layout.index["sku"]
        self.i_delete, self.i_state = get("update-delete"), get("state")
        self.i_id, self.i_type = get("product-id"), get("product-id-type")
        self.seen: dict[str, int] = {}  # SKU -> first line, for the whole file

    @staticmethod
    def _category_cleaner(categories: dict):
        def clean(value: str) -> int:
            category = categories.get(value.lower())
            if category is None:
                raise FieldError(_("No category has this slug on the marketplace."))
            category_id, usable = category
            if not usable:
                raise FieldError(_("Sellers may not file products in this category."))
            return category_id

        return clean

    def parse(self, line: int, cells: list[str]) -> Row:
        row = Row(line)
        errors = row.errors
        if len(cells) != self.width:
            cells = self._fit(cells, errors)
        self._parse_sku(row, cells[self.i_sku])
        if self.i_delete is not None:
            action = cells[self.i_delete].strip().lower()
            if action == "delete":
                row.delete = True
                return row  # only the SKU of a delete row is read
            if action and action != "update":
                errors.append(("update-delete", _("Write “update” or “delete”.")))
        if self.i_state is not None:
            state = cells[self.i_state].strip()
            if state and state != NEW_STATE:
                errors.append(
                    (
                        "state",
                        _("Only new items (state 11) can be offered here, not state %(state)s.")
                        % {"state": state},
                    )
                )
        if self.i_id is not None or self.i_type is not None:
            self._parse_product_id(row, cells)
        offer, product = row.offer, row.product
        for index, name, is_offer, field, cleaner, empty, cache in self.columns:
            text = cells[index].strip()
            values = offer if is_offer else product
            if not text:
                if empty is not KEEP:
                    values[field] = empty
            elif cache is not None and text in cache:
                values[field] = cache[text]
            else:
                try:
                    values[field] = value = cleaner(text)
                except FieldError as error:
                    errors.append((name, error.message))
                    continue
                if cache is not None and len(cache) < CACHE_SIZE:
                    cache[text] = value
        return row

    def _fit(self, cells: list[str], errors: list) -> list[str]:
        """A line with fewer values than the header has columns, or more (not empty ones)."""
        width, found = self.width, len(cells)
        if found > width and not any(cells[width:]):
            return cells
        errors.append(
            (
                self._first_column_from(found) if found < width else "",
                _("This line has %(found)s values for %(expected)s columns.")
                % {"found": found, "expected": width},
            )
        )
        return cells + [""] * (width - found)

    def _first_column_from(self, position: int) -> str:
        """The first known column at or after `position` (where a short line stops)."""
        found = [(p, name) for name, p in self.layout.index.items() if p >= position]
        return min(found)[1] if found else ""

    def _parse_sku(self, row: Row, text: str) -> None:
        try:
            row.sku = sku = clean_sku(text)
        except FieldError as error:
            row.errors.append(("sku", error.message))
            return
        first = self.seen.setdefault(sku, row.line)
        if first != row.line:
            row.errors.append(
                (
                    "sku",
                    _("This SKU is already on line %(line)s: a SKU can appear only once.")
                    % {"line": first},
                )
            )

    def _parse_product_id(self, row: Row, cells: list[str]) -> None:
        value = cells[self.i_id].strip() if self.i_id is not None else ""
        kind = ""
        if self.i_type is not None:
            kind = cells[self.i_type].strip().upper().replace("-", "_")
        if not kind and value:
            kind = "EAN"  # a product-id without a type is read as a GTIN
        if kind in GTIN_TYPES:
            if not value:
                row.errors.append(
                    ("product-id", _("Give the product's %(type)s.") % {"type": kind})
                )
                return
            try:
                row.gtin = fast_gtin(value)
            except FieldError as error:
                row.errors.append(("product-id", error.message))
        elif kind not in SHOP_PRODUCT_TYPES:
            row.errors.append(
                (
                    "product-id-type",
                    _("Unknown product-id-type “%(type)s”: use EAN, GTIN, UPC or SHOP_SKU.")
                    % {"type": kind},
                )
            )
