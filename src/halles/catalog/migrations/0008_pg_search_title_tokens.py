"""PostgreSQL: the words of the title, the brand and the category are also indexed as
marked lexemes.

The relevance tiers ("every word in the title", "... in the title or the brand", "... or
the category") were weight-restricted tsqueries (`'lampe':A`). A GIN index does not store
weights: its scan returned every offer having the word anywhere, and each was read from the
table to check where the word was (a common word in a large category: 2,500 to 20,000 rows
read for the 24 newest title matches), and the planner, which cannot see that, misjudged them.

Each offer's vector now also holds its title's lexemes marked with "!", its brand's with "@"
and its category path's with "^" (`!lampe`, `@philips`, `^luminaires`, next to the tags
`#ca12`, `#sh3`). A tier is then an ordinary tsquery (`'!lampe' & ( '!led' | '@led' )`)
that the index answers exactly: only the offers with the words in their title are read. The
vector grows by about 9 lexemes on 40. The index is rebuilt here (about two and a half
minutes for a million offers). SQLite is unchanged: its FTS5 columns already give the
tiers.
"""

import importlib

from django.db import migrations

search_index = importlib.import_module("halles.catalog.migrations.0003_search_index")
refresh_plan = importlib.import_module("halles.catalog.migrations.0005_pg_search_refresh_plan")

# The marks; halles.catalog.search.postgres uses the same.
MARKS = {"title": "!", "brand": "@", "category": "^"}


def _marked(marker: str, column: str) -> str:
    """The lexemes of `column`, folded and split like the words of the vector, marked."""
    return (
        f"ARRAY(SELECT '{marker}' || w FROM unnest(tsvector_to_array(to_tsvector('simple',"
        f" halles_search_fold(coalesce({column}, ''))))) AS w)"
    )


TAGS = "ARRAY['#sh' || o.shop_id]"
assert search_index.PG_DOC.count(TAGS) == 1, "0003's document query changed shape"
PG_DOC = search_index.PG_DOC.replace(
    TAGS,
    f"{TAGS}\n       || {_marked(MARKS['title'], 'p.title')}"
    f"\n       || {_marked(MARKS['brand'], 'p.brand')}"
    f"\n       || {_marked(MARKS['category'], 't.names')}",
)


def rebuild_function(doc: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION catalog_offersearch_rebuild() RETURNS void
LANGUAGE plpgsql AS $body$
BEGIN
  TRUNCATE catalog_offersearch;
  INSERT INTO catalog_offersearch ({search_index.PG_COLUMN_NAMES})
  {doc.replace("{where}", "true")};
END
$body$"""


def _install(schema_editor, doc: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(refresh_plan.refresh_function(doc))
        cursor.execute(rebuild_function(doc))
        cursor.execute("SELECT catalog_offersearch_rebuild()")
        cursor.execute("ANALYZE catalog_offersearch")


def install(apps, schema_editor):
    _install(schema_editor, PG_DOC)


def uninstall(apps, schema_editor):
    _install(schema_editor, search_index.PG_DOC)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0007_product_gtin_canonical")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
