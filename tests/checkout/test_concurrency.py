"""Checkout under concurrency, on PostgreSQL (real row locks, one connection per thread):
the last unit is sold once, a control shows the race without the guard, carts spanning
shops never deadlock, and a double submission places one order."""

import contextlib
import threading
import uuid

import pytest
from django.db import connection, transaction

from halles.accounts.models import Address
from halles.catalog.models import Offer
from halles.catalog.services import OutOfStock
from halles.checkout import cart as carts
from halles.checkout import placement
from halles.core.errors import DomainError
from halles.orders.models import Order

from ..factories import DeliveryModeFactory, MarketplaceFactory, UserFactory, make_offer, make_shop

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def buyer_with_cart(marketplace, items, modes):
    buyer = UserFactory()
    Address.objects.create(
        user=buyer, full_name="B", line1="1 rue", postcode="75001", city="Paris", country="FR"
    )
    cart = carts.cart_get(marketplace=marketplace, user=buyer, create=True)
    for offer, quantity in items:
        carts.cart_add(cart=cart, offer_id=offer.pk, quantity=quantity, user=buyer)
    for mode in modes:
        carts.cart_choose_delivery(cart=cart, shop_id=mode.shop_id, delivery_mode_id=mode.pk)
    return buyer, cart


def run_together(jobs):
    """Start every job at the same instant, each on its own connection; collect outcomes."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait()
            results[index] = ("ok", job())
        except DomainError as exc:
            results[index] = ("error", exc.code)
        except Exception as exc:  # a deadlock or any crash shows up in the assertion
            results[index] = ("crash", repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def checkout_job(buyer, cart, token=None):
    address = buyer.addresses.first()
    return lambda: (
        placement.checkout_place(
            cart=cart,
            buyer=buyer,
            checkout_token=token or uuid.uuid4().hex,
            billing_address_id=address.pk,
            shipping_address_id=address.pk,
        ).pk
    )


@pytest.fixture
def last_unit():
    marketplace = MarketplaceFactory()
    shop, _owner = make_shop(marketplace)
    offer = make_offer(shop, sku="DERNIER", stock=1)
    mode = DeliveryModeFactory(shop=shop)
    buyers = [buyer_with_cart(marketplace, [(offer, 1)], [mode]) for _ in range(32)]
    return offer, buyers


def test_32_buyers_checking_out_the_last_unit_make_exactly_one_order(last_unit):
    offer, buyers = last_unit

    results = run_together([checkout_job(buyer, cart) for buyer, cart in buyers])

    assert [r[0] for r in results].count("ok") == 1
    assert sorted(r[1] for r in results if r[0] != "ok") == ["out_of_stock"] * 31
    assert Order.objects.count() == 1
    assert Offer.objects.get(pk=offer.pk).stock == 0


def test_control_without_the_guard_the_race_oversells(last_unit, monkeypatch):
    offer, buyers = last_unit

    # Read, think, write: the classic race. The buyers reach this point one after the other
    # (the checkout before it is Python, one thread at a time), so two of them are made to
    # read before either writes, as two servers would; a sleep here made the control flaky.
    both_read = threading.Barrier(2, timeout=5)

    def unguarded_reserve(*, offer_id, quantity):
        stock = Offer.objects.get(pk=offer_id).stock
        if stock < quantity:
            raise OutOfStock()
        with contextlib.suppress(threading.BrokenBarrierError):  # a late reader, alone
            both_read.wait()
        Offer.objects.filter(pk=offer_id).update(stock=stock - quantity)

    monkeypatch.setattr(placement, "stock_reserve", unguarded_reserve)

    results = run_together([checkout_job(buyer, cart) for buyer, cart in buyers])

    assert [r[0] for r in results].count("ok") > 1  # one unit, several orders
    assert Order.objects.count() > 1


def test_carts_spanning_shops_in_any_order_never_deadlock():
    marketplace = MarketplaceFactory()
    shops = [make_shop(marketplace, slug=f"shop-{i}")[0] for i in range(3)]
    offers = [
        make_offer(shop, sku=f"O{i}{j}", stock=100)
        for i, shop in enumerate(shops)
        for j in range(2)
    ]
    modes = [DeliveryModeFactory(shop=shop) for shop in shops]
    buyers = []
    for n in range(16):
        ordered = offers[n % len(offers) :] + offers[: n % len(offers)]  # each starts elsewhere
        if n % 2:
            ordered.reverse()
        buyers.append(buyer_with_cart(marketplace, [(o, 1) for o in ordered], modes))

    results = run_together([checkout_job(buyer, cart) for buyer, cart in buyers])

    assert [r[0] for r in results] == ["ok"] * 16, results
    assert {o.stock for o in Offer.objects.filter(pk__in=[o.pk for o in offers])} == {84}
    assert Order.objects.count() == 16


def test_a_checkout_submitted_twice_at_once_places_one_order():
    marketplace = MarketplaceFactory()
    shop, _owner = make_shop(marketplace)
    offer = make_offer(shop, stock=5)
    mode = DeliveryModeFactory(shop=shop)
    buyer, cart = buyer_with_cart(marketplace, [(offer, 2)], [mode])
    token = uuid.uuid4().hex

    results = run_together([checkout_job(buyer, cart, token) for _ in range(4)])

    assert [r[0] for r in results] == ["ok"] * 4, results
    assert len({r[1] for r in results}) == 1
    assert Order.objects.count() == 1
    assert Offer.objects.get(pk=offer.pk).stock == 3
    with transaction.atomic():
        assert Order.objects.get().checkout_token == token
