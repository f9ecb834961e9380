"""The seller's acceptance: per-line decisions, bad input, the deadline in business days,
the reminder and the automatic refusal (time-machine)."""

import datetime as dt
import zoneinfo

import pytest
import time_machine

from halles.catalog.models import Offer
from halles.core.errors import DomainError, InvalidState, NotAllowed
from halles.notifications.models import Email
from halles.orders import services
from halles.orders.models import OrderEvent, ShopOrder, State
from halles.orders.selectors import customer_for_seller
from halles.orders.tasks import sweep
from halles.shops.models import ShopStatus

from .conftest import buy

pytestmark = pytest.mark.django_db
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def at(*args):
    return dt.datetime(*args, tzinfo=PARIS)


def bakery_order(order):
    return order.shop_orders.get(shop__slug="boulangerie")


def test_deciding_every_line_is_required(world, run_on_commit):
    order = buy(world, [(world.bread, 1), (world.cake, 1)])
    shop_order = bakery_order(order)
    first = shop_order.lines.order_by("pk").first()

    with pytest.raises(DomainError) as error:
        services.shop_order_decide(
            shop_order_id=shop_order.pk, actor=world.baker, decisions={first.pk: True}
        )

    assert error.value.code == "undecided_lines"
    assert ShopOrder.objects.get(pk=shop_order.pk).state == State.WAITING_ACCEPTANCE


def test_a_line_of_another_shop_is_refused_and_nothing_changes(world):
    order = buy(world, [(world.bread, 1), (world.novel, 1)])
    bakery = bakery_order(order)
    books_line = order.shop_orders.get(shop__slug="librairie").lines.get()
    decisions = {line.pk: True for line in bakery.lines.all()} | {books_line.pk: False}

    with pytest.raises(DomainError) as error:
        services.shop_order_decide(shop_order_id=bakery.pk, actor=world.baker, decisions=decisions)

    assert error.value.code == "unknown_line"
    assert ShopOrder.objects.get(pk=bakery.pk).state == State.WAITING_ACCEPTANCE
    assert Offer.objects.get(pk=world.novel.pk).stock == 1


def test_a_seller_of_another_shop_cannot_decide(world):
    order = buy(world, [(world.bread, 1)])
    shop_order = bakery_order(order)

    with pytest.raises(NotAllowed):
        services.shop_order_decide(
            shop_order_id=shop_order.pk,
            actor=world.bookseller,
            decisions={line.pk: True for line in shop_order.lines.all()},
        )


def test_deciding_an_order_already_refused_is_a_clear_error(world, run_on_commit):
    order = buy(world, [(world.bread, 1)])
    shop_order = bakery_order(order)
    line = shop_order.lines.get()
    with run_on_commit():
        services.shop_order_decide(
            shop_order_id=shop_order.pk, actor=world.baker, decisions={line.pk: False}
        )

    with pytest.raises(InvalidState) as error:
        services.shop_order_decide(
            shop_order_id=shop_order.pk, actor=world.baker, decisions={line.pk: True}
        )

    assert error.value.code == "not_waiting_acceptance"
    assert ShopOrder.objects.get(pk=shop_order.pk).state == State.REFUSED
    assert OrderEvent.objects.filter(shop_order=shop_order, action="refuse").count() == 1


def test_customer_details_appear_only_once_accepted(world, run_on_commit):
    order = buy(world, [(world.bread, 1)])
    shop_order = bakery_order(order)
    assert customer_for_seller(shop_order).revealed is False

    with run_on_commit():
        services.shop_order_decide(
            shop_order_id=shop_order.pk,
            actor=world.baker,
            decisions={shop_order.lines.get().pk: True},
        )

    customer = customer_for_seller(ShopOrder.objects.get(pk=shop_order.pk))
    assert customer.revealed and customer.name == "Bob Acheteur"
    assert customer.phone == "0601020304"
    assert world.buyer.email not in customer.email_alias
    assert customer.email_alias.startswith(f"order-{shop_order.reference.lower()}-")


def test_the_deadline_counts_business_days_across_holidays(world):
    # Thursday 24 December 2026: Christmas, a weekend, New Year's Day and a weekend follow.
    with time_machine.travel(at(2026, 12, 24, 10, 0), tick=False):
        order = buy(world, [(world.bread, 1)])

    deadline = bakery_order(order).acceptance_deadline
    assert deadline.astimezone(PARIS) == at(2027, 1, 4, 10, 0)


def test_a_reminder_is_sent_once_in_the_last_day(world):
    with time_machine.travel(at(2026, 12, 1, 9, 0), tick=False):  # a Tuesday
        order = buy(world, [(world.bread, 1)])
    shop_order = bakery_order(order)
    assert shop_order.acceptance_deadline.astimezone(PARIS) == at(2026, 12, 8, 9, 0)

    with time_machine.travel(at(2026, 12, 6, 9, 0), tick=False):
        assert sweep(dt.datetime.now(dt.UTC))["reminded"] == 0
    with time_machine.travel(at(2026, 12, 7, 20, 0), tick=False):
        assert sweep(dt.datetime.now(dt.UTC))["reminded"] == 1
        assert sweep(dt.datetime.now(dt.UTC))["reminded"] == 0

    reminders = Email.objects.filter(template="orders/seller_acceptance_reminder")
    assert [e.to for e in reminders] == [world.baker.email]


