"""The demo's orders on Villeneuve: every state reached so far, per shop, made through the
services with the database tasks backend (tasks queued, none run), and coherent with the
stock, the payments, the sandbox and the pick-up slots."""

from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django_tasks_db.models import DBTaskResult

from halles.catalog.models import Offer
from halles.demo.data import load_demo
from halles.demo.shops import SHOPS
from halles.notifications.models import Email
from halles.orders.models import (
    FraudRules,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    ShopOrder,
    State,
)
from halles.orders.payment_flow import UNDECIDED
from halles.orders.services import accepted_amount
from halles.payments.models import (
    OperationKind,
    OperationStatus,
    PaymentOperation,
    PaymentStatus,
    SandboxIntent,
)
from halles.shops.models import PickupSlot, Shop

pytestmark = pytest.mark.django_db

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.backend.DatabaseBackend"}}


@pytest.fixture
def villeneuve(settings, django_capture_on_commit_callbacks):
    """The demo loaded as `make run` loads it: the database backend queues the tasks (the
    on-commit callbacks run, so they are queued) and no worker runs them."""
    settings.TASKS = DATABASE_TASKS
    with django_capture_on_commit_callbacks(execute=True):
        load_demo()
    return Shop.objects.get(slug="boulangerie-martin").marketplace


def selling_shops(marketplace):
    return [
        shop
        for shop in Shop.objects.filter(marketplace=marketplace).order_by("pk")
        if shop.offers.filter(stock__gt=0).exists() and shop.delivery_modes.exists()
    ]


def demo_orders(marketplace):
    return Order.objects.filter(marketplace=marketplace, buyer__email="buyer@halles.test")


def test_every_selling_shop_has_an_order_waiting_and_one_being_prepared(villeneuve):
    shops = selling_shops(villeneuve)
    assert {s.slug for s in shops} >= {"boulangerie-martin", "librairie-du-parc", "atelier-lune"}
    for shop in shops:
        states = set(
            ShopOrder.objects.filter(shop=shop, order__buyer__email="buyer@halles.test")
            .values_list("state", flat=True)
            .distinct()
        )
        assert {State.WAITING_ACCEPTANCE, State.SHIPPING} <= states, shop.slug


def test_refusals_cancellation_fraud_hold_and_pickup_slot_are_shown(villeneuve):
    shop_orders = ShopOrder.objects.filter(order__in=demo_orders(villeneuve))

    refused = shop_orders.get(state=State.REFUSED)
    assert refused.events.filter(action="refuse", role="seller").exists()
    assert set(refused.lines.values_list("state", flat=True)) == {State.REFUSED}

    partly = shop_orders.get(state=State.SHIPPING, lines__state=State.REFUSED)
    assert partly.lines.filter(state=State.SHIPPING).exists()
    assert partly.lines.get(state=State.REFUSED).refusal_reason

    cancelled = shop_orders.get(state=State.CANCELED, order__status=OrderStatus.PLACED)
    assert cancelled.events.get(action="buyer_cancel").actor.email == "buyer@halles.test"

    held = shop_orders.get(state=State.STAGING)
    rules = FraudRules.objects.get(marketplace=villeneuve)
    assert held.order.total_cents > rules.amount_above_cents
    assert "large_amount" in held.order.fraud_reasons
    assert held.order.fraud_score >= rules.review_from
    # Only the large order is held: the demo's other orders passed the check.
    assert shop_orders.filter(state=State.STAGING).count() == held.order.shop_orders.count()
    assert not OrderEvent.objects.filter(action="fraud_pass", role="operator").exists()

    collected = shop_orders.filter(pickup_slot__isnull=False, state=State.SHIPPING).first()
    assert collected is not None and collected.pickup_slot_label

    abandoned = demo_orders(villeneuve).get(status=OrderStatus.ABANDONED)
    assert abandoned.payment.status == PaymentStatus.FAILED
    assert set(abandoned.shop_orders.values_list("state", flat=True)) == {State.CANCELED}


