"""Catalog search: full text, filters, sorts and facets over a marketplace's visible offers.

One interface (`search_offers`), two backends chosen by the database vendor.

The index is built by the database (triggers, migration catalog 0003), so bulk inserts,
QuerySet.update() and raw SQL keep it right; `rebuild_search_index`, `repair_search_index`,
`search_index_suspended` (bulk loads) and `search_index_problems` are at the end. It holds
only *visible* offers (active offer of an active shop) and, besides the words, filter
*tags*: shop, category and every ancestor, has a discount price, B2B visibility.

- SQLite: the FTS5 table `catalog_offer_fts` (rowid = offer id; columns title, brand,
  category path, product description, offer description, tags; tokenizer `unicode61
  remove_diacritics 2`, so "creme" finds "crème"), fed from shadow tables (see the
  migration for why). FTS5 intersects posting lists by seeking in each one, ~0.1 ms a seek
  in a list of a million offers, so only *selective* filters are tags (category, shop,
  promotion, a narrow price range); the marketplace, the stock and the delivery kind are
  checked on the offer row. Price bands (pbN/dbN tags) let price sorts walk the prices.
- PostgreSQL: the side table `catalog_offersearch`, GIN-indexed tsvector (config 'simple',
  accents folded by our `halles_search_fold()`: the unaccent extension needs a superuser)
  plus the offer's price, discount, stock, delivery kinds and sectors. A side table rather
  than a column on catalog_offer: the Offer model stays free of vendor fields, the offer
  rows (hot: stock changes at every order) stay narrow, and a search never reads the offer
  table: every filter and sort is on one row, which lets the planner choose between the GIN
  index (rare words) and an ordered index walk that filters rows (common words). Weights:
  title A, brand B, category C, descriptions D (four tiers, see relevance below).

How a query runs, and the approximations that keep it fast on a million offers:

1. The *window*: at most `COUNT_CAP` + 1 matches, all filters applied (SQLite: the newest,
   an ordered walk of the FTS index; PostgreSQL: the first found, no sort).
2. `total` is exact up to `COUNT_CAP`; beyond, `total_is_exact` is False, `total` is
   `COUNT_CAP` ("1 000+ results") and the pages stop there. Counting 800,000 matches costs
   more than the whole 50 ms budget on both databases.
3. Facets are counted on the current result set: each facet does *not* ignore its own
   filter. Exact when `total_is_exact`, else counted on the window (a sample of
   `COUNT_CAP` matches: the newest on SQLite, the first found on PostgreSQL). "category"
   counts the category each product is filed in (not rolled up to its parents), "shop" the
   shops, "delivery" the offers having an active delivery mode of each kind; each lists its
   `FACET_SIZE` largest values.
4. Relevance: four tiers, best first: every word in the title; in the title or the brand;
   in the title, the brand or the category; anywhere (descriptions). Newest first within a
   tier. Exact over the whole result; each tier is read only until the page is full.
   (bm25 and ts_rank were measured: bm25() reads the whole posting list of every word to
   weigh it, ~50 ms for a common word; ts_rank must read every matching row.) Without
   words, relevance is "newest".
5. Price sorts use the effective price (the discount price inside its dates) and are exact
   over the whole result; a large result is walked in price order (SQLite: price bands;
   PostgreSQL: price indexes), offers sold at a discount in force and at their price apart.
6. "newest" is the order of creation: offer id, descending.

The query is user input: it is cut into words (letters and digits), at most `MAX_TERMS`,
each quoted or folded by the database; no input produces an SQL or full-text syntax error.
Words are ANDed. The last word is a prefix (as you type) when it has 3+ letters, the query
does not end with a space, and the query without the prefix has at most `COUNT_CAP`
results (expanding "vas*" to vas, vase, vases... costs a pass over all their postings).
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from halles.core.errors import DomainError
from halles.shops.models import DeliveryKind, Shop

from .models import Category, Offer

SORTS = ("relevance", "price_asc", "price_desc", "newest")
COUNT_CAP = 1_000
FACET_SIZE = 50
MAX_PER_PAGE = 100
MAX_QUERY_LENGTH = 500
MAX_TERMS = 12
MAX_TERM_LENGTH = 60
PREFIX_MIN_LENGTH = 3
LIGATURES = (("œ", "oe"), ("æ", "ae"))


@dataclass(frozen=True)
class SearchFilters:
    category_id: int | None = None  # includes sub-categories
    shop_id: int | None = None
    min_price_cents: int | None = None  # on the effective price (discount applied when
    max_price_cents: int | None = None  # active at the time of the search)
    delivery_kind: str | None = None  # shops.DeliveryKind: an active mode of that kind
    in_stock: bool = False
    on_promotion: bool = False  # a discount price in force now


@dataclass
class SearchResult:
    offers: list[Offer]  # the page, with product, product.category and shop selected
    total: int  # exact when total_is_exact, else COUNT_CAP (there are more)
    page: int
    pages: int
    facets: dict[str, list[tuple]] = field(default_factory=dict)
    total_is_exact: bool = True


class Terms(NamedTuple):
    words: list[str]
    prefix: bool  # the last word matches as a prefix


class Row(NamedTuple):
    id: int
    category_id: int | None
    shop_id: int
    price: int | None  # effective price, when the query needed it
    title: str = ""  # SQLite: for the relevance tiers of small results
    brand: str = ""
    kinds: tuple[str, ...] | None = None  # PostgreSQL: the kinds of its delivery modes
    block: int = 0  # PostgreSQL: where the row is in the table (to estimate a result's size)


class BadSort(DomainError):
    code = "bad_sort"
    default_message = _("Unknown sort order.")


def parse_terms(query: str) -> Terms:
    """Words of a user query: lower case, letters and digits only, de-duplicated."""
    text = unicodedata.normalize("NFC", (query or "")[:MAX_QUERY_LENGTH]).lower()
    for ligature, plain in LIGATURES:
        text = text.replace(ligature, plain)
    words: list[str] = []
    for word in re.findall(r"[^\W_]+", text):
        word = word[:MAX_TERM_LENGTH]
        if word not in words:
            words.append(word)
    words = words[:MAX_TERMS]
    typing = bool(words) and not text[-1:].isspace() and text.rstrip().endswith(words[-1])
    return Terms(words, prefix=typing and len(words[-1]) >= PREFIX_MIN_LENGTH)


# --- The query, backend-neutral parts ------------------------------------------------------


def price_band(cents: int) -> int:
    """The price band of an amount (SQLite tags): 20 bands under 1 EUR, then 60 per power of
    ten, 2.5 % to 7.5 % wide, by the first three digits. Same formula as the migration."""
    if cents < 100:
        return max(0, cents) // 5
    digits = str(cents)
    lead = int(digits[:3])
    if lead < 200:
        step = (lead - 100) // 5
    elif lead < 500:
        step = 20 + (lead - 200) // 15
    else:
        step = 40 + (lead - 500) // 25
    return 20 + (len(digits) - 3) * 60 + step


@dataclass(frozen=True)
class Query:
    """What the backends need: the words, the tag filters and the row-level filters."""

    marketplace_id: int
    sector_id: int | None
    terms: Terms
    filters: SearchFilters
    min_price: int | None
    max_price: int | None
    residual_sql: str  # conditions on catalog_offer "o", or ""
    residual_params: list
    price_sql: str  # effective price of "o"
    price_params: list
    promotion_sql: str  # the discount of "o" is in force
    promotion_params: list


def _build_query(marketplace_id, terms, filters, sector_id, at, connection) -> Query:
    when = connection.ops.adapt_datetimefield_value(at)
    promotion = (
        "(o.discount_price_cents IS NOT NULL"
        " AND (o.discount_starts_at IS NULL OR o.discount_starts_at <= %s)"
        " AND (o.discount_ends_at IS NULL OR o.discount_ends_at > %s))"
    )
    price = f"CASE WHEN {promotion} THEN o.discount_price_cents ELSE o.price_cents END"
    residual, params = [], []
    low, high = filters.min_price_cents, filters.max_price_cents
    if low is not None or high is not None:
        # The effective price in range, written so that the planner can estimate it (from
        # the histograms of both columns) and use the price indexes.
        bounds = " AND ".join(
            f"{{column}} {operator} %s"
            for operator, bound in ((">=", low), ("<=", high))
            if bound is not None
        )
        values = [int(bound) for bound in (low, high) if bound is not None]
        residual.append(
            f"((NOT {promotion} AND {bounds.format(column='o.price_cents')})"
            f" OR ({promotion} AND {bounds.format(column='o.discount_price_cents')}))"
        )
        params += [when, when, *values, when, when, *values]
    if filters.on_promotion:
        residual.append(promotion)
        params += [when, when]
    return Query(
        marketplace_id=int(marketplace_id),
        sector_id=None if sector_id is None else int(sector_id),
        terms=terms,
        filters=filters,
        min_price=None if filters.min_price_cents is None else int(filters.min_price_cents),
        max_price=None if filters.max_price_cents is None else int(filters.max_price_cents),
        residual_sql=" AND ".join(residual),
        residual_params=params,
        price_sql=price,
        price_params=[when, when],
        promotion_sql=promotion,
        promotion_params=[when, when],
    )


class Backend:
    """The SQL of one database vendor. `match` is whatever `prepare` returns."""

    def __init__(self, connection):
        self.connection = connection

    def prepare(self, query: Query):
        """The full-text query: the words and the tags."""
        raise NotImplementedError

    def has_words(self, match) -> bool:
        raise NotImplementedError

    newest_first = True  # window() returns the newest matches, newest first

    def window(self, query: Query, match, limit: int, with_price: bool) -> list[Row]:
        """`limit` matches (filters included): the newest ones, newest first, when
        `newest_first`; else the first ones found."""
        raise NotImplementedError

    def newest(self, query: Query, match, limit: int) -> list[int]:
        """The ids of the `limit` newest matches (when window() does not give them)."""
        raise NotImplementedError

    def relevance(
        self, query: Query, match, rows: list[Row], needed: int, *, exact: bool
    ) -> list[int]:
        """Ids in relevance order (exact for the first `needed` at least), ties broken newest
        first. `rows` is the window; `exact`: it holds the whole result."""
        raise NotImplementedError

    def price_order(
        self, query: Query, match, rows: list[Row], *, descending: bool, limit: int
    ) -> list[int]:
        """The `limit` first matches in effective price order, over the whole result (`rows`,
        the newest matches with their prices, is a sample of it)."""
        raise NotImplementedError

    def delivery_counts(self, rows: list[Row]) -> list[tuple[str, int]]:
        """(kind, offers of `rows` having an active delivery mode of that kind)."""
        raise NotImplementedError

    def _fetch(self, sql: str, params: Sequence) -> list[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    @staticmethod
    def tags(query: Query) -> list[list[str]]:
        """The tag filters, as a conjunction of disjunctions: the visibility tags (SQLite, to
        list a marketplace without words), then the selective filters."""
        marketplace, filters = query.marketplace_id, query.filters
        visible = [f"v{marketplace}"]
        if query.sector_id is not None:
            visible.append(f"v{marketplace}s{query.sector_id}")
        tags = [visible]
        if filters.category_id is not None:
            tags.append([f"ca{int(filters.category_id)}"])
        if filters.shop_id is not None:
            tags.append([f"sh{int(filters.shop_id)}"])
        if filters.on_promotion:
            tags.append(["pr"])
        return tags


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

    def window(self, query, match, limit, with_price):
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
        words = [_fold(word) for word in query.terms.words]
        prefix = query.terms.prefix

        def found(tokens: set[str]) -> bool:
            *whole, last = words
            return all(word in tokens for word in whole) and (
                last in tokens or (prefix and any(token.startswith(last) for token in tokens))
            )

        def tier(row: Row) -> int:
            tokens = set(_words(row.title))
            if found(tokens):
                return 3
            tokens.update(_words(row.brand))
            if found(tokens):
                return 2
            tokens.update(_words(paths.get(row.category_id, "")))
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

    Relevance: the same tiers as on SQLite, read from the weights of the lexemes (title A,
    brand B, category C, descriptions D) with weight-restricted tsqueries."""

    TIERS = ("A", "AB", "ABC")
    WALK_ROWS = 5_000  # a price walk expected to read more rows than this uses the GIN index

    def prepare(self, query: Query) -> PostgresMatch:
        """The words are folded like the index, by halles_search_fold()."""
        words, tiers = "", ()
        if query.terms.words:
            prefixes = [False] * len(query.terms.words)
            prefixes[-1] = query.terms.prefix
            queries = ", ".join(
                "to_tsquery('simple', string_agg(quote_literal(halles_search_fold(t.word))"
                f" || CASE WHEN t.prefix THEN ':*' ELSE ':' END || '{weights}', ' & '"
                " ORDER BY t.n))::text"
                for weights in ("", *self.TIERS)
            )
            words, *tiers = self._fetch(
                f"SELECT {queries}"
                " FROM unnest(%s::text[], %s::boolean[]) WITH ORDINALITY AS t(word, prefix, n)",
                [query.terms.words, prefixes],
            )[0]
            words = words or ""
        _visible, *selective = self.tags(query)
        tags = ["( " + " | ".join(f"'#{tag}'" for tag in group) + " )" for group in selective]
        full = " & ".join(([f"( {words} )"] if words else []) + tags)
        return PostgresMatch(words, full, tuple(tiers))

    def has_words(self, match) -> bool:
        return bool(match.words)  # words that fold to nothing do not count

    newest_first = False

    def window(self, query, match, limit, with_price):
        """The first `limit` matches found, in no order: PostgreSQL stops as soon as it has
        them (no sort over every match, which reads every matching row)."""
        conditions, params = self._conditions(query, match)
        price = query.price_sql if with_price else "NULL::integer"
        price_params = query.price_params if with_price else []
        return [
            Row(*row[:4], kinds=tuple(row[4]), block=row[5])
            for row in self._fetch(
                f"SELECT o.offer_id, o.category_id, o.shop_id, {price}, o.delivery_kinds,"
                " (o.ctid::text::point)[0]::bigint"
                f" FROM catalog_offersearch o WHERE {conditions} LIMIT %s",
                [*price_params, *params, limit],
            )
        ]

    def newest(self, query, match, limit):
        return self._ids(query, match, "", [], limit)

    def relevance(self, query, match, rows, needed, *, exact):
        """Tiers: title (A), title or brand (AB), ... or category (ABC), anywhere. On the
        window when it holds the whole result; else tier by tier, newest first, from the
        index, until the page is full."""
        if exact:
            tiers = " ".join(
                f"WHEN vector @@ %s::tsquery THEN {len(match.tiers) - rank}"
                for rank in range(len(match.tiers))
            )
            scores = dict(
                self._fetch(
                    f"SELECT offer_id, CASE {tiers} ELSE 0 END"
                    " FROM catalog_offersearch WHERE offer_id = ANY(%s)",
                    [*match.tiers, [row.id for row in rows]],
                )
            )
            ranked = sorted(rows, key=lambda row: (-scores.get(row.id, 0), -row.id))
            return [row.id for row in ranked]
        ordered: list[int] = []
        higher: list[str] = []
        for tier in (*match.tiers, None):
            extra, params = "", []
            if tier is not None:
                extra, params = " AND o.vector @@ %s::tsquery", [tier]
            for above in higher:
                extra += " AND NOT o.vector @@ %s::tsquery"
                params.append(above)
            ordered += self._ids(query, match, extra, params, needed - len(ordered))
            if len(ordered) >= needed or tier is None:
                break
            higher.append(tier)
        return ordered

    @contextmanager
    def _planner(self, **settings: bool) -> Iterator[None]:
        """Planner settings for the statements inside (set_config(..., true): this
        transaction only, restored after when the caller's transaction goes on)."""
        changed = {name: on for name, on in settings.items() if not on}
        if not changed:
            yield
            return
        with transaction.atomic(using=self.connection.alias), self.connection.cursor() as cursor:
            previous = {}
            for name in changed:
                cursor.execute(
                    "SELECT current_setting(%s), set_config(%s, 'off', true)", [name, name]
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
        pages, offers = self._fetch(
            "SELECT greatest(relpages, 1), greatest(reltuples, 1) FROM pg_class"
            " WHERE oid = 'catalog_offersearch'::regclass",
            [],
        )[0]
        read = min(1.0, (max(row.block for row in rows) + 1) / pages)
        density = len(rows) / read / offers
        walk = limit / density <= self.WALK_ROWS
        prices = sorted(row.price for row in rows)
        bound = prices[-limit] if descending else prices[limit - 1]
        found = []
        with self._planner(enable_bitmapscan=not walk):
            for promoted in (False, True):
                if query.filters.on_promotion and not promoted:
                    continue
                found += self._price_walk(query, match, promoted, descending, limit, bound)
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


BACKENDS = {"sqlite": SQLiteBackend, "postgresql": PostgresBackend}


def _fold(text: str) -> str:
    """Lower case, without diacritics or ligatures: how FTS5's unicode61 tokenizer (with
    remove_diacritics 2) compares words."""
    text = unicodedata.normalize("NFKD", (text or "").lower())
    text = "".join(char for char in text if not unicodedata.combining(char))
    for ligature, plain in LIGATURES:
        text = text.replace(ligature, plain)
    return text


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", _fold(text))


def _backend(connection) -> Backend:
    try:
        return BACKENDS[connection.vendor](connection)
    except KeyError:
        raise NotImplementedError(f"No catalog search on {connection.vendor}") from None


# --- search_offers -------------------------------------------------------------------------


def search_offers(
    *,
    marketplace,
    query: str = "",
    filters: SearchFilters = SearchFilters(),
    sort: str = "relevance",
    page: int = 1,
    per_page: int = 24,
    sector_id: int | None = None,
    at: datetime | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> SearchResult:
    """One page of the visible offers of `marketplace` matching `query` and `filters`.

    Visible: the offer is active, its shop is active, and it has no sector restriction or
    `sector_id` is one of its sectors. `at` (default now) decides which discounts are in
    force. See the module docstring for the sorts, the counts and the facets.
    """
    if sort not in SORTS:
        raise BadSort(field="sort")
    at = at or timezone.now()
    per_page = max(1, min(_as_int(per_page), MAX_PER_PAGE))
    connection = connections[using]
    backend = _backend(connection)
    priced = sort in ("price_asc", "price_desc")
    terms = parse_terms(query)
    # The last word is a prefix (as you type) only when the query without it matches at
    # most COUNT_CAP offers: expanding the prefix of a common word ("vas*": vas, vase,
    # vases...) costs a pass over all their postings, and the result would be capped anyway.
    for prefix in (False, True) if terms.prefix else (False,):
        query_ = _build_query(
            marketplace.pk, terms._replace(prefix=prefix), filters, sector_id, at, connection
        )
        match = backend.prepare(query_)
        rows = backend.window(query_, match, COUNT_CAP + 1, with_price=priced)
        if len(rows) > COUNT_CAP:
            break
    if sort == "relevance" and not backend.has_words(match):
        sort = "newest"
    exact = len(rows) <= COUNT_CAP
    rows = rows[:COUNT_CAP]
    if exact:
        rows.sort(key=lambda row: -row.id)  # the whole result, newest first
    total = len(rows)
    pages = max(1, math.ceil(total / per_page))
    page = max(1, min(_as_int(page), pages))
    offset = (page - 1) * per_page
    needed = min(offset + per_page, total)  # the pages stop at COUNT_CAP
    if not rows:
        ordered = []
    elif sort == "newest":
        ordered = [row.id for row in rows]
        if not exact and not backend.newest_first:
            ordered = backend.newest(query_, match, needed)
    elif sort == "relevance":
        ordered = backend.relevance(query_, match, rows, needed, exact=exact)
    elif exact:
        ordered = _by_price(rows, descending=sort == "price_desc")
    else:
        descending = sort == "price_desc"
        ordered = backend.price_order(query_, match, rows, descending=descending, limit=needed)
    return SearchResult(
        offers=_load_offers(marketplace, ordered[offset:needed], using),
        total=total,
        page=page,
        pages=pages,
        facets=_facets(backend, rows, using),
        total_is_exact=exact,
    )


def _as_int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 1


def _by_price(rows: list[Row], *, descending: bool) -> list[int]:
    sign = -1 if descending else 1
    return [row.id for row in sorted(rows, key=lambda row: (sign * row.price, sign * row.id))]


def _load_offers(marketplace, ids: list[int], using: str) -> list[Offer]:
    if not ids:
        return []
    offers = (
        Offer.objects.using(using)
        .select_related("product__category", "shop")
        .filter(pk__in=ids, marketplace=marketplace, is_active=True)
        .order_by()  # the order is `ids`
    )
    by_id = {offer.pk: offer for offer in offers}
    return [by_id[offer_id] for offer_id in ids if offer_id in by_id]


def _facets(backend: Backend, rows: list[Row], using: str) -> dict[str, list[tuple]]:
    categories = Counter(row.category_id for row in rows if row.category_id is not None)
    shops = Counter(row.shop_id for row in rows)
    top_categories = categories.most_common(FACET_SIZE)
    top_shops = shops.most_common(FACET_SIZE)
    category_names = dict(
        Category.objects.using(using)
        .filter(pk__in=[pk for pk, _n in top_categories])
        .values_list("pk", "name")
    )
    shop_names = dict(
        Shop.objects.using(using)
        .filter(pk__in=[pk for pk, _n in top_shops])
        .values_list("pk", "name")
    )
    labels = dict(DeliveryKind.choices)
    delivery = backend.delivery_counts(rows)
    return {
        "category": _facet((pk, category_names.get(pk, ""), n) for pk, n in top_categories),
        "shop": _facet((pk, shop_names.get(pk, ""), n) for pk, n in top_shops),
        "delivery": _facet((kind, str(labels.get(kind, kind)), n) for kind, n in delivery),
    }


def _facet(items) -> list[tuple]:
    return sorted(items, key=lambda item: (-item[2], str(item[1]), str(item[0])))


# --- Index maintenance ---------------------------------------------------------------------


def rebuild_search_index(using: str = DEFAULT_DB_ALIAS) -> None:
    """Rebuild the whole index from the catalog tables, in one transaction."""
    connection = connections[using]
    with transaction.atomic(using), connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT sql FROM catalog_search_sql WHERE kind = 'rebuild' ORDER BY position"
            )
            for (statement,) in cursor.fetchall():
                cursor.execute(statement)
        else:
            cursor.execute("SELECT catalog_offersearch_rebuild()")


def repair_search_index(using: str = DEFAULT_DB_ALIAS) -> None:
    """Put back what a table rebuild removed, then rebuild the index.

    On SQLite, Django alters a table by re-creating it, which drops its triggers and the
    indexes it does not know about: a migration that alters catalog_offer, catalog_product,
    catalog_category, shops_shop or shops_deliverymode must end with
    `migrations.RunPython(search.repair_search_index_operation, migrations.RunPython.noop)`.
    """
    connection = connections[using]
    with transaction.atomic(using), connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT sql FROM catalog_search_sql WHERE kind = 'trigger' ORDER BY position"
            )
            for (statement,) in cursor.fetchall():
                cursor.execute(statement)
        else:
            cursor.execute("RESET halles.search_suspended")
            for table, name in _pg_triggers(cursor, disabled=True):
                cursor.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER "{name}"')
        rebuild_search_index(using)


