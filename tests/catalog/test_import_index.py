"""The offer import refreshes the search index once per chunk (search_index_deferred), and
the index stays exactly what the triggers or a rebuild would make of the catalog."""

import threading

import pytest
from django.core.files.base import ContentFile
from django.db import connection

from halles.catalog import search
from halles.catalog.imports import offer_import_create, offer_import_run
from halles.catalog.imports import run as import_run
from halles.catalog.models import ImportMode, ImportStatus, Offer, Product
from halles.catalog.search import SearchFilters, search_index_deferred, search_offers

from ..factories import OfferFactory, ProductFactory, ShopFactory, make_gtin

pytestmark = pytest.mark.django_db

EAN1, EAN2 = make_gtin(11), make_gtin(12)


@pytest.fixture
def shop(marketplace):
    return ShopFactory(marketplace=marketplace, name="Épicerie")


@pytest.fixture
def products(marketplace):
    return [
        ProductFactory(marketplace=marketplace, gtin=EAN1, title="Confiture d'abricot"),
        ProductFactory(marketplace=marketplace, gtin=EAN2, title="Miel de lavande"),
    ]


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    """Two rows a chunk: the files below span several chunks and their refreshes."""
    monkeypatch.setattr(import_run, "CHUNK_ROWS", 2)


def run_import(shop, content, mode=ImportMode.NORMAL):
    offer_import = offer_import_create(
        shop=shop, uploaded_file=ContentFile(content.encode(), name="offers.csv"), mode=mode
    )
    result = offer_import_run(offer_import=offer_import)
    assert result.status == ImportStatus.DONE, result.message
    assert result.error_rows == 0, result.errors
    return result


def found(marketplace, query="", **kwargs):
    result = search_offers(marketplace=marketplace, query=query, **kwargs)
    return sorted(offer.sku for offer in result.offers)


def index_contents():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT rowid, * FROM catalog_offer_fts ORDER BY rowid")
        else:
            cursor.execute("SELECT * FROM catalog_offersearch ORDER BY offer_id")
        return cursor.fetchall()


def assert_index_is_exact():
    """The index equals what a rebuild from the catalog tables makes, and every trigger is
    back in place."""
    assert search.search_index_problems() == []
    before = index_contents()
    search.rebuild_search_index()
    assert index_contents() == before


# --- The import ----------------------------------------------------------------------------


def test_imported_offers_are_found_and_the_index_is_exact(marketplace, shop, products):
    # Given a file of five offers: two on marketplace products, three creating shop products
    content = (
        "sku;product-id;product-title;product-brand;price;quantity;description\n"
        f"ABR;{EAN1};;;6,90;12;Pot de 370 g\n"
        f"LAV;{EAN2};;;9;0;Récolte de Provence\n"
        "NOU;;Nougat de Montélimar;Chabert;4,5;3;\n"
        "CAL;;Calissons d'Aix;Léonard;12;5;Boîte en bois\n"
        "BER;;Bêtises de Cambrai;Afchain;3;8;\n"
    )

    # When it is imported (three chunks)
    run_import(shop, content)

    # Then every offer is found, by its product's title, brand or its own description
    assert found(marketplace) == ["ABR", "BER", "CAL", "LAV", "NOU"]
    assert found(marketplace, "confiture") == ["ABR"]
    assert found(marketplace, "leonard") == ["CAL"]
    assert found(marketplace, "provence") == ["LAV"]
    assert found(marketplace, "nougat montelimar") == ["NOU"]
    # with their prices and stock
    assert found(marketplace, filters=SearchFilters(max_price_cents=500)) == ["BER", "NOU"]
    assert "LAV" not in found(marketplace, filters=SearchFilters(in_stock=True))
    assert_index_is_exact()


def test_a_re_import_updates_prices_stock_and_texts(marketplace, shop, products):
    run_import(shop, f"sku;product-id;price;quantity\nABR;{EAN1};6,90;12\nLAV;{EAN2};9;4\n")

    # A stock and price file, then a description and a discount
    run_import(shop, "sku;price;quantity\nABR;2;0\nLAV;9,10;5\n", mode=ImportMode.PARTIAL)
    run_import(
        shop,
        "sku;description;discount-price\nABR;Abricots du Roussillon;\nLAV;;8\n",
        mode=ImportMode.PARTIAL,
    )

    assert found(marketplace, filters=SearchFilters(max_price_cents=300)) == ["ABR"]
    assert found(marketplace, filters=SearchFilters(in_stock=True)) == ["LAV"]
    assert found(marketplace, "roussillon") == ["ABR"]
    assert found(marketplace, filters=SearchFilters(on_promotion=True)) == ["LAV"]
    assert search_offers(marketplace=marketplace, sort="price_asc").offers[0].sku == "ABR"
    assert_index_is_exact()


def test_replaced_and_deleted_offers_are_no_longer_found(marketplace, shop, products):
    run_import(
        shop,
        "sku;product-title;price;quantity\nA;Sablés bretons;3;1\nB;Galettes;4;1\n"
        "C;Crêpes dentelle;5;1\nD;Palets;6;1\n",
    )

    # REPLACE with a file without C and D, where B is deleted
    result = run_import(
        shop, "sku;price;quantity;update-delete\nA;3;1;\nB;;;delete\n", mode=ImportMode.REPLACE
    )

    assert result.deactivated_offers == 2
    assert found(marketplace) == ["A"]
    assert found(marketplace, "crepes") == []
    assert found(marketplace, "galettes") == []
    assert_index_is_exact()

    # An offer that comes back is found again
    run_import(shop, "sku;price;quantity\nC;5;1\n")
    assert found(marketplace, "crepes") == ["C"]
    assert_index_is_exact()


