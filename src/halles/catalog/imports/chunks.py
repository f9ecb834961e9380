"""Applying a chunk of parsed rows: its offers and products read in two queries, each row
decided against them (the checks that need the database), then the changes written in a few
statements."""

from __future__ import annotations

from collections import defaultdict
from operator import itemgetter
from typing import TYPE_CHECKING

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import ImportMode, Offer, Product
from ..search.deferred import IndexRefresh, reindexes, search_index_deferred
from . import sql
from .columns import OFFER_DEFAULTS, OFFER_FIELDS, PRODUCT_FIELDS
from .rows import Row
from .sql import DATETIME_FIELDS, INSERT_FIELDS, PRODUCT_INSERT_FIELDS

if TYPE_CHECKING:
    from .run import ImportRun

offer_values = itemgetter(*OFFER_FIELDS)
NEW_PRODUCT = {"title": "", "description": "", "brand": "", "category_id": None}
DATETIME_POSITIONS = [i for i, name in enumerate(OFFER_FIELDS) if name in DATETIME_FIELDS]


class ChunkPlan:
    """What one chunk changes, decided row by row, then written in a few statements."""

    def __init__(self, run: ImportRun):
        self.run = run
        self.shop_id = run.shop.pk
        self.now = timezone.now()
        self.new_products: list[dict] = []  # products to create, with their values in "new"
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
        if product["id"] is None and "new" not in product:
            values = dict(NEW_PRODUCT)
            values.update(row.product)
            product["new"] = (row.gtin, *(values[name] for name in PRODUCT_FIELDS))
            self.new_products.append(product)
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
        if any(column == "product-id" for column, _message in row.errors):
            return {"id": None}  # an unreadable product-id is the row's error, not a title
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
        """Product columns change only a product this shop created. One this chunk creates
        takes the values of its rows in file order, the last one winning, as when the rows
        fall in different chunks."""
        if not row.product:
            return
        if product["id"] is None:
            if "new" in product:
                gtin, *values = product["new"]
                merged = dict(zip(PRODUCT_FIELDS, values, strict=True))
                merged.update(row.product)
                product["new"] = (gtin, *(merged[name] for name in PRODUCT_FIELDS))
            return
        if product.get("created_by_shop_id") != self.shop_id:
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

    def write_indexed(self) -> None:
        """Write the chunk and keep the search index right: in one deferred, set-based
        refresh when the chunk creates or rewrites indexed values; through the triggers when
        it only changes prices, stock or unindexed fields (they re-index the rare offer whose
        price band changed and skip the rest, cheaper than a refresh of every offer)."""
        if self._rewrites_documents():
            with search_index_deferred() as index:
                self.write(index)
        else:
            self.write(IndexRefresh())

    def _rewrites_documents(self) -> bool:
        return bool(
            self.inserts
            or self.new_products
            or self.product_updates
            or any(reindexes(fields) for fields in self.offer_updates)
        )

    def write(self, index: IndexRefresh) -> None:
        """The chunk's writes, each change reported to `index` (the search index is
        refreshed for them at the end of the chunk, see `search_index_deferred`). New rows
        get their ids first, so that products and offers go in by COPY (PostgreSQL) or a
        prepared INSERT (SQLite) rather than through the ORM."""
        now = connection.ops.adapt_datetimefield_value(self.now)
        marketplace_id = self.run.shop.marketplace_id
        if self.new_products:
            ids = sql.new_ids(Product, len(self.new_products))
            attributes = self.run.empty_attributes
            rows = []
            for product, pk in zip(self.new_products, ids, strict=True):
                product["id"] = pk
                gtin, *values = product.pop("new")
                rows.append((pk, marketplace_id, self.shop_id, gtin, *values, attributes, now, now))
            sql.insert(Product, PRODUCT_INSERT_FIELDS, rows)
            index.products_created(ids)
        ids = sql.new_ids(Offer, len(self.inserts))
        rows = []
        for (state, product, sku), pk in zip(self.inserts, ids, strict=True):
            values = offer_values(state)
            if any(values[i] is not None for i in DATETIME_POSITIONS):
                values = self._adapt(OFFER_FIELDS, values)
            rows.append(
                (pk, marketplace_id, self.shop_id, product["id"], sku, *values, False, now, now)
            )
        sql.insert(Offer, ("id", *INSERT_FIELDS), rows)
        index.offers_created(ids)
        for fields, updates in self.offer_updates.items():
            sql.update(Offer, fields, [(*values, now, pk) for values, pk in updates])
            index.offers_changed((pk for _values, pk in updates), fields)
        for fields, updates in self.product_updates.items():
            sql.update(Product, fields, [(*values, now, pk) for values, pk in updates])
            index.products_changed(pk for _values, pk in updates)


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
