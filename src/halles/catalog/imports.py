"""Bulk offer import: a seller's CSV or XLSX file, with Mirakl's offer import columns (OF01).

Entry points
------------
- `offer_import_start(*, shop, user, uploaded_file, mode)`: the seller portal's service. The
  user must be on the shop's staff (NotAllowed), the shop active (suspended: DomainError
  `shop_suspended`), the file acceptable (`ImportRefused`). Creates the `OfferImport` and
  queues `tasks.run_offer_import` once the transaction commits.
- `offer_import_create(...)`: the same without the staff check or the queueing (the CLI).
- `offer_import_run(*, offer_import, on_progress=None)`: does the work; claims the import
  (QUEUED -> RUNNING) or does nothing, ends DONE or FAILED with a message.
- `import_errors_csv(offer_import)`: the per-row error report (`line;sku;column;message`,
  UTF-8 with a BOM so that Excel reads it).

The file
--------
CSV (`;` or `,`, chosen by counting them in the header line; `"` quotes) in UTF-8, with or
without BOM; a file that is not UTF-8 is refused as a whole, naming the first bad line (and
saying "save it as UTF-8" when it decodes as Windows-1252). Or XLSX (first sheet). At most
20 MB and 200,000 rows; an empty file is refused (in REPLACE mode it would deactivate
everything). Header matching ignores case, surrounding spaces and `_` vs `-`. Unknown
columns are ignored, with one warning in the import's message. Blank rows are skipped.

Columns (Mirakl names; only `sku` is required in the header)
------------------------------------------------------------
`sku`; `product-id` + `product-id-type`: EAN, GTIN or UPC match the marketplace's product
with that GTIN; SHOP_SKU or no type means the shop's own product (product-id is then not
used: a shop product is reached through its offer's SKU). A product-id without a type is
read as a GTIN. `description` (offer details), `price`, `quantity` (sets the stock),
`vat-rate` (Halles), `min-quantity`/`max-quantity` (or Mirakl's `min-order-quantity`/
`max-order-quantity`), `min-quantity-alert` (low-stock threshold), `discount-price`,
`discount-start-date`, `discount-end-date` (2025-01-31, 31/01/2025, or with a time; in the
marketplace's time zone unless an offset is given; an end date without a time includes
that whole day), `state` (Mirakl's offer condition: only 11, new, is accepted; any other
code is a row error, since nothing else can be sold as described here; nothing is stored),
`update-delete` (`update`, the default, or `delete`: the offer is deactivated, never deleted,
since orders reference offers; the other columns of a delete row are not read).
Product columns, for products the shop creates: `product-title` (required for a new one),
`product-description`, `product-brand`, `product-category` (the slug of an active category
that sellers may use). On a product the shop did not create (a shared GTIN product), they
are ignored: a shop never edits another's product.

Modes
-----
NORMAL creates and updates: on an update a missing column keeps the old value; a new offer
takes the model's defaults and needs `price` and `quantity` (and a product). PARTIAL only
updates existing offers (an unknown SKU is a row error), only the columns present. REPLACE
is NORMAL, then deactivates the shop's active offers whose SKU is nowhere in the file (rows
in error count as present: an invalid row never touches its offer). In a present column an
empty cell clears what can be empty (texts, discount, max-quantity, category) and keeps the
old value of the rest. Activity: a delete row deactivates; in NORMAL and REPLACE an update
row (re)activates; with `deactivate_when_sold_out` a stock of 0 deactivates and a restock
in PARTIAL reactivates. The product of an existing offer cannot be changed (row error).

Errors and atomicity
--------------------
Every error of a row is collected as {line, sku, column, message} (line = the physical line
of the file where the row starts, the header being line 1): a row with a readable SKU is
also checked against the database even when a value is wrong, so the seller sees all its
problems at once. A row with any error is not applied. A SKU seen again in the file is an
error on `sku` for every occurrence after the first. At most 10,000 errors are stored (the
message and the report say so). A row's product and offer are written in the same
transaction: a row is applied whole or not at all.

How it runs (and why)
---------------------
Rows go by chunks of 1,000: each row is parsed and checked alone (the cleaners of
`validation.py`; for GTINs and prices a fast path that gives the same result in the usual
case, tested against them; the values of a column already seen are cached); then, in one
transaction per chunk, the chunk's existing offers are read (locked FOR UPDATE in
primary-key order on PostgreSQL; SQLite's write transaction already excludes writers) and
its GTIN products, one query each; the database checks run on the merged values; the
writes follow: new products with bulk_create, new offers with COPY (PostgreSQL) or a
prepared INSERT run per row (SQLite), changed offers with one statement per set of
changed columns (UPDATE ... FROM (VALUES ...) on PostgreSQL, a prepared UPDATE per row on
SQLite); an unchanged row writes nothing. Reads and writes are SQL built from the models'
metadata rather than QuerySets, whose per-chunk Python cost was as large as the database's
work (benchmarks/offer_import.py, docs/performance.md); values go through Django's adapters
and converters, and the database's constraints and triggers apply as for any write (no
model signal is sent: nothing listens to offer saves today). If a chunk's transaction
fails (a concurrent writer took a new SKU, a constraint), the chunk is replayed one row per
transaction and the failing row gets an error. Progress (done, applied and error rows) is
saved by one UPDATE after each chunk, for the seller portal to poll.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import zoneinfo
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from itertools import islice
from operator import itemgetter

from django.core.files.base import ContentFile
from django.db import DatabaseError, DataError, IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from halles.core.errors import DomainError, NotAllowed
from halles.core.tasks import enqueue_on_commit
from halles.shops.models import ShopStaff, ShopStatus

from .models import Category, ImportMode, ImportStatus, Offer, OfferImport, Product
from .validation import (
    FieldError,
    clean_gtin,
    clean_price,
    clean_quantity,
    clean_sku,
    clean_vat_rate,
)

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
CHUNK_ROWS = 1000
MAX_STORED_ERRORS = 10_000
CSV_EXTENSIONS = (".csv", ".txt")
XLSX_EXTENSIONS = (".xlsx",)
GTIN_TYPES = frozenset({"EAN", "GTIN", "UPC"})
SHOP_PRODUCT_TYPES = frozenset({"", "SHOP_SKU"})
NEW_STATE = "11"


class ImportRefused(DomainError):
    """The file as a whole cannot be imported (size, type, encoding, header, rows)."""

    code = "import_refused"


# --- Columns -------------------------------------------------------------------------------

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


def _gtin(value: str) -> str | None:
    """clean_gtin, with a fast path giving the same result in the usual case (8, 12, 13 or
    14 ASCII digits with the right check digit); stdnum's own check costs ~25 µs a row."""
    if len(value) in (8, 12, 13, 14) and value.isascii() and value.isdigit():
        digits = value.encode()
        odd, even = digits[-2::-2], digits[-3::-2]  # weights 3 and 1 from the right
        total = 3 * (sum(odd) - 48 * len(odd)) + sum(even) - 48 * len(even)
        if -total % 10 == digits[-1] - 48:
            return value
    return clean_gtin(value)


