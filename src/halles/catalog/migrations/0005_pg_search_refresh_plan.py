"""PostgreSQL: `catalog_offersearch_refresh(ids)` reads the offers by primary key first.

The function of migration 0003 is planned once (`plan_cache_mode = force_generic_plan`: for
the one-row refreshes of the web pages, planning cost more than the refresh). Its generic
plan did not know how many ids it would get and reached the offers through a BitmapAnd of
the `shop_id` index and the primary key: a refresh read the ids of every offer of the shop,
so one offer saved in a shop of 100,000 offers took milliseconds, and a chunk of 1,000
offers of the offer import took 2 to 2.5 times as long as with a plan made for it
(docs/performance.md, "Offer import").

Here the offers to refresh are read first, by primary key, into a MATERIALIZED common table
expression; the document query (the same as 0003's, frozen there) then joins products,
shops and categories to those rows only, whatever the plan's guess of their number. The
document, the upsert and the delete of offers no longer visible are unchanged.

A generic plan is also made with the table sizes of the moment it is made, and kept for the
session until the statistics change: made while catalog_offer was nearly empty (a new
marketplace's first import), it read the offers sequentially, and each chunk of the import
took longer than the last until autovacuum analysed the table (measured: 7,500 rows/s for
the first 10,000 offers, 4,400 for the fourth 10,000, 10,800 after the analyse). A
refresh of more than `GENERIC_PLAN_MAX` offers (a bulk writer's statement) is therefore
planned for the call (EXECUTE: a fraction of a millisecond against tens for the refresh);
the one-row refreshes of the web pages keep the plan made once.
"""

import importlib

from django.db import migrations

search_index = importlib.import_module("halles.catalog.migrations.0003_search_index")

# Up to this many offers, the plan made once per session (generic); above, a plan made for
# the call (EXECUTE).
GENERIC_PLAN_MAX = 16


def refresh_function(doc: str) -> str:
    """CREATE FUNCTION catalog_offersearch_refresh(ids) for a document query shaped like
    0003's PG_DOC (later migrations change the document, not this)."""
    target_doc = doc.replace("FROM catalog_offer o", "FROM target o").replace("{where}", "true")
    assert target_doc.count("FROM target o") == 2, "the document query changed shape"
    # The statement, for `ids` given as {ids}.
    statement = f"""
  WITH target AS MATERIALIZED (SELECT * FROM catalog_offer WHERE id = ANY({{ids}})),
  docs AS ({target_doc}),
  upserted AS (
    INSERT INTO catalog_offersearch AS s ({search_index.PG_COLUMN_NAMES})
    SELECT * FROM docs
    ON CONFLICT (offer_id) DO UPDATE SET {search_index.PG_UPSERT}
    RETURNING s.offer_id
  )
  DELETE FROM catalog_offersearch
  WHERE offer_id = ANY({{ids}}) AND offer_id NOT IN (SELECT offer_id FROM upserted)"""
    return f"""
CREATE OR REPLACE FUNCTION catalog_offersearch_refresh(ids bigint[]) RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $body$
BEGIN
  IF ids IS NULL OR cardinality(ids) = 0 THEN
    RETURN;
  END IF;
  -- Upsert the visible offers, delete the others: safe against concurrent refreshes.
  IF cardinality(ids) > {GENERIC_PLAN_MAX} THEN
    EXECUTE $statement${statement.replace("{ids}", "$1")}$statement$ USING ids;
  ELSE
{statement.replace("{ids}", "ids")};
  END IF;
END
$body$"""


REFRESH = refresh_function(search_index.PG_DOC)

def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(REFRESH)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(search_index.PG_FUNCTIONS[1])


class Migration(migrations.Migration):
    dependencies = [("catalog", "0004_search_refresh")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
