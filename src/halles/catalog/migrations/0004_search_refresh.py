"""SQLite: the statements that bring the index of a set of offers up to date in a few
set-based passes, for bulk writers that switch the row triggers off
(`search.search_index_deferred`, used by the offer import). Stored in catalog_search_sql
(kinds 'refresh' and 'repriced'), next to the triggers and the rebuild of migration 0003,
whose SQL they reuse (frozen there).

Parameters: `offers` and `products`, JSON arrays of ids (the products created or changed
while the triggers were off). Their shadow rows are copied again from the Django tables; the
offers' documents are computed into a temporary table and compared with the FTS rows: only a
document that changed, appeared or went is written. FTS5 writes are what costs (tokenising,
segments), so a daily stock file rewrites nothing in the index and a price file only the
offers whose price band changed ('repriced' finds them from the shadow rows' band tags).

PostgreSQL needs nothing: its triggers run once per statement (see search.deferred).
"""

import importlib

from django.db import migrations

search_index = importlib.import_module("halles.catalog.migrations.0003_search_index")

OFFERS = "SELECT value FROM json_each(%(offers)s)"
PRODUCTS = "SELECT value FROM json_each(%(products)s)"
DOC_COLUMNS = [column.strip() for column in search_index.FTS_COLUMNS.split(",")]
DOCS = "temp.catalog_search_docs"
SAME_DOCUMENT = " AND ".join(f"f.{column} IS d.{column}" for column in DOC_COLUMNS)

SQLITE_REFRESH = [
    f"""CREATE TEMP TABLE IF NOT EXISTS catalog_search_docs (
        id INTEGER PRIMARY KEY, {", ".join(f"{column} TEXT" for column in DOC_COLUMNS)})""",
    f"DELETE FROM {DOCS}",
    f"DELETE FROM catalog_search_product WHERE id IN ({PRODUCTS})",
    f"""INSERT INTO catalog_search_product
        SELECT {search_index._product_values("p")[1:-1]} FROM catalog_product p
        WHERE p.id IN ({PRODUCTS})""",
    f"DELETE FROM catalog_search_offer WHERE id IN ({OFFERS})",
    f"""INSERT INTO catalog_search_offer
        SELECT {search_index._offer_values("o")[1:-1]} FROM catalog_offer o
        WHERE o.id IN ({OFFERS})""",
    search_index.SQLITE_DOC.replace("{where}", f"o.id IN ({OFFERS})")
    .replace("INSERT INTO catalog_offer_fts (rowid,", f"INSERT INTO {DOCS} (id,")
    .strip()
    .rstrip(";"),
    # The FTS rows of the offers whose document went or changed (CROSS JOIN: one rowid
    # lookup per document, not a scan of the index).
    f"""DELETE FROM catalog_offer_fts WHERE rowid IN ({OFFERS}
        EXCEPT SELECT d.id FROM {DOCS} d CROSS JOIN catalog_offer_fts f ON f.rowid = d.id
        WHERE {SAME_DOCUMENT})""",
    f"""INSERT INTO catalog_offer_fts (rowid, {search_index.FTS_COLUMNS})
        SELECT d.id, {", ".join(f"d.{column}" for column in DOC_COLUMNS)} FROM {DOCS} d
        WHERE NOT EXISTS (SELECT 1 FROM catalog_offer_fts f WHERE f.rowid = d.id)""",
    f"DELETE FROM {DOCS}",
]

# Of the offers whose prices changed, those whose price-band or discount tags changed (or
# which have no shadow row): only they need re-indexing.
SQLITE_REPRICED = f"""SELECT o.id FROM catalog_offer o
    LEFT JOIN catalog_search_offer s ON s.id = o.id
    WHERE o.id IN ({OFFERS}) AND (s.id IS NULL
      OR s.price_tag IS NOT 'pb' || {search_index._price_bucket("o.price_cents")}
      OR s.discount_tag IS NOT 'db' || {search_index._price_bucket("o.discount_price_cents")})"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(position), 0) FROM catalog_search_sql")
        (position,) = cursor.fetchone()
        statements = [("refresh", sql) for sql in SQLITE_REFRESH] + [("repriced", SQLITE_REPRICED)]
        for offset, (kind, statement) in enumerate(statements, start=1):
            cursor.execute(
                "INSERT INTO catalog_search_sql VALUES (%s, %s, NULL, %s)",
                [position + offset, kind, statement],
            )


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DELETE FROM catalog_search_sql WHERE kind IN ('refresh', 'repriced')")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_search_index")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
