"""From SHIPPING to CLOSED: split shipments, bulk CSV, click and collect, receipt, closing."""

import datetime as dt
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone, translation

from halles.core.errors import DomainError, InvalidState, NotAllowed
from halles.orders import fulfilment, services
from halles.orders.models import ShopOrder, State
from halles.orders.tasks import sweep
from halles.shipping.models import Carrier

from ..factories import ClickCollectFactory, PickupSlotFactory
from .conftest import buy

pytestmark = pytest.mark.django_db


@pytest.fixture
def carriers(world):
    colissimo = Carrier.objects.create(
        marketplace=world.marketplace,
        code="colissimo",
        label="Colissimo",
        tracking_url_template="https://www.laposte.fr/outils/suivre-vos-envois?code={tracking}",
    )
    dpd = Carrier.objects.create(
        marketplace=world.marketplace,
        code="dpd",
        label="DPD",
        tracking_url_template="https://trace.dpd.fr/fr/trace/{tracking}?cp={postcode}",
    )
    return colissimo, dpd


def paid_order(world, run_on_commit, items):
    with run_on_commit():
        order = buy(world, items)
    shop_order = order.shop_orders.get(shop=world.bakery)
    with run_on_commit():
        services.shop_order_decide(
            shop_order_id=shop_order.pk,
            actor=world.baker,
            decisions={line.pk: True for line in shop_order.lines.all()},
        )
    shop_order.refresh_from_db()
    assert shop_order.state == State.SHIPPING
    return shop_order


def test_two_parcels_with_two_carriers_ship_the_order(world, run_on_commit, carriers):
    shop_order = paid_order(world, run_on_commit, [(world.bread, 3), (world.cake, 1)])
    bread, cake = shop_order.lines.order_by("pk")

    first = fulfilment.shipment_declare(
        shop_order_id=shop_order.pk,
        actor=world.baker,
        carrier_code="colissimo",
        tracking_number="6A123",
        quantities={bread.pk: 2},
    )
    assert ShopOrder.objects.get(pk=shop_order.pk).state == State.SHIPPING
    second = fulfilment.shipment_declare(
        shop_order_id=shop_order.pk,
        actor=world.baker,
        carrier_code="dpd",
        tracking_number="DPD 99/1",
        quantities={bread.pk: 1, cake.pk: 1},
    )

    shop_order.refresh_from_db()
    assert shop_order.state == State.SHIPPED and shop_order.shipped_at
    assert first.tracking_url == "https://www.laposte.fr/outils/suivre-vos-envois?code=6A123"
    assert second.tracking_url == "https://trace.dpd.fr/fr/trace/DPD%2099%2F1?cp=75011"
    assert [e.action for e in shop_order.events.order_by("id")][-2:] == ["shipment", "ship"]


def test_shipping_more_than_accepted_is_refused(world, run_on_commit, carriers):
    shop_order = paid_order(world, run_on_commit, [(world.bread, 2)])
    line = shop_order.lines.get()

    with pytest.raises(DomainError) as error:
        fulfilment.shipment_declare(
            shop_order_id=shop_order.pk,
            actor=world.baker,
            carrier_code="colissimo",
            tracking_number="X1",
            quantities={line.pk: 3},
        )
    assert error.value.code == "over_shipment"
    assert not shop_order.shipments.exists()


def test_bad_shipments_are_refused_and_change_nothing(world, run_on_commit, carriers):
    shop_order = paid_order(world, run_on_commit, [(world.bread, 2)])
    other = buy(world, [(world.novel, 1)]).shop_orders.get()

    def declare(**kwargs):
        with pytest.raises(DomainError) as error:
            fulfilment.shipment_declare(
                **{"shop_order_id": shop_order.pk, "actor": world.baker, **kwargs}
            )
        return error.value

    assert declare(carrier_code="ups", tracking_number="1").code == "unknown_carrier"
    assert declare(carrier_code="dpd", tracking_number="  ").code == "tracking_required"
    assert declare(carrier_code="dpd", tracking_number="A\nB").code == "tracking_invalid"
    assert declare(
        other_carrier="Coursier", tracking_number="1", tracking_url="javascript:x"
    ).code == ("tracking_url_invalid")
    assert (
        declare(
            carrier_code="dpd",
            tracking_number="1",
            shipped_at=timezone.now() + timedelta(days=1),
        ).code
        == "future_shipment"
    )
    assert (
        declare(carrier_code="dpd", tracking_number="1", quantities={other.lines.get().pk: 1}).code
        == "unknown_line"
    )
    with pytest.raises(NotAllowed):
        fulfilment.shipment_declare(
            shop_order_id=shop_order.pk,
            actor=world.bookseller,
            carrier_code="dpd",
            tracking_number="1",
        )
    assert not shop_order.shipments.exists()
    assert ShopOrder.objects.get(pk=shop_order.pk).state == State.SHIPPING


