"""The query, backend-neutral: filters, result types, the user's words, the price bands.

The query is user input: it is cut into words (letters and digits), at most `MAX_TERMS`,
each quoted or folded by the database; no input produces an SQL or full-text syntax error.
Words are ANDed. The last word is a prefix (as you type) when it has 3+ letters and the
query does not end with a space (`search_offers` may still drop the prefix, see there).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import NamedTuple

from django.utils.translation import gettext_lazy as _

from halles.core.errors import DomainError

from ..models import Offer

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
    total: int  # exact when total_is_exact, else the cap (there are more)
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
    rank: int = 0  # PostgreSQL, when asked: the relevance tier (3: title ... 0: descriptions)


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


def build_query(marketplace_id, terms, filters, sector_id, at, connection) -> Query:
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


def fold(text: str) -> str:
    """Lower case, without diacritics or ligatures: how FTS5's unicode61 tokenizer (with
    remove_diacritics 2) compares words."""
    text = unicodedata.normalize("NFKD", (text or "").lower())
    text = "".join(char for char in text if not unicodedata.combining(char))
    for ligature, plain in LIGATURES:
        text = text.replace(ligature, plain)
    return text


def words_of(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", fold(text))
