"""The checkout journey in a real Chromium: a buyer fills a cart from two shops and pays
with the sandbox card; one seller accepts everything, the other refuses one line; the buyer
sees exactly the accepted amount captured."""

import re

import pytest
from playwright.sync_api import expect

from halles.accounts.models import Address
from halles.orders.models import Order, State
from halles.payments.models import SandboxWebhook, WebhookEvent

from ..factories import (
    PASSWORD,
    DeliveryModeFactory,
    MarketplaceFactory,
    UserFactory,
    make_offer,
    make_shop,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, user):
    page.goto("/login/")
    page.locator("#id_username").fill(user.email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form").filter(has=page.locator("#id_password")).locator(
        "button[type=submit]"
    ).click()
    expect(page.get_by_test_id("account-link")).to_be_visible()


def add_to_cart(page, offer, quantity):
    page.goto(f"/p/{offer.product_id}/")
    form = page.locator(f"form.add-to-cart:has(input[name=offer_id][value='{offer.pk}'])").first
    form.locator("input[name=quantity]").fill(str(quantity))
    form.get_by_role("button", name="Add to cart").click()


def test_two_shops_one_payment_partial_acceptance_captures_the_accepted_amount(
    browser, live_server, settings
):
    settings.SITE_URL = live_server.url
    settings.HALLES_SANDBOX_WEBHOOK_URL = live_server.url + "/payments/webhooks/sandbox/"
    marketplace = MarketplaceFactory(
        slug="villeneuve", name="Marché de Villeneuve", is_default=True, default_language="en"
    )
    bakery, baker = make_shop(marketplace, slug="boulangerie", owner=UserFactory(language="en"))
    books, bookseller = make_shop(marketplace, slug="librairie", owner=UserFactory(language="en"))
    bread = make_offer(bakery, sku="PAIN", stock=10, price=250)
    cake = make_offer(bakery, sku="GATEAU", stock=3, price=1800)
    novel = make_offer(books, sku="ROMAN", stock=2, price=2090)
    atlas = make_offer(books, sku="ATLAS", stock=1, price=3500)
    DeliveryModeFactory(shop=bakery, name="Livraison boulangerie", fee_cents=500)
    DeliveryModeFactory(shop=books, name="Colissimo librairie", fee_cents=390)
    buyer = UserFactory(email="bob@example.test", language="en")
    Address.objects.create(
        user=buyer,
        full_name="Bob Acheteur",
        line1="3 rue des Lilas",
        postcode="75011",
        city="Paris",
        country="FR",
        is_default_billing=True,
        is_default_shipping=True,
    )

    # The buyer fills one cart from two shops.
    buyer_page = browser.new_context(base_url=live_server.url, locale="en-GB").new_page()
    buyer_page.set_default_timeout(10_000)
    log_in(buyer_page, buyer)
    add_to_cart(buyer_page, bread, 2)
    add_to_cart(buyer_page, cake, 1)
    add_to_cart(buyer_page, novel, 1)
    add_to_cart(buyer_page, atlas, 1)
    buyer_page.goto("/cart/")
    expect(buyer_page.get_by_test_id("cart-line")).to_have_count(4)
    for form in buyer_page.get_by_test_id("delivery-form").all():
        form.locator("input[type=radio]").first.check()
        form.get_by_role("button", name="Save the delivery choice").click()
    # 2 × 2.50 + 18 + 5 (bakery) and 20.90 + 35 + 3.90 (books) = 87.80
    expect(buyer_page.get_by_test_id("cart-total")).to_contain_text("87.80")

    # Checkout, then the sandbox's payment page with the success card.
    buyer_page.get_by_test_id("checkout-button").click()
    buyer_page.get_by_test_id("place-order").click()
    buyer_page.wait_for_url(re.compile(r".*/sandbox/pay/.*"))
    buyer_page.get_by_label("Card number").fill("4242 4242 4242 4242")
    buyer_page.get_by_label("Expiry (MM/YY)").fill("12/40")
    buyer_page.get_by_label("Security code").fill("123")
    buyer_page.get_by_role("button", name=re.compile("Pay")).click()
    buyer_page.wait_for_url(re.compile(r".*/account/orders/.*"))
    order = Order.objects.get()
    expect(buyer_page.get_by_test_id("order-status")).to_have_text("Placed")
    expect(buyer_page.get_by_test_id("shop-order-state")).to_have_text(
        ["Waiting for the seller", "Waiting for the seller"]
    )
    # The provider's signed callback came over HTTP too, and was taken once.
    authorised = SandboxWebhook.objects.get(event_type="payment.authorised")
    assert authorised.delivered_at is not None
    assert WebhookEvent.objects.filter(event_id=authorised.event_id).count() == 1

    # The baker accepts everything.
    bakery_order = order.shop_orders.get(shop=bakery)
    baker_page = browser.new_context(base_url=live_server.url, locale="en-GB").new_page()
    baker_page.set_default_timeout(10_000)
    log_in(baker_page, baker)
    baker_page.goto(f"/seller/{bakery.slug}/orders/{bakery_order.reference}/")
    for line in bakery_order.lines.all():
        baker_page.locator(f"tr[data-line='{line.pk}'] input[value=accept]").check()
    baker_page.get_by_role("button", name="Send my decision").click()
    expect(baker_page.get_by_test_id("state")).to_have_text("Being prepared")
    expect(baker_page.get_by_test_id("customer")).to_contain_text("Bob Acheteur")
    expect(baker_page.get_by_test_id("customer")).not_to_contain_text("bob@example.test")

    # The bookseller accepts the novel and refuses the atlas.
    books_order = order.shop_orders.get(shop=books)
    novel_line = books_order.lines.get(sku="ROMAN")
    atlas_line = books_order.lines.get(sku="ATLAS")
    seller_page = browser.new_context(base_url=live_server.url, locale="en-GB").new_page()
    seller_page.set_default_timeout(10_000)
    log_in(seller_page, bookseller)
    seller_page.goto(f"/seller/{books.slug}/orders/{books_order.reference}/")
    seller_page.locator(f"tr[data-line='{novel_line.pk}'] input[value=accept]").check()
    seller_page.locator(f"tr[data-line='{atlas_line.pk}'] input[value=refuse]").check()
    seller_page.get_by_label(re.compile("Reason")).fill("Last copy damaged")
    seller_page.get_by_role("button", name="Send my decision").click()
    expect(seller_page.get_by_test_id("state")).to_have_text("Being prepared")

    # The buyer sees exactly the accepted amounts captured, and the refused line.
    buyer_page.goto(f"/account/orders/{order.reference}/")
    paid = buyer_page.get_by_test_id("paid-amount")
    expect(paid).to_have_count(2)
    expect(paid.nth(0)).to_contain_text("28.00")  # 5 + 18 + 5
    expect(paid.nth(1)).to_contain_text("24.80")  # 20.90 + 3.90
    expect(buyer_page.locator(".line-ended")).to_contain_text("Last copy damaged")
    payment = order.payment
    payment.refresh_from_db()
    assert payment.captured_cents == 2800 + 2480
    assert payment.voided_cents == 3500
    assert {so.state for so in order.shop_orders.all()} == {State.SHIPPING}
