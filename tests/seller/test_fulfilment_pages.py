"""The seller's fulfilment pages: parcels with their carriers and tracking links (and the
buyer's page and receipt that follow), bad shipments refused with nothing changed, tenancy,
the bulk CSV, click and collect with its code, the shipping deadline and the late flag, and
the history with the parcels and the e-mails.

Pages are read in English (the language cookie)."""

import datetime as dt
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from halles.checkout import cart as carts
from halles.orders import services
from halles.orders.models import OrderEvent, Shipment, ShopOrder, State
from halles.orders.selectors import EVENT_LABELS
from halles.shipping.models import Carrier

from ..factories import ClickCollectFactory, PickupSlotFactory
from ..orders.conftest import buy, pay, place

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller(client, world):
    """The baker, signed in, reading pages in English."""
    client.force_login(world.baker)
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def buyer(world):
    client = Client()
    client.force_login(world.buyer)
    client.cookies["django_language"] = "en"
    return client


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


def accept_all(world, run_on_commit, shop_order) -> ShopOrder:
    with run_on_commit():
        services.shop_order_decide(
            shop_order_id=shop_order.pk,
            actor=world.baker,
            decisions={line.pk: True for line in shop_order.lines.all()},
        )
    shop_order.refresh_from_db()
    assert shop_order.state == State.SHIPPING
    return shop_order


def paid_order(world, run_on_commit, items) -> ShopOrder:
    """A bakery order accepted and paid: waiting for its shipment."""
    with run_on_commit():
        order = buy(world, items)
    return accept_all(world, run_on_commit, order.shop_orders.get(shop=world.bakery))


def page_url(shop_order, suffix=""):
    return f"/seller/{shop_order.shop.slug}/orders/{shop_order.reference}/{suffix}"


def buyer_page(shop_order):
    return f"/account/orders/{shop_order.order.reference}/"


def received_url(shop_order):
    return f"/account/orders/{shop_order.order.reference}/{shop_order.reference}/received/"


def state(shop_order) -> str:
    return ShopOrder.objects.get(pk=shop_order.pk).state


def local_input(value, world) -> str:
    return timezone.localtime(value, ZoneInfo(world.marketplace.time_zone)).strftime(
        "%Y-%m-%dT%H:%M"
    )


def test_two_parcels_with_two_carriers_then_the_buyer_sees_both_links_and_confirms(
    seller, buyer, world, run_on_commit, carriers
):
    shop_order = paid_order(world, run_on_commit, [(world.bread, 3), (world.cake, 1)])
    bread, cake = shop_order.lines.order_by("pk")
    form_page = seller.get(page_url(shop_order))
    assert form_page.context["ship_form"] is not None
    assert form_page.context["ship_form"][f"qty-{bread.pk}"].initial == 3  # what is left

    moments_ago = timezone.now() - timedelta(minutes=3)  # the order was placed just before
    first = seller.post(
        page_url(shop_order, "ship/"),
        {
            f"qty-{bread.pk}": "2",
            f"qty-{cake.pk}": "0",
            "carrier": "colissimo",
            "tracking_number": "6A123",
            "shipped_at": local_input(moments_ago, world),  # typed in the marketplace's zone
        },
        follow=True,
    )

    assert first.redirect_chain[-1][0] == page_url(shop_order)
    assert "Parcel declared for order" in first.content.decode()
    assert state(shop_order) == State.SHIPPING
    parcel = Shipment.objects.get(shop_order=shop_order)
    assert abs(parcel.shipped_at - moments_ago) < timedelta(minutes=1)
    rows = {line.pk: left for line, left, _field in first.context["ship_form"].rows()}
    assert rows == {bread.pk: 1, cake.pk: 1}

    with run_on_commit():
        second = seller.post(
            page_url(shop_order, "ship/"),
            {
                f"qty-{bread.pk}": "1",
                f"qty-{cake.pk}": "1",
                "carrier": "dpd",
                "tracking_number": "DPD 99/1",
            },
            follow=True,
        )

    assert "is shipped" in second.content.decode()
    assert state(shop_order) == State.SHIPPED
    assert second.context["ship_form"] is None  # nothing left to declare
    seller_html = second.content.decode()
    colissimo = "https://www.laposte.fr/outils/suivre-vos-envois?code=6A123"
    dpd = "https://trace.dpd.fr/fr/trace/DPD%2099%2F1?cp=75011"
    for url in (colissimo, dpd):
        assert f'<a href="{url}" rel="noopener noreferrer" target="_blank">' in seller_html
    assert [e.action for e in OrderEvent.objects.filter(shop_order=shop_order)][-2:] == [
        "shipment",
        "ship",
    ]

    buyer_html = buyer.get(buyer_page(shop_order)).content.decode()
    assert buyer_html.count(f'href="{colissimo}"') >= 1 and buyer_html.count(f'href="{dpd}"') >= 1
    assert "Colissimo" in buyer_html and "DPD" in buyer_html
    assert 'data-testid="received-link"' in buyer_html

    confirm = buyer.get(received_url(shop_order))
    assert confirm.status_code == 200 and "Yes, I received everything" in confirm.content.decode()
    assert state(shop_order) == State.SHIPPED  # the page alone changes nothing
    with run_on_commit():
        done = buyer.post(received_url(shop_order), follow=True)
    assert state(shop_order) == State.RECEIVED
    assert "is marked as received" in done.content.decode()
    assert 'data-testid="received-link"' not in done.content.decode()

    again = buyer.post(received_url(shop_order), follow=True)
    assert "You already confirmed receiving this order." in again.content.decode()
    assert OrderEvent.objects.filter(shop_order=shop_order, action="receive").count() == 1

    late_parcel = seller.post(
        page_url(shop_order, "ship/"),
        {f"qty-{bread.pk}": "1", "carrier": "dpd", "tracking_number": "X"},
    )
    assert late_parcel.status_code == 409  # the order moved on: said as a message
    assert "it cannot be shipped now" in late_parcel.content.decode()
    assert Shipment.objects.filter(shop_order=shop_order).count() == 2


