"""Catalog search (halles.catalog.search) on SQLite FTS5 and PostgreSQL full text."""

import random
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from halles.catalog import search
from halles.catalog.models import Category, Offer, Product
from halles.catalog.search import SearchFilters, search_offers
from halles.core.errors import DomainError
from halles.shops.models import DeliveryKind, DeliveryMode, Shop, ShopStatus

from ..factories import (
    CategoryFactory,
    DeliveryModeFactory,
    MarketplaceFactory,
    OfferFactory,
    ProductFactory,
    SectorFactory,
    ShopFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(marketplace):
    return ShopFactory(marketplace=marketplace, name="Épicerie Martin")


@pytest.fixture
def offer_for(marketplace, shop):
    """offer_for("Chocolat noir", brand=, category=, description= (the product's),
    details= (the offer's description), shop=, **other offer fields)."""

    def make(title, *, brand="", category=None, description="", details="", shop=shop, **fields):
        product = ProductFactory(
            marketplace=marketplace,
            title=title,
            brand=brand,
            category=category,
            description=description,
        )
        return OfferFactory(
            marketplace=marketplace, shop=shop, product=product, description=details, **fields
        )

    return make


def titles(result):
    return [offer.product.title for offer in result.offers]


def found(marketplace, query="", **kwargs):
    return titles(search_offers(marketplace=marketplace, query=query, **kwargs))


# --- Matching ------------------------------------------------------------------------------


def test_words_match_title_brand_category_and_descriptions(marketplace, offer_for):
    # Given offers whose only "miel" is in a different field each
    epicerie = CategoryFactory(marketplace=marketplace, name="Épicerie")
    miels = CategoryFactory(marketplace=marketplace, name="Miels", parent=epicerie)
    offer_for("Miel de lavande")
    offer_for("Pot 500 g", brand="Miel d'Or")
    offer_for("Acacia bio", category=miels)
    offer_for("Tartine", description="Au miel de montagne")
    offer_for("Bocal", details="Idéal avec du miel")
    offer_for("Confiture de fraise")

    # When / then: each field is searched
    assert sorted(found(marketplace, "miel")) == [
        "Acacia bio",
        "Bocal",
        "Miel de lavande",
        "Pot 500 g",
        "Tartine",
    ]
    # the names of parent categories are searched too
    assert found(marketplace, "epicerie") == ["Acacia bio"]


def test_accents_case_and_ligatures_do_not_matter(marketplace, offer_for):
    offer_for("Crème brûlée")
    offer_for("Œuf de poule")
    offer_for("CAFE MOULU")

    assert found(marketplace, "creme brulee") == ["Crème brûlée"]
    assert found(marketplace, "CRÈME") == ["Crème brûlée"]
    assert found(marketplace, "oeuf") == ["Œuf de poule"]
    assert found(marketplace, "œufs") == []
    assert found(marketplace, "café") == ["CAFE MOULU"]


def test_every_word_must_match_and_the_last_one_is_a_prefix(marketplace, offer_for):
    offer_for("Chocolat noir 70%")
    offer_for("Chocolat au lait")
    offer_for("Thé noir")

    assert found(marketplace, "chocolat noir") == ["Chocolat noir 70%"]
    assert sorted(found(marketplace, "choco")) == ["Chocolat au lait", "Chocolat noir 70%"]
    # a finished word (followed by a space) is not a prefix any more
    assert found(marketplace, "choco ") == []
    # two letters are too short for a prefix
    assert found(marketplace, "ch") == []


@pytest.fixture(params=["small result", "large result"])
def ranking_path(request, monkeypatch):
    """SQLite ranks a small result from the texts it read, a large one from the index."""
    if request.param == "large result":
        monkeypatch.setattr(search.SQLiteBackend, "SMALL_RESULT", 0)


def test_a_title_match_ranks_before_a_description_match(marketplace, offer_for, ranking_path):
    offer_for("Savon à l'huile d'olive", description="Savon doux")
    offer_for("Bougie parfumée", description="Parfum olive et figue, une longue description")
    offer_for("Huile d'olive vierge extra", description="Première pression à froid")

    result = found(marketplace, "olive", sort="relevance")

    assert result[-1] == "Bougie parfumée"
    assert set(result[:2]) == {"Savon à l'huile d'olive", "Huile d'olive vierge extra"}


def test_ranking_prefers_every_word_in_the_title(marketplace, offer_for, ranking_path):
    category = CategoryFactory(marketplace=marketplace, name="Chaussures")
    offer_for("Basket de course", description="Chaussure légère rouge")  # oldest
    offer_for("Chaussure rouge vernie")
    offer_for("Escarpin rouge", category=category)
    offer_for("Mocassin", brand="Rouge Chaussure", description="Cuir")
    offer_for("Sandale", details="Chaussure d'été rouge")  # newest

    result = found(marketplace, "rouge chaussure", sort="relevance")

    assert result == [
        "Chaussure rouge vernie",  # both words in the title
        "Mocassin",  # in the brand
        "Escarpin rouge",  # in the title and the category
        "Sandale",  # in a description: newest first
        "Basket de course",
    ]


def test_a_capped_result_ranks_words_of_several_parts_by_their_place(
    marketplace, offer_for, monkeypatch
):
    # A capped result ranks from the index (PostgreSQL: the marked title and brand lexemes);
    # "t-shirt" and "d'été" each fold to two lexemes, the last word a prefix
    monkeypatch.setattr(search.offers, "COUNT_CAP", 2)
    offer_for("T-shirt d'été")  # oldest
    offer_for("Débardeur", brand="T-Shirt d'Été & Co")
    offer_for("Polo", description="Un t-shirt d'été à col")
    offer_for("Chemise", details="Plus chic qu'un t-shirt d'été")  # newest

    ranked = search_offers(marketplace=marketplace, query="t-shirt d'été")

    assert (ranked.total, ranked.total_is_exact) == (2, False)
    assert titles(ranked) == ["T-shirt d'été", "Débardeur"]


# --- Visibility ----------------------------------------------------------------------------


def test_only_active_offers_of_active_shops_of_the_marketplace_are_found(
    marketplace, shop, offer_for
):
    offer_for("Pain de campagne")
    offer_for("Pain rassis", is_active=False)
    suspended = ShopFactory(marketplace=marketplace, status=ShopStatus.SUSPENDED)
    offer_for("Pain suspendu", shop=suspended)
    pending = ShopFactory(marketplace=marketplace, status=ShopStatus.PENDING)
    offer_for("Pain en attente", shop=pending)
    elsewhere = MarketplaceFactory()
    OfferFactory(marketplace=elsewhere, product__title="Pain d'ailleurs")

    assert found(marketplace, "pain") == ["Pain de campagne"]
    assert found(elsewhere, "pain") == ["Pain d'ailleurs"]
    assert found(marketplace) == ["Pain de campagne"]


def test_offers_restricted_to_sectors_are_shown_to_those_sectors_only(marketplace, offer_for):
    hospital = SectorFactory(code="hopital", name="Hôpital")
    pharmacy = SectorFactory(code="pharmacie", name="Pharmacie")
    offer_for("Gants pour tous")
    restricted = offer_for("Gants stériles")
    restricted.visible_to_sectors.add(hospital)

    assert found(marketplace, "gants") == ["Gants pour tous"]
    assert sorted(found(marketplace, "gants", sector_id=hospital.pk)) == [
        "Gants pour tous",
        "Gants stériles",
    ]
    assert found(marketplace, "gants", sector_id=pharmacy.pk) == ["Gants pour tous"]

    # When the restriction is lifted, everyone sees the offer
    restricted.visible_to_sectors.clear()
    assert len(found(marketplace, "gants")) == 2


# --- Filters -------------------------------------------------------------------------------


def test_category_filter_includes_sub_categories(marketplace, offer_for):
    food = CategoryFactory(marketplace=marketplace, name="Alimentation")
    bakery = CategoryFactory(marketplace=marketplace, name="Boulangerie", parent=food)
    bread = CategoryFactory(marketplace=marketplace, name="Pains", parent=bakery)
    home = CategoryFactory(marketplace=marketplace, name="Maison")
    offer_for("Baguette", category=bread)
    offer_for("Croissant", category=bakery)
    offer_for("Farine", category=food)
    offer_for("Balai", category=home)

    def in_category(category):
        return sorted(found(marketplace, filters=SearchFilters(category_id=category.pk)))

    assert in_category(food) == ["Baguette", "Croissant", "Farine"]
    assert in_category(bakery) == ["Baguette", "Croissant"]
    assert in_category(bread) == ["Baguette"]
    assert in_category(home) == ["Balai"]


def test_shop_stock_and_delivery_filters(marketplace, shop, offer_for):
    other = ShopFactory(marketplace=marketplace, name="Fromagerie")
    mine = offer_for("Comté 18 mois", stock=3)
    offer_for("Comté 24 mois", stock=0)
    theirs = offer_for("Comté fruité", shop=other)
    DeliveryModeFactory(shop=shop, kind=DeliveryKind.CLICK_COLLECT).offers.add(mine)
    home = DeliveryModeFactory(shop=other, kind=DeliveryKind.HOME)
    home.offers.add(theirs)
    DeliveryModeFactory(shop=other, kind=DeliveryKind.RELAY, is_active=False).offers.add(theirs)

    def with_filters(**filters):
        return sorted(found(marketplace, "comte", filters=SearchFilters(**filters)))

    assert with_filters(shop_id=other.pk) == ["Comté fruité"]
    assert with_filters(in_stock=True) == ["Comté 18 mois", "Comté fruité"]
    assert with_filters(delivery_kind=DeliveryKind.CLICK_COLLECT) == ["Comté 18 mois"]
    assert with_filters(delivery_kind=DeliveryKind.HOME) == ["Comté fruité"]
    # an inactive delivery mode does not count
    assert with_filters(delivery_kind=DeliveryKind.RELAY) == []
    assert with_filters(delivery_kind="teleportation") == []

    # When the home delivery mode is switched off, the offer leaves that filter
    DeliveryMode.objects.filter(pk=home.pk).update(is_active=False)
    assert with_filters(delivery_kind=DeliveryKind.HOME) == []


def test_price_filters_and_promotions_use_the_discount_in_force(marketplace, offer_for):
    now = timezone.now()
    offer_for("Vin A", price_cents=2000)
    offer_for(
        "Vin B",
        price_cents=3000,
        discount_price_cents=1500,
        discount_starts_at=now - timedelta(days=1),
        discount_ends_at=now + timedelta(days=1),
    )
    offer_for(
        "Vin C",
        price_cents=1200,
        discount_price_cents=500,
        discount_ends_at=now - timedelta(hours=1),
    )
    offer_for(
        "Vin D",
        price_cents=4000,
        discount_price_cents=900,
        discount_starts_at=now + timedelta(days=2),
    )
    offer_for("Vin E", price_cents=2500, discount_price_cents=2400)

    def priced(**filters):
        return sorted(found(marketplace, "vin", filters=SearchFilters(**filters)))

    assert priced(max_price_cents=1500) == ["Vin B", "Vin C"]
    assert priced(min_price_cents=2000, max_price_cents=2400) == ["Vin A", "Vin E"]
    assert priced(min_price_cents=3000) == ["Vin D"]
    assert priced(on_promotion=True) == ["Vin B", "Vin E"]
    # When the current discount has ended, Vin B is back at its price
    later = now + timedelta(days=3)
    assert sorted(
        found(marketplace, "vin", filters=SearchFilters(on_promotion=True), at=later)
    ) == ["Vin D", "Vin E"]


# --- Sorts ---------------------------------------------------------------------------------


def test_price_sorts_use_the_effective_price(marketplace, offer_for):
    now = timezone.now()
    offer_for("Thé vert", price_cents=800)
    offer_for("Thé noir", price_cents=1000, discount_price_cents=600)
    offer_for(
        "Thé blanc",
        price_cents=700,
        discount_price_cents=100,
        discount_ends_at=now - timedelta(days=1),
    )

    assert found(marketplace, "the", sort="price_asc") == ["Thé noir", "Thé blanc", "Thé vert"]
    assert found(marketplace, "the", sort="price_desc") == ["Thé vert", "Thé blanc", "Thé noir"]


def test_newest_first_and_relevance_without_words_is_newest(marketplace, offer_for):
    for title in ("Premier", "Deuxième", "Troisième"):
        offer_for(title)

    assert found(marketplace, sort="newest") == ["Troisième", "Deuxième", "Premier"]
    assert found(marketplace, sort="relevance") == ["Troisième", "Deuxième", "Premier"]
    assert found(marketplace, "!!!", sort="relevance") == ["Troisième", "Deuxième", "Premier"]


def test_an_unknown_sort_is_a_domain_error(marketplace):
    with pytest.raises(DomainError) as error:
        search_offers(marketplace=marketplace, sort="cheapest")
    assert error.value.code == "bad_sort"


# --- Facets and pages ----------------------------------------------------------------------


def test_facets_count_the_whole_result_not_the_page(marketplace, shop, offer_for):
    teas = CategoryFactory(marketplace=marketplace, name="Thés")
    coffees = CategoryFactory(marketplace=marketplace, name="Cafés")
    other = ShopFactory(marketplace=marketplace, name="Brûlerie")
    relay = DeliveryModeFactory(shop=shop, kind=DeliveryKind.RELAY)
    for number in range(3):
        relay.offers.add(offer_for(f"Sachet thé {number}", category=teas))
    offer_for("Sachet café", category=coffees, shop=other)
    offer_for("Sachet vide")

    result = search_offers(marketplace=marketplace, query="sachet", per_page=2)

    assert (result.total, result.pages, len(result.offers)) == (5, 3, 2)
    assert result.total_is_exact
    assert result.facets["category"] == [(teas.pk, "Thés", 3), (coffees.pk, "Cafés", 1)]
    assert result.facets["shop"] == [(shop.pk, "Épicerie Martin", 4), (other.pk, "Brûlerie", 1)]
    assert result.facets["delivery"] == [("relay", str(DeliveryKind.RELAY.label), 3)]


def test_pages_clamp_to_the_existing_range(marketplace, offer_for):
    for number in range(5):
        offer_for(f"Carte postale {number}")

    last = search_offers(marketplace=marketplace, query="carte", per_page=2, page=99)
    first = search_offers(marketplace=marketplace, query="carte", per_page=2, page=-3)
    nothing = search_offers(marketplace=marketplace, query="introuvable", page=4)

    assert (last.page, last.pages, titles(last)) == (3, 3, ["Carte postale 0"])
    assert (first.page, titles(first)) == (1, ["Carte postale 4", "Carte postale 3"])
    assert (nothing.page, nothing.pages, nothing.total, nothing.offers) == (1, 1, 0, [])


def test_the_number_of_queries_does_not_grow_with_the_page(marketplace, offer_for):
    category = CategoryFactory(marketplace=marketplace, name="Jouets")

    def queries_for(count):
        for number in range(count):
            offer_for(f"Toupie {number}", category=category)
        with CaptureQueriesContext(connection) as captured:
            result = search_offers(marketplace=marketplace, query="toupie")
            assert {o.product.category.name for o in result.offers} == {"Jouets"}
            assert all(o.shop.name for o in result.offers)
        return len(captured)

    # 15 on PostgreSQL inside the test's transaction: the search's savepoint and release, its
    # setting and restore, the words, the window's estimate and the window twice (a prefix),
    # the ranking, the page, its images, the names of the facets' categories and shops
    assert queries_for(2) == queries_for(20) <= 15


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "'",
        'chocolat "noir',
        "(chocolat",
        "chocolat)",
        "NEAR(chocolat noir)",
        "chocolat NEAR noir",
        "-chocolat",
        "chocolat -noir",
        "*",
        "choco*",
        "chocolat OR noir",
        "chocolat AND NOT noir",
        "title:chocolat",
        "{title}: chocolat",
        "^chocolat",
        "chocolat:*",
        "a & b | !c <-> d",
        "\\x00 \\",
        "'; DROP TABLE catalog_offer; --",
        "🍫 chocolat 🍫",
        "🍫",
        "%_%",
        "x" * 500,
        "chocolat " * 100,
        "ʼ",
        "\u0301",
        "chocolat\x00noir",
    ],
)
def test_user_input_never_breaks_the_query(marketplace, offer_for, query):
    offer_for("Chocolat noir")

    result = search_offers(marketplace=marketplace, query=query)

    assert result.total in (0, 1)
    assert search_offers(marketplace=marketplace, query="chocolat").total == 1


