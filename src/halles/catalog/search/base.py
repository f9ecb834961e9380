"""What a search backend does: the SQL of one database vendor behind one interface."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from .query import Query, Row


class Backend:
    """The SQL of one database vendor. `match` is whatever `prepare` returns."""

    def __init__(self, connection):
        self.connection = connection

    @contextmanager
    def session(self) -> Iterator[None]:
        """Around the whole of one search: what the vendor needs set for its statements."""
        yield

    def prepare(self, query: Query):
        """The full-text query: the words and the tags."""
        raise NotImplementedError

    def has_words(self, match) -> bool:
        raise NotImplementedError

    newest_first = True  # window() returns the newest matches, newest first

    def window(
        self, query: Query, match, limit: int, with_price: bool, with_rank: bool = False
    ) -> list[Row]:
        """`limit` matches (filters included): the newest ones, newest first, when
        `newest_first`; else the first ones found. `with_rank`: relevance() will follow."""
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
