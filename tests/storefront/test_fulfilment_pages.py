"""The buyer's side of fulfilment: the parcels and their tracking links on the order page,
the receipt confirmation (a page, then the confirmation; twice is a clear error), the
history with the e-mails, and the relay-point picker of the cart.

Pages are read in English (the language cookie)."""

import pytest
from django.test import Client

from halles.checkout import cart as carts
from halles.checkout.models import CartShop
from halles.notifications.models import Email
from halles.orders import fulfilment, services
from halles.orders.models import OrderEvent, ShopOrder, State
from halles.orders.workflow import TRANSITIONS
from halles.shipping.models import Carrier, RelayPoint
from halles.shops.models import DeliveryKind

from ..factories import DeliveryModeFactory, UserFactory
from ..orders.conftest import buy, pay, place, world  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(client, world):  # noqa: F811
    client.force_login(world.buyer)
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def dpd(world):  # noqa: F811
    return Carrier.objects.create(
        marketplace=world.marketplace,
        code="dpd",
        label="DPD",
        tracking_url_template="https://trace.dpd.fr/fr/trace/{tracking}?cp={postcode}",
    )


def shipped_order(world, run_on_commit, dpd, tracking="DPD-1") -> ShopOrder:  # noqa: F811
    with run_on_commit():
        order = buy(world, [(world.bread, 1)])
    shop_order = order.shop_orders.get()
    with run_on_commit():
        services.shop_order_decide(
            shop_order_id=shop_order.pk,
            actor=world.baker,
            decisions={line.pk: True for line in shop_order.lines.all()},
        )
    with run_on_commit():
        fulfilment.shipment_declare(
            shop_order_id=shop_order.pk,
            actor=world.baker,
            carrier_code="dpd",
            tracking_number=tracking,
        )
    shop_order.refresh_from_db()
    assert shop_order.state == State.SHIPPED
    return shop_order


def order_page(shop_order):
    return f"/account/orders/{shop_order.order.reference}/"


def received_url(shop_order):
    return f"/account/orders/{shop_order.order.reference}/{shop_order.reference}/received/"


def test_the_order_page_shows_the_parcel_and_the_history_with_the_emails(
    buyer,
    world,  # noqa: F811
    run_on_commit,
    dpd,
):
    shop_order = shipped_order(world, run_on_commit, dpd, tracking='1"><script>')

    page = buyer.get(order_page(shop_order))

    html = page.content.decode()
    url = "https://trace.dpd.fr/fr/trace/1%22%3E%3Cscript%3E?cp=75011"
    assert f'<a href="{url}" rel="noopener noreferrer" target="_blank"' in html
    assert "<script>" not in html.split("<main", 1)[1]  # escaped, never injected
    panel = page.context["panels"][0]
    assert [s.tracking_url for s in panel.shipments] == [url]
    entries = panel.timeline
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    shipped = [e for e in entries if e.shipment is not None]
    assert len(shipped) == 1 and shipped[0].label == str(TRANSITIONS["ship"].label)
    emails = [e for e in entries if e.is_email]
    placed = Email.objects.get(template="orders/buyer_placed")
    new_order = Email.objects.filter(template="orders/seller_new_order").first()
    assert any(placed.subject in e.label for e in emails)  # the whole order's e-mail
    assert not any(new_order.subject in e.label for e in emails)  # not the shop's e-mails


def test_confirming_receipt_asks_first_then_confirms_once(
    buyer,
    world,  # noqa: F811
    run_on_commit,
    dpd,
):
    shop_order = shipped_order(world, run_on_commit, dpd)

    ask = buyer.get(received_url(shop_order))
    assert ask.status_code == 200 and 'data-testid="received-form"' in ask.content.decode()
    with run_on_commit():
        buyer.post(received_url(shop_order))
    assert ShopOrder.objects.get(pk=shop_order.pk).state == State.RECEIVED

    again = buyer.post(received_url(shop_order), follow=True)

    assert "You already confirmed receiving this order." in again.content.decode()
    assert OrderEvent.objects.filter(shop_order=shop_order, action="receive").count() == 1


def test_confirming_receipt_before_shipping_or_of_another_buyer_is_refused(
    buyer,
    world,  # noqa: F811
    run_on_commit,
    dpd,
):
    order = buy(world, [(world.bread, 1)])
    waiting = order.shop_orders.get()
    early = buyer.post(received_url(waiting), follow=True)
    assert ShopOrder.objects.get(pk=waiting.pk).state == State.WAITING_ACCEPTANCE
    assert early.status_code == 200 and 'class="message error"' in early.content.decode()

    shop_order = shipped_order(world, run_on_commit, dpd)
    stranger = Client()
    stranger.force_login(UserFactory())
    assert stranger.get(received_url(shop_order)).status_code == 404
    assert stranger.post(received_url(shop_order)).status_code == 404
    assert ShopOrder.objects.get(pk=shop_order.pk).state == State.SHIPPED


# --- The relay-point picker -----------------------------------------------------------------


