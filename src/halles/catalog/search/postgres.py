"""The PostgreSQL backend: full text on the side table `catalog_offersearch` (statement
triggers, migration catalog 0003)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

from django.db import transaction

from .base import Backend
from .query import Query, Row

# The marks of the title's, the brand's and the category's lexemes in the vector (migration
# catalog 0008).
TITLE, BRAND, CATEGORY = "!", "@", "^"


def _marked(lexemes: list[str], prefix: bool, marks: list[str]) -> str:
    """A tsquery: each lexeme of the words (`lexemes`: one string of lexemes per word) in
    one of the marked places; the last word's lexemes as prefixes when `prefix`."""
    parts = []
    for position, word in enumerate(lexemes):
        suffix = ":*" if prefix and position == len(lexemes) - 1 else ""
        for lexeme in word.split():
            quoted = lexeme.replace("\\", "\\\\").replace("'", "''")
            places = [f"'{mark}{quoted}'{suffix}" for mark in marks]
            parts.append(places[0] if len(places) == 1 else "( " + " | ".join(places) + " )")
    return " & ".join(parts)


# Measured costs, relative to testing a row in a scan of the search table: a row id from the
# GIN index costs about as much, a row then read from the table six times as much.
INDEX_ROW_COST = 6


def index_is_cheaper(matches: float, candidates: float, offers: float, limit: int) -> bool:
    """Whether the window's `limit` first matches cost less through the index than by
    scanning the table, given the number of `matches` (all conditions), of `candidates`
    (the words and tags the index answers) and of `offers` in the table. The index gives
    every candidate, then the table's rows are read until `limit` of them pass the other
    conditions; the scan tests rows until it has found `limit` matches."""
    matches, candidates = max(1.0, matches), max(1.0, candidates)
    scanned = min(offers, limit * offers / matches)
    read = min(candidates, limit * candidates / matches)
    return candidates + INDEX_ROW_COST * read < scanned


def walk_is_shorter(share: float, wanted: int, offers: float) -> bool:
    """Whether walking the newest offers finds the `wanted` newest of a relevance tier (a
    `share` of the `offers`) in fewer rows (wanted / share) than the index gives for the
    tier (every match of it: share * offers, to keep the newest)."""
    return share > 0 and wanted / share < share * offers


class PostgresMatch(NamedTuple):
    words: str  # tsquery text of the words alone ("" without words)
    full: str  # tsquery text of the words and the tags ("" when there is neither)
    tiers: tuple[str, ...] = ()  # the words in the title; title or brand; ... or category


