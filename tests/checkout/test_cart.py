"""Cart rules and checkout refusals: each bad input gets a clear error and changes nothing."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.translation import gettext as _

from halles.catalog.models import Coupon, CouponKind, Offer
from halles.checkout import cart as carts
from halles.checkout import placement, pricing
from halles.checkout.models import CartLine, CouponRedemption
from halles.core.errors import DomainError, NotAllowed
from halles.marketplaces.models import MarketplaceStatus
from halles.orders.models import Order
from halles.shops.models import ShopStatus

from ..factories import (
    ClickCollectFactory,
    DeliveryModeFactory,
    MarketplaceFactory,
    PickupSlotFactory,
    UserFactory,
    make_offer,
    make_shop,
)
from ..orders.conftest import DECLINE, fill_cart, pay, place

pytestmark = pytest.mark.django_db


def a_cart(world, buyer=None):
    return carts.cart_get(marketplace=world.marketplace, user=buyer or world.buyer, create=True)


def refused(expected, call, /, **kwargs):
    with pytest.raises(DomainError) as error:
        call(**kwargs)
    assert error.value.code == expected, error.value.message
    return str(error.value.message)


def test_quantities_are_checked_against_stock_minimum_and_maximum(world):
    cart = a_cart(world)
    world.bread.min_quantity, world.bread.max_quantity = 2, 4
    world.bread.save()

    assert "3" in refused(
        "above_stock", carts.cart_add, cart=cart, offer_id=world.cake.pk, quantity=4
    )
    assert "2" in refused(
        "below_minimum", carts.cart_add, cart=cart, offer_id=world.bread.pk, quantity=1
    )
    refused("above_maximum", carts.cart_add, cart=cart, offer_id=world.bread.pk, quantity=5)
    assert not cart.lines.exists()

    carts.cart_add(cart=cart, offer_id=world.bread.pk, quantity=3)
    refused("above_maximum", carts.cart_add, cart=cart, offer_id=world.bread.pk, quantity=2)
    assert cart.lines.get().quantity == 3


def test_offers_the_cart_refuses_each_say_why(world):
    cart = a_cart(world)
    elsewhere = make_offer(make_shop(MarketplaceFactory(), slug="loin")[0], sku="LOIN")
    refused("offer_elsewhere", carts.cart_add, cart=cart, offer_id=elsewhere.pk, quantity=1)

    Offer.objects.filter(pk=world.cake.pk).update(is_active=False)
    refused("offer_inactive", carts.cart_add, cart=cart, offer_id=world.cake.pk, quantity=1)

    world.books.status = ShopStatus.SUSPENDED
    world.books.save()
    message = refused(
        "shop_not_active", carts.cart_add, cart=cart, offer_id=world.novel.pk, quantity=1
    )
    assert "Librairie" in message
    assert not cart.lines.exists()


def test_a_closed_marketplace_or_one_past_its_cutoff_takes_nothing(world):
    cart = a_cart(world)
    world.marketplace.order_cutoff_at = timezone.now() - timedelta(hours=1)
    world.marketplace.save()
    refused("marketplace_cutoff", carts.cart_add, cart=cart, offer_id=world.bread.pk, quantity=1)

    world.marketplace.order_cutoff_at = None
    world.marketplace.status = MarketplaceStatus.CLOSED
    world.marketplace.save()
    refused("marketplace_closed", carts.cart_add, cart=cart, offer_id=world.bread.pk, quantity=1)


def test_a_problem_appearing_after_adding_blocks_the_checkout(world):
    cart = fill_cart(world, [(world.cake, 2)])
    Offer.objects.filter(pk=world.cake.pk).update(stock=1)

    summary = pricing.cart_summary(cart, world.buyer)
    assert summary.all_problems and "1" in summary.all_problems[0]
    refused("above_stock", place, world=world, cart=cart)
    assert not Order.objects.exists()
    assert Offer.objects.get(pk=world.cake.pk).stock == 1


def test_totals_per_shop_and_overall_with_vat(world):
    cart = fill_cart(world, [(world.bread, 2), (world.novel, 1)])

    summary = pricing.cart_summary(cart, world.buyer)

    bakery, books = summary.groups
    assert (bakery.lines_cents, bakery.shipping_cents, bakery.total_cents) == (500, 500, 1000)
    assert (books.lines_cents, books.shipping_cents, books.total_cents) == (2090, 390, 2480)
    # 20 % on 500 + 500; books at 5.5 %, delivery at the order's highest rate (5.5 %).
    assert bakery.vat_cents == 83 + 83
    assert books.vat_cents == 109 + 20
    assert summary.total_cents == 3480
    assert summary.net_cents == 3480 - summary.vat_cents


def test_free_delivery_above_the_shops_threshold(world):
    world.bakery_home.free_above_cents = 2000
    world.bakery_home.save()
    cart = fill_cart(world, [(world.cake, 1), (world.bread, 1)])
    assert pricing.cart_summary(cart, world.buyer).groups[0].shipping_cents == 0


def coupon(world, shop=None, **fields):
    return Coupon.objects.create(
        marketplace=world.marketplace,
        shop=shop,
        code=fields.pop("code", "PROMO10"),
        kind=fields.pop("kind", CouponKind.PERCENT),
        percent=fields.pop("percent", 10),
        **fields,
    )


def test_a_shop_coupon_discounts_that_shops_items_only(world):
    coupon(world, shop=world.bakery)
    cart = fill_cart(world, [(world.cake, 1), (world.novel, 1)])

    carts.cart_apply_coupon(cart=cart, code="promo10", user=world.buyer)

    bakery, books = pricing.cart_summary(cart, world.buyer).groups
    assert bakery.discount_cents == 180 and books.discount_cents == 0


def test_a_marketplace_coupon_is_shared_between_shops_to_the_cent(world):
    coupon(world, code="BIENVENUE", kind=CouponKind.FIXED, percent=None, amount_cents=1000)
    cart = fill_cart(world, [(world.cake, 1), (world.novel, 1)])

    carts.cart_apply_coupon(cart=cart, code="BIENVENUE", user=world.buyer)

    summary = pricing.cart_summary(cart, world.buyer)
    assert [g.discount_cents for g in summary.groups] == [463, 537]
    assert summary.discount_cents == 1000


def test_an_expired_coupon_is_refused(world):
    coupon(world, ends_at=timezone.now() - timedelta(days=1))
    cart = fill_cart(world, [(world.cake, 1)])
    refused("coupon_expired", carts.cart_apply_coupon, cart=cart, code="PROMO10")
    refused("coupon_unknown", carts.cart_apply_coupon, cart=cart, code="NOPE")


def test_a_coupon_used_up_by_the_buyer_is_refused_and_given_back_if_payment_fails(world):
    coupon(world, max_uses_per_buyer=1)
    cart = fill_cart(world, [(world.cake, 1)])
    carts.cart_apply_coupon(cart=cart, code="PROMO10", user=world.buyer)
    order = pay(place(world, cart), card=DECLINE)
    assert order.status == "abandoned"
    assert not CouponRedemption.objects.exists()
    assert Coupon.objects.get(code="PROMO10").times_used == 0

    order = pay(place(world, cart))
    assert CouponRedemption.objects.filter(order_reference=order.reference).count() == 1
    cart = fill_cart(world, [(world.cake, 1)])
    refused(
        "coupon_used_by_buyer", carts.cart_apply_coupon, cart=cart, code="PROMO10", user=world.buyer
    )


def test_checkout_requires_a_billing_address_and_a_confirmed_account(world):
    cart = fill_cart(world, [(world.bread, 1)])
    refused(
        "billing_required",
        placement.checkout_place,
        cart=cart,
        buyer=world.buyer,
        checkout_token="t",
        billing_address_id=None,
    )
    world.buyer.email_verified_at = None
    world.buyer.save()
    with pytest.raises(NotAllowed):
        place(world, cart)
    assert not Order.objects.exists()


def test_a_tampered_or_stale_total_is_refused(world):
    cart = fill_cart(world, [(world.bread, 1)])
    refused(
        "total_changed",
        placement.checkout_place,
        cart=cart,
        buyer=world.buyer,
        checkout_token="t",
        billing_address_id=world.address.pk,
        shipping_address_id=world.address.pk,
        expected_total_cents=1,
    )
    assert Offer.objects.get(pk=world.bread.pk).stock == 10


def test_the_same_checkout_token_twice_is_one_order(world):
    cart = fill_cart(world, [(world.bread, 2)])
    token = uuid.uuid4().hex
    first = place(world, cart, token=token)
    second = place(world, cart, token=token)
    assert first.pk == second.pk
    assert Offer.objects.get(pk=world.bread.pk).stock == 8


def test_a_new_checkout_of_the_same_cart_gives_back_the_stock_of_the_unpaid_one(world):
    cart = fill_cart(world, [(world.cake, 3)])
    first = place(world, cart)
    second = place(world, cart)
    first.refresh_from_db()
    assert first.status == "abandoned" and second.status == "payment_pending"
    assert Offer.objects.get(pk=world.cake.pk).stock == 0


def test_an_anonymous_cart_merges_into_the_buyers_at_login(world):
    anonymous = carts.cart_get(marketplace=world.marketplace, create=True)
    carts.cart_add(cart=anonymous, offer_id=world.cake.pk, quantity=2)
    mine = a_cart(world)
    carts.cart_add(cart=mine, offer_id=world.cake.pk, quantity=2, user=world.buyer)

    merged = carts.cart_merge(token=anonymous.token, user=world.buyer)

    assert merged.pk == mine.pk
    assert mine.lines.get().quantity == 3  # 2 + 2, capped at the stock
    assert not CartLine.objects.filter(cart=anonymous).exists()


def test_click_and_collect_needs_a_slot_with_room(world):
    collect = ClickCollectFactory(shop=world.bakery)
    full = PickupSlotFactory(delivery_mode=collect, capacity=1, booked=1)
    open_slot = PickupSlotFactory(delivery_mode=collect, capacity=1)
    cart = fill_cart(world, [(world.bread, 1)])

    refused(
        "slot_required",
        carts.cart_choose_delivery,
        cart=cart,
        shop_id=world.bakery.pk,
        delivery_mode_id=collect.pk,
    )
    refused(
        "slot_full",
        carts.cart_choose_delivery,
        cart=cart,
        shop_id=world.bakery.pk,
        delivery_mode_id=collect.pk,
        pickup_slot_id=full.pk,
    )
    carts.cart_choose_delivery(
        cart=cart, shop_id=world.bakery.pk, delivery_mode_id=collect.pk, pickup_slot_id=open_slot.pk
    )
    order = place(world, cart)
    open_slot.refresh_from_db()
    assert open_slot.booked == 1
    assert order.shop_orders.get().pickup_slot_id == open_slot.pk


def test_a_choice_the_shop_made_incomplete_is_asked_again(world):
    # Given a buyer who chose click and collect when the mode had no slots
    collect = ClickCollectFactory(shop=world.bakery, uses_slots=False)
    cart = fill_cart(world, [(world.bread, 1)])
    carts.cart_choose_delivery(cart=cart, shop_id=world.bakery.pk, delivery_mode_id=collect.pk)

    # When the shop starts taking orders by slot
    collect.uses_slots = True
    collect.save()
    slot = PickupSlotFactory(delivery_mode=collect)

    # Then the cart asks for a slot and the checkout is refused, nothing booked or ordered
    (problem,) = pricing.cart_summary(cart, world.buyer).all_problems
    assert world.bakery.name in problem
    with pytest.raises(DomainError) as error:
        place(world, cart)
    assert error.value.code == "cart_invalid"
    assert not Order.objects.exists()

    # Once a slot is chosen, the order goes through with it
    carts.cart_choose_delivery(
        cart=cart, shop_id=world.bakery.pk, delivery_mode_id=collect.pk, pickup_slot_id=slot.pk
    )
    assert place(world, cart).shop_orders.get().pickup_slot_id == slot.pk


def test_a_delivery_mode_of_another_shop_is_refused(world):
    cart = fill_cart(world, [(world.bread, 1)])
    other = DeliveryModeFactory(shop=world.books)
    refused(
        "delivery_unavailable",
        carts.cart_choose_delivery,
        cart=cart,
        shop_id=world.bakery.pk,
        delivery_mode_id=other.pk,
    )


def test_approval_marketplaces_wait_for_the_operator_before_orders(world):
    world.marketplace.registration_mode = "approval"
    world.marketplace.save()
    newcomer = UserFactory()
    newcomer.addresses.create(
        full_name="N", line1="1 rue", postcode="75001", city="Paris", country="FR"
    )
    cart = fill_cart(world, [(world.bread, 1)], buyer=newcomer)
    with pytest.raises(NotAllowed) as error:
        place(world, cart, buyer=newcomer)
    assert str(error.value.message) == str(_("The marketplace has not approved your account yet."))


def test_the_delivery_chosen_before_login_survives_the_merge(world):
    anonymous = carts.cart_get(marketplace=world.marketplace, create=True)
    carts.cart_add(cart=anonymous, offer_id=world.novel.pk, quantity=1)
    carts.cart_choose_delivery(
        cart=anonymous, shop_id=world.books.pk, delivery_mode_id=world.books_home.pk
    )

    cart = carts.cart_merge(token=anonymous.token, user=world.buyer)

    summary = pricing.cart_summary(cart, world.buyer)
    assert summary.groups[0].delivery_mode == world.books_home
    assert not summary.all_problems