def test_stock_and_pickup_slots_match_the_orders(villeneuve):
    initial = {
        (spec["slug"], row[1]): row[6]
        for spec in SHOPS
        if spec["marketplace"] == "villeneuve"
        for row in spec["category_products"]
    }
    for offer in Offer.objects.filter(marketplace=villeneuve).select_related("shop", "product"):
        held = (
            OrderLine.objects.filter(offer=offer, stock_released=False).aggregate(n=Sum("quantity"))
        )["n"] or 0
        assert offer.stock == initial[(offer.shop.slug, offer.product.title)] - held, offer
    lines = OrderLine.objects.filter(shop_order__marketplace=villeneuve)
    ended = lines.filter(state__in=(State.REFUSED, State.CANCELED))
    assert not ended.filter(stock_released=False).exists()
    assert not lines.exclude(pk__in=ended).filter(stock_released=True).exists()
    assert lines.exists() and ended.exists()

    for slot in PickupSlot.objects.filter(delivery_mode__shop__marketplace=villeneuve):
        live = ShopOrder.objects.filter(pickup_slot=slot).exclude(
            state__in=(State.REFUSED, State.CANCELED)
        )
        assert slot.booked == live.count(), slot


PAID = (State.SHIPPING, State.SHIPPED, State.TO_COLLECT, State.RECEIVED, State.CLOSED)


def test_payments_capture_the_accepted_amounts_and_release_the_rest(villeneuve):
    orders = demo_orders(villeneuve).select_related("payment")
    assert orders.count() >= 6
    for order in orders:
        payment = order.payment
        shop_orders = list(order.shop_orders.all())
        assert payment.amount_cents == order.total_cents
        if order.status == OrderStatus.ABANDONED:
            assert payment.status == PaymentStatus.FAILED
            assert payment.captured_cents == payment.voided_cents == 0
            continue
        assert payment.status == PaymentStatus.AUTHORISED, order
        for shop_order in shop_orders:
            if shop_order.state in PAID:
                accepted = list(shop_order.lines.filter(state=shop_order.state))
                assert shop_order.accepted_cents == accepted_amount(shop_order, accepted) > 0
                assert shop_order.captured_cents == shop_order.accepted_cents
            else:
                assert shop_order.captured_cents == 0, shop_order
        assert payment.captured_cents == sum(so.captured_cents for so in shop_orders)
        undecided = any(so.state in UNDECIDED for so in shop_orders)
        released = 0 if undecided else payment.amount_cents - payment.captured_cents
        assert payment.voided_cents == released, order

        succeeded = Counter()
        for operation in PaymentOperation.objects.filter(
            payment=payment, status=OperationStatus.SUCCEEDED
        ):
            succeeded[operation.kind] += operation.amount_cents
        assert succeeded[OperationKind.AUTHORISE] == payment.amount_cents
        assert succeeded[OperationKind.CAPTURE] == payment.captured_cents
        assert succeeded[OperationKind.VOID] == payment.voided_cents
        intent = SandboxIntent.objects.get(pk=payment.provider_reference)
        assert (intent.captured_cents, intent.voided_cents) == (
            payment.captured_cents,
            payment.voided_cents,
        )
    assert not PaymentOperation.objects.filter(status=OperationStatus.PENDING).exists()


def test_tasks_are_queued_not_run_and_emails_wait_in_the_outbox(villeneuve):
    queued = Counter(DBTaskResult.objects.values_list("task_path", "status"))
    assert queued[("halles.orders.tasks.collect_payment", "READY")] >= 4
    assert queued[("halles.orders.tasks.expire_acceptance", "READY")] >= 3
    assert queued[("halles.notifications.tasks.deliver_email", "READY")] >= 10
    assert {status for _path, status in queued} == {"READY"}

    emails = Counter(Email.objects.values_list("template", flat=True))
    for template in (
        "orders/buyer_placed",
        "orders/seller_new_order",
        "orders/buyer_accepted",
        "orders/seller_paid",
        "orders/buyer_refused",
        "orders/buyer_canceled",
    ):
        assert emails[template] >= 1, template


def test_loading_the_demo_again_changes_nothing(villeneuve):
    counts = (Order.objects.count(), ShopOrder.objects.count(), OrderEvent.objects.count())
    stock = dict(Offer.objects.values_list("pk", "stock"))

    call_command("demo", stdout=StringIO())
    call_command("demo", "--if-empty", stdout=StringIO())

    assert (Order.objects.count(), ShopOrder.objects.count(), OrderEvent.objects.count()) == counts
    assert dict(Offer.objects.values_list("pk", "stock")) == stock