# --- The index follows the catalog ---------------------------------------------------------


def test_index_follows_product_updates(marketplace, offer_for):
    offer = offer_for("Chaise en bois")

    product = offer.product
    product.title = "Tabouret en chêne"
    product.save()
    assert found(marketplace, "chaise") == []
    assert found(marketplace, "tabouret chene") == ["Tabouret en chêne"]

    Product.objects.filter(pk=product.pk).update(brand="Ébéniste", description="Fait main")
    assert found(marketplace, "ebeniste main") == ["Tabouret en chêne"]


def test_index_follows_offer_updates_and_deletes(marketplace, offer_for):
    kept = offer_for("Lampe de bureau", stock=2)
    gone = offer_for("Lampe de chevet")

    Offer.objects.filter(pk=kept.pk).update(stock=0, description="Ampoule LED")  # details
    assert found(marketplace, "lampe", filters=SearchFilters(in_stock=True)) == ["Lampe de chevet"]
    assert found(marketplace, "ampoule") == ["Lampe de bureau"]

    gone.delete()
    assert found(marketplace, "lampe") == ["Lampe de bureau"]

    Offer.objects.filter(pk=kept.pk).update(is_active=False)
    assert found(marketplace, "lampe") == []
    Offer.objects.filter(pk=kept.pk).update(is_active=True)
    assert found(marketplace, "lampe") == ["Lampe de bureau"]


