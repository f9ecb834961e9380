"""Catalog search: full text, filters, sorts and facets over a marketplace's visible offers.

One interface (`search_offers`), two backends chosen by the database vendor.

The index is built by the database (triggers, migration catalog 0003), so bulk inserts,
QuerySet.update() and raw SQL keep it right. It holds only *visible* offers (active offer of
an active shop) and, besides the words, filter *tags*: shop, category and every ancestor,
has a discount price, B2B visibility.

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


The modules:

- `query`: the filters, the result, the user's words (`parse_terms`), price bands, and the
  backend-neutral parts of the SQL (`build_query`);
- `base`: what a backend does; `sqlite` and `postgres`: the two backends;
- `offers`: `search_offers`, which runs a query through the backend (window, count, order,
  facets, the page) -- its docstring says how and with which approximations;
- `index`: rebuilding, repairing and checking the index, suspending it for bulk loads;
- `deferred`: the triggers off for one transaction, and one set-based refresh of the offers
  a bulk writer reports (the offer import, per chunk).
"""

from .deferred import IndexRefresh, search_index_deferred
from .index import (
    rebuild_search_index,
    repair_search_index,
    repair_search_index_operation,
    search_index_problems,
    search_index_suspended,
)
from .offers import BACKENDS, COUNT_CAP, SORTS, search_offers
from .postgres import PostgresBackend
from .query import BadSort, SearchFilters, SearchResult, Terms, parse_terms, price_band
from .sqlite import SQLiteBackend

__all__ = [
    "BACKENDS",
    "COUNT_CAP",
    "SORTS",
    "BadSort",
    "IndexRefresh",
    "PostgresBackend",
    "SQLiteBackend",
    "SearchFilters",
    "SearchResult",
    "Terms",
    "parse_terms",
    "price_band",
    "rebuild_search_index",
    "repair_search_index",
    "repair_search_index_operation",
    "search_index_deferred",
    "search_index_problems",
    "search_index_suspended",
    "search_offers",
]
