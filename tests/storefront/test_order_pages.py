"""Checkout, the provider's payment page and back, and the buyer's order pages."""

import uuid
from dataclasses import dataclass
from urllib.parse import urlparse

import pytest

from halles.accounts.models import Address
from halles.catalog.models import Offer
from halles.checkout import cart as carts
from halles.checkout import placement
from halles.checkout.models import CartLine
from halles.orders import services as order_services
from halles.orders.models import Order, OrderStatus, State
from halles.payments.sandbox import bank

from ..factories import DeliveryModeFactory, UserFactory, make_offer, make_shop

pytestmark = pytest.mark.django_db

SUCCEED = "4242424242424242"
DECLINE = "4000000000000002"
CONFIRM = "4000002760003184"


@dataclass
class World:
    marketplace: object
    bakery: object
    baker: object
    bread: object
    cake: object
    home: object
    buyer: object
    address: object


@pytest.fixture
def world(marketplace):
    bakery, baker = make_shop(marketplace, slug="boulangerie")
    buyer = UserFactory(email="buyer@example.test")
    return World(
        marketplace=marketplace,
        bakery=bakery,
        baker=baker,
        bread=make_offer(bakery, sku="PAIN", stock=10, price=250),
        cake=make_offer(bakery, sku="GATEAU", stock=3, price=1800),
        home=DeliveryModeFactory(shop=bakery, fee_cents=500, free_above_cents=None),
        buyer=buyer,
        address=address_of(buyer),
    )


def address_of(user, **fields):
    values = {
        "full_name": "Bob Acheteur",
        "line1": "3 rue des Lilas",
        "postcode": "75011",
        "city": "Paris",
        "country": "FR",
        "is_default_billing": True,
        "is_default_shipping": True,
    }
    values.update(fields)
    return Address.objects.create(user=user, **values)


@pytest.fixture
def client(client, world):
    client.cookies["django_language"] = "en"
    client.force_login(world.buyer)
    return client


def fill_cart(world, items, buyer=None):
    buyer = buyer or world.buyer
    cart = carts.cart_get(marketplace=world.marketplace, user=buyer, create=True)
    for offer, quantity in items:
        carts.cart_add(cart=cart, offer_id=offer.pk, quantity=quantity, user=buyer)
    carts.cart_choose_delivery(cart=cart, shop_id=world.bakery.pk, delivery_mode_id=world.home.pk)
    return cart


def checkout_form(client):
    """The checkout page's form as the browser would send it."""
    form = client.get("/checkout/").context["form"]
    return {name: form[name].value() for name in form.fields if form[name].value() is not None}