def test_index_follows_shops_and_categories(marketplace, shop, offer_for):
    garden = CategoryFactory(marketplace=marketplace, name="Jardin")
    tools = CategoryFactory(marketplace=marketplace, name="Outils", parent=garden)
    offer_for("Sécateur", category=tools)

    Shop.objects.filter(pk=shop.pk).update(status=ShopStatus.SUSPENDED)
    assert found(marketplace, "secateur") == []
    shop.status = ShopStatus.ACTIVE
    shop.save()
    assert found(marketplace, "secateur") == ["Sécateur"]

    Category.objects.filter(pk=garden.pk).update(name="Extérieur")
    assert found(marketplace, "exterieur") == ["Sécateur"]
    assert found(marketplace, "jardin") == []

    # Moving a branch of the tree moves its offers in the category filter
    diy = CategoryFactory(marketplace=marketplace, name="Bricolage")
    tools.parent = diy
    tools.save()
    assert found(marketplace, filters=SearchFilters(category_id=diy.pk)) == ["Sécateur"]
    assert found(marketplace, filters=SearchFilters(category_id=garden.pk)) == []


def test_index_follows_bulk_creates_and_upserts(marketplace, shop):
    product = ProductFactory(marketplace=marketplace, title="Bougie")
    Offer.objects.bulk_create(
        [
            Offer(marketplace=marketplace, shop=shop, product=product, sku=f"B{n}", price_cents=500)
            for n in range(3)
        ]
    )
    assert search_offers(marketplace=marketplace, query="bougie").total == 3

    Offer.objects.bulk_create(
        [
            Offer(
                marketplace=marketplace,
                shop=shop,
                product=product,
                sku="B0",
                price_cents=400,
                description="Cire d'abeille",
                is_active=True,
            )
        ],
        update_conflicts=True,
        unique_fields=["shop", "sku"],
        update_fields=["price_cents", "description"],
    )
    assert search_offers(marketplace=marketplace, query="abeille").total == 1