def test_a_product_renamed_by_the_import_is_found_under_its_new_name_everywhere(marketplace, shop):
    # Given a GTIN product this shop created, also sold by another shop
    own = ProductFactory(
        marketplace=marketplace, gtin=make_gtin(13), created_by_shop=shop, title="Savon"
    )
    OfferFactory(shop=shop, product=own, sku="MINE")
    theirs = OfferFactory(shop__marketplace=marketplace, product=own, sku="THEIRS")

    # When the import renames it
    run_import(shop, "sku;product-title\nMINE;Savon de Marseille\n", mode=ImportMode.PARTIAL)

    # Then both offers are found under the new name only
    assert found(marketplace, "marseille") == ["MINE", "THEIRS"]
    theirs.refresh_from_db()
    assert theirs.product.title == "Savon de Marseille"
    assert_index_is_exact()


def test_writes_after_an_import_are_indexed_by_the_triggers_again(marketplace, shop, products):
    run_import(shop, f"sku;product-id;price;quantity\nABR;{EAN1};6,90;12\n")

    Offer.objects.filter(sku="ABR").update(description="Fruits du Roussillon")
    Product.objects.filter(gtin=EAN1).update(brand="Les Vergers")
    OfferFactory(shop=shop, product__title="Pâte de coings", sku="COING")

    assert found(marketplace, "roussillon vergers") == ["ABR"]
    assert found(marketplace, "coings") == ["COING"]
    assert_index_is_exact()


def test_imported_rows_take_new_ids_never_reused(marketplace, shop):
    """Ids are taken before COPY / INSERT: never one that a deleted row had."""
    gone = OfferFactory(shop=shop, product__title="Ancien")
    last_offer, last_product = gone.pk, gone.product_id
    gone.delete()
    gone.product.delete()

    run_import(shop, "sku;product-title;price;quantity\nNEW;Nouveau;5;1\n")

    new = Offer.objects.get(sku="NEW")
    assert new.pk > last_offer and new.product_id > last_product
    later = OfferFactory(shop=shop)  # the ORM goes on after them
    assert later.pk > new.pk and later.product_id > new.product_id


# --- The deferred block --------------------------------------------------------------------


def test_a_failure_inside_the_block_rolls_everything_back(marketplace, shop):
    offer = OfferFactory(shop=shop, product__title="Bougie", sku="B")

    with pytest.raises(RuntimeError), search_index_deferred() as index:
        Offer.objects.filter(pk=offer.pk).update(description="Cire d'abeille")
        index.offers_changed([offer.pk], ["description"])
        raise RuntimeError("the chunk failed")

    offer.refresh_from_db()
    assert offer.description == ""
    assert search.search_index_problems() == []
    Offer.objects.filter(pk=offer.pk).update(description="Soja")  # the triggers work
    assert found(marketplace, "soja") == ["B"]
    assert_index_is_exact()


def test_only_reported_changes_are_refreshed_inside_the_block(marketplace, shop):
    """Inside the block the triggers are off: the writer's report is what gets indexed."""
    kept, priced = (
        OfferFactory(shop=shop, product__title=title, sku=sku, price_cents=1000)
        for title, sku in (("Tasse", "T"), ("Bol", "B"))
    )

    with search_index_deferred() as index:
        Offer.objects.filter(pk=kept.pk).update(description="Grès émaillé")
        Offer.objects.filter(pk=priced.pk).update(price_cents=250, stock=0)
        index.offers_changed([kept.pk], ["description"])
        index.offers_changed([priced.pk], ["price_cents", "stock"])

    assert found(marketplace, "gres") == ["T"]
    assert found(marketplace, filters=SearchFilters(max_price_cents=300)) == ["B"]
    assert found(marketplace, filters=SearchFilters(in_stock=True)) == ["T"]
    assert_index_is_exact()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_other_sessions_keep_indexing_while_an_import_defers(marketplace):
    shop = ShopFactory(marketplace=marketplace)
    imported = OfferFactory(shop=shop, product__title="Lampe", sku="IMPORTED")
    elsewhere = OfferFactory(shop__marketplace=marketplace, product__title="Vase", sku="OTHER")
    deferring, release = threading.Event(), threading.Event()

    def importer():
        try:
            with search_index_deferred() as index:
                Offer.objects.filter(pk=imported.pk).update(description="Lanterne")
                index.offers_changed([imported.pk], ["description"])
                deferring.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=importer)
    thread.start()
    try:
        assert deferring.wait(10)
        # While the import's transaction has the triggers off, another session writes
        Offer.objects.filter(pk=elsewhere.pk).update(description="Porcelaine")
        assert found(marketplace, "porcelaine") == ["OTHER"]
        assert found(marketplace, "lanterne") == []  # not committed yet
    finally:
        release.set()
        thread.join(10)

    assert found(marketplace, "lanterne") == ["IMPORTED"]
    assert search.search_index_problems() == []