def test_bulk_shipments_apply_row_by_row(world, run_on_commit, carriers):
    shop_order = paid_order(world, run_on_commit, [(world.bread, 2), (world.cake, 1)])
    csv = (
        "order;sku;quantity;carrier;tracking;carrier_name;url\n"
        f"{shop_order.reference};PAIN;1;colissimo;6A1;;\n"
        f"{shop_order.reference};GATEAU;5;colissimo;6A2;;\n"
        f"NOPE-1;PAIN;1;colissimo;6A3;;\n"
        f"{shop_order.reference};GATEAU;1;colisimo;6A4;;\n"
        f"{shop_order.reference};PAIN;1;colissimo;6A1;;\n"
        f"{shop_order.reference};GATEAU;1;;CV-1;Coursier Vélo;https://coursier.example/CV-1\n"
    ).encode()

    with translation.override("en"):
        report = fulfilment.shipments_import(shop=world.bakery, actor=world.baker, data=csv)

    assert report.applied == 3
    assert [line for line, _message in report.errors] == [3, 4, 5]
    assert "only 1 left" in report.errors[0][1]
    assert "colisimo" in report.errors[2][1]  # a mistyped code is an error, not a name
    shop_order.refresh_from_db()
    assert shop_order.state == State.SHIPPED
    # The two PAIN rows with one tracking number are one parcel.
    assert sorted(
        (s.carrier_name, sum(line.quantity for line in s.lines.all()))
        for s in shop_order.shipments.all()
    ) == [("Colissimo", 2), ("Coursier Vélo", 1)]


def test_a_click_and_collect_order_goes_through_its_code(world, run_on_commit):
    collect = ClickCollectFactory(shop=world.bakery)
    slot = PickupSlotFactory(delivery_mode=collect)
    from halles.checkout import cart as carts

    from .conftest import pay, place

    cart = carts.cart_get(marketplace=world.marketplace, user=world.buyer, create=True)
    carts.cart_add(cart=cart, offer_id=world.bread.pk, quantity=1, user=world.buyer)
    carts.cart_choose_delivery(
        cart=cart, shop_id=world.bakery.pk, delivery_mode_id=collect.pk, pickup_slot_id=slot.pk
    )
    with run_on_commit():
        order = pay(place(world, cart))
    shop_order = order.shop_orders.get()
    with run_on_commit():
        services.shop_order_decide(
            shop_order_id=shop_order.pk,
            actor=world.baker,
            decisions={shop_order.lines.get().pk: True},
        )

    shop_order = fulfilment.pickup_ready(shop_order_id=shop_order.pk, actor=world.baker)
    assert shop_order.state == State.TO_COLLECT and len(shop_order.pickup_code) == 6
    wrong = "000000" if shop_order.pickup_code != "000000" else "111111"
    with pytest.raises(DomainError) as error, translation.override("en"):
        fulfilment.pickup_collect(shop_order_id=shop_order.pk, actor=world.baker, code=wrong)
    assert error.value.code == "wrong_pickup_code"
    assert "4 attempts left" in str(error.value.message)
    assert ShopOrder.objects.get(pk=shop_order.pk).pickup_attempts == 1

    fulfilment.pickup_collect(
        shop_order_id=shop_order.pk, actor=world.baker, code=shop_order.pickup_code
    )
    assert ShopOrder.objects.get(pk=shop_order.pk).state == State.RECEIVED


def test_five_wrong_codes_lock_the_hand_over(world, run_on_commit):
    shop_order = paid_order(world, run_on_commit, [(world.bread, 1)])
    ShopOrder.objects.filter(pk=shop_order.pk).update(
        state=State.TO_COLLECT, pickup_code="123456", pickup_attempts=5
    )
    with pytest.raises(NotAllowed):
        fulfilment.pickup_collect(shop_order_id=shop_order.pk, actor=world.baker, code="123456")