def test_the_index_equals_a_fresh_rebuild(marketplace, shop, offer_for):
    sector = SectorFactory()
    category = CategoryFactory(marketplace=marketplace, name="Vaisselle")
    mode = DeliveryModeFactory(shop=shop, kind=DeliveryKind.RELAY)
    first = offer_for("Assiette", category=category, description="Grès")
    first.visible_to_sectors.add(sector)
    mode.offers.add(first)
    offer_for("Bol", discount_price_cents=500, stock=0)
    before = index_contents()

    search.rebuild_search_index()

    assert index_contents() == before
    assert len(before) == 2


def test_statements_of_many_offers_index_as_a_fresh_rebuild_would(marketplace, shop):
    # Given more offers per statement than PostgreSQL refreshes with its session-wide plan
    # (migration catalog 0005: above 16, the refresh is planned for the call)
    category = CategoryFactory(marketplace=marketplace, name="Luminaires")
    lamp = ProductFactory(marketplace=marketplace, title="Lampe", category=category)
    candle = ProductFactory(marketplace=marketplace, title="Bougie")
    Offer.objects.bulk_create(
        [
            Offer(
                marketplace=marketplace,
                shop=shop,
                product=lamp if n % 2 else candle,
                sku=f"L{n}",
                price_cents=1000 + n,
                discount_price_cents=900 if n % 5 == 0 else None,
                stock=n % 3,
            )
            for n in range(40)
        ]
    )
    offers = Offer.objects.filter(shop=shop)
    DeliveryModeFactory(shop=shop, kind=DeliveryKind.RELAY).offers.set(offers)
    sector = SectorFactory()
    for offer in offers.order_by("pk")[:20]:
        offer.visible_to_sectors.add(sector)
    assert search_offers(marketplace=marketplace, query="lampe").total == 10  # 10 restricted
    assert search_offers(marketplace=marketplace, query="lampe", sector_id=sector.pk).total == 20

    # When many offers change in one statement, then when many are deactivated
    offers.filter(sku__in=[f"L{n}" for n in range(0, 40, 2)]).update(description="Cire d'abeille")
    changed = index_contents()
    search.rebuild_search_index()
    assert index_contents() == changed
    assert search_offers(marketplace=marketplace, query="abeille", sector_id=sector.pk).total == 20

    offers.filter(product=candle).update(is_active=False)

    # Then the index is what a rebuild gives, and the search follows
    deactivated = index_contents()
    search.rebuild_search_index()
    assert index_contents() == deactivated
    assert len(deactivated) == 20
    assert search_offers(marketplace=marketplace, query="abeille").total == 0
    assert search_offers(marketplace=marketplace, query="bougie").total == 0


