"""search_offers: one page of the visible offers matching a query, with counts and facets.

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
7. The last word of a query stays a prefix only when the query without the prefix has at
   most `COUNT_CAP` results (expanding "vas*" to vas, vase, vases... costs a pass over all
   their postings).
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from halles.shops.models import DeliveryKind, Shop

from ..models import Category, Offer, ProductImage
from .base import Backend
from .postgres import PostgresBackend
from .query import BadSort, Row, SearchFilters, SearchResult, build_query, parse_terms
from .sqlite import SQLiteBackend

SORTS = ("relevance", "price_asc", "price_desc", "newest")
COUNT_CAP = 1_000
FACET_SIZE = 50
MAX_PER_PAGE = 100
NO_FILTERS = SearchFilters()

BACKENDS = {"sqlite": SQLiteBackend, "postgresql": PostgresBackend}


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
    filters: SearchFilters = NO_FILTERS,
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
    with backend.session():  # the statements that read the search index
        for prefix in (False, True) if terms.prefix else (False,):
            query_ = build_query(
                marketplace.pk, terms._replace(prefix=prefix), filters, sector_id, at, connection
            )
            match = backend.prepare(query_)
            rows = backend.window(
                query_, match, COUNT_CAP + 1, with_price=priced, with_rank=sort == "relevance"
            )
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
        ordered = _ordered(backend, query_, match, rows, sort, exact=exact, needed=needed)
    return SearchResult(
        offers=_load_offers(marketplace, ordered[offset:needed], using),
        total=total,
        page=page,
        pages=pages,
        facets=_facets(backend, rows, using),
        total_is_exact=exact,
    )


def _ordered(backend: Backend, query, match, rows: list[Row], sort: str, *, exact, needed):
    """The result's ids in `sort` order, the first `needed` at least (`rows`: the window,
    the whole result when `exact`)."""
    if not rows:
        return []
    if sort == "newest":
        if exact or backend.newest_first:
            return [row.id for row in rows]
        return backend.newest(query, match, needed)
    if sort == "relevance":
        return backend.relevance(query, match, rows, needed, exact=exact)
    if exact:
        return _by_price(rows, descending=sort == "price_desc")
    return backend.price_order(query, match, rows, descending=sort == "price_desc", limit=needed)


def _as_int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 1


def _by_price(rows: list[Row], *, descending: bool) -> list[int]:
    sign = -1 if descending else 1
    return [row.id for row in sorted(rows, key=lambda row: (sign * row.price, sign * row.id))]


# What an offer card shows (storefront/_offer_card.html and the add-to-cart form) and the
# product's category: only these columns are read (a third of the page's time went to
# converting the others); any other field loads on access, one query per offer.
CARD_FIELDS = (
    "marketplace_id",
    "product_id",
    "shop_id",
    "sku",
    "price_cents",
    "discount_price_cents",
    "discount_starts_at",
    "discount_ends_at",
    "stock",
    "min_quantity",
    "max_quantity",
    "is_active",
    "product__marketplace_id",
    "product__title",
    "product__category__name",
    "product__category__slug",
)
CARD_SHOP_FIELDS = ("marketplace_id", "slug", "name", "status")


def _load_offers(marketplace, ids: list[int], using: str) -> list[Offer]:
    if not ids:
        return []
    offers = (
        Offer.objects.using(using)
        .select_related("product__category")
        .only(*CARD_FIELDS)
        .filter(pk__in=ids, marketplace=marketplace, is_active=True)
        .order_by()  # the order is `ids`
    )
    by_id = {offer.pk: offer for offer in offers}
    # The shops apart, by primary key: joined, PostgreSQL hashed the whole shop table for
    # every page (3 ms of the page's 7 with 2,000 shops).
    shops = (
        Shop.objects.using(using)
        .only(*CARD_SHOP_FIELDS)
        .in_bulk({offer.shop_id for offer in by_id.values()})
    )
    for offer in by_id.values():
        offer.shop = shops[offer.shop_id]
    # Each card's image, for all the cards in one query (a prefetch of the images would
    # cost a queryset per product, a quarter of the page's time).
    first_images = {}
    images = ProductImage.objects.using(using).filter(
        product_id__in={offer.product_id for offer in by_id.values()}
    )
    for image in images.order_by("-position", "-id"):  # the first one last: it stays
        first_images[image.product_id] = image
    for offer in by_id.values():
        offer.product.card_image = first_images.get(offer.product_id)
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