def repair_search_index_operation(apps, schema_editor) -> None:
    """repair_search_index for migrations.RunPython."""
    repair_search_index(schema_editor.connection.alias)


def search_index_problems(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """What keeps the index from following the catalog (missing or disabled triggers)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT s.name FROM catalog_search_sql s WHERE s.kind = 'trigger' AND NOT EXISTS"
                " (SELECT 1 FROM sqlite_master m WHERE m.type = 'trigger' AND m.name = s.name)"
            )
            return [f"missing trigger {name}" for (name,) in cursor.fetchall()]
        problems = [f"disabled trigger {name}" for _table, name in _pg_triggers(cursor, True)]
        if not _pg_triggers(cursor):
            problems.append("no search triggers")
        cursor.execute("SELECT current_setting('halles.search_suspended', true)")
        if cursor.fetchone()[0] == "on":
            problems.append("suspended in this session")
        return problems


@contextmanager
def search_index_suspended(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """For bulk loads: the index is not maintained inside; on the way out the index is
    rebuilt in one pass (much faster than row by row for a big load).

    SQLite drops the triggers (SQLite has one writer at a time); PostgreSQL only switches
    them off for this session (`SET halles.search_suspended`), other sessions keep
    maintaining the index. The rebuild locks the index table until it commits: searches
    wait for it.
    """
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM catalog_search_sql WHERE kind = 'trigger'")
            for (name,) in cursor.fetchall():
                cursor.execute(f'DROP TRIGGER IF EXISTS "{name}"')
        else:
            cursor.execute("SET halles.search_suspended = 'on'")
    try:
        yield
    finally:
        repair_search_index(using)


def _pg_triggers(cursor, disabled: bool = False) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        " WHERE t.tgname LIKE %s AND NOT t.tgisinternal AND (NOT %s OR t.tgenabled = 'D')",
        ["catalog\\_search\\_%", disabled],
    )
    return cursor.fetchall()