def index_contents():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT rowid, * FROM catalog_offer_fts ORDER BY rowid")
        else:
            cursor.execute("SELECT * FROM catalog_offersearch ORDER BY offer_id")
        return cursor.fetchall()


def test_the_index_triggers_are_installed():
    assert search.search_index_problems() == []


def test_bulk_loads_can_suspend_the_index(marketplace, shop):
    product = ProductFactory(marketplace=marketplace, title="Parapluie")

    with search.search_index_suspended():
        Offer.objects.bulk_create(
            [
                Offer(
                    marketplace=marketplace, shop=shop, product=product, sku=f"P{n}", price_cents=1
                )
                for n in range(4)
            ]
        )

    assert search.search_index_problems() == []
    assert search_offers(marketplace=marketplace, query="parapluie").total == 4


@pytest.mark.django_db(transaction=True)
@pytest.mark.sqlite_only  # SQLite rebuilds altered tables
def test_a_table_rebuild_is_detected_and_repaired(marketplace, offer_for):
    offer = offer_for("Arrosoir")
    with connection.schema_editor() as editor:
        editor._remake_table(Offer)  # what an AddField does on SQLite
    assert "missing trigger catalog_search_catalog_offer_update" in search.search_index_problems()

    search.repair_search_index()
    Offer.objects.filter(pk=offer.pk).update(description="Zinc")

    assert search.search_index_problems() == []
    assert found(marketplace, "zinc") == ["Arrosoir"]


