"""A deferred, set-based index refresh for bulk writers (the offer import, chunk by chunk).

The triggers keep the index right for every write. On SQLite they run once per row: each
offer written by the import re-indexed itself in its own statement savepoint (FTS5 writes a
segment at each one), which cost several times the import's own work. Inside
`search_index_deferred()`:

- SQLite drops the offer and product triggers *inside the transaction*: SQLite has one
  writer at a time, so no other connection can write before this transaction ends, and
  readers keep seeing the committed schema, triggers included. The writer reports what it
  changed (`IndexRefresh`); on the way out, still in the transaction, the stored statements
  of migration catalog 0004 bring the reported offers' index rows up to date in a few
  set-based passes (documents compared with the index, only the differences written), and
  the triggers are created again.
- PostgreSQL keeps its triggers: they run once per *statement* (transition tables), so an
  import chunk (one COPY, one UPDATE per set of changed columns) is already refreshed in a
  few set-based statements, and price or stock changes are copied without re-indexing. A
  deferred refresh measured no faster (the cost is in `catalog_offersearch_refresh` itself,
  see docs/performance.md; migration catalog 0005 plans a refresh of more than 16 offers
  per call), and the triggers stay on for every session.

The block is a savepoint: if anything inside raises, the writes and the dropped triggers are
rolled back together, and the index never sees a half-applied change.

The writer must report every change it makes to offers and products inside the block, and
make no other indexed write there. A write that only changes prices or stock is cheaper
through the triggers (they re-index the rare offer whose price band changed and skip the
others): the import opens the block only for chunks that create or rewrite documents
(`reindexes`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, transaction

# Offer fields the index reads: a change re-indexes the offer. Prices and discounts are only
# price-band tags (SQLite), the stock is not indexed on SQLite; other fields (VAT rate,
# quantities...) are not indexed at all.
INDEXED_FIELDS = frozenset({"description", "is_active", "shop_id", "product_id", "marketplace_id"})
PRICE_FIELDS = frozenset({"price_cents", "discount_price_cents"})
SQLITE_TRIGGERS = tuple(
    f"catalog_search_{table}_{event}"
    for table in ("catalog_offer", "catalog_product")
    for event in ("insert", "update", "delete")
)


def reindexes(fields: Iterable[str]) -> bool:
    """Whether changing these offer fields rewrites the offer's document (not just a price
    band, which the triggers handle cheaply row by row)."""
    return not INDEXED_FIELDS.isdisjoint(fields) or "id" in fields


class IndexRefresh:
    """What a bulk writer changed inside `search_index_deferred()`, to refresh on the way out."""

    def __init__(self):
        self.offer_ids: set[int] = set()  # to re-index
        self.priced_ids: set[int] = set()  # only prices changed: re-index if a band changed
        self.changed_product_ids: set[int] = set()  # re-index every offer of each
        self.new_product_ids: set[int] = set()

    def offers_created(self, ids: Iterable[int]) -> None:
        self.offer_ids.update(ids)

    def offers_changed(self, ids: Iterable[int], fields: Iterable[str]) -> None:
        """Offers (by id) whose `fields` (attribute names) changed; a deleted offer changed
        "id"."""
        fields = set(fields)
        if reindexes(fields):
            self.offer_ids.update(ids)
        elif fields & PRICE_FIELDS:
            self.priced_ids.update(ids)

    def products_created(self, ids: Iterable[int]) -> None:
        self.new_product_ids.update(ids)

    def products_changed(self, ids: Iterable[int]) -> None:
        """Products whose title, brand, description or category changed."""
        self.changed_product_ids.update(ids)

    def __bool__(self) -> bool:
        return any(
            (
                self.offer_ids,
                self.priced_ids,
                self.changed_product_ids,
                self.new_product_ids,
            )
        )


@contextmanager
def search_index_deferred(using: str = DEFAULT_DB_ALIAS) -> Iterator[IndexRefresh]:
    """SQLite: offer and product triggers off for this transaction, and the changes reported
    to the yielded `IndexRefresh` indexed in a few set-based statements on the way out.
    PostgreSQL: the statement triggers do it (see the module docstring)."""
    connection = connections[using]
    refresh = IndexRefresh()
    if connection.vendor != "sqlite":
        with transaction.atomic(using=using):
            yield refresh
        return
    backend = _SQLiteRefresh(connection)
    with transaction.atomic(using=using):
        backend.suspend()
        yield refresh
        if refresh:
            backend.refresh(refresh)
        backend.resume()


class _SQLiteRefresh:
    def __init__(self, connection):
        self.connection = connection
        self.dropped: list[str] = []

    def suspend(self) -> None:
        """Drop the offer and product triggers there are (and remember them: a trigger
        already missing stays missing, for `search_index_problems` to report)."""
        self.dropped = [
            name
            for (name,) in self._fetch(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                " AND name IN (SELECT value FROM json_each(%s))",
                [json.dumps(SQLITE_TRIGGERS)],
            )
        ]
        for name in self.dropped:
            self._execute(f'DROP TRIGGER "{name}"')

    def resume(self) -> None:
        for (statement,) in self._stored("trigger", json.dumps(self.dropped)):
            self._execute(statement)

    def refresh(self, refresh: IndexRefresh) -> None:
        """The offers to re-index, then the stored 'refresh' statements: shadow rows copied
        again, documents compared with the FTS rows, only the differences written."""
        ids = set(refresh.offer_ids)
        if refresh.changed_product_ids:
            ids.update(
                self._ids(
                    "SELECT id FROM catalog_offer"
                    " WHERE product_id IN (SELECT value FROM json_each(%s))",
                    [json.dumps(sorted(refresh.changed_product_ids))],
                )
            )
        priced = refresh.priced_ids - ids
        if priced:
            ((statement,),) = self._stored("repriced")
            ids.update(self._ids(statement, {"offers": json.dumps(sorted(priced))}))
        products = refresh.new_product_ids | refresh.changed_product_ids
        if not ids and not products:
            return
        params = {"offers": json.dumps(sorted(ids)), "products": json.dumps(sorted(products))}
        for (statement,) in self._stored("refresh"):
            self._execute(statement, params if "%(" in statement else None)

    def _stored(self, kind: str, names: str | None = None) -> list[tuple]:
        """Statements kept in catalog_search_sql (migrations 0003 and 0004), in order."""
        if names is None:
            return self._fetch(
                "SELECT sql FROM catalog_search_sql WHERE kind = %s ORDER BY position", [kind]
            )
        return self._fetch(
            "SELECT sql FROM catalog_search_sql WHERE kind = %s"
            " AND name IN (SELECT value FROM json_each(%s)) ORDER BY position",
            [kind, names],
        )

    def _ids(self, sql: str, params) -> list[int]:
        return [pk for (pk,) in self._fetch(sql, params)]

    def _fetch(self, sql: str, params) -> list[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def _execute(self, sql: str, params=None) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
