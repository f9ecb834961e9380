"""From the cart to SHIPPING through the services: one payment, split orders, acceptance,
capture of exactly the accepted lines, release of the rest."""

import pytest

from halles.catalog.models import Offer
from halles.orders import services
from halles.orders.models import OrderStatus, State
from halles.payments.models import OperationKind, OperationStatus, PaymentStatus

from .conftest import DECLINE, buy, fill_cart, pay, place

pytestmark = pytest.mark.django_db


def stock(offer):
    return Offer.objects.get(pk=offer.pk).stock


def test_a_two_shop_cart_is_one_payment_split_into_two_shop_orders(world, run_on_commit):
    with run_on_commit():
        order = buy(world, [(world.bread, 2), (world.cake, 1), (world.novel, 1)])

    assert order.status == OrderStatus.PLACED
    bakery_order, books_order = order.shop_orders.order_by("shop_id")
    assert bakery_order.total_cents == 2 * 250 + 1800 + 500
    assert books_order.total_cents == 2090 + 390
    assert order.total_cents == bakery_order.total_cents + books_order.total_cents
    assert order.payment.status == PaymentStatus.AUTHORISED
    assert order.payment.amount_cents == order.total_cents
    assert {so.state for so in order.shop_orders.all()} == {State.WAITING_ACCEPTANCE}
    assert (stock(world.bread), stock(world.cake), stock(world.novel)) == (8, 2, 1)
    assert not order.shop_orders.first().order.buyer.carts.first().lines.exists()


def test_accepting_part_of_an_order_captures_exactly_the_accepted_lines(world, run_on_commit):
    with run_on_commit():
        order = buy(world, [(world.bread, 2), (world.cake, 1), (world.novel, 1)])
    bakery_order, books_order = order.shop_orders.order_by("shop_id")
    bread_line, cake_line = bakery_order.lines.order_by("pk")

    with run_on_commit():
        services.shop_order_decide(
            shop_order_id=bakery_order.pk,
            actor=world.baker,
            decisions={bread_line.pk: True, cake_line.pk: False},
            reason="Plus de gâteaux",
        )
    with run_on_commit():
        services.shop_order_decide(
            shop_order_id=books_order.pk,
            actor=world.bookseller,
            decisions={books_order.lines.get().pk: False},
        )

    bakery_order.refresh_from_db()
    books_order.refresh_from_db()
    assert bakery_order.state == State.SHIPPING
    assert books_order.state == State.REFUSED
    assert bakery_order.captured_cents == 2 * 250 + 500
    payment = order.payment
    payment.refresh_from_db()
    assert payment.captured_cents == 2 * 250 + 500
    assert payment.voided_cents == order.total_cents - (2 * 250 + 500)
    assert payment.open_cents == 0
    assert stock(world.cake) == 3 and stock(world.novel) == 2 and stock(world.bread) == 8
    kinds = list(payment.operations.values_list("kind", "status"))
    assert kinds == [
        (OperationKind.AUTHORISE, OperationStatus.SUCCEEDED),
        (OperationKind.CAPTURE, OperationStatus.SUCCEEDED),
        (OperationKind.VOID, OperationStatus.SUCCEEDED),
    ]


def test_a_declined_card_keeps_the_cart_and_gives_the_stock_back(world, run_on_commit):
    cart = fill_cart(world, [(world.cake, 2)])
    with run_on_commit():
        order = place(world, cart)
        assert stock(world.cake) == 1
        order = pay(order, card=DECLINE)

    assert order.status == OrderStatus.ABANDONED
    assert order.payment.status == PaymentStatus.FAILED
    assert order.payment.failure_code == "card_declined"
    assert stock(world.cake) == 3
    assert cart.lines.get().quantity == 2
    assert {so.state for so in order.shop_orders.all()} == {State.CANCELED}


def test_when_every_shop_accepts_part_the_refused_lines_are_released(world, run_on_commit):
    with run_on_commit():
        order = buy(world, [(world.bread, 1), (world.cake, 1)])
    shop_order = order.shop_orders.get()
    bread_line, cake_line = shop_order.lines.order_by("pk")

    with run_on_commit():
        services.shop_order_decide(
            shop_order_id=shop_order.pk,
            actor=world.baker,
            decisions={bread_line.pk: True, cake_line.pk: False},
        )

    payment = order.payment
    payment.refresh_from_db()
    assert payment.captured_cents == 250 + 500
    assert payment.voided_cents == 1800
    assert payment.open_cents == 0


def test_the_sweep_releases_a_remainder_whose_task_was_lost(world):
    from datetime import timedelta

    from django.utils import timezone

    from halles.orders.tasks import sweep

    order = buy(world, [(world.bread, 1), (world.cake, 1)])
    shop_order = order.shop_orders.get()
    bread_line, cake_line = shop_order.lines.order_by("pk")
    services.shop_order_decide(  # no on-commit callbacks: neither capture nor release ran
        shop_order_id=shop_order.pk,
        actor=world.baker,
        decisions={bread_line.pk: True, cake_line.pk: False},
    )

    done = sweep(timezone.now() + timedelta(minutes=10))

    assert done["collected"] == 1 and done["released"] == 1
    payment = order.payment
    payment.refresh_from_db()
    assert (payment.captured_cents, payment.voided_cents) == (250 + 500, 1800)