# --- Large results: capped counts, bounded ranking, exact price order ----------------------


def test_large_results_are_capped_but_price_order_stays_exact(
    marketplace, shop, offer_for, monkeypatch
):
    monkeypatch.setattr(search.offers, "COUNT_CAP", 10)
    now = timezone.now()
    prices = [1500, 300, 2200, 900, 100, 4100, 700, 650, 3000, 1200, 50, 999, 2500, 800, 450]
    for number, price in enumerate(prices):
        discount = {"discount_price_cents": price // 2} if number % 4 == 0 else {}
        if number == 8:
            discount["discount_ends_at"] = now - timedelta(days=1)  # expired
        offer_for(f"Lot {number}", price_cents=price, **discount)
    everything = [o for o in Offer.objects.all()]
    cheapest = sorted(everything, key=lambda o: (o.effective_price_cents(now), o.pk))

    result = search_offers(marketplace=marketplace, query="lot", sort="price_asc", per_page=5)
    dearest = search_offers(marketplace=marketplace, query="lot", sort="price_desc", per_page=5)
    page2 = search_offers(
        marketplace=marketplace, query="lot", sort="price_asc", per_page=5, page=2
    )
    ranked = search_offers(marketplace=marketplace, query="lot", per_page=10)

    assert (result.total, result.total_is_exact, result.pages) == (10, False, 2)
    assert [o.pk for o in result.offers] == [o.pk for o in cheapest[:5]]
    assert [o.pk for o in page2.offers] == [o.pk for o in cheapest[5:10]]
    assert [o.pk for o in dearest.offers] == [o.pk for o in cheapest[::-1][:5]]
    assert sum(n for _pk, _name, n in ranked.facets["shop"]) == 10
    assert len(ranked.offers) == 10


def test_the_window_uses_the_price_filter_before_capping(marketplace, offer_for, monkeypatch):
    monkeypatch.setattr(search.offers, "COUNT_CAP", 3)
    for number in range(6):
        offer_for(f"Vase {number}", price_cents=100 * (number + 1))

    result = search_offers(
        marketplace=marketplace, query="vase", filters=SearchFilters(max_price_cents=300)
    )

    assert (result.total, result.total_is_exact) == (3, True)


def test_large_results_keep_the_price_range_and_order_exact(
    marketplace, shop, offer_for, monkeypatch
):
    monkeypatch.setattr(search.offers, "COUNT_CAP", 6)
    now = timezone.now()
    rng = random.Random(3)
    for number in range(40):
        price = rng.choice([50, 95, 120, 499, 500, 1999, 2000, 2001, 7450, 99_999, 150_000])
        extra = {}
        if number % 3 == 0:
            extra["discount_price_cents"] = price * 2 // 3
            extra["discount_ends_at"] = now + timedelta(days=1 if number % 2 else -1)
        offer_for(f"Pot {number}", price_cents=price, **extra)

    def expected(low, high, promoted=False):
        offers = [
            o
            for o in Offer.objects.all()
            if low <= o.effective_price_cents(now) <= high and (o.in_promotion(now) or not promoted)
        ]
        return sorted(offers, key=lambda o: (o.effective_price_cents(now), o.pk))

    for low, high, promoted in [(0, 10**9, False), (100, 2000, False), (90, 600, True)]:
        wanted = expected(low, high, promoted)
        filters = SearchFilters(min_price_cents=low, max_price_cents=high, on_promotion=promoted)
        for sort, order in (("price_asc", wanted), ("price_desc", wanted[::-1])):
            pages = [
                search_offers(
                    marketplace=marketplace,
                    query="pot",
                    filters=filters,
                    sort=sort,
                    per_page=3,
                    page=page,
                )
                for page in (1, 2)
            ]
            got = [o.pk for page in pages[: pages[0].pages] for o in page.offers]
            assert got == [o.pk for o in order[:6]], (low, high, promoted, sort)


def test_a_common_last_word_is_not_expanded_as_a_prefix(marketplace, offer_for, monkeypatch):
    monkeypatch.setattr(search.offers, "COUNT_CAP", 2)
    for title in ("Vase bleu", "Vase vert", "Vase rouge", "Vaseline"):
        offer_for(title)

    # "vase" matches more than COUNT_CAP offers: it is not expanded to "vaseline"
    assert found(marketplace, "vase") == ["Vase rouge", "Vase vert"]
    # "vas" and "vasel" match few offers on their own: they are prefixes
    assert found(marketplace, "vas") == ["Vaseline", "Vase rouge"]
    assert found(marketplace, "vasel") == ["Vaseline"]


def test_browsing_without_words_respects_sectors_and_filters(marketplace, offer_for):
    hospital = SectorFactory(code="hopital", name="Hôpital")
    offer_for("Masque", stock=0)
    offer_for("Blouse").visible_to_sectors.add(hospital)

    assert found(marketplace) == ["Masque"]
    assert found(marketplace, sector_id=hospital.pk) == ["Blouse", "Masque"]
    assert found(marketplace, filters=SearchFilters(in_stock=True), sector_id=hospital.pk) == [
        "Blouse"
    ]


def test_capped_results_still_rank_and_sort_newest_first(marketplace, offer_for, monkeypatch):
    monkeypatch.setattr(search.offers, "COUNT_CAP", 3)
    offer_for("Lampe de chevet")  # oldest
    offer_for("Lampe torche")
    offer_for("Guirlande", brand="Lampe & Co")
    offer_for("Ampoule", description="Pour lampe de bureau")
    offer_for("Abat-jour", description="Pour lampe")
    offer_for("Lampe à huile")  # newest

    ranked = search_offers(marketplace=marketplace, query="lampe ")
    newest = search_offers(marketplace=marketplace, query="lampe ", sort="newest")

    assert (ranked.total, ranked.total_is_exact) == (3, False)
    assert titles(ranked) == ["Lampe à huile", "Lampe torche", "Lampe de chevet"]
    assert titles(newest) == ["Lampe à huile", "Abat-jour", "Ampoule"]


@pytest.mark.postgres_only
def test_postgres_searches_read_the_table_from_its_start(marketplace, offer_for, monkeypatch):
    # A synchronized scan starts where another one is: the window (the first matches found)
    # would be another sample at each request, and the walk estimates would be wrong.
    offer_for("Lampe torche")
    settings = []
    window = search.offers.PostgresBackend.window

    def spy(self, *args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('synchronize_seqscans')")
            settings.append(cursor.fetchone()[0])
        return window(self, *args, **kwargs)

    monkeypatch.setattr(search.offers.PostgresBackend, "window", spy)

    assert found(marketplace, "lampe ") == ["Lampe torche"]

    assert settings == ["off"]
    with connection.cursor() as cursor:  # for the search only
        cursor.execute("SELECT current_setting('synchronize_seqscans')")
        assert cursor.fetchone()[0] == "on"


@pytest.mark.postgres_only
@pytest.mark.parametrize("sort", ["relevance", "price_asc"])
def test_postgres_windows_through_the_index_or_the_table_agree(
    marketplace, offer_for, monkeypatch, sort
):
    # The window reads the matches through the full-text index or the table, as the
    # planner's estimates make cheaper: the same rows either way
    category = CategoryFactory(marketplace=marketplace, name="Luminaires")
    for number in range(6):
        offer_for(f"Lampe {number}", category=category, price_cents=1000 + 500 * number)
    offer_for("Lampe de poche", price_cents=1500)  # another category
    offer_for("Lampe frontale", category=category, price_cents=2000, stock=0)
    filters = SearchFilters(
        category_id=category.pk, min_price_cents=1200, max_price_cents=3000, in_stock=True
    )
    results, through_the_index = [], []
    for cheaper in (True, False):
        monkeypatch.setattr(
            search.offers.PostgresBackend, "_index_is_cheaper", lambda *args, c=cheaper: c
        )
        with CaptureQueriesContext(connection) as captured:
            result = search_offers(
                marketplace=marketplace, query="lampe", filters=filters, sort=sort
            )
        results.append((titles(result), result.total, result.facets))
        through_the_index.append(any("OFFSET 0) AS o" in q["sql"] for q in captured))

    assert through_the_index == [True, False]  # the choice decides the window's statement
    assert results[0] == results[1]
    assert sorted(results[0][0]) == ["Lampe 1", "Lampe 2", "Lampe 3", "Lampe 4"]


@pytest.mark.postgres_only
def test_postgres_a_tier_walks_the_newest_offers_when_the_rule_says_so(
    marketplace, offer_for, monkeypatch
):
    monkeypatch.setattr(search.offers, "COUNT_CAP", 2)  # a capped result: tier by tier
    for number in range(4):
        offer_for(f"Lampe {number}")
    walked = []
    for shorter in (True, False):
        monkeypatch.setattr(search.postgres, "walk_is_shorter", lambda *args, s=shorter: s)
        with CaptureQueriesContext(connection) as captured:
            result = search_offers(marketplace=marketplace, query="lampe ")
        assert titles(result) == ["Lampe 3", "Lampe 2"]  # newest first either way
        walked.append(any("'enable_bitmapscan', 'off'" in q["sql"] for q in captured))

    assert walked == [True, False]


@pytest.mark.postgres_only
def test_postgres_window_keeps_the_planners_plan_when_its_plan_has_another_shape(
    marketplace, offer_for, monkeypatch
):
    offer_for("Lampe torche")
    fetch = search.offers.PostgresBackend._fetch

    def odd_plan(self, sql, params):
        if sql.startswith("EXPLAIN"):
            return [([{"Plan": {"Node Type": "Result"}}],)]
        return fetch(self, sql, params)

    monkeypatch.setattr(search.offers.PostgresBackend, "_fetch", odd_plan)

    assert found(marketplace, "lampe ") == ["Lampe torche"]
