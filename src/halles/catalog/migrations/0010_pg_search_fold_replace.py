"""PostgreSQL: halles_search_fold() maps the letters that do not decompose with replace()
instead of translate().

The fold runs about seven times for each offer the search index refreshes (the title, the
brand, the category path, the descriptions, and again for the marked lexemes of migration
0008), and translate() was its dearest step: it looks up each character of the text in its
"from" list, character by character in a multibyte encoding (1.9 microseconds for a
30-character description, against 0.35 for the eleven replace() calls; measured on 100,000
offers, docs/performance.md). Each replaced letter maps to a letter outside the list, so the
replace() calls give the same text as translate() (tested), and the indexed documents stay
as they are: only the function changes, the index is not rebuilt.
"""

import importlib

from django.db import migrations

search_index = importlib.import_module("halles.catalog.migrations.0003_search_index")

# (letter, replacement): the translate('øØđĐłŁðÐħĦı', 'ooddllddhhi') of migration 0003
SINGLE_LETTERS = list(zip("øØđĐłŁðÐħĦı", "ooddllddhhi", strict=True))
_TRANSLATE_START = "translate(\n      replace("
_TRANSLATE_END = "'Þ', 'th'),\n      'øØđĐłŁðÐħĦı', 'ooddllddhhi'),"


def fold_function() -> str:
    fold = search_index.PG_FOLD
    assert fold.count(_TRANSLATE_START) == 1 and fold.count(_TRANSLATE_END) == 1, "0003's fold changed"
    opening = "replace(" * len(SINGLE_LETTERS)
    closing = "".join(f" '{letter}', '{plain}')," for letter, plain in SINGLE_LETTERS)
    fold = fold.replace(_TRANSLATE_START, f"{opening}\n      replace(")
    return fold.replace(_TRANSLATE_END, f"'Þ', 'th'),\n     {closing}")


PG_FOLD = fold_function()


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(PG_FOLD)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(search_index.PG_FOLD)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0009_fk_indexes_covered_by_unique")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