def test_bad_shipments_show_the_reason_and_change_nothing(seller, world, run_on_commit, carriers):
    shop_order = paid_order(world, run_on_commit, [(world.bread, 2)])
    line = shop_order.lines.get()
    other = paid_order(world, run_on_commit, [(world.cake, 1)])
    ship = page_url(shop_order, "ship/")
    base = {f"qty-{line.pk}": "2", "carrier": "dpd", "tracking_number": "1"}

    cases = [
        ({f"qty-{line.pk}": "3"}, 400, f"Line {line.pk}: 3 to ship, only 2 left."),
        ({"carrier": "ups"}, 400, "Unknown carrier “ups”."),
        (
            {"shipped_at": local_input(timezone.now() + timedelta(days=2), world)},
            400,
            "A shipment cannot be dated in the future.",
        ),
        ({"carrier": "other", "other_carrier": ""}, 400, "Choose a carrier, or give the name"),
        (
            {"carrier": "other", "other_carrier": "Vélo", "tracking_url": "javascript:alert(1)"},
            400,
            "Give a tracking address starting with https://.",
        ),
        ({"tracking_number": " "}, 400, "Give the tracking number."),
        ({f"qty-{line.pk}": "0"}, 400, "Nothing left to ship in this parcel."),
        ({f"qty-{line.pk}": "deux"}, 400, "Give a whole number of items"),
        ({f"qty-{other.lines.get().pk}": "1"}, 400, "is not an accepted line of order"),
    ]
    for change, status, message in cases:
        response = seller.post(ship, {**base, **change})
        assert response.status_code == status, change
        assert message in response.content.decode(), change

    assert not Shipment.objects.exists()
    assert state(shop_order) == State.SHIPPING and state(other) == State.SHIPPING


def test_another_shops_seller_cannot_reach_the_fulfilment_pages(world, run_on_commit, carriers):
    shop_order = paid_order(world, run_on_commit, [(world.bread, 1)])
    line = shop_order.lines.get()
    bookseller = Client()
    bookseller.force_login(world.bookseller)
    data = {f"qty-{line.pk}": "1", "carrier": "dpd", "tracking_number": "1"}

    assert bookseller.post(page_url(shop_order, "ship/"), data).status_code == 404
    mine = f"/seller/librairie/orders/{shop_order.reference}/"
    assert bookseller.post(mine + "ship/", data).status_code == 404
    assert bookseller.post(mine + "ready/").status_code == 404
    assert bookseller.post(mine + "collect/", {"code": "123456"}).status_code == 404
    assert bookseller.get("/seller/boulangerie/shipments/import/").status_code == 404
    assert not Shipment.objects.exists() and state(shop_order) == State.SHIPPING


def test_bulk_shipments_apply_the_good_rows_and_list_the_bad_ones(
    seller, world, run_on_commit, carriers
):
    shop_order = paid_order(world, run_on_commit, [(world.bread, 2), (world.cake, 1)])
    page = seller.get("/seller/boulangerie/shipments/import/")
    assert page.status_code == 200
    assert f"{shop_order.reference};PAIN-01;2;colissimo" in page.content.decode()  # example
    csv = (
        "order;sku;quantity;carrier;tracking;carrier_name;url\n"
        f"{shop_order.reference};PAIN;2;colissimo;6A1;;\n"
        f"{shop_order.reference};GATEAU;5;colissimo;6A2;;\n"
        f"{shop_order.reference};GATEAU;1;;CV-1;Coursier Vélo;https://coursier.example/CV-1\n"
    ).encode()

    response = seller.post(
        "/seller/boulangerie/shipments/import/",
        {"file": SimpleUploadedFile("parcels.csv", csv, content_type="text/csv")},
    )

    assert response.status_code == 200
    report = response.context["report"]
    assert report.applied == 2 and [row for row, _message in report.errors] == [3]
    html = response.content.decode()
    assert "2 parcels declared." in html and "only 1 left" in html
    assert state(shop_order) == State.SHIPPED

    missing = seller.post(
        "/seller/boulangerie/shipments/import/",
        {"file": SimpleUploadedFile("bad.csv", b"order;quantity\nX;1\n")},
    )
    assert missing.status_code == 400 and "Missing columns" in missing.content.decode()