class PostgresBackend(Backend):
    """PostgreSQL full text, on the side table catalog_offersearch, aliased "o": it carries the
    prices, stock, delivery kinds and sectors of the offer, so a search never reads the offer
    table and every filter and sort is on one row (the planner then picks the GIN index for
    rare words, or an ordered index walk filtering each row for common ones).

    The tsquery holds only the words and the selective tags (category, shop, promotion): a
    GIN scan decompresses every posting list it uses, and one of a million offers (every
    offer of the marketplace, every offer in stock) costs ~25 ms.

    Relevance: the same tiers as on SQLite. The lexemes of the title, the brand and the
    category are also in the vector marked (TITLE, BRAND, CATEGORY), so that the index
    answers each tier exactly. (Tiers read from the weights of the lexemes need a recheck of
    every row having the words: a GIN index does not store weights.)"""

    # A walk in index order: no bitmap, no sequential scan (with bitmaps off, the planner
    # read a whole table and sorted it rather than walk the index)
    WALK = {"enable_bitmapscan": "off", "enable_seqscan": "off"}
    WALK_ROWS = 5_000  # a price walk expected to read more rows than this uses the GIN index

    @contextmanager
    def session(self) -> Iterator[None]:
        """In one transaction (the settings are local to it), restored after.

        Synchronized sequential scans off: with them, a scan of a table larger than a
        quarter of shared_buffers starts wherever the previous one was, so the window (the
        first matches found) would be another sample at each request (facets changing
        between two pages of the same result) and would read cold pages."""
        with (
            transaction.atomic(using=self.connection.alias),
            self._settings(synchronize_seqscans="off"),
        ):
            yield

    def prepare(self, query: Query) -> PostgresMatch:
        """The words are folded like the index, by halles_search_fold()."""
        words, tiers = "", ()
        if query.terms.words:
            prefixes = [False] * len(query.terms.words)
            prefixes[-1] = query.terms.prefix
            words, lexemes = self._fetch(
                "SELECT to_tsquery('simple', string_agg(quote_literal(halles_search_fold("
                "t.word)) || CASE WHEN t.prefix THEN ':*' ELSE '' END, ' & ' ORDER BY t.n))"
                "::text, array_agg(array_to_string(tsvector_to_array(to_tsvector('simple',"
                " halles_search_fold(t.word))), ' ') ORDER BY t.n)"
                " FROM unnest(%s::text[], %s::boolean[]) WITH ORDINALITY AS t(word, prefix, n)",
                [query.terms.words, prefixes],
            )[0]
            words = words or ""
            if words:
                tiers = tuple(
                    _marked(lexemes, query.terms.prefix, places)
                    for places in ([TITLE], [TITLE, BRAND], [TITLE, BRAND, CATEGORY])
                )
        _visible, *selective = self.tags(query)
        tags = ["( " + " | ".join(f"'#{tag}'" for tag in group) + " )" for group in selective]
        full = " & ".join(([f"( {words} )"] if words else []) + tags)
        return PostgresMatch(words, full, tiers)

    def has_words(self, match) -> bool:
        return bool(match.words)  # words that fold to nothing do not count

    newest_first = False

    def window(self, query, match, limit, with_price, with_rank=False):
        """The first `limit` matches found, in no order: PostgreSQL stops as soon as it has
        them (no sort over every match, which reads every matching row).

        The planner estimates the number of matches well but not what testing a row costs
        against reading the index: for a word in 1 % of the offers it read the table until
        it had its matches (86,000 rows, 48 ms) rather than use the index (17 ms). When it
        plans such a scan, its estimates decide (_index_is_cheaper); the index is then read
        alone (the other conditions apart, so that no other index is combined with it)."""
        conditions, params = self._conditions(query, match)
        price = query.price_sql if with_price else "NULL::integer"
        price_params = query.price_params if with_price else []
        table, table_params = "catalog_offersearch", []
        if match.full and self._index_is_cheaper(conditions, params, match, limit):
            # Planned alone (OFFSET 0) and so without the LIMIT: through the index
            table = "(SELECT *, ctid FROM catalog_offersearch WHERE vector @@ %s::tsquery OFFSET 0)"
            table_params = [match.full]
        rank, rank_params = "0", []
        if with_rank and match.tiers:  # the tier of each row: no second reading (exact)
            tiers = " ".join(
                f"WHEN o.vector @@ %s::tsquery THEN {len(match.tiers) - position}"
                for position in range(len(match.tiers))
            )
            rank, rank_params = f"CASE {tiers} ELSE 0 END", list(match.tiers)
        found = self._fetch(
            f"SELECT o.offer_id, o.category_id, o.shop_id, {price}, o.delivery_kinds,"
            f" (o.ctid::text::point)[0]::bigint, {rank} FROM {table} AS o WHERE {conditions}"
            " LIMIT %s",
            [*price_params, *rank_params, *table_params, *params, limit],
        )
        return [Row(*row[:4], kinds=tuple(row[4]), block=row[5], rank=row[6]) for row in found]

    def _index_is_cheaper(self, conditions: str, params: list, match, limit: int) -> bool:
        """Whether to read the window through the index alone rather than as planned: when
        the planner's plan does not read the index (a scan of the table, or of another
        index) and index_is_cheaper() by its estimates, all from one plan."""
        (plan,) = self._fetch(
            "EXPLAIN (FORMAT JSON) (SELECT 1 FROM catalog_offersearch o"
            f" WHERE {conditions} LIMIT %s) UNION ALL SELECT 1 FROM catalog_offersearch"
            " WHERE vector @@ %s::tsquery UNION ALL SELECT 1 FROM catalog_offersearch",
            [*params, limit, match.full],
        )[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        try:
            window, words, table = plan[0]["Plan"]["Plans"]
            scan = window["Plans"][0]  # under the LIMIT
            estimates = (scan["Plan Rows"], words["Plan Rows"], table["Plan Rows"])
        except (KeyError, IndexError, TypeError, ValueError):  # a plan of another shape
            return False
        if scan["Node Type"] == "Bitmap Heap Scan":
            return False  # the planner reads the index already (with the other indexes)
        return index_is_cheaper(*estimates, limit)

    def newest(self, query, match, limit):
        return self._ids(query, match, "", [], limit)

    def relevance(self, query, match, rows, needed, *, exact):
        """Tiers: title (A), title or brand (AB), ... or category (ABC), anywhere. On the
        window when it holds the whole result; else tier by tier, newest first, from the
        index, until the page is full."""
        if exact:  # the window has every match, with its tier
            return [row.id for row in sorted(rows, key=lambda row: (-row.rank, -row.id))]
        ordered: list[int] = []
        higher: list[str] = []
        density, offers = self._density(rows)
        for position, tier in enumerate((*match.tiers, None)):
            extra, params = "", []
            if tier is not None:
                extra, params = " AND o.vector @@ %s::tsquery", [tier]
            for above in higher:
                extra += " AND NOT o.vector @@ %s::tsquery"
                params.append(above)
            # The window's rows have their tier: the tier's share of the offers
            share = density * sum(row.rank == len(match.tiers) - position for row in rows)
            share /= len(rows)
            wanted = needed - len(ordered)
            walk = walk_is_shorter(share, wanted, offers)
            with self._settings(**(self.WALK if walk else {})):
                ordered += self._ids(query, match, extra, params, wanted)
            if len(ordered) >= needed or tier is None:
                break
            higher.append(tier)
        return ordered

    def _density(self, rows) -> tuple[float, float]:
        """The share of the offers that match, and the number of offers. The window read the
        table in physical order from its first block (session()) and stopped after its
        matches: the share of the table it read gives the share of the offers that match."""
        pages, offers = self._fetch(
            "SELECT greatest(relpages, 1), greatest(reltuples, 1) FROM pg_class"
            " WHERE oid = 'catalog_offersearch'::regclass",
            [],
        )[0]
        read = min(1.0, (max(row.block for row in rows) + 1) / pages)
        return len(rows) / read / offers, offers

    @contextmanager
    def _settings(self, **values: str) -> Iterator[None]:
        """Settings for the statements inside, restored after (in the session's transaction:
        set_config(..., true) does not outlive it)."""
        if not values:
            yield
            return
        previous = {}
        with self.connection.cursor() as cursor:
            for name, value in values.items():  # current_setting(), then set_config()
                cursor.execute(
                    "SELECT current_setting(%s), set_config(%s, %s, true)", [name, name, value]
                )
                previous[name] = cursor.fetchone()[0]
            yield
            for name, value in previous.items():
                cursor.execute("SELECT set_config(%s, %s, true)", [name, value])

    def _ids(self, query, match, extra: str, extra_params: list, limit: int) -> list[int]:
        conditions, params = self._conditions(query, match)
        return [
            offer_id
            for (offer_id,) in self._fetch(
                f"SELECT o.offer_id FROM catalog_offersearch o WHERE {conditions}{extra}"
                " ORDER BY o.offer_id DESC LIMIT %s",
                [*params, *extra_params, limit],
            )
        ]

    def price_order(self, query, match, rows, *, descending, limit):
        """Two walks of the (marketplace, price) indexes of the search rows: the offers sold
        at their price, the offers sold at a discount in force; merged.

        The planner underestimates how many rows pass the filters (it multiplies their
        selectivities) and then prefers reading every match through the GIN index and
        sorting them (~30 ms for a common word). When matches are dense enough for a walk to
        find its rows early, bitmap scans are switched off for it. The window read the table
        in physical order and stopped after COUNT_CAP matches: the share of the table it
        read gives the share of the offers that match.

        The `limit`-th cheapest (dearest) price of the window bounds the walks: the window
        already holds `limit` matches at that price or better."""
        walk = limit / self._density(rows)[0] <= self.WALK_ROWS
        prices = sorted(row.price for row in rows)
        bound = prices[-limit] if descending else prices[limit - 1]
        found = []
        with self._settings(**(self.WALK if walk else {})):
            for promoted in (False, True):
                if query.filters.on_promotion and not promoted:
                    continue
                found += self._price_walk(query, match, promoted, descending, limit, bound)
                if len(found) >= limit:  # the next walk need not pass the limit-th price
                    prices = sorted(price for _pk, price in found)
                    bound = prices[-limit] if descending else prices[limit - 1]
        sign = -1 if descending else 1
        found.sort(key=lambda item: (sign * item[1], sign * item[0]))
        return [pk for pk, _price in found[:limit]]

    def _price_walk(self, query, match, promoted, descending, limit, bound):
        conditions, params = self._conditions(query, match, prices=False)
        if promoted:
            column = "o.discount_price_cents"
            conditions += f" AND o.discount_price_cents IS NOT NULL AND {query.promotion_sql}"
        else:
            column = "o.price_cents"
            conditions += f" AND NOT {query.promotion_sql}"
        params += query.promotion_params
        low, high = query.min_price, query.max_price  # in each walk, the price is the column
        if descending:
            low = bound if low is None else max(low, bound)
        else:
            high = bound if high is None else min(high, bound)
        if low is not None:
            conditions += f" AND {column} >= %s"
            params.append(low)
        if high is not None:
            conditions += f" AND {column} <= %s"
            params.append(high)
        direction = "DESC" if descending else "ASC"
        return self._fetch(
            f"SELECT o.offer_id, {column} FROM catalog_offersearch o WHERE {conditions}"
            f" ORDER BY {column} {direction}, o.offer_id {direction} LIMIT %s",
            [*params, limit],
        )

    def delivery_counts(self, rows):
        return list(Counter(kind for row in rows for kind in row.kinds or ()).items())

    def _conditions(
        self, query: Query, match: PostgresMatch, *, prices: bool = True
    ) -> tuple[str, list]:
        """WHERE of a search on catalog_offersearch "o" (without the price range: `prices`)."""
        conditions, params = ["o.marketplace_id = %s"], [query.marketplace_id]
        if match.full:
            conditions.append("o.vector @@ %s::tsquery")
            params.append(match.full)
        if query.sector_id is None:
            conditions.append("o.sectors IS NULL")
        else:
            conditions.append("(o.sectors IS NULL OR %s = ANY(o.sectors))")
            params.append(query.sector_id)
        if query.filters.in_stock:
            conditions.append("o.in_stock")
        if query.filters.delivery_kind is not None:
            conditions.append("%s = ANY(o.delivery_kinds)")
            params.append(str(query.filters.delivery_kind))
        if prices and query.residual_sql:
            conditions.append(query.residual_sql)
            params += query.residual_params
        elif query.filters.on_promotion:
            conditions.append(query.promotion_sql)
            params += query.promotion_params
        return " AND ".join(conditions), params