@pytest.fixture
def relay(world):  # noqa: F811
    network = Carrier.objects.create(
        marketplace=world.marketplace,
        code="mondial-relay",
        label="Mondial Relay",
        tracking_url_template="https://www.mondialrelay.fr/suivi?n={tracking}&cp={postcode}",
        has_relay_points=True,
    )
    mode = DeliveryModeFactory(
        shop=world.bakery,
        kind=DeliveryKind.RELAY,
        name="Point relais",
        carrier="Mondial Relay",
        fee_cents=390,
        relay_network=network,
    )
    points = [
        RelayPoint.objects.create(
            carrier=network,
            external_id=f"0201{n}",
            name=name,
            address=f"{n} rue de la Gare",
            postcode=postcode,
            city=city,
            opening_hours="Mon-Sat 9:00-19:00",
        )
        for n, (name, postcode, city) in enumerate(
            [
                ("Tabac de la Gare", "69002", "Lyon"),
                ("Pressing Martin", "69003", "Lyon"),
                ("Fleuriste", "75011", "Paris"),
            ]
        )
    ]
    return mode, points


def test_the_buyer_finds_and_chooses_a_relay_point_which_every_party_sees(
    buyer,
    world,  # noqa: F811
    relay,
    run_on_commit,
):
    mode, (gare, pressing, paris) = relay
    cart = carts.cart_get(marketplace=world.marketplace, user=world.buyer, create=True)
    carts.cart_add(cart=cart, offer_id=world.bread.pk, quantity=1, user=world.buyer)
    search = f"/cart/shops/{world.bakery.pk}/relay-points/"

    cart_page = buyer.get("/cart/").content.decode()
    assert 'data-testid="relay-picker"' in cart_page
    assert f'action="{search}"' in cart_page  # the search works without JavaScript

    found = buyer.get(search, {"mode": mode.pk, "q": "690"})
    assert found.status_code == 200
    assert [p.pk for p in found.context["points"]] == [gare.pk, pressing.pk]
    assert 'data-testid="relay-choice-form"' in found.content.decode()
    by_city = buyer.get(search, {"mode": mode.pk, "q": "paris"}, headers={"HX-Request": "true"})
    assert [p.pk for p in by_city.context["points"]] == [paris.pk]
    assert "<html" not in by_city.content.decode()  # the list alone, for the cart page
    assert f'name="relay_point_id_{mode.pk}" value="{paris.pk}"' in by_city.content.decode()

    chosen = buyer.post(
        f"/cart/shops/{world.bakery.pk}/delivery/",
        {"delivery_mode": mode.pk, f"relay_point_id_{mode.pk}": pressing.pk},
        follow=True,
    )

    assert CartShop.objects.get(cart=cart).relay_point_ref_id == pressing.pk
    html = chosen.content.decode()
    assert 'data-testid="chosen-relay"' in html and "Pressing Martin" in html

    with run_on_commit():
        order = pay(place(world, cart))
    shop_order = order.shop_orders.get()
    assert shop_order.relay_point_ref_id == pressing.pk
    buyer_html = buyer.get(order_page(shop_order)).content.decode()
    assert "Pressing Martin" in buyer_html and "Mon-Sat 9:00-19:00" in buyer_html
    seller = Client()
    seller.force_login(world.baker)
    seller.cookies["django_language"] = "en"
    seller_html = seller.get(f"/seller/boulangerie/orders/{shop_order.reference}/").content.decode()
    assert "Pressing Martin" in seller_html and "Mondial Relay point 02011" in seller_html


def test_relay_point_search_and_choice_refuse_what_does_not_fit(
    buyer,
    world,  # noqa: F811
    relay,
):
    mode, (gare, _pressing, _paris) = relay
    other_network = Carrier.objects.create(
        marketplace=world.marketplace,
        code="relais-colis",
        label="Relais Colis",
        tracking_url_template="https://relaiscolis.example/{tracking}",
        has_relay_points=True,
    )
    foreign = RelayPoint.objects.create(
        carrier=other_network,
        external_id="X1",
        name="Ailleurs",
        address="1 rue",
        postcode="69002",
        city="Lyon",
    )
    cart = carts.cart_get(marketplace=world.marketplace, user=world.buyer, create=True)
    carts.cart_add(cart=cart, offer_id=world.bread.pk, quantity=1, user=world.buyer)
    search = f"/cart/shops/{world.bakery.pk}/relay-points/"

    short = buyer.get(search, {"mode": mode.pk, "q": "6"})
    assert short.status_code == 400 and "at least 2 characters" in short.content.decode()
    assert buyer.get(search, {"mode": world.bakery_home.pk, "q": "69"}).status_code == 404
    assert (
        buyer.get(
            f"/cart/shops/{world.books.pk}/relay-points/", {"mode": mode.pk, "q": "69"}
        ).status_code
        == 404
    )
    nothing = buyer.get(search, {"mode": mode.pk, "q": "13001"})
    assert 'data-testid="no-relay-point"' in nothing.content.decode()

    refused = buyer.post(
        f"/cart/shops/{world.bakery.pk}/delivery/",
        {"delivery_mode": mode.pk, f"relay_point_id_{mode.pk}": foreign.pk},
        follow=True,
    )
    assert "Choose a relay point of the list." in refused.content.decode()
    missing = buyer.post(
        f"/cart/shops/{world.bakery.pk}/delivery/", {"delivery_mode": mode.pk}, follow=True
    )
    assert "Choose a relay point of the list." in missing.content.decode()
    assert CartShop.objects.get(cart=cart).relay_point_ref_id is None