def _price(value: str) -> int:
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
    "price": ("price_cents", _price, KEEP),
    "quantity": ("stock", clean_quantity, KEEP),
    "vat-rate": ("vat_rate", clean_vat_rate, KEEP),
    "min-quantity": ("min_quantity", _at_least_one, KEEP),
    "max-quantity": ("max_quantity", _at_least_one, None),
    "min-quantity-alert": ("low_stock_threshold", clean_quantity, KEEP),
    "discount-price": ("discount_price_cents", _price, None),
    "discount-start-date": ("discount_starts_at", None, None),
    "discount-end-date": ("discount_ends_at", None, None),
}
PRODUCT_COLUMNS = {
    "product-title": ("title", _limited(255), KEEP),
    "product-description": ("description", _text, ""),
    "product-brand": ("brand", _limited(100), ""),
    "product-category": ("category_id", None, None),
}
TEXT_CLEANERS = (PRODUCT_COLUMNS["product-title"][1], PRODUCT_COLUMNS["product-brand"][1])
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


# --- Reading the file ----------------------------------------------------------------------


def _decode(data: bytes) -> str:
    """UTF-8 with or without BOM, else refused naming the first bad line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        try:
            data.decode("cp1252")
        except UnicodeDecodeError:
            hint = _("Save it as UTF-8 and import it again.")
        else:
            hint = _(
                "It looks like Windows-1252 (Latin-1), as Excel saves “CSV”: save it as "
                "“CSV UTF-8” and import it again."
            )
        raise ImportRefused(
            _("The file is not in UTF-8 (first bad character on line %(line)s).") % {"line": line}
            + " "
            + hint,
            code="bad_encoding",
        ) from exc


def _delimiter(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    return "," if first_line.count(",") > first_line.count(";") else ";"


def _kind(data: bytes, name: str) -> str:
    extension = os.path.splitext(name.lower())[1]
    if data.startswith(b"PK\x03\x04") or extension in XLSX_EXTENSIONS:
        return "xlsx"
    if data.startswith(b"\xd0\xcf\x11\xe0") or extension == ".xls":
        raise ImportRefused(
            _("The old Excel format (.xls) is not read: save the file as .xlsx or CSV UTF-8."),
            code="file_type",
        )
    if extension in CSV_EXTENSIONS:
        return "csv"
    raise ImportRefused(
        _("Import a CSV (.csv) or Excel (.xlsx) file."),
        code="file_type",
    )


class CsvSource:
    def __init__(self, data: bytes):
        self.text = _decode(data)
        self.delimiter = _delimiter(self.text)
        try:
            self.header = next(self._reader(), [])
        except csv.Error as exc:
            raise ImportRefused(
                _("Line %(line)s cannot be read: %(error)s") % {"line": 1, "error": exc}
            ) from exc

    def _reader(self):
        return csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter)

    def records(self):
        """(line, cells) of every non-blank data row; line 1 is the header."""
        reader = self._reader()
        next(reader, None)
        line = reader.line_num
        try:
            for cells in reader:
                if any(cells):
                    yield line + 1, cells
                line = reader.line_num
        except csv.Error as exc:
            raise ImportRefused(
                _("Line %(line)s cannot be read: %(error)s") % {"line": line + 1, "error": exc}
            ) from exc

    def count(self) -> int:
        text = self.text
        if '"' not in text and text.count("\r") == text.count("\r\n"):
            # No quotes and plain line ends: a record is a line, blank when only separators.
            lines = text.split("\n")[1:]
            return sum(1 for line in lines if line.rstrip("\r").strip(self.delimiter))
        return sum(1 for _record in self.records())


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class XlsxSource:
    """The first sheet of a workbook, read once into strings (dates as ISO, numbers plain)."""

    def __init__(self, data: bytes):
        import zipfile

        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            rows = workbook.worksheets[0].iter_rows(values_only=True)
            self.header = [_cell_text(value) for value in next(rows, ())]
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, IndexError) as exc:
            raise ImportRefused(_("This Excel file cannot be read."), code="file_type") from exc
        self._rows = rows
        self._records = None

    def _read(self):
        width = len(self.header)
        for line, values in enumerate(self._rows, start=2):
            cells = [_cell_text(value) for value in values]
            if any(cells):
                yield line, cells + [""] * (width - len(cells))

    def _all(self) -> list:
        """Read once (a sheet cannot be read twice in read-only mode), at most MAX_ROWS + 1."""
        if self._records is None:
            self._records = list(islice(self._read(), MAX_ROWS + 1))
        return self._records

    def count(self) -> int:
        return len(self._all())

    def records(self):
        return iter(self._all())


def open_source(data: bytes, name: str):
    """The file's header and rows; ImportRefused when it cannot be read at all."""
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(len(data))
    source = CsvSource(data) if _kind(data, name) == "csv" else XlsxSource(data)
    if not any(source.header):
        raise ImportRefused(_("The file is empty: the first line must name the columns."))
    return source


