"""The search and shop pages render their offer cards without a query per card."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from halles.catalog.models import ProductImage

from ..factories import OfferFactory, ProductFactory, ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(marketplace):
    return ShopFactory(marketplace=marketplace, name="Jouets Lefèvre", slug="jouets-lefevre")


def add_offers(marketplace, shop, start, count):
    for number in range(start, start + count):
        product = ProductFactory(marketplace=marketplace, title=f"Toupie {number}")
        ProductImage.objects.create(
            product=product,
            image=f"products/toupie-{number}.jpg",
            thumbnail=f"products/thumbs/toupie-{number}.jpg",
            alt=f"Toupie {number} en bois",
        )
        OfferFactory(marketplace=marketplace, shop=shop, product=product, stock=5)


def queries_of(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response.content.decode()


@pytest.mark.parametrize("url", ["/search/?q=toupie", "/shops/jouets-lefevre/"])
def test_offer_cards_cost_no_query_each(client, marketplace, shop, url):
    add_offers(marketplace, shop, 0, 2)
    few, page = queries_of(client, url)
    assert page.count('data-testid="offer-card"') == 2

    add_offers(marketplace, shop, 2, 18)
    many, page = queries_of(client, url)

    # Every card shows its thumbnail, title, price and shop, and the page costs as many
    # queries for 20 cards as for 2
    assert page.count('data-testid="offer-card"') == 20
    assert page.count('src="/media/products/thumbs/toupie-') == 20
    assert 'alt="Toupie 19 en bois"' in page and "Jouets Lefèvre" in page
    assert many == few


@pytest.mark.parametrize("url", ["/search/?q=toupie", "/"])
def test_a_card_shows_the_first_image_of_its_product(client, marketplace, shop, url):
    product = ProductFactory(marketplace=marketplace, title="Toupie")
    for name, position in (("back", 2), ("front", 1), ("side", 1)):  # front: first at 1
        ProductImage.objects.create(
            product=product,
            image=f"products/{name}.jpg",
            thumbnail=f"products/thumbs/{name}.jpg",
            position=position,
        )
    OfferFactory(marketplace=marketplace, shop=shop, product=product, stock=5)

    page = client.get(url).content.decode()

    assert page.count("/media/products/thumbs/") == 1
    assert 'src="/media/products/thumbs/front.jpg"' in page
