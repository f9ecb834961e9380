"""A marketplace with two shops, their offers and delivery modes, and a buyer with an
address; helpers to fill a cart and pay with a sandbox test card."""

import uuid
from dataclasses import dataclass

import pytest

from halles.accounts.models import Address
from halles.checkout import cart as carts
from halles.checkout import placement
from halles.payments.sandbox import bank

from ..factories import DeliveryModeFactory, UserFactory, make_offer, make_shop

SUCCEED = "4242424242424242"
DECLINE = "4000000000000002"
INSUFFICIENT = "4000000000009995"
CONFIRM = "4000002760003184"
CAPTURE_FAILS = "4000000000000341"


@dataclass
class World:
    marketplace: object
    bakery: object
    baker: object
    books: object
    bookseller: object
    bread: object
    cake: object
    novel: object
    bakery_home: object
    books_home: object
    buyer: object
    address: object


@pytest.fixture
def world(marketplace):
    bakery, baker = make_shop(marketplace, slug="boulangerie")
    books, bookseller = make_shop(marketplace, slug="librairie")
    buyer = UserFactory(email="buyer@example.test")
    address = Address.objects.create(
        user=buyer,
        full_name="Bob Acheteur",
        line1="3 rue des Lilas",
        postcode="75011",
        city="Paris",
        country="FR",
        phone="0601020304",
        is_default_billing=True,
        is_default_shipping=True,
    )
    return World(
        marketplace=marketplace,
        bakery=bakery,
        baker=baker,
        books=books,
        bookseller=bookseller,
        bread=make_offer(bakery, sku="PAIN", stock=10, price=250),
        cake=make_offer(bakery, sku="GATEAU", stock=3, price=1800),
        novel=make_offer(books, sku="ROMAN", stock=2, price=2090, vat_rate="5.50"),
        bakery_home=DeliveryModeFactory(shop=bakery, fee_cents=500, free_above_cents=None),
        books_home=DeliveryModeFactory(shop=books, fee_cents=390, free_above_cents=None),
        buyer=buyer,
        address=address,
    )


def fill_cart(world, items, buyer=None):
    """`items`: [(offer, quantity)]; each shop gets its home delivery."""
    buyer = buyer or world.buyer
    cart = carts.cart_get(marketplace=world.marketplace, user=buyer, create=True)
    for offer, quantity in items:
        carts.cart_add(cart=cart, offer_id=offer.pk, quantity=quantity, user=buyer)
    for shop, mode in ((world.bakery, world.bakery_home), (world.books, world.books_home)):
        if cart.lines.filter(offer__shop=shop).exists():
            carts.cart_choose_delivery(cart=cart, shop_id=shop.pk, delivery_mode_id=mode.pk)
    return cart


def place(world, cart, buyer=None, token=None):
    buyer = buyer or world.buyer
    address = buyer.addresses.first()
    return placement.checkout_place(
        cart=cart,
        buyer=buyer,
        checkout_token=token or uuid.uuid4().hex,
        billing_address_id=address.pk,
        shipping_address_id=address.pk,
    )


def pay(order, card=SUCCEED, confirm=None):
    """Go through the sandbox's payment page with `card` and come back to Halles."""
    placement.checkout_payment_start(order=order, return_url="http://testserver/return/")
    order.payment.refresh_from_db()
    intent_id = order.payment.provider_reference
    bank.intent_pay(intent_id=intent_id, number=card, expiry="12/40", cvc="123")
    if confirm is not None:
        bank.intent_confirm(intent_id=intent_id, approve=confirm)
    return placement.checkout_payment_update(order_id=order.pk)


def buy(world, items, card=SUCCEED, buyer=None):
    cart = fill_cart(world, items, buyer=buyer)
    order = place(world, cart, buyer=buyer)
    return pay(order, card=card)