def test_confirming_receipt_twice_is_a_clear_error(world, run_on_commit, carriers):
    shop_order = paid_order(world, run_on_commit, [(world.bread, 1)])
    fulfilment.shipment_declare(
        shop_order_id=shop_order.pk, actor=world.baker, carrier_code="dpd", tracking_number="1"
    )
    fulfilment.receipt_confirm(shop_order_id=shop_order.pk, actor=world.buyer)

    with pytest.raises(InvalidState) as error:
        fulfilment.receipt_confirm(shop_order_id=shop_order.pk, actor=world.buyer)
    assert error.value.code == "already_received"


def test_received_by_itself_15_days_after_shipping_then_closed_after_the_window(
    world, run_on_commit, carriers
):
    start = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        shop_order = paid_order(world, run_on_commit, [(world.bread, 1)])
        fulfilment.shipment_declare(
            shop_order_id=shop_order.pk, actor=world.baker, carrier_code="dpd", tracking_number="1"
        )

    with time_machine.travel(start + timedelta(days=14, hours=23), tick=False):
        assert sweep(timezone.now())["received"] == 0
    with time_machine.travel(start + timedelta(days=15, minutes=1), tick=False):
        assert sweep(timezone.now())["received"] == 1
        assert sweep(timezone.now())["received"] == 0
    shop_order.refresh_from_db()
    assert shop_order.state == State.RECEIVED
    assert shop_order.events.get(action="receive").role == "system"

    # The 14-day withdrawal window runs from the receipt (day 15).
    with time_machine.travel(start + timedelta(days=28, hours=23), tick=False):
        assert sweep(timezone.now())["closed"] == 0
    with time_machine.travel(start + timedelta(days=29, minutes=2), tick=False):
        assert sweep(timezone.now())["closed"] == 1
    assert ShopOrder.objects.get(pk=shop_order.pk).state == State.CLOSED


def test_a_late_shipment_is_reported_to_the_shop_once(world, run_on_commit):
    from halles.notifications.models import Email

    start = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)  # a Tuesday
    with time_machine.travel(start, tick=False):
        shop_order = paid_order(world, run_on_commit, [(world.bread, 1)])
    assert shop_order.shipping_deadline == start + timedelta(days=2)  # lead time 2 days

    with time_machine.travel(start + timedelta(days=3), tick=False):
        assert sweep(timezone.now())["late"] == 1
        assert sweep(timezone.now())["late"] == 0
    assert Email.objects.filter(template="orders/seller_late_shipment").count() == 1


def test_a_parcel_cannot_be_dated_before_the_payment(world, run_on_commit, carriers):
    shop_order = paid_order(world, run_on_commit, [(world.bread, 1)])

    with pytest.raises(DomainError) as error:
        fulfilment.shipment_declare(
            shop_order_id=shop_order.pk,
            actor=world.baker,
            carrier_code="dpd",
            tracking_number="1",
            shipped_at=timezone.now() - timedelta(days=30),
        )
    assert error.value.code == "backdated_shipment"
    assert ShopOrder.objects.get(pk=shop_order.pk).state == State.SHIPPING


def test_only_the_buyer_learns_about_the_receipt(world, run_on_commit, carriers):
    shop_order = paid_order(world, run_on_commit, [(world.bread, 1)])
    with pytest.raises(NotAllowed):
        fulfilment.receipt_confirm(shop_order_id=shop_order.pk, actor=world.bookseller)
    with pytest.raises(NotAllowed):
        fulfilment.pickup_ready(shop_order_id=shop_order.pk, actor=world.buyer)


def test_fulfilment_deadlines_are_scheduled_as_tasks(world, run_on_commit, carriers, monkeypatch):
    from halles.orders import effects

    scheduled = []
    monkeypatch.setattr(
        effects,
        "enqueue_at_on_commit",
        lambda task, when, *args: scheduled.append((task.name, when, args)),
    )
    shop_order = paid_order(world, run_on_commit, [(world.bread, 1)])
    fulfilment.shipment_declare(
        shop_order_id=shop_order.pk, actor=world.baker, carrier_code="dpd", tracking_number="1"
    )
    fulfilment.receipt_confirm(shop_order_id=shop_order.pk, actor=world.buyer)

    shop_order.refresh_from_db()
    by_name = {name: (when, args) for name, when, args in scheduled}
    assert by_name["notify_late_shipment"] == (shop_order.shipping_deadline, (shop_order.pk,))
    assert by_name["receive_automatically"] == (
        shop_order.shipped_at + timedelta(days=15),
        (shop_order.pk,),
    )
    when, args = by_name["close_order"]
    assert args == (shop_order.pk,)
    assert when - shop_order.received_at < timedelta(days=14, seconds=1)
