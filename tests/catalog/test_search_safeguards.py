"""A schema change that removes or disables the index triggers is detected (system check
catalog.W001) and repaired by the next `migrate` (post_migrate)."""

import pytest
from django.core.management import call_command
from django.db import connection

from halles.catalog import search
from halles.catalog.models import Offer
from halles.catalog.search import safeguards, search_offers

from ..factories import OfferFactory


def found(marketplace, query):
    result = search_offers(marketplace=marketplace, query=query)
    return [offer.product.title for offer in result.offers]


def check_ids():
    return [message.id for message in safeguards.check_search_index(databases=["default"])]


@pytest.mark.django_db(transaction=True)
@pytest.mark.sqlite_only  # SQLite alters a table by re-creating it
def test_migrate_puts_back_the_triggers_a_table_rebuild_removed(marketplace):
    # Given an offer, and a later migration that re-creates its table (as AlterField does)
    offer = OfferFactory(shop__marketplace=marketplace, product__title="Arrosoir")
    with connection.schema_editor() as editor:
        editor._remake_table(Offer)
    assert "missing trigger catalog_search_catalog_offer_update" in search.search_index_problems()
    assert check_ids() == ["catalog.W001"]

    # When migrate runs (nothing left to apply: post_migrate still runs)
    call_command("migrate", verbosity=0)

    # Then the triggers are back and the index follows the offer again
    assert search.search_index_problems() == []
    assert check_ids() == []
    Offer.objects.filter(pk=offer.pk).update(description="Zinc galvanisé")
    assert found(marketplace, "zinc") == ["Arrosoir"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_migrate_enables_a_disabled_trigger_and_rebuilds(marketplace):
    offer = OfferFactory(shop__marketplace=marketplace, product__title="Arrosoir")
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE catalog_offer DISABLE TRIGGER catalog_search_catalog_offer_update"
        )
    Offer.objects.filter(pk=offer.pk).update(description="Zinc galvanisé")  # not indexed
    assert found(marketplace, "zinc") == []
    assert check_ids() == ["catalog.W001"]

    call_command("migrate", verbosity=0)

    assert search.search_index_problems() == []
    assert found(marketplace, "zinc") == ["Arrosoir"]  # the rebuild caught up


@pytest.mark.django_db
def test_a_sound_index_is_left_alone(marketplace, django_assert_max_num_queries):
    OfferFactory(shop__marketplace=marketplace, product__title="Arrosoir")

    with django_assert_max_num_queries(6):  # the checks only: no rebuild
        assert safeguards.ensure_search_index() == []

    assert check_ids() == []
    assert found(marketplace, "arrosoir") == ["Arrosoir"]
