"""The SQLite backend: FTS5 (`catalog_offer_fts`, fed by triggers through shadow tables,
migration catalog 0003)."""

from __future__ import annotations

import json
from typing import NamedTuple

from .base import Backend
from .query import Query, Row, fold, price_band, words_of


class SQLiteMatch(NamedTuple):
    expression: str  # FTS5 query
    words: bool
    check_marketplace: bool  # the marketplace is checked on the offer row


class SQLiteBackend(Backend):
    """FTS5.

    FTS5 intersects posting lists by seeking in each one (~0.1 ms a seek in a list of a
    million offers), so long lists are kept out of queries with words: the marketplace, the
    stock and the delivery kinds are checked on the offer row, sector restrictions by
    excluding the (few) restricted offers ("rs") not visible to the buyer's sector.

    Relevance: field tiers (see `relevance`). bm25() is not used: it reads the whole posting
    list of every word and tag to weigh it, ~50 ms for a common word on a million offers.
    Price order on large results walks the price bands (tags pbN, dbN).
    """

    TEXT = "{title brand category description offer_description}"
    TIERS = ("{title}", "{title brand}", "{title brand category}")
    SMALL_RESULT = 300
    NARROW_BANDS = 8  # a price range over at most this many bands is also a tag filter

    def prepare(self, query: Query) -> SQLiteMatch:
        last = len(query.terms.words) - 1
        parts = [
            f"{self.TEXT} : {self._phrase(query, word, position == last)}"
            for position, word in enumerate(query.terms.words)
        ]
        visible, *selective = self.tags(query)
        parts += [self._any(group) for group in selective]
        bands = self._bands(query)
        if bands is not None and len(bands) <= self.NARROW_BANDS:
            parts.append(self._any([f"{kind}{band}" for band in bands for kind in ("pb", "db")]))
        if not parts:  # no words, no selective filter: walk the marketplace's offers
            return SQLiteMatch(self._any(visible), words=False, check_marketplace=False)
        hidden = 'tags : "rs"'
        if query.sector_id is not None:
            hidden = f'(tags : "rs" NOT tags : "{visible[-1]}")'
        expression = f"({' AND '.join(parts)}) NOT {hidden}"
        return SQLiteMatch(expression, words=bool(query.terms.words), check_marketplace=True)

    def has_words(self, match) -> bool:
        return match.words

    def window(self, query, match, limit, with_price, with_rank=False):
        residual, params = self._row_filters(query, match)
        price = query.price_sql if with_price else "NULL"
        price_params = query.price_params if with_price else []
        return [
            Row(*row)
            for row in self._fetch(
                f"SELECT f.rowid, p.category_id, o.shop_id, {price}, p.title, p.brand"
                " FROM catalog_offer_fts f"
                " JOIN catalog_offer o ON o.id = f.rowid"
                " JOIN catalog_product p ON p.id = o.product_id"
                f" WHERE catalog_offer_fts MATCH %s{residual}"
                " ORDER BY f.rowid DESC LIMIT %s",
                [*price_params, match.expression, *params, limit],
            )
        ]

    def relevance(self, query, match, rows, needed, *, exact):
        """Tiers, best first: every word in the title; in the title or the brand; in the title,
        the brand or the category; anywhere (descriptions). Newest first within a tier.

        Each tier is read from the index, newest first, only until the page is full. A small
        result (a few hundred offers, spread over the whole index) is ranked instead from the
        titles, brands and category names the window read, cut into words like the index."""
        if exact and len(rows) <= self.SMALL_RESULT:
            return self._relevance_from_text(query, rows)
        residual, params = self._row_filters(query, match)
        last = len(query.terms.words) - 1
        ordered: list[int] = []
        higher: list[str] = []
        for columns in (*self.TIERS, None):
            expression = match.expression
            if columns is not None:
                words = " AND ".join(
                    f"{columns} : {self._phrase(query, word, position == last)}"
                    for position, word in enumerate(query.terms.words)
                )
                expression = f"({expression}) AND ({words})"
            for above in higher:
                expression = f"({expression}) NOT ({above})"
            ordered += [
                offer_id
                for (offer_id,) in self._fetch(
                    "SELECT f.rowid FROM catalog_offer_fts f JOIN catalog_offer o ON o.id = f.rowid"
                    f" WHERE catalog_offer_fts MATCH %s{residual}"
                    " ORDER BY f.rowid DESC LIMIT %s",
                    [expression, *params, needed - len(ordered)],
                )
            ]
            if len(ordered) >= needed or columns is None:
                break
            higher.append(words)
        return ordered

    def _relevance_from_text(self, query: Query, rows: list[Row]) -> list[int]:
        paths = dict(
            self._fetch(
                "SELECT id, path_names FROM catalog_search_category"
                " WHERE id IN (SELECT value FROM json_each(%s))",
                [json.dumps(sorted({row.category_id for row in rows if row.category_id}))],
            )
        )
        words = [fold(word) for word in query.terms.words]
        prefix = query.terms.prefix

        def found(tokens: set[str]) -> bool:
            *whole, last = words
            return all(word in tokens for word in whole) and (
                last in tokens or (prefix and any(token.startswith(last) for token in tokens))
            )

        def tier(row: Row) -> int:
            tokens = set(words_of(row.title))
            if found(tokens):
                return 3
            tokens.update(words_of(row.brand))
            if found(tokens):
                return 2
            tokens.update(words_of(paths.get(row.category_id, "")))
            return 1 if found(tokens) else 0

        return [row.id for row in sorted(rows, key=lambda row: (-tier(row), -row.id))]

    def price_order(self, query, match, rows, *, descending, limit):
        """Walk the price bands from the cheapest (or dearest) one, in batches of doubling
        width; an offer is found in the band of its effective price through its pbN (price)
        or dbN (discount price) tag. Exact: a batch is finished before stopping. The first
        batch is sized from the prices of the newest matches (a sample of the result)."""
        bands = self._bands(query)
        if bands is None:  # up to the highest price a PositiveIntegerField holds
            bands = range(price_band(query.min_price or 0), price_band(2**31 - 1) + 1)
        if descending:
            bands = bands[::-1]
        residual, params = self._row_filters(query, match)
        found: list[tuple[int, int]] = []
        width, done = self._first_batch(rows, bands, descending, limit), 0
        while done < len(bands) and len(found) < limit:
            batch = bands[done : done + width]
            done += len(batch)
            width *= 2
            tags = self._any([f"{kind}{band}" for band in batch for kind in ("pb", "db")])
            rows = self._fetch(
                f"SELECT f.rowid, {query.price_sql} FROM catalog_offer_fts f"
                " JOIN catalog_offer o ON o.id = f.rowid"
                f" WHERE catalog_offer_fts MATCH %s{residual}",
                [*query.price_params, f"({match.expression}) AND {tags}", *params],
            )
            wanted = set(batch)
            found += [(price, pk) for pk, price in rows if price_band(price) in wanted]
        sign = -1 if descending else 1
        found.sort(key=lambda item: (sign * item[0], sign * item[1]))
        return [pk for _price, pk in found[:limit]]

    @staticmethod
    def _first_batch(rows: list[Row], bands: range, descending: bool, limit: int) -> int:
        """How many bands should hold about twice `limit` matches, judging by the sample."""
        span = max(1, rows[0].id - rows[-1].id + 1)
        estimated_total = len(rows) * rows[0].id / span
        share = min(1.0, 2 * limit / max(estimated_total, 1.0))
        prices = sorted((row.price for row in rows), reverse=descending)
        reach = price_band(prices[min(len(prices) - 1, int(share * len(prices)))])
        return max(1, abs(reach - bands[0]) + 1)

    def _row_filters(self, query: Query, match: SQLiteMatch) -> tuple[str, list]:
        """Conditions on the offer row "o": the price range and discount dates, the stock,
        the delivery kind, and the marketplace when the FTS query does not hold it."""
        conditions, params = [], list(query.residual_params)
        if query.residual_sql:
            conditions.append(query.residual_sql)
        if match.check_marketplace:
            conditions.append("o.marketplace_id = %s")
            params.append(query.marketplace_id)
        if query.filters.in_stock:
            conditions.append("o.stock > 0")
        if query.filters.delivery_kind is not None:
            conditions.append(
                "EXISTS (SELECT 1 FROM catalog_offer_delivery_modes od"
                " JOIN shops_deliverymode dm ON dm.id = od.deliverymode_id"
                " WHERE od.offer_id = o.id AND dm.is_active AND dm.kind = %s)"
            )
            params.append(str(query.filters.delivery_kind))
        if not conditions:
            return "", []
        return " AND " + " AND ".join(conditions), params

    @staticmethod
    def _bands(query: Query) -> range | None:
        if query.max_price is None:
            return None
        low = price_band(query.min_price or 0)
        return range(low, max(low, price_band(query.max_price)) + 1)

    @staticmethod
    def _phrase(query: Query, word: str, last: bool) -> str:
        return f'"{word}"' + (" *" if last and query.terms.prefix else "")

    @staticmethod
    def _any(tags: list[str]) -> str:
        return "(" + " OR ".join(f'tags : "{tag}"' for tag in tags) + ")"

    def delivery_counts(self, rows):
        if not rows:
            return []
        return self._fetch(
            "SELECT dm.kind, count(DISTINCT od.offer_id)"
            " FROM catalog_offer_delivery_modes od"
            " JOIN shops_deliverymode dm ON dm.id = od.deliverymode_id"
            " WHERE dm.is_active AND od.offer_id IN (SELECT value FROM json_each(%s))"
            " GROUP BY dm.kind",
            [json.dumps([row.id for row in rows])],
        )
