"""PostgreSQL: the fold of migration catalog 0010 (replace()) gives the text that 0003's
(translate()) gave, so that documents indexed before and after it match the same queries."""

import importlib

import pytest
from django.db import connection

from halles.catalog.search.query import words_of

pytestmark = [pytest.mark.django_db, pytest.mark.postgres_only]

search_index = importlib.import_module("halles.catalog.migrations.0003_search_index")

TEXTS = [
    "",
    "Lampe LED d'été, 40 W",
    "Øresund đ Łódź ðÐ Ħħ ı øØ ŁŁł",  # every letter the fold maps one by one
    "Œufs & Bœuf — « Crème brûlée » Straße Þórr",
    "T-shirt 100% coton (taille M) ; réf. 12/34",
    "ﬁnesse Ǆ ①",  # compatibility forms (NFKD)
]


def test_the_fold_gives_what_it_gave_before_and_what_python_gives():
    with connection.cursor() as cursor:
        cursor.execute(search_index.PG_FOLD.replace("halles_search_fold", "pg_temp.fold_0003"))
        cursor.execute(
            "SELECT t, halles_search_fold(t), pg_temp.fold_0003(t), halles_search_fold(NULL)"
            " FROM unnest(%s::text[]) AS t",
            [TEXTS],
        )
        rows = cursor.fetchall()
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = 'halles_search_fold'")
        (installed,) = cursor.fetchone()
    assert "translate(" not in installed and "'ı', 'i')" in installed  # 0010's is installed
    assert len(rows) == len(TEXTS)
    for text, folded, before, of_null in rows:
        assert folded == before, text
        assert of_null == ""
    by_text = {text: folded for text, folded, _before, _null in rows}
    assert by_text["Øresund đ Łódź ðÐ Ħħ ı øØ ŁŁł"] == "oresund d lodz dd hh i oo lll"
    assert by_text["Lampe LED d'été, 40 W"].split() == words_of("Lampe LED d'été, 40 W")
