"""The cart pages: adding from the product page, the cart grouped by shop with its delivery
choices, coupons and totals, and the anonymous cart joining the account at login."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from halles.catalog.models import Coupon, CouponKind, Offer
from halles.checkout.models import Cart, CartLine, CartShop
from halles.shops.models import DeliveryKind

from ..factories import (
    PASSWORD,
    ClickCollectFactory,
    DeliveryModeFactory,
    MarketplaceFactory,
    PickupSlotFactory,
    UserFactory,
    make_offer,
    make_shop,
)

pytestmark = pytest.mark.django_db


@dataclass
class Shops:
    bakery: object
    bread: object
    cake: object
    bakery_home: object
    books: object
    novel: object
    books_home: object
    buyer: object


@pytest.fixture
def shops(marketplace):
    bakery, _ = make_shop(marketplace, slug="boulangerie")
    books, _ = make_shop(marketplace, slug="librairie")
    return Shops(
        bakery=bakery,
        bread=make_offer(bakery, sku="PAIN", stock=10, price=250),
        cake=make_offer(bakery, sku="GATEAU", stock=3, price=1800),
        bakery_home=DeliveryModeFactory(shop=bakery, fee_cents=500, free_above_cents=None),
        books=books,
        novel=make_offer(books, sku="ROMAN", stock=2, price=2090, vat_rate="5.50"),
        books_home=DeliveryModeFactory(shop=books, fee_cents=390, free_above_cents=None),
        buyer=UserFactory(email="buyer@example.test"),
    )


@pytest.fixture
def client(client):
    client.cookies["django_language"] = "en"
    return client


def add(client, offer, quantity=1, next_url=None):
    data = {"offer_id": offer.pk, "quantity": quantity}
    if next_url:
        data["next"] = next_url
    return client.post("/cart/add/", data, follow=True)


def page_of(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def lines_of(user) -> dict[str, int]:
    return {
        line.offer.sku: line.quantity
        for line in CartLine.objects.filter(cart__user=user).select_related("offer")
    }


# --- Adding to the cart --------------------------------------------------------------------


def test_the_product_page_offers_an_add_to_cart_form_from_the_minimum_quantity(client, shops):
    Offer.objects.filter(pk=shops.cake.pk).update(min_quantity=2)

    page = page_of(client.get(f"/p/{shops.cake.product_id}/"))

    assert 'action="/cart/add/"' in page
    assert f'name="offer_id" value="{shops.cake.pk}"' in page
    assert 'value="2" min="2"' in page and "minimum 2" in page


def test_an_out_of_stock_offer_has_no_add_to_cart_form(client, shops):
    Offer.objects.filter(pk=shops.cake.pk).update(stock=0)

    page = page_of(client.get(f"/p/{shops.cake.product_id}/"))

    assert "out of stock" in page and 'action="/cart/add/"' not in page


def test_offer_cards_have_an_add_to_cart_button(client, shops):
    page = page_of(client.get("/shops/boulangerie/"))

    assert page.count('action="/cart/add/"') == 2


def test_an_anonymous_visitor_fills_a_cart_kept_in_the_session(client, shops):
    product_page = f"/p/{shops.bread.product_id}/"

    response = add(client, shops.bread, 2, next_url=product_page)
    response = add(client, shops.bread, 1, next_url=product_page)

    assert response.redirect_chain[-1][0] == product_page
    assert "Added to your cart: Produit PAIN (3 in the cart)." in messages_of(response)
    assert "Cart (3)" in page_of(response)
    cart = Cart.objects.get()
    assert cart.user is None and list(cart.lines.values_list("quantity", flat=True)) == [3]
    assert client.session["cart_tokens"] == {str(shops.bakery.marketplace_id): cart.token}
    page = page_of(client.get("/cart/"))
    assert "Produit PAIN" in page and "Sold by Boulangerie" in page


def test_a_signed_in_buyer_fills_the_cart_of_their_account(client, shops):
    client.force_login(shops.buyer)

    add(client, shops.bread, 2)
    response = add(client, shops.novel, 1)

    assert response.redirect_chain[-1][0] == "/cart/"
    assert lines_of(shops.buyer) == {"PAIN": 2, "ROMAN": 1}
    assert "Cart (3)" in page_of(response)
    assert "cart_tokens" not in client.session


def test_more_than_the_stock_is_refused_and_nothing_changes(client, shops):
    client.force_login(shops.buyer)
    add(client, shops.cake, 2)

    response = add(client, shops.cake, 2)

    assert "Only 3 left in stock." in messages_of(response)
    assert lines_of(shops.buyer) == {"GATEAU": 2}
    assert Offer.objects.get(pk=shops.cake.pk).stock == 3


def test_below_the_minimum_quantity_is_refused(client, shops):
    Offer.objects.filter(pk=shops.bread.pk).update(min_quantity=3)

    response = add(client, shops.bread, 2)

    assert "The minimum quantity for this offer is 3." in messages_of(response)
    assert not CartLine.objects.exists()


def test_an_offer_of_another_marketplace_is_refused(client, shops):
    elsewhere, _ = make_shop(MarketplaceFactory(slug="ailleurs"), slug="ailleurs")
    foreign = make_offer(elsewhere, sku="AILLEURS")
    client.force_login(shops.buyer)

    response = add(client, foreign, 1)

    assert "This offer is not sold on this marketplace." in messages_of(response)
    assert not CartLine.objects.exists()


def test_a_quantity_that_is_not_a_number_is_refused(client, shops):
    response = client.post(
        "/cart/add/", {"offer_id": shops.bread.pk, "quantity": "lots"}, follow=True
    )

    assert messages_of(response) == ["Enter a whole number."]
    assert not CartLine.objects.exists()


def test_an_unsafe_next_address_is_ignored(client, shops):
    response = client.post(
        "/cart/add/", {"offer_id": shops.bread.pk, "quantity": 1, "next": "https://evil.test/"}
    )

    assert response["Location"] == "/cart/"


def test_the_cart_of_a_prefixed_marketplace_stays_in_it(client, shops):
    other = MarketplaceFactory(slug="sante")
    shop, _ = make_shop(other, slug="pharmacie")
    offer = make_offer(shop, sku="GANTS")

    response = client.post("/m/sante/cart/add/", {"offer_id": offer.pk, "quantity": 1})
    client.post("/cart/add/", {"offer_id": shops.bread.pk, "quantity": 2})

    assert response["Location"] == "/m/sante/cart/"
    assert "Produit GANTS" in page_of(client.get("/m/sante/cart/"))
    root = page_of(client.get("/cart/"))
    assert "Produit PAIN" in root and "Produit GANTS" not in root
    assert len(client.session["cart_tokens"]) == 2


# --- Merging at login ----------------------------------------------------------------------


def test_logging_in_merges_the_anonymous_cart_into_the_buyers(client, shops):
    client.force_login(shops.buyer)
    add(client, shops.bread, 2)
    client.post("/logout/")
    add(client, shops.bread, 1)
    add(client, shops.novel, 1)
    anonymous = Cart.objects.get(user=None)

    response = client.post("/login/", {"username": shops.buyer.email, "password": PASSWORD})

    assert response.status_code == 302
    assert lines_of(shops.buyer) == {"PAIN": 3, "ROMAN": 1}
    assert not Cart.objects.filter(pk=anonymous.pk).exists()
    assert "cart_tokens" not in client.session
    assert "Cart (4)" in page_of(client.get("/cart/"))


def test_after_a_merge_the_buyer_chooses_the_delivery_of_the_merged_shop(client, shops):
    add(client, shops.novel, 1)
    client.post("/login/", {"username": shops.buyer.email, "password": PASSWORD})

    response = client.post(
        f"/cart/shops/{shops.books.pk}/delivery/",
        {"delivery_mode": shops.books_home.pk},
        follow=True,
    )

    assert messages_of(response) == ["Delivery for Librairie: Livraison à domicile."]


# --- The cart page -------------------------------------------------------------------------


@pytest.fixture
def buyer_client(client, shops):
    client.force_login(shops.buyer)
    return client


def test_the_cart_groups_lines_by_shop_with_totals(buyer_client, shops):
    add(buyer_client, shops.bread, 2)
    add(buyer_client, shops.novel, 1)

    response = buyer_client.get("/cart/")

    summary = response.context["summary"]
    assert [g.shop for g in summary.groups] == [shops.bakery, shops.books]
    page = page_of(response)
    assert "Sold by Boulangerie" in page and "Sold by Librairie" in page
    assert "€25.90" in page  # 2 × 2.50 + 20.90
    assert "Total excluding VAT" in page and "Total including VAT" in page
    # No delivery mode chosen yet: checkout is not possible.
    assert 'disabled data-testid="checkout-button"' in page
    assert "Choose a delivery mode for:" in page


def test_changing_a_quantity_and_removing_a_line(buyer_client, shops):
    add(buyer_client, shops.bread, 2)
    add(buyer_client, shops.novel, 1)
    bread_line = CartLine.objects.get(offer=shops.bread)
    novel_line = CartLine.objects.get(offer=shops.novel)

    changed = buyer_client.post(
        f"/cart/lines/{bread_line.pk}/", {"quantity": 5, "action": "update"}, follow=True
    )
    too_many = buyer_client.post(f"/cart/lines/{bread_line.pk}/", {"quantity": 11}, follow=True)
    removed = buyer_client.post(
        f"/cart/lines/{novel_line.pk}/", {"quantity": "", "action": "remove"}, follow=True
    )

    assert "The quantity has been updated." in messages_of(changed)
    assert "Only 10 left in stock." in messages_of(too_many)
    assert "The item has been removed from your cart." in messages_of(removed)
    assert lines_of(shops.buyer) == {"PAIN": 5}
    assert not CartShop.objects.filter(shop=shops.books).exists()


def test_a_quantity_of_zero_removes_the_line(buyer_client, shops):
    add(buyer_client, shops.bread, 2)
    line = CartLine.objects.get()

    buyer_client.post(f"/cart/lines/{line.pk}/", {"quantity": 0})

    assert lines_of(shops.buyer) == {}


def test_another_visitors_line_cannot_be_changed(buyer_client, shops):
    other = UserFactory()
    buyer_client.force_login(other)
    add(buyer_client, shops.bread, 2)
    line = CartLine.objects.get()
    buyer_client.force_login(shops.buyer)
    add(buyer_client, shops.cake, 1)

    response = buyer_client.post(f"/cart/lines/{line.pk}/", {"quantity": 0}, follow=True)

    assert "This line is not in your cart." in messages_of(response)
    assert lines_of(other) == {"PAIN": 2}


def test_choosing_home_delivery_prices_it_and_opens_the_checkout(buyer_client, shops):
    add(buyer_client, shops.bread, 2)

    response = buyer_client.post(
        f"/cart/shops/{shops.bakery.pk}/delivery/",
        {"delivery_mode": shops.bakery_home.pk},
        follow=True,
    )

    assert "Delivery for Boulangerie: Livraison à domicile." in messages_of(response)
    summary = response.context["summary"]
    assert summary.shipping_cents == 500 and summary.total_cents == 1000
    page = page_of(response)
    assert f'value="{shops.bakery_home.pk}" checked' in page
    assert 'href="/checkout/" data-testid="checkout-button"' in page


def test_click_and_collect_lists_the_future_slots_with_places_left(buyer_client, shops):
    collect = ClickCollectFactory(shop=shops.bakery)
    soon = PickupSlotFactory(delivery_mode=collect, capacity=3, booked=1)
    full = PickupSlotFactory(
        delivery_mode=collect, starts_at=timezone.now() + timedelta(days=2), capacity=2, booked=2
    )
    past = PickupSlotFactory(
        delivery_mode=collect, starts_at=timezone.now() - timedelta(hours=3), capacity=2
    )
    add(buyer_client, shops.bread, 1)

    page = page_of(buyer_client.get("/cart/"))

    assert f'name="pickup_slot_{collect.pk}"' in page
    assert f'<option value="{soon.pk}"' in page and "(2 places left)" in page
    assert f'<option value="{full.pk}"' not in page and f'<option value="{past.pk}"' not in page
    assert "free" in page

    no_slot = buyer_client.post(
        f"/cart/shops/{shops.bakery.pk}/delivery/", {"delivery_mode": collect.pk}, follow=True
    )
    assert "Choose a pick-up slot." in messages_of(no_slot)
    chosen = buyer_client.post(
        f"/cart/shops/{shops.bakery.pk}/delivery/",
        {"delivery_mode": collect.pk, f"pickup_slot_{collect.pk}": soon.pk},
        follow=True,
    )
    choice = CartShop.objects.get(shop=shops.bakery)
    assert (choice.delivery_mode, choice.pickup_slot) == (collect, soon)
    assert f'<option value="{soon.pk}" selected>' in page_of(chosen)


def test_a_relay_point_must_be_given(buyer_client, shops):
    relay = DeliveryModeFactory(shop=shops.bakery, kind=DeliveryKind.RELAY, name="Relais")
    add(buyer_client, shops.bread, 1)
    url = f"/cart/shops/{shops.bakery.pk}/delivery/"

    missing = buyer_client.post(url, {"delivery_mode": relay.pk}, follow=True)
    given = buyer_client.post(
        url, {"delivery_mode": relay.pk, f"relay_point_{relay.pk}": "Tabac de la Gare"}
    )

    assert "Give the relay point where you will collect the parcel." in messages_of(missing)
    assert given.status_code == 302
    assert CartShop.objects.get(shop=shops.bakery).relay_point == "Tabac de la Gare"


def test_a_delivery_mode_of_another_shop_is_refused(buyer_client, shops):
    add(buyer_client, shops.bread, 1)

    response = buyer_client.post(
        f"/cart/shops/{shops.bakery.pk}/delivery/",
        {"delivery_mode": shops.books_home.pk},
        follow=True,
    )

    assert "This delivery mode is not available for these items." in messages_of(response)
    assert CartShop.objects.get(shop=shops.bakery).delivery_mode is None


def test_a_problem_in_the_cart_is_listed_and_blocks_the_checkout(buyer_client, shops):
    add(buyer_client, shops.cake, 3)
    buyer_client.post(
        f"/cart/shops/{shops.bakery.pk}/delivery/", {"delivery_mode": shops.bakery_home.pk}
    )
    Offer.objects.filter(pk=shops.cake.pk).update(stock=1)  # sold elsewhere meanwhile

    page = page_of(buyer_client.get("/cart/"))

    assert "Produit GATEAU: Only 1 left in stock." in page
    assert 'disabled data-testid="checkout-button"' in page
    response = buyer_client.get("/checkout/", follow=True)
    assert response.redirect_chain[-1][0] == "/cart/"
    assert "Complete your cart before ordering." in messages_of(response)


# --- Coupons -------------------------------------------------------------------------------


def coupon(marketplace, code, shop=None, **fields):
    values = {"kind": CouponKind.PERCENT, "percent": 10}
    values.update(fields)
    return Coupon.objects.create(marketplace=marketplace, shop=shop, code=code, **values)


def test_a_shop_coupon_is_applied_then_removed(buyer_client, shops):
    promo = coupon(shops.bakery.marketplace, "PAIN10", shop=shops.bakery)
    add(buyer_client, shops.bread, 4)

    applied = buyer_client.post("/cart/coupon/", {"code": "pain10"}, follow=True)

    assert "The code PAIN10 is applied." in messages_of(applied)
    assert applied.context["summary"].discount_cents == 100
    page = page_of(applied)
    assert "PAIN10" in page and "−€1.00" in page
    removed = buyer_client.post(f"/cart/coupon/{promo.pk}/remove/", follow=True)
    assert removed.context["summary"].discount_cents == 0
    assert CartShop.objects.get(shop=shops.bakery).coupon is None


def test_a_marketplace_coupon_applies_to_the_whole_cart(buyer_client, shops):
    coupon(
        shops.bakery.marketplace, "BIENVENUE", kind=CouponKind.FIXED, percent=None, amount_cents=300
    )
    add(buyer_client, shops.bread, 2)
    add(buyer_client, shops.novel, 1)

    response = buyer_client.post("/cart/coupon/", {"code": "BIENVENUE"}, follow=True)

    assert response.context["summary"].discount_cents == 300
    assert "whole cart" in page_of(response)


def test_an_expired_or_unknown_coupon_is_refused(buyer_client, shops):
    coupon(shops.bakery.marketplace, "NOEL", ends_at=timezone.now() - timedelta(days=1))
    add(buyer_client, shops.bread, 2)

    expired = buyer_client.post("/cart/coupon/", {"code": "NOEL"}, follow=True)
    unknown = buyer_client.post("/cart/coupon/", {"code": "NOPE"}, follow=True)

    assert "This coupon has expired." in messages_of(expired)
    assert "This code does not exist." in messages_of(unknown)
    assert Cart.objects.get(user=shops.buyer).operator_coupon is None


def test_a_coupon_that_expires_in_the_cart_is_shown_as_a_problem(buyer_client, shops):
    promo = coupon(shops.bakery.marketplace, "FLASH")
    add(buyer_client, shops.bread, 2)
    buyer_client.post("/cart/coupon/", {"code": "FLASH"})
    Coupon.objects.filter(pk=promo.pk).update(ends_at=timezone.now() - timedelta(minutes=1))

    page = page_of(buyer_client.get("/cart/"))

    assert "FLASH: This coupon has expired." in page
    assert "does not apply" in page


def test_the_empty_cart_says_so(client, shops):
    response = client.get("/cart/")

    assert "Your cart is empty." in page_of(response)
    assert "Cart (0)" in page_of(response)


def test_pages_outside_any_marketplace_are_404(client, db):
    assert client.get("/cart/").status_code == 404
    assert client.post("/cart/add/", {"offer_id": 1, "quantity": 1}).status_code == 404