def path_of(url: str) -> str:
    parts = urlparse(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def pay_on_the_provider_page(client, provider_url, card):
    """The buyer types a card on the sandbox page; the sandbox sends them back."""
    page = path_of(provider_url)
    assert client.get(page).status_code == 200
    response = client.post(page, {"number": card, "expiry": "12/40", "cvc": "123"})
    assert response.status_code == 302
    return response["Location"]


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def stock(offer) -> int:
    return Offer.objects.get(pk=offer.pk).stock


# --- The checkout page ---------------------------------------------------------------------


def test_an_anonymous_visitor_is_asked_to_log_in_first(client, world):
    client.logout()

    response = client.get("/checkout/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/checkout/"


def test_the_checkout_page_shows_the_summary_and_preselects_the_default_addresses(client, world):
    fill_cart(world, [(world.bread, 2)])
    address_of(world.buyer, full_name="Bureau", is_default_billing=False, is_default_shipping=False)

    response = client.get("/checkout/")

    page = response.content.decode()
    assert "Boulangerie" in page and "2 × Produit PAIN" in page and "Livraison à domicile" in page
    form = response.context["form"]
    assert form["billing_address"].value() == world.address.pk
    assert form["shipping_address"].value() == world.address.pk
    assert form["expected_total"].value() == 1000
    assert len(form["checkout_token"].value()) == 32
    assert "Order and pay €10.00" in page


def test_with_an_empty_cart_the_checkout_sends_back_to_the_cart(client, world):
    response = client.get("/checkout/", follow=True)

    assert response.redirect_chain[-1][0] == "/cart/"
    assert "Your cart is empty." in messages_of(response)


def test_ordering_without_a_billing_address_is_refused(client, world):
    fill_cart(world, [(world.bread, 2)])
    Address.objects.filter(user=world.buyer).delete()
    data = checkout_form(client)

    response = client.post("/checkout/", data)

    assert response.status_code == 200
    assert response.context["form"].errors["billing_address"] == ["Give a billing address."]
    assert "You have no address yet." in response.content.decode()
    assert not Order.objects.exists() and stock(world.bread) == 10


def test_a_changed_total_is_refused_and_the_new_one_shown(client, world):
    fill_cart(world, [(world.bread, 2)])
    data = checkout_form(client)
    Offer.objects.filter(pk=world.bread.pk).update(price_cents=300)

    response = client.post("/checkout/", data)

    form = response.context["form"]
    assert form.non_field_errors() == [
        "The prices in your cart have changed; check the new total and confirm again."
    ]
    assert form["expected_total"].value() == "1100"
    assert not Order.objects.exists()
    again = client.post("/checkout/", {**data, "expected_total": 1100})
    assert again.status_code == 303 and Order.objects.get().total_cents == 1100


def test_submitting_the_checkout_twice_places_one_order(client, world):
    fill_cart(world, [(world.bread, 2)])
    data = checkout_form(client)

    first = client.post("/checkout/", data)
    second = client.post("/checkout/", data)

    assert first.status_code == second.status_code == 303
    assert first["Location"] == second["Location"]
    assert urlparse(first["Location"]).path.startswith("/sandbox/pay/")
    order = Order.objects.get()
    assert (
        order.status == OrderStatus.PAYMENT_PENDING
        and order.checkout_token == data["checkout_token"]
    )
    assert stock(world.bread) == 8


# --- Paying on the provider's page and coming back -----------------------------------------


def test_checkout_then_payment_then_the_order_page_says_it_is_placed(client, world):
    fill_cart(world, [(world.bread, 2), (world.cake, 1)])
    response = client.post("/checkout/", checkout_form(client))
    order = Order.objects.get()

    back = pay_on_the_provider_page(client, response["Location"], SUCCEED)

    assert path_of(back).startswith(f"/orders/{order.reference}/return/?payment=")
    response = client.get(path_of(back), follow=True)
    assert response.redirect_chain[-1][0] == f"/account/orders/{order.reference}/"
    assert f"Thank you! Your order {order.reference} is placed." in messages_of(response)
    page = response.content.decode()
    assert 'data-testid="order-status">Placed<' in page
    assert "Waiting for the seller" in page and "Fraud check passed" in page
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED
    assert not CartLine.objects.exists()
    assert "Cart (0)" in page
    assert (stock(world.bread), stock(world.cake)) == (8, 2)


def test_a_declined_card_brings_the_buyer_back_to_the_full_cart_with_the_reason(client, world):
    fill_cart(world, [(world.cake, 2)])
    response = client.post("/checkout/", checkout_form(client))
    assert stock(world.cake) == 1

    back = pay_on_the_provider_page(client, response["Location"], DECLINE)
    response = client.get(path_of(back), follow=True)

    assert response.redirect_chain[-1][0] == "/cart/"
    assert (
        "Your payment did not go through: Your card was declined. Your cart is unchanged."
        in messages_of(response)
    )
    assert Order.objects.get().status == OrderStatus.ABANDONED
    assert list(CartLine.objects.values_list("offer__sku", "quantity")) == [("GATEAU", 2)]
    assert stock(world.cake) == 3
    assert "Produit GATEAU" in response.content.decode()


def test_a_payment_left_at_the_confirmation_step_can_be_paid_later(client, world):
    fill_cart(world, [(world.bread, 1)])
    response = client.post("/checkout/", checkout_form(client))
    provider_url = response["Location"]
    order = Order.objects.get()

    confirm_page = pay_on_the_provider_page(client, provider_url, CONFIRM)
    assert "/confirm/" in confirm_page
    # The buyer comes back without confirming (closes the tab, follows an old link).
    response = client.get(f"/orders/{order.reference}/return/", follow=True)

    assert response.redirect_chain[-1][0] == f"/account/orders/{order.reference}/"
    assert "Your payment is not complete yet." in messages_of(response)
    assert 'data-testid="pay-now"' in response.content.decode()
    pay_now = client.post(f"/orders/{order.reference}/pay/")
    assert pay_now.status_code == 303 and pay_now["Location"] == provider_url
    client.post(path_of(confirm_page), {"decision": "approve"})
    response = client.get(f"/orders/{order.reference}/return/", follow=True)
    assert f"Thank you! Your order {order.reference} is placed." in messages_of(response)


def test_pay_now_for_a_paid_order_shows_the_order(client, world):
    order = placed_order(world, [(world.bread, 1)])

    response = client.post(f"/orders/{order.reference}/pay/", follow=True)

    assert response.redirect_chain[-1][0] == f"/account/orders/{order.reference}/"


# --- The buyer's orders --------------------------------------------------------------------


def placed_order(world, items, buyer=None):
    """An order placed and paid through the services (the seller now has to accept it)."""
    buyer = buyer or world.buyer
    cart = fill_cart(world, items, buyer=buyer)
    order = placement.checkout_place(
        cart=cart,
        buyer=buyer,
        checkout_token=uuid.uuid4().hex,
        billing_address_id=buyer.addresses.first().pk,
        shipping_address_id=buyer.addresses.first().pk,
    )
    placement.checkout_payment_start(order=order, return_url="http://testserver/return/")
    order.payment.refresh_from_db()
    bank.intent_pay(
        intent_id=order.payment.provider_reference, number=SUCCEED, expiry="12/40", cvc="123"
    )
    return placement.checkout_payment_update(order_id=order.pk)


def test_the_orders_list_shows_each_order_with_its_shops_states(client, world):
    order = placed_order(world, [(world.bread, 2)])

    response = client.get("/account/orders/")

    page = response.content.decode()
    assert f"Order {order.reference}" in page
    assert "€10.00" in page and "Boulangerie: " in page and "Waiting for the seller" in page
    assert 'href="/account/orders/"' in page  # "My orders" in the header


def test_a_buyer_never_sees_another_buyers_orders(client, world):
    other = UserFactory(email="other@example.test")
    address_of(other)
    theirs = placed_order(world, [(world.bread, 1)], buyer=other)

    assert theirs.reference not in client.get("/account/orders/").content.decode()
    assert client.get(f"/account/orders/{theirs.reference}/").status_code == 404
    assert client.post(f"/orders/{theirs.reference}/pay/").status_code == 404
    assert client.get(f"/orders/{theirs.reference}/return/").status_code == 404
    cancel = f"/account/orders/{theirs.reference}/{theirs.reference}-A/cancel/"
    assert client.post(cancel).status_code == 404
    assert Order.objects.get(pk=theirs.pk).shop_orders.get().state == State.WAITING_ACCEPTANCE
    client.logout()
    assert client.get(f"/account/orders/{theirs.reference}/").status_code == 302


def test_the_order_page_shows_lines_delivery_amounts_and_history(client, world):
    order = placed_order(world, [(world.bread, 2), (world.cake, 1)])
    shop_order = order.shop_orders.get()
    bread_line, cake_line = shop_order.lines.order_by("pk")
    order_services.shop_order_decide(
        shop_order_id=shop_order.pk,
        actor=world.baker,
        decisions={bread_line.pk: True, cake_line.pk: False},
        reason="Plus de gâteaux",
    )

    page = client.get(f"/account/orders/{order.reference}/").content.decode()

    assert "Produit PAIN" in page and "Produit GATEAU" in page
    assert "Refused" in page and "Plus de gâteaux" in page
    assert "Livraison à domicile" in page and "3 rue des Lilas" in page
    assert 'data-testid="accepted-amount">€10.00<' in page  # 2 × 2.50 + 5.00 delivery
    assert "Fraud check passed" in page and "Accepted" in page
    assert 'data-testid="cancel-link"' not in page  # accepted: too late to cancel


def test_the_buyer_cancels_an_order_waiting_for_the_seller_and_the_stock_comes_back(client, world):
    order = placed_order(world, [(world.cake, 2)])
    shop_order = order.shop_orders.get()
    assert stock(world.cake) == 1
    page = client.get(f"/account/orders/{order.reference}/").content.decode()
    cancel_url = f"/account/orders/{order.reference}/{shop_order.reference}/cancel/"
    assert f'href="{cancel_url}"' in page

    confirmation = client.get(cancel_url)
    assert "Cancel the order" in confirmation.content.decode()
    assert Order.objects.get().shop_orders.get().state == State.WAITING_ACCEPTANCE
    response = client.post(cancel_url, {"reason": "Commandé par erreur"}, follow=True)

    assert f"Your order {shop_order.reference} from Boulangerie is cancelled." in messages_of(
        response
    )
    shop_order.refresh_from_db()
    assert shop_order.state == State.CANCELED
    assert stock(world.cake) == 3
    page = response.content.decode()
    assert "Cancelled by the buyer" in page and "Commandé par erreur" in page
    assert 'data-testid="cancel-link"' not in page


def test_cancelling_an_accepted_order_is_refused_with_a_message(client, world):
    order = placed_order(world, [(world.bread, 1)])
    shop_order = order.shop_orders.get()
    order_services.shop_order_decide(
        shop_order_id=shop_order.pk,
        actor=world.baker,
        decisions={shop_order.lines.get().pk: True},
    )

    response = client.post(
        f"/account/orders/{order.reference}/{shop_order.reference}/cancel/", follow=True
    )

    assert any(m.startswith("Not possible while the order is") for m in messages_of(response))
    shop_order.refresh_from_db()
    assert shop_order.state != State.CANCELED