def test_past_the_deadline_the_order_is_refused_the_offers_deactivated_the_shop_suspended(
    world, outbox
):
    with time_machine.travel(at(2026, 12, 1, 9, 0), tick=False):
        order = buy(world, [(world.bread, 2), (world.novel, 1)])
    bakery = bakery_order(order)
    books = order.shop_orders.get(shop__slug="librairie")
    with time_machine.travel(at(2026, 12, 2, 9, 0), tick=False):
        services.shop_order_decide(
            shop_order_id=books.pk, actor=world.bookseller, decisions={books.lines.get().pk: True}
        )

    with time_machine.travel(at(2026, 12, 8, 9, 1), tick=False):
        done = sweep(dt.datetime.now(dt.UTC))
        again = sweep(dt.datetime.now(dt.UTC))

    assert done["expired"] == 1 and again["expired"] == 0
    bakery.refresh_from_db()
    assert bakery.state == State.REFUSED
    assert Offer.objects.get(pk=world.bread.pk).is_active is False
    assert Offer.objects.get(pk=world.bread.pk).stock == 10
    world.bakery.refresh_from_db()
    assert world.bakery.status == ShopStatus.SUSPENDED
    assert world.bakery.suspended_automatically
    assert ShopOrder.objects.get(pk=books.pk).state != State.REFUSED
    event = bakery.events.get(action="expire")
    assert event.role == "system" and event.actor is None


def test_an_acceptance_after_the_deadline_is_refused_even_before_the_sweep(world):
    with time_machine.travel(at(2026, 12, 1, 9, 0), tick=False):
        order = buy(world, [(world.bread, 1)])
    shop_order = bakery_order(order)

    with (
        time_machine.travel(at(2026, 12, 8, 9, 30), tick=False),
        pytest.raises(InvalidState) as error,
    ):
        services.shop_order_decide(
            shop_order_id=shop_order.pk,
            actor=world.baker,
            decisions={shop_order.lines.get().pk: True},
        )
    assert error.value.code == "deadline_passed"
    assert ShopOrder.objects.get(pk=shop_order.pk).state == State.WAITING_ACCEPTANCE


def test_a_marketplace_may_keep_shops_active_on_a_missed_deadline(world):
    world.marketplace.suspend_shop_on_missed_acceptance = False
    world.marketplace.save()
    with time_machine.travel(at(2026, 12, 1, 9, 0), tick=False):
        buy(world, [(world.bread, 1)])

    with time_machine.travel(at(2026, 12, 9, 9, 0), tick=False):
        sweep(dt.datetime.now(dt.UTC))

    world.bakery.refresh_from_db()
    assert world.bakery.status == ShopStatus.ACTIVE


def test_refusing_every_line_keeps_the_reason_on_each_line(world, run_on_commit):
    order = buy(world, [(world.bread, 1), (world.cake, 1)])
    shop_order = bakery_order(order)

    with run_on_commit():
        services.shop_order_decide(
            shop_order_id=shop_order.pk,
            actor=world.baker,
            decisions={line.pk: False for line in shop_order.lines.all()},
            reason="Fermé pour travaux",
        )

    assert set(shop_order.lines.values_list("refusal_reason", flat=True)) == {"Fermé pour travaux"}


def test_default_reasons_are_written_in_the_marketplaces_language(world, run_on_commit):
    from django.utils import translation

    order = buy(world, [(world.bread, 1), (world.cake, 1)])
    shop_order = bakery_order(order)
    bread, cake = shop_order.lines.order_by("pk")

    with translation.override("en"), run_on_commit():
        services.shop_order_decide(
            shop_order_id=shop_order.pk,
            actor=world.baker,
            decisions={bread.pk: True, cake.pk: False},
        )

    cake.refresh_from_db()
    with translation.override("fr"):
        expected = str(translation.gettext("Not available"))
    assert cake.refusal_reason == expected


def test_an_order_left_unpaid_past_its_due_date_is_cancelled(world):
    order = buy(world, [(world.bread, 2)])
    shop_order = bakery_order(order)
    services.shop_order_decide(  # no on-commit: the capture task does not run
        shop_order_id=shop_order.pk, actor=world.baker, decisions={shop_order.lines.get().pk: True}
    )
    # As if the buyer had been asked to pay otherwise: no authorisation to capture.
    order.payment.status = "failed"
    order.payment.save()
    shop_order.refresh_from_db()
    assert shop_order.state == State.WAITING_DEBIT

    done = sweep(shop_order.payment_due_at + dt.timedelta(minutes=1))

    assert done["unpaid"] == 1
    shop_order.refresh_from_db()
    assert shop_order.state == State.CANCELED
    assert Offer.objects.get(pk=world.bread.pk).stock == 10
