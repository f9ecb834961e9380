"""The import's SQL, built once from the models' metadata: reading a chunk's offers and
products, inserting and updating rows in few statements. Not the ORM: a QuerySet filtering
on 1,000 SKUs spends about 4 ms in Python before the database starts, as much as writing the
chunk. Values still go through Django's adapters and converters."""

from __future__ import annotations

from django.db import connection

from ..models import Offer, Product
from .columns import OFFER_FIELDS, PRODUCT_FIELDS

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
PRODUCT_INSERT_FIELDS = (
    "id",
    "marketplace_id",
    "created_by_shop_id",
    "gtin",
    *PRODUCT_FIELDS,
    "attributes",
    "created_at",
    "updated_at",
)
DATETIME_FIELDS = frozenset({"discount_starts_at", "discount_ends_at", "updated_at"})


def _by_key(model, scope: str, key: str) -> tuple[str, str]:
    """FROM and WHERE of the rows of `model` whose `scope` column is a value and whose `key`
    column is in a list of values (parameters: _fetch()), found through the unique
    (scope, key) index.

    PostgreSQL: one probe of that index per key, whatever the statistics say. Planned as a
    list (`key = ANY(%s)`), the chunk's reads read every product of the marketplace (a
    sequential scan: 17 ms for 100,000 products, against 1.3 ms by probes) and every offer
    of the shop (its `shop_id` index: the statistics of a shop whose first import is under
    way say it has no offers, and each chunk then read all the offers of the chunks before
    it). The subquery is planned on its own (OFFSET 0), one index probe for each key of the
    array; the rows are then read by primary key. SQLite uses the unique index for `IN`."""
    table = quoted_table(model)
    pk, scope_column, key_column = (quoted_column(model, name) for name in ("id", scope, key))
    if connection.vendor == "postgresql":
        return (
            "unnest(%s::text[]) AS wanted(key) CROSS JOIN LATERAL"
            f" (SELECT {pk} FROM {table} WHERE {scope_column} = %s AND {key_column} = wanted.key"
            f" OFFSET 0) AS found INNER JOIN {table} ON {table}.{pk} = found.{pk}",
            "",
        )
    return table, f" WHERE {table}.{scope_column} = %s AND {table}.{key_column} IN ({{}})"


class Reader:
    """The chunk's reads, in SQL built once from the models' metadata. Not the ORM: a
    QuerySet filtering on 1,000 SKUs spends about 4 ms in Python before the database
    starts, as much as writing the chunk. Values still go through Django's converters."""

    def __init__(self, *, with_products: bool):
        offer, product = quoted_table(Offer), quoted_table(Product)
        fields = [(Offer, name) for name in EXISTING_FIELDS]
        joined = ""
        if with_products:
            fields += [(Product, name) for name in PRODUCT_READ]
            joined = (
                f" INNER JOIN {product} ON {product}.{quoted_column(Product, 'id')}"
                f" = {offer}.{quoted_column(Offer, 'product_id')}"
            )
        # PostgreSQL locks the rows in primary-key order. SQLite needs no lock (a write
        # transaction excludes other writers) and no ORDER BY, with which its planner scanned
        # all the shop's offers by the shop_id index (dropped since, migration 0009) instead
        # of using (shop_id, sku).
        lock = ""
        if connection.features.has_select_for_update_of:
            lock = f" ORDER BY {offer}.{quoted_column(Offer, 'id')} FOR UPDATE OF {offer}"
        source, where = _by_key(Offer, "shop_id", "sku")
        self.offers_sql = _select(fields) + f" FROM {source}{joined}{where}{lock}"
        self.offer_converters = _converters(fields)
        self.with_products = with_products
        self.product_names = PRODUCT_READ if with_products else PRODUCT_KEYS
        product_fields = [(Product, name) for name in self.product_names]
        source, where = _by_key(Product, "marketplace_id", "gtin")
        self.products_sql = _select(product_fields) + f" FROM {source}{where}"
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


def quoted_table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def quoted_column(model, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def _select(fields: list) -> str:
    return "SELECT " + ", ".join(
        f"{quoted_table(model)}.{quoted_column(model, name)}" for model, name in fields
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
        if connection.vendor == "postgresql":  # the keys as one array (_by_key())
            cursor.execute(sql, [values, key])
        else:
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


def new_ids(model, count: int) -> list[int]:
    """Primary keys for `count` rows about to be inserted (COPY and executemany return none).
    PostgreSQL: taken from the column's sequence. SQLite: after the largest id ever used (the
    AUTOINCREMENT counter), which is safe because the import's write transaction holds
    SQLite's only write lock from its start."""
    if not count:
        return []
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [quoted_table(model), pk, count],
            )
            return [value for (value,) in cursor.fetchall()]
        cursor.execute(
            f"SELECT max(coalesce((SELECT max({quoted_column(model, 'id')}) FROM"
            f" {quoted_table(model)}), 0), coalesce((SELECT seq FROM sqlite_sequence"
            " WHERE name = %s), 0))",
            [table],
        )
        (last,) = cursor.fetchone()
        return list(range(last + 1, last + 1 + count))


def insert(model, fields: tuple, rows: list) -> None:
    """PostgreSQL: COPY (one statement, about 4 times the rate of INSERTs through psycopg's
    client-side binding); SQLite: one prepared INSERT run for every row."""
    if not rows:
        return
    columns = ", ".join(quoted_column(model, name) for name in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {quoted_table(model)} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(fields))
            cursor.executemany(
                f"INSERT INTO {quoted_table(model)} ({columns}) VALUES ({marks})", rows
            )


def update(model, fields: tuple, rows: list) -> None:
    """Rows of (values of `fields`..., updated_at, id), in the caller's transaction.

    PostgreSQL: the rows go by COPY into a temporary table dropped at the commit, then one
    UPDATE ... FROM it. (An UPDATE ... FROM (VALUES ...) of 1,000 rows took 75-100 ms, most
    of it psycopg formatting 13,000 parameters into the statement on the client side; the
    COPY and the UPDATE take 27-32 ms.) The ids are also given as an array: joined to the
    temporary table alone, the rows to update were found by hashing the whole table (22 ms
    for 100,000 offers) rather than by primary key (1 ms). SQLite: one prepared UPDATE run
    for every row."""
    if not rows:
        return
    table, names = quoted_table(model), (*fields, "updated_at", "id")
    columns = [quoted_column(model, name) for name in names]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            assert connection.in_atomic_block, "the temporary table lives until the commit"
            listed = ", ".join(columns)
            cursor.execute(
                f"CREATE TEMPORARY TABLE halles_import_rows ON COMMIT DROP AS SELECT {listed}"
                f" FROM {table} LIMIT 0"
            )
            with cursor.cursor.copy(f"COPY halles_import_rows ({listed}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            assignments = ", ".join(f"{column} = v.{column}" for column in columns[:-1])
            pk = f"{table}.{columns[-1]}"
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM halles_import_rows AS v"
                f" WHERE {pk} = ANY(%s) AND {pk} = v.{columns[-1]}",
                [[row[-1] for row in rows]],
            )
            cursor.execute("DROP TABLE halles_import_rows")
        else:
            assignments = ", ".join(f"{column} = %s" for column in columns[:-1])
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {columns[-1]} = %s", rows)
