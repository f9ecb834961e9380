"""The shared factories build consistent rows: an offer, its shop, its product and the shop's
plan are always in one marketplace, however the test names it."""

import pytest

from ..factories import MarketplaceFactory, OfferFactory, ShopFactory, make_offer, make_shop

pytestmark = pytest.mark.django_db


def marketplaces_of(offer) -> set:
    return {
        offer.marketplace_id,
        offer.shop.marketplace_id,
        offer.shop.plan.marketplace_id,
        offer.product.marketplace_id,
    }


def test_an_offer_without_arguments_has_one_marketplace():
    offer = OfferFactory()

    assert len(marketplaces_of(offer)) == 1
    assert (offer.is_active, offer.stock > 0) == (True, True)


def test_an_offer_follows_the_marketplace_it_is_given():
    market = MarketplaceFactory()

    for offer in (
        OfferFactory(marketplace=market),
        OfferFactory(shop=ShopFactory(marketplace=market)),
        OfferFactory(shop__marketplace=market),
    ):
        assert marketplaces_of(offer) == {market.pk}


def test_make_shop_and_make_offer(marketplace):
    shop, owner = make_shop(marketplace, slug="fromagerie")

    offer = make_offer(shop, sku="COMTE", stock=2, price=1850)

    assert (shop.name, shop.staff.get().user) == ("Fromagerie", owner)
    assert (offer.sku, offer.stock, offer.price_cents) == ("COMTE", 2, 1850)
    assert offer.product.title == "Produit COMTE"
    assert marketplaces_of(offer) == {marketplace.pk}
