"""Fulfilment in a real Chromium: a seller ships an order in two parcels with two carriers;
the buyer sees both tracking links and confirms receipt; a second order is received by
itself 15 days after shipping; a click-and-collect order is handed over with its code."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from halles.checkout import cart as carts
from halles.orders import fulfilment, services
from halles.orders.models import ShopOrder, State
from halles.orders.tasks import sweep
from halles.shipping.models import Carrier

from ..factories import PASSWORD, ClickCollectFactory, PickupSlotFactory
from ..orders.conftest import buy, pay, place

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def accepted(world, shop_order, seller):
    services.shop_order_decide(
        shop_order_id=shop_order.pk,
        actor=seller,
        decisions={line.pk: True for line in shop_order.lines.all()},
    )
    shop_order.refresh_from_db()
    assert shop_order.state == State.SHIPPING  # paid: the capture ran on commit
    return shop_order


def session(browser, live_server, user):
    page = browser.new_context(base_url=live_server.url, locale="en-GB").new_page()
    page.set_default_timeout(10_000)
    page.goto("/login/")
    page.locator("#id_username").fill(user.email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form").filter(has=page.locator("#id_password")).locator(
        "button[type=submit]"
    ).click()
    expect(page.get_by_test_id("account-link")).to_be_visible()
    return page


def test_two_parcels_receipt_automatic_receipt_and_click_and_collect(
    browser, live_server, settings, world
):
    settings.SITE_URL = live_server.url
    for user in (world.buyer, world.baker):
        user.language = "en"
        user.save()
    world.marketplace.default_language = "en"
    world.marketplace.save()
    for code, label, template in [
        (
            "colissimo",
            "Colissimo",
            "https://www.laposte.fr/outils/suivre-vos-envois?code={tracking}",
        ),
        ("dpd", "DPD", "https://trace.dpd.fr/fr/trace/{tracking}"),
    ]:
        Carrier.objects.create(
            marketplace=world.marketplace, code=code, label=label, tracking_url_template=template
        )
    first = buy(world, [(world.bread, 3), (world.cake, 1)]).shop_orders.get()
    first = accepted(world, first, world.baker)
    bread, cake = first.lines.order_by("pk")

    # The baker ships two parcels with two carriers.
    baker = session(browser, live_server, world.baker)
    baker.goto(f"/seller/{world.bakery.slug}/orders/{first.reference}/")
    baker.locator(f"#id_qty-{bread.pk}").fill("3")
    baker.locator(f"#id_qty-{cake.pk}").fill("0")
    baker.locator("#id_carrier").select_option("colissimo")
    baker.locator("#id_tracking_number").fill("6A123456")
    baker.get_by_role("button", name="Declare this parcel").click()
    expect(baker.get_by_test_id("shipment")).to_have_count(1)
    baker.locator(f"#id_qty-{cake.pk}").fill("1")
    baker.locator("#id_carrier").select_option("dpd")
    baker.locator("#id_tracking_number").fill("DPD 42/7")
    baker.get_by_role("button", name="Declare this parcel").click()
    expect(baker.get_by_test_id("shipment")).to_have_count(2)
    expect(baker.get_by_test_id("state")).to_have_text("Shipped")

    # The buyer sees both tracking links, encoded, and confirms receipt.
    buyer = session(browser, live_server, world.buyer)
    buyer.goto(f"/account/orders/{first.order.reference}/")
    links = buyer.get_by_test_id("tracking-link")
    expect(links).to_have_count(2)
    assert links.nth(0).get_attribute("href") == (
        "https://www.laposte.fr/outils/suivre-vos-envois?code=6A123456"
    )
    assert links.nth(1).get_attribute("href") == "https://trace.dpd.fr/fr/trace/DPD%2042%2F7"
    buyer.get_by_test_id("received-link").click()
    buyer.get_by_role("button", name="Yes, I received everything").click()
    expect(buyer.get_by_test_id("shop-order-state")).to_have_text("Received")
    assert ShopOrder.objects.get(pk=first.pk).state == State.RECEIVED

    # A second order, shipped and never confirmed, is received by itself after 15 days.
    second = accepted(world, buy(world, [(world.bread, 1)]).shop_orders.get(), world.baker)
    fulfilment.shipment_declare(
        shop_order_id=second.pk, actor=world.baker, carrier_code="dpd", tracking_number="D2"
    )
    with time_machine.travel(timezone.now() + timedelta(days=14, hours=23)):
        assert sweep(timezone.now())["received"] == 0
    with time_machine.travel(timezone.now() + timedelta(days=15, minutes=5)):
        assert sweep(timezone.now())["received"] == 1
    buyer.goto(f"/account/orders/{second.order.reference}/")
    expect(buyer.get_by_test_id("shop-order-state")).to_have_text("Received")
    expect(buyer.get_by_test_id("timeline")).to_contain_text("automatically")

    # Click and collect: ready, the buyer reads the code, a wrong code, then the right one.
    collect = ClickCollectFactory(shop=world.bakery)
    slot = PickupSlotFactory(delivery_mode=collect)
    cart = carts.cart_get(marketplace=world.marketplace, user=world.buyer, create=True)
    carts.cart_add(cart=cart, offer_id=world.cake.pk, quantity=1, user=world.buyer)
    carts.cart_choose_delivery(
        cart=cart, shop_id=world.bakery.pk, delivery_mode_id=collect.pk, pickup_slot_id=slot.pk
    )
    third = accepted(world, pay(place(world, cart)).shop_orders.get(), world.baker)
    baker.goto(f"/seller/{world.bakery.slug}/orders/{third.reference}/")
    baker.get_by_role("button", name="Mark ready for pick-up").click()
    expect(baker.get_by_test_id("state")).to_have_text("Ready for pick-up")
    buyer.goto(f"/account/orders/{third.order.reference}/")
    code = buyer.get_by_test_id("pickup-code").inner_text().strip()
    assert len(code) == 6 and code.isdigit()
    baker.locator("#id_code").fill("000000" if code != "000000" else "111111")
    baker.get_by_role("button", name="Hand over").click()
    expect(baker.locator("body")).to_contain_text("4 attempts left")
    baker.locator("#id_code").fill(code)
    baker.get_by_role("button", name="Hand over").click()
    expect(baker.get_by_test_id("state")).to_have_text("Received")