def test_click_and_collect_ready_then_the_code_at_hand_over(seller, buyer, world, run_on_commit):
    collect = ClickCollectFactory(shop=world.bakery, pickup_address="1 place du Marché, Lyon")
    slot = PickupSlotFactory(delivery_mode=collect)
    cart = carts.cart_get(marketplace=world.marketplace, user=world.buyer, create=True)
    carts.cart_add(cart=cart, offer_id=world.bread.pk, quantity=1, user=world.buyer)
    carts.cart_choose_delivery(
        cart=cart, shop_id=world.bakery.pk, delivery_mode_id=collect.pk, pickup_slot_id=slot.pk
    )
    with run_on_commit():
        order = pay(place(world, cart))
    shop_order = accept_all(world, run_on_commit, order.shop_orders.get())

    page = seller.get(page_url(shop_order))
    assert page.context["ship_form"] is None and page.context["can_mark_ready"]
    with run_on_commit():
        seller.post(page_url(shop_order, "ready/"))
    shop_order.refresh_from_db()
    assert shop_order.state == State.TO_COLLECT and len(shop_order.pickup_code) == 6

    buyer_html = buyer.get(buyer_page(shop_order)).content.decode()
    assert shop_order.pickup_code in buyer_html
    assert shop_order.pickup_slot_label in buyer_html and "1 place du Marché, Lyon" in buyer_html

    wrong = "000000" if shop_order.pickup_code != "000000" else "111111"
    refused = seller.post(page_url(shop_order, "collect/"), {"code": wrong})
    assert refused.status_code == 400
    assert "Wrong pick-up code (4 attempts left)." in refused.content.decode()
    assert state(shop_order) == State.TO_COLLECT

    with run_on_commit():
        done = seller.post(
            page_url(shop_order, "collect/"), {"code": shop_order.pickup_code}, follow=True
        )
    assert "is handed over to the customer" in done.content.decode()
    assert state(shop_order) == State.RECEIVED


def test_too_many_wrong_codes_are_said_on_the_page(seller, world, run_on_commit):
    shop_order = paid_order(world, run_on_commit, [(world.bread, 1)])
    ShopOrder.objects.filter(pk=shop_order.pk).update(
        state=State.TO_COLLECT, pickup_code="123456", pickup_attempts=5
    )
    response = seller.post(page_url(shop_order, "collect/"), {"code": "123456"})
    assert response.status_code == 403
    assert "Too many wrong codes" in response.content.decode()
    assert state(shop_order) == State.TO_COLLECT


def test_the_shipping_deadline_is_shown_and_late_orders_are_flagged(seller, world, run_on_commit):
    start = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)  # a Tuesday; 2 business days
    with time_machine.travel(start, tick=False):
        late = paid_order(world, run_on_commit, [(world.bread, 1)])
    with time_machine.travel(start + timedelta(days=2, hours=12), tick=False):
        on_time = paid_order(world, run_on_commit, [(world.cake, 1)])

        detail = seller.get(page_url(late))
        listing = seller.get("/seller/boulangerie/orders/")
        only_late = seller.get("/seller/boulangerie/orders/", {"late": "on"})
        fine = seller.get(page_url(on_time))

    assert 'data-testid="shipping-deadline"' in detail.content.decode()
    assert detail.context["late"] is True and 'data-testid="late"' in detail.content.decode()
    assert fine.context["late"] is False and 'data-testid="late"' not in fine.content.decode()
    assert listing.context["late_ids"] == {late.pk}
    assert [so.reference for so, _soon in only_late.context["rows"]] == [late.reference]


def test_the_history_shows_the_parcels_and_the_emails(seller, world, run_on_commit, carriers):
    shop_order = paid_order(world, run_on_commit, [(world.bread, 2)])
    line = shop_order.lines.get()
    seller.post(
        page_url(shop_order, "ship/"),
        {f"qty-{line.pk}": "1", "carrier": "colissimo", "tracking_number": '1"><b>x'},
    )

    page = seller.get(page_url(shop_order))

    rows = page.context["events"]
    shipment_rows = [row for row in rows if row.shipment]
    assert len(shipment_rows) == 1
    assert shipment_rows[0].label == str(EVENT_LABELS["shipment"])  # the order is partly shipped
    emails = [row for row in rows if row.kind == "email"]
    assert any(row.to_buyer for row in emails)  # the buyer was told of the parcel
    assert [row.at for row in rows] == sorted(row.at for row in rows)
    html = page.content.decode()
    assert 'data-testid="timeline-email"' in html
    # The tracking number is encoded in the link and escaped in the text: no markup injected.
    assert "code=1%22%3E%3Cb%3Ex" in html and "<b>x" not in html