def _too_large(size: int) -> ImportRefused:
    return ImportRefused(
        _("The file is %(size)s MB; the limit is %(max)s MB. Split it into several files.")
        % {"size": round(size / 1024 / 1024, 1), "max": MAX_FILE_BYTES // 1024 // 1024},
        code="file_too_large",
    )


# --- Parsing a row (no database) -----------------------------------------------------------


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
                None if cleaner in (_text, *TEXT_CLEANERS) else {},
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
                row.gtin = _gtin(value)
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


# --- Applying a chunk (database) -----------------------------------------------------------

EXISTING_FIELDS = ("id", "sku", "product_id", "deactivate_when_sold_out", *OFFER_FIELDS)
PRODUCT_KEYS = ("id", "gtin", "created_by_shop_id")
PRODUCT_READ = (*PRODUCT_KEYS, *PRODUCT_FIELDS)
INSERT_FIELDS = (
    "marketplace_id",
    "shop_id",
    "product_id",
    "sku",
    *OFFER_FIELDS,
    "deactivate_when_sold_out",
    "created_at",
    "updated_at",
)
DATETIME_FIELDS = frozenset({"discount_starts_at", "discount_ends_at", "updated_at"})
offer_values = itemgetter(*OFFER_FIELDS)
DATETIME_POSITIONS = [i for i, name in enumerate(OFFER_FIELDS) if name in DATETIME_FIELDS]


class Reader:
    """The chunk's reads, in SQL built once from the models' metadata. Not the ORM: a
    QuerySet filtering on 1,000 SKUs spends about 4 ms in Python before the database
    starts, as much as writing the chunk. Values still go through Django's converters."""

    def __init__(self, *, with_products: bool):
        offer, product = _table(Offer), _table(Product)
        offer_id, sku = f"{offer}.{_column(Offer, 'id')}", f"{offer}.{_column(Offer, 'sku')}"
        fields = [(Offer, name) for name in EXISTING_FIELDS]
        joined = ""
        if with_products:
            fields += [(Product, name) for name in PRODUCT_READ]
            joined = (
                f" INNER JOIN {product} ON {product}.{_column(Product, 'id')}"
                f" = {offer}.{_column(Offer, 'product_id')}"
            )
        # PostgreSQL locks the rows in primary-key order. SQLite needs no lock (a write
        # transaction excludes other writers) and no ORDER BY, with which its planner scans
        # all the shop's offers by the shop_id index instead of using (shop_id, sku).
        lock = ""
        if connection.features.has_select_for_update_of:
            lock = f" ORDER BY {offer_id} FOR UPDATE OF {offer}"
        self.offers_sql = (
            _select(fields)
            + f" FROM {offer}{joined} WHERE {offer}.{_column(Offer, 'shop_id')} = %s"
            + f" AND {sku} IN ({{}}){lock}"
        )
        self.offer_converters = _converters(fields)
        self.with_products = with_products
        self.product_names = PRODUCT_READ if with_products else PRODUCT_KEYS
        product_fields = [(Product, name) for name in self.product_names]
        self.products_sql = (
            _select(product_fields)
            + f" FROM {product} WHERE {product}.{_column(Product, 'marketplace_id')} = %s"
            + f" AND {product}.{_column(Product, 'gtin')} IN ({{}})"
        )
        self.product_converters = _converters(product_fields)

    def offers(self, shop_id: int, skus: list[str]) -> dict:
        """The shop's offers with these SKUs by SKU, locked (primary-key order) on PostgreSQL
        until the chunk commits; SQLite's write transaction already excludes other writers."""
        width = len(EXISTING_FIELDS)
        offers = {}
        for values in _fetch(self.offers_sql, shop_id, skus, self.offer_converters):
            offer = dict(zip(EXISTING_FIELDS, values[:width], strict=True))
            if self.with_products:
                offer["product"] = dict(zip(PRODUCT_READ, values[width:], strict=True))
            offers[offer["sku"]] = offer
        return offers

    def products(self, marketplace_id: int, gtins: set[str]) -> dict:
        """The marketplace's products with these GTINs, by GTIN."""
        rows = _fetch(self.products_sql, marketplace_id, list(gtins), self.product_converters)
        names = self.product_names
        return {values[1]: dict(zip(names, values, strict=True)) for values in rows}


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column(model, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def _select(fields: list) -> str:
    return "SELECT " + ", ".join(
        f"{_table(model)}.{_column(model, name)}" for model, name in fields
    )


def _converters(fields: list) -> list:
    """(position, column, functions) for the fields whose values the backend converts."""
    found = []
    for position, (model, name) in enumerate(fields):
        column = model._meta.get_field(name).get_col(model._meta.db_table)
        functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if functions:
            found.append((position, column, functions))
    return found


def _fetch(sql: str, key: int, values: list, converters: list) -> list:
    if not values:
        return []
    with connection.cursor() as cursor:
        cursor.execute(sql.format(", ".join(["%s"] * len(values))), [key, *values])
        rows = cursor.fetchall()
    if not converters:
        return rows
    converted = []
    for row in rows:
        row = list(row)
        for position, column, functions in converters:
            value = row[position]
            for function in functions:
                value = function(value, column, connection)
            row[position] = value
        converted.append(row)
    return converted


def _insert(model, fields: tuple, rows: list) -> None:
    """PostgreSQL: COPY (one statement, about 4 times the rate of INSERTs through psycopg's
    client-side binding); SQLite: one prepared INSERT run for every row."""
    if not rows:
        return
    columns = ", ".join(_column(model, name) for name in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {_table(model)} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {_table(model)} ({columns}) VALUES ({marks})", rows)


def _update(model, fields: tuple, rows: list) -> None:
    """Rows of (values of `fields`..., updated_at, id). PostgreSQL: one UPDATE ... FROM
    (VALUES ...) for all rows (row-by-row UPDATEs through psycopg run at half the rate);
    SQLite: one prepared UPDATE run for every row."""
    table, names = _table(model), (*fields, "updated_at", "id")
    columns = [_column(model, name) for name in names]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            types = [model._meta.get_field(name).db_type(connection) for name in names]
            one = "(" + ", ".join(f"%s::{kind}" for kind in types) + ")"
            assignments = ", ".join(f"{column} = v.{column}" for column in columns[:-1])
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM (VALUES {', '.join([one] * len(rows))})"
                f" AS v ({', '.join(columns)}) WHERE {table}.{columns[-1]} = v.{columns[-1]}",
                [value for row in rows for value in row],
            )
        else:
            assignments = ", ".join(f"{column} = %s" for column in columns[:-1])
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {columns[-1]} = %s", rows)


class ChunkPlan:
    """What one chunk changes, decided row by row, then written in a few statements."""

    def __init__(self, run: ImportRun):
        self.run = run
        self.shop_id = run.shop.pk
        self.now = timezone.now()
        self.new_products: list[Product] = []
        self.pending: dict[str, dict] = {}  # GTIN -> product created by an earlier row
        self.inserts: list[tuple[dict, dict, str]] = []
        self.offer_updates: dict[tuple, list] = defaultdict(list)
        self.product_updates: dict[tuple, list] = defaultdict(list)
        self.rejected: list[tuple[Row, list]] = []
        self.applied = self.created = self.updated = self.deleted = 0

    def build(self, rows: list[Row]) -> ChunkPlan:
        reader = self.run.reader
        offers = reader.offers(self.shop_id, [row.sku for row in rows])
        products = reader.products(self.run.shop.marketplace_id, {r.gtin for r in rows if r.gtin})
        for row in rows:
            offer = offers.get(row.sku)
            errors = list(row.errors)  # checked again with the database, never written
            if row.delete:
                self._delete(offer, errors)
            else:
                self._upsert(row, offer, products, errors)
            if errors:
                self.rejected.append((row, _without_repeats(errors, len(row.errors))))
            else:
                self.applied += 1
        return self

    def _delete(self, offer: dict | None, errors: list) -> None:
        if offer is None:
            errors.append(("sku", _("No offer has this SKU: there is nothing to delete.")))
        elif offer["is_active"] and not errors:
            self.offer_updates[("is_active",)].append(([False], offer["id"]))
            self.deleted += 1

    def _upsert(self, row: Row, offer: dict | None, products: dict, errors: list) -> None:
        if offer is None and self.run.mode == ImportMode.PARTIAL:
            errors.append(
                ("sku", _("No offer has this SKU; a partial update only changes existing offers."))
            )
            return
        product = self._product(row, offer, products, errors)
        state = _merged_offer(row, offer, self.run.mode, errors)
        if errors:
            return
        if offer is None:
            self._create(row, state, product)
        else:
            changed = tuple(name for name in OFFER_FIELDS if state[name] != offer[name])
            if changed:
                values = self._adapt(changed, [state[name] for name in changed])
                self.offer_updates[changed].append((values, offer["id"]))
                self.updated += 1
        self._update_product(row, product)

    def _create(self, row: Row, state: dict, product: dict) -> None:
        if product["id"] is None and "instance" not in product:
            values = {"title": "", "description": "", "brand": "", "category_id": None}
            values.update(row.product)
            product["instance"] = Product(
                marketplace_id=self.run.shop.marketplace_id,
                gtin=row.gtin,
                created_by_shop_id=self.shop_id,
                **values,
            )
            self.new_products.append(product["instance"])
            if row.gtin:
                self.pending[row.gtin] = product
        self.inserts.append((state, product, row.sku))
        self.created += 1

    def _product(self, row: Row, offer: dict | None, products: dict, errors: list) -> dict:
        """The row's product: a dict of its values, with id None while it is to be created."""
        if row.gtin:
            product = products.get(row.gtin) or self.pending.get(row.gtin)
            if offer is not None and (product is None or product["id"] != offer["product_id"]):
                errors.append(
                    (
                        "product-id",
                        _("This SKU is the offer of another product; use a new SKU for it."),
                    )
                )
            elif product is None and "title" not in row.product:
                errors.append(
                    (
                        "product-id",
                        _(
                            "Unknown product-id: no product of the marketplace has this code. "
                            "Add a product-title to create the product."
                        ),
                    )
                )
            return product or {"id": None}
        if offer is not None:
            return offer.get("product") or {"id": offer["product_id"]}
        if "title" not in row.product:
            errors.append(
                (
                    "product-title",
                    _(
                        "A new product needs a product-title (or the EAN of a product of the "
                        "marketplace in product-id)."
                    ),
                )
            )
        return {"id": None}

    def _update_product(self, row: Row, product: dict) -> None:
        """Product columns change only a product this shop created (already saved: a product
        created by this chunk takes the values of its first row)."""
        if not row.product or product.get("created_by_shop_id") != self.shop_id:
            return
        if product["id"] is None:
            return
        changed = tuple(name for name in PRODUCT_FIELDS if name in row.product)
        changed = tuple(name for name in changed if row.product[name] != product[name])
        if changed:
            params = [row.product[name] for name in changed]
            self.product_updates[changed].append((params, product["id"]))
            product.update((name, row.product[name]) for name in changed)

    def _adapt(self, names, values) -> list:
        """Values as the driver takes them (SQLite stores datetimes as naive UTC text);
        the same few discount dates come back on many rows, so each is adapted once."""
        adapted = self.run.adapted_datetimes
        converted = list(values)
        for position, name in enumerate(names):
            value = converted[position]
            if value is not None and name in DATETIME_FIELDS:
                if value not in adapted:
                    adapted[value] = connection.ops.adapt_datetimefield_value(value)
                converted[position] = adapted[value]
        return converted

    def write(self) -> None:
        if self.new_products:
            Product.objects.bulk_create(self.new_products)
        now = connection.ops.adapt_datetimefield_value(self.now)
        marketplace_id = self.run.shop.marketplace_id
        rows = []
        for state, product, sku in self.inserts:
            values = offer_values(state)
            if any(values[i] is not None for i in DATETIME_POSITIONS):
                values = self._adapt(OFFER_FIELDS, values)
            product_id = product["id"] or product["instance"].pk
            rows.append((marketplace_id, self.shop_id, product_id, sku, *values, False, now, now))
        _insert(Offer, INSERT_FIELDS, rows)
        for fields, updates in self.offer_updates.items():
            _update(Offer, fields, [(*values, now, pk) for values, pk in updates])
        for fields, updates in self.product_updates.items():
            _update(Product, fields, [(*values, now, pk) for values, pk in updates])


def _without_repeats(errors: list, parsed: int) -> list:
    """The row's parse errors, then the database checks' errors on the other columns (an
    unreadable price is not also reported as a missing one)."""
    columns = {column for column, _message in errors[:parsed]}
    return errors[:parsed] + [error for error in errors[parsed:] if error[0] not in columns]


def _merged_offer(row: Row, offer: dict | None, mode: str, errors: list) -> dict:
    """The offer's values after the row, with the rules that span several columns."""
    values = row.offer
    state = {name: offer[name] for name in OFFER_FIELDS} if offer else dict(OFFER_DEFAULTS)
    state.update(values)
    if offer is None:
        if "price_cents" not in values:
            errors.append(("price", _("A new offer needs a price.")))
        if "stock" not in values:
            errors.append(("quantity", _("A new offer needs a quantity.")))
    price, discount = state.get("price_cents"), state["discount_price_cents"]
    if price is not None and discount is not None and discount >= price:
        column = "discount-price" if "discount_price_cents" in values else "price"
        errors.append((column, _("The discount price must be below the price.")))
    starts, ends = state["discount_starts_at"], state["discount_ends_at"]
    if starts is not None and ends is not None and ends <= starts:
        errors.append(("discount-end-date", _("The discount must end after it starts.")))
    if state["max_quantity"] is not None and state["max_quantity"] < state["min_quantity"]:
        errors.append(
            (
                "max-quantity",
                _("The maximum quantity cannot be below the minimum quantity (%(min)s).")
                % {"min": state["min_quantity"]},
            )
        )
    state["is_active"] = _is_active(offer, state["stock"], mode)
    return state


def _is_active(offer: dict | None, stock: int | None, mode: str) -> bool:
    if offer is None:
        return True
    sold_out_rule = offer["deactivate_when_sold_out"]
    if sold_out_rule and stock == 0:
        return False
    if mode != ImportMode.PARTIAL:
        return True
    restocked = sold_out_rule and offer["stock"] == 0 and stock
    return offer["is_active"] or bool(restocked)


# --- Running an import ---------------------------------------------------------------------


def _batches(iterable, size: int):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class ImportRun:
    """One import while it runs: the file, the counters, the errors kept for the report."""

    def __init__(self, offer_import: OfferImport, source):
        self.offer_import = offer_import
        self.shop = offer_import.shop
        self.mode = offer_import.mode
        self.source = source
        self.layout = Layout(source.header)
        marketplace = self.shop.marketplace
        categories = {}
        if "product-category" in self.layout.index:
            categories = {
                slug.lower(): (pk, usable and active)
                for pk, slug, usable, active in Category.objects.filter(
                    marketplace=marketplace
                ).values_list("pk", "slug", "sellers_may_use", "is_active")
            }
        self.reader = Reader(with_products=self.layout.has_product_columns)
        self.adapted_datetimes: dict = {}
        self.parser = RowParser(
            self.layout, categories=categories, tz=zoneinfo.ZoneInfo(marketplace.time_zone)
        )
        self.done = self.applied = self.error_rows = self.error_count = 0
        self.created = self.updated = self.deleted = self.deactivated = 0
        self.errors: list[dict] = []

    def execute(self, on_progress=None) -> None:
        total = self.source.count()
        if total > MAX_ROWS:
            raise ImportRefused(
                _("The file has %(rows)s rows; the limit is %(max)s. Split it.")
                % {"rows": total, "max": MAX_ROWS},
                code="too_many_rows",
            )
        if total == 0:
            raise ImportRefused(_("The file has no offer rows."), code="empty_file")
        self.offer_import.total_rows = total
        OfferImport.objects.filter(pk=self.offer_import.pk).update(total_rows=total)
        for records in _batches(self.source.records(), CHUNK_ROWS):
            self._apply_chunk([self.parser.parse(line, cells) for line, cells in records])
            self._save_progress()
            if on_progress:
                on_progress(self.offer_import)
        if self.mode == ImportMode.REPLACE:
            self.deactivated = self._deactivate_absent()

    def _apply_chunk(self, rows: list[Row]) -> None:
        """Every row but those without a usable SKU is checked against the database; the
        valid ones are written in one transaction, or one by one if it fails."""
        checked, rejected = [], []
        for row in rows:
            if any(column == "sku" for column, _message in row.errors):
                rejected.append((row, row.errors))
            else:
                checked.append(row)
        try:
            with transaction.atomic():
                plans = [ChunkPlan(self).build(checked)]
                plans[0].write()
        except DatabaseError as exc:  # a constraint, a concurrent writer, a deadlock
            logger.info(
                "Offer import %s: chunk replayed row by row (%s)", self.offer_import.pk, exc
            )
            plans = [self._apply_alone(row) for row in checked]
        for plan in plans:
            rejected += plan.rejected
            self.applied += plan.applied
            self.created += plan.created
            self.updated += plan.updated
            self.deleted += plan.deleted
        for row, errors in sorted(rejected, key=lambda item: item[0].line):
            self._reject(row, errors)
        self.done += len(rows)

    def _apply_alone(self, row: Row) -> ChunkPlan:
        """One row in its own transaction; a row the database refuses gets an error (any
        other database failure, such as a lost connection, stops the import)."""
        try:
            with transaction.atomic():
                plan = ChunkPlan(self).build([row])
                plan.write()
        except (IntegrityError, DataError) as exc:
            logger.warning("Offer import %s, line %s: %s", self.offer_import.pk, row.line, exc)
            plan = ChunkPlan(self)
            plan.rejected.append((row, [("", _("This row could not be saved; try again."))]))
        return plan

    def _reject(self, row: Row, errors: list) -> None:
        self.error_rows += 1
        self.error_count += len(errors)
        room = MAX_STORED_ERRORS - len(self.errors)
        self.errors.extend(
            {"line": row.line, "sku": row.sku, "column": column, "message": str(message)}
            for column, message in errors[: max(room, 0)]
        )

    def _save_progress(self) -> None:
        counts = {"done_rows": self.done, "applied_rows": self.applied}
        counts["error_rows"] = self.error_rows
        OfferImport.objects.filter(pk=self.offer_import.pk).update(**counts)
        for name, value in counts.items():
            setattr(self.offer_import, name, value)

    def _deactivate_absent(self) -> int:
        """REPLACE: the shop's active offers whose SKU is nowhere in the file."""
        seen = self.parser.seen
        active = Offer.objects.filter(shop=self.shop, is_active=True).values_list("pk", "sku")
        absent = [pk for pk, sku in active.iterator(chunk_size=5000) if sku not in seen]
        count = 0
        with transaction.atomic():
            for ids in _batches(absent, 500):
                count += Offer.objects.filter(pk__in=ids, is_active=True).update(
                    is_active=False, updated_at=timezone.now()
                )
        return count

    def summary(self) -> str:
        parts = [
            ngettext("%(count)s row applied", "%(count)s rows applied", self.applied)
            % {"count": self.applied},
            ngettext("%(count)s row in error", "%(count)s rows in error", self.error_rows)
            % {"count": self.error_rows},
            _(
                "offers created: %(created)s, updated: %(updated)s, "
                "deactivated by “delete”: %(deleted)s"
            )
            % {"created": self.created, "updated": self.updated, "deleted": self.deleted},
        ]
        text = "; ".join(parts) + "."
        if self.mode == ImportMode.REPLACE:
            text += " " + ngettext(
                "%(count)s offer absent from the file was deactivated.",
                "%(count)s offers absent from the file were deactivated.",
                self.deactivated,
            ) % {"count": self.deactivated}
        if self.layout.ignored:
            text += " " + _("Columns ignored: %(columns)s.") % {
                "columns": ", ".join(self.layout.ignored)
            }
        if self.error_count > len(self.errors):
            text += " " + _("There are %(count)s errors; the report lists the first %(max)s.") % {
                "count": self.error_count,
                "max": MAX_STORED_ERRORS,
            }
        return text


# --- Entry points --------------------------------------------------------------------------


def _check_shop_may_import(shop) -> None:
    if shop.status == ShopStatus.SUSPENDED:
        raise DomainError(
            _("The shop is suspended: it cannot import offers."), code="shop_suspended"
        )
    if shop.status != ShopStatus.ACTIVE:
        raise DomainError(
            _("The shop is not active yet: it cannot import offers."), code="shop_not_active"
        )


def _read_upload(uploaded_file) -> bytes:
    size = getattr(uploaded_file, "size", None)
    if size is not None and size > MAX_FILE_BYTES:
        raise _too_large(size)
    if hasattr(uploaded_file, "seek"):
        uploaded_file.seek(0)
    data = uploaded_file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(size or len(data))
    return data


def offer_import_create(*, shop, uploaded_file, mode: str, user=None) -> OfferImport:
    """Checks the shop and the file (size, type, encoding, header), then records the import.
    No right is checked here: `offer_import_start` does it for sellers; the CLI is trusted."""
    _check_shop_may_import(shop)
    if mode not in ImportMode.values:
        raise DomainError(_("Unknown import mode."), code="invalid_mode", field="mode")
    name = os.path.basename(str(getattr(uploaded_file, "name", "") or "offers.csv"))
    data = _read_upload(uploaded_file)
    Layout(open_source(data, name).header)
    return OfferImport.objects.create(
        shop=shop,
        file=ContentFile(data, name=name),
        original_name=name[:255],
        mode=mode,
        created_by=user,
    )


def offer_import_start(*, shop, user, uploaded_file, mode: str) -> OfferImport:
    """A seller's import: staff of the shop only; runs as a task once this transaction commits."""
    from .tasks import run_offer_import

    is_staff = ShopStaff.objects.filter(shop=shop, user_id=user.pk).exists()
    if not (user.is_authenticated and user.is_active and is_staff):
        raise NotAllowed(_("Only the shop's staff can import its offers."))
    with transaction.atomic():
        offer_import = offer_import_create(
            shop=shop, uploaded_file=uploaded_file, mode=mode, user=user
        )
        enqueue_on_commit(run_offer_import, offer_import.pk)
    return offer_import


def _language(offer_import: OfferImport) -> str:
    user = offer_import.created_by
    return user.language if user else offer_import.shop.marketplace.default_language


def offer_import_run(*, offer_import: OfferImport, on_progress=None) -> OfferImport:
    """Runs a queued import to the end (DONE or FAILED). Does nothing unless it is queued, so
    a replayed task is harmless. `on_progress(offer_import)` is called after each chunk."""
    claimed = OfferImport.objects.filter(pk=offer_import.pk, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=timezone.now()
    )
    offer_import.refresh_from_db()
    if not claimed:
        return offer_import
    with translation.override(_language(offer_import)):
        run = None
        try:
            _check_shop_may_import(offer_import.shop)
            with offer_import.file.open("rb") as handle:
                data = handle.read()
            run = ImportRun(offer_import, open_source(data, offer_import.original_name))
            run.execute(on_progress)
        except DomainError as refusal:
            _finish(offer_import, ImportStatus.FAILED, str(refusal.message), run)
        except Exception:
            logger.exception("Offer import %s failed", offer_import.pk)
            message = _(
                "The import stopped on an unexpected error; the rows before line %(line)s "
                "may have been applied. Import the file again."
            ) % {"line": (run.done + 2) if run else 2}
            _finish(offer_import, ImportStatus.FAILED, message, run)
            raise
        else:
            _finish(offer_import, ImportStatus.DONE, run.summary(), run)
    return offer_import


def _finish(offer_import: OfferImport, status: str, message: str, run: ImportRun | None) -> None:
    offer_import.status = status
    offer_import.message = message
    offer_import.finished_at = timezone.now()
    fields = ["status", "message", "finished_at"]
    if run is not None:
        offer_import.done_rows, offer_import.applied_rows = run.done, run.applied
        offer_import.error_rows, offer_import.errors = run.error_rows, run.errors
        offer_import.deactivated_offers = run.deactivated
        fields += ["done_rows", "applied_rows", "error_rows", "errors", "deactivated_offers"]
    offer_import.save(update_fields=fields)


def import_errors_csv(offer_import: OfferImport) -> str:
    """The error report: `line;sku;column;message`, with a BOM so that Excel reads UTF-8."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["line", "sku", "column", "message"])
    for error in offer_import.errors:
        writer.writerow([error["line"], error["sku"], error["column"], error["message"]])
    if len(offer_import.errors) >= MAX_STORED_ERRORS:
        writer.writerow(
            [
                "",
                "",
                "",
                _("Only the first %(max)s errors are listed.") % {"max": MAX_STORED_ERRORS},
            ]
        )
    return out.getvalue()
