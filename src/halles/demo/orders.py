"""Demo orders: the demo buyer's orders on Villeneuve, in every state the order workflow
reaches so far, made only through the domain services (cart, checkout, the sandbox's test
card, the sellers' decisions, the buyer's cancellation, the fraud check), so that stock,
payments, pick-up slots, order histories and the e-mail outbox agree with them.

Per shop that sells (active offers in stock and a delivery mode the buyer can use):
one order being prepared (SHIPPING, the capture done) and one waiting for the seller
(WAITING_ACCEPTANCE). Then one order with a line refused (the rest SHIPPING), one refused
as a whole (REFUSED), one cancelled by the buyer (CANCELED), one large order held by the
fraud check (STAGING), and a first attempt paid with a declined card (the order abandoned,
its stock given back). A shop with click and collect on pick-up slots gets its orders on
the first free slots.

The services queue their side effects (captures, releases, e-mails, deadlines) as tasks;
with the database backend they wait for a worker. So that the demo is complete without one,
the loader runs the payment steps itself (`payment_flow.collect_payment` after each
acceptance, `payment_flow.settle_payment` at the end); the queued copies find the work done
and do nothing. E-mails stay in the outbox until the worker delivers them.

Every date is "now": time-machine, which could spread the orders over past days, is a
development dependency, and moving dates by hand after the fact would leave deadlines,
queued tasks and histories out of step.

Idempotent: the demo's checkouts carry tokens starting with `demo:`; when the marketplace
already has one, nothing is done. Nothing is done either when the buyer's cart on the
marketplace holds items (the buyer's own), or when the marketplace takes no orders.
"""

import logging
from dataclasses import dataclass

from django.urls import NoReverseMatch

from halles.accounts.models import User
from halles.catalog.models import Offer
from halles.catalog.selectors import offer_visible_to
from halles.checkout import cart as carts
from halles.checkout import placement
from halles.core.errors import DomainError
from halles.core.urls import marketplace_url
from halles.marketplaces.models import Marketplace
from halles.marketplaces.workflow import can_operate
from halles.orders import payment_flow
from halles.orders import services as orders
from halles.orders.models import FraudRules, Order, OrderStatus, Role, State
from halles.payments.sandbox import bank
from halles.shops.models import (
    DeliveryKind,
    DeliveryMode,
    Shop,
    ShopStaff,
    ShopStatus,
    StaffRole,
)
from halles.shops.selectors import open_pickup_slots

logger = logging.getLogger(__name__)

MARKETPLACE = "villeneuve"
BUYER = "buyer@halles.test"
TOKEN_PREFIX = "demo:"
CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000002"
HOME, RELAY, COLLECT = DeliveryKind.HOME, DeliveryKind.RELAY, DeliveryKind.CLICK_COLLECT
ALL = object()  # every line of a shop order
RELAY_POINT = "Relais Presse de la Gare, 2 place de la Gare, 94290 Villeneuve-le-Roi"

# Villeneuve's fraud rules. A town market's baskets are tens of euros: one above 150 EUR is
# reviewed on its own. The weaker signals hold an order only together with another one
# (a new account ordering three times in an hour is a new neighbour discovering the shops;
# with a foreign shipping address as well, someone looks).
FRAUD_RULES = {
    "amount_above_cents": 15_000,
    "amount_points": 60,
    "young_account_days": 2,
    "young_account_points": 20,
    "velocity_orders": 3,
    "velocity_hours": 1,
    "velocity_points": 30,
    "country_mismatch_points": 30,
    "review_from": 60,
}


@dataclass
class Seller:
    """A shop that can take a demo order: what it sells and who answers for it."""

    shop: Shop
    staff: User
    kinds: set

    def offers(self, buyer) -> list[Offer]:
        """Active offers with stock to spare (the demo never sells the last unit)."""
        offers = Offer.objects.filter(shop=self.shop, is_active=True, stock__gte=2).order_by("pk")
        return [offer for offer in offers if offer_visible_to(offer, buyer)]


def load_orders_demo(marketplace_slug: str = MARKETPLACE, buyer_email: str = BUYER) -> list:
    """Create the demo orders (see the module's docstring); returns them, [] when skipped."""
    marketplace = Marketplace.objects.filter(slug=marketplace_slug).first()
    buyer = User.objects.filter(email=buyer_email).first()
    if marketplace is None or buyer is None:
        return []
    if Order.objects.filter(
        marketplace=marketplace, checkout_token__startswith=TOKEN_PREFIX
    ).exists():
        return []
    address = buyer.addresses.order_by("-is_default_billing", "pk").first()
    if address is None:
        return []
    try:
        carts.check_marketplace_open(marketplace)
    except DomainError:
        logger.info("Demo orders skipped: %s takes no orders.", marketplace.slug)
        return []
    cart = carts.cart_get(marketplace=marketplace, user=buyer, create=True)
    if cart.lines.exists():
        logger.info("Demo orders skipped: the buyer's cart on %s is not empty.", marketplace.slug)
        return []
    FraudRules.objects.get_or_create(marketplace=marketplace, defaults=FRAUD_RULES)
    sellers = _sellers(marketplace, buyer)
    if not sellers:
        return []
    return DemoOrders(marketplace, buyer, address, sellers).run()


def _sellers(marketplace, buyer) -> list[Seller]:
    sellers = []
    shops = Shop.objects.filter(marketplace=marketplace, status=ShopStatus.ACTIVE).order_by("pk")
    for shop in shops:
        members = ShopStaff.objects.filter(shop=shop, user__is_active=True).select_related("user")
        staff = min(members, key=lambda m: (m.role != StaffRole.OWNER, m.pk), default=None)
        kinds = {mode.kind for mode in _usable_modes(shop)}
        seller = Seller(shop=shop, staff=staff.user if staff else None, kinds=kinds)
        if staff and kinds and seller.offers(buyer):
            sellers.append(seller)
    return sellers


def _usable_modes(shop) -> list[DeliveryMode]:
    modes = DeliveryMode.objects.filter(shop=shop, is_active=True).order_by("pk")
    return [mode for mode in modes if not _needs_slot(mode) or _free_slot(mode) is not None]


def _needs_slot(mode) -> bool:
    return mode.kind == COLLECT and mode.uses_slots


def _free_slot(mode):
    return open_pickup_slots([mode.pk]).first()


class DemoOrders:
    def __init__(self, marketplace, buyer, address, sellers: list[Seller]):
        self.marketplace = marketplace
        self.buyer = buyer
        self.address = address
        self.sellers = sellers
        self.operator = next(
            (op for op in marketplace.operators.order_by("pk") if can_operate(op, marketplace)),
            None,
        )
        self.orders: list[Order] = []

    def run(self) -> list[Order]:
        self.shipped_everywhere()
        self.waiting_everywhere_after_a_declined_card()
        self.one_line_refused()
        self.refused_by_the_shop()
        self.cancelled_by_the_buyer()
        self.held_by_the_fraud_check()
        for order in self.orders:
            payment_flow.settle_payment(order_id=order.pk)
        return self.orders

    # --- Scenarios ---------------------------------------------------------------------

    def shipped_everywhere(self) -> None:
        """One order from every shop, each accepted and paid: SHIPPING."""
        order = self.checkout("shipping", [(s, 0, 1) for s in self.sellers])
        for shop_order in self.shop_orders(order):
            self.decide(shop_order)

    def waiting_everywhere_after_a_declined_card(self) -> None:
        """A declined card first (the order is abandoned, the cart kept), then paid with
        another card; every shop has still to accept: WAITING_ACCEPTANCE."""
        items = [(s, 1, 2) for s in self.sellers]
        self.checkout("declined", items, card=CARD_DECLINED)
        self.checkout("waiting", items, refill=False)

    def one_line_refused(self) -> None:
        """Two lines; the seller refuses one and accepts the other: SHIPPING, one line
        REFUSED, the refused line's stock back and its amount released."""
        seller = self.pick("librairie-du-parc", lambda s: len(s.offers(self.buyer)) >= 2)
        if seller is None:
            return
        order = self.checkout("one-line-refused", [(seller, 2, 1), (seller, 3, 1)], (RELAY,))
        self.decide(
            self.shop_orders(order)[0],
            refused=(1,),
            reason="Le dernier exemplaire est abîmé : nous ne pouvons pas vous l'envoyer.",
        )

    def refused_by_the_shop(self) -> None:
        seller = self.pick("atelier-lune")
        order = self.checkout("refused", [(seller, 4, 1)])
        self.decide(
            self.shop_orders(order)[0],
            refused=ALL,
            reason="Pièce vendue à l'atelier juste avant votre commande, désolée.",
        )

    def cancelled_by_the_buyer(self) -> None:
        seller = self.pick("librairie-du-parc")
        order = self.checkout("cancelled", [(seller, 0, 1)], (COLLECT, HOME, RELAY))
        orders.shop_order_cancel(
            shop_order_id=self.shop_orders(order)[0].pk,
            actor=self.buyer,
            role=Role.BUYER,
            reason="Commandé en double.",
        )

    def held_by_the_fraud_check(self) -> None:
        """A basket above the marketplace's large-order amount, from the dearest offers:
        the payment is authorised, and the order waits for the operator (STAGING)."""
        rules = FraudRules.objects.get(marketplace=self.marketplace)
        need = rules.amount_above_cents + 1
        offers = sorted(
            ((offer, seller) for seller in self.sellers for offer in seller.offers(self.buyer)),
            key=lambda pair: (-pair[0].effective_price_cents(), pair[0].pk),
        )
        items, total = [], 0
        for offer, seller in offers:
            if total >= need:
                break
            price = offer.effective_price_cents()
            most = min(offer.stock - 1, offer.max_quantity or offer.stock)
            quantity = max(offer.min_quantity, min(most, -(-(need - total) // price)))
            if quantity > most:
                continue
            items.append((seller, offer, quantity))
            total += price * quantity
        if total >= need:
            self.checkout("fraud-check", items, approve_held=False)

    # --- Steps through the services ----------------------------------------------------

    def pick(self, slug: str, condition=lambda seller: True) -> Seller | None:
        """The shop named `slug` when it can take the order, else the first one that can."""
        fitting = [seller for seller in self.sellers if condition(seller)]
        return next((s for s in fitting if s.shop.slug == slug), fitting[0] if fitting else None)

    def checkout(
        self,
        name: str,
        items: list,
        kinds=(HOME, RELAY, COLLECT),
        *,
        card: str = CARD_OK,
        refill: bool = True,
        approve_held: bool = True,
    ) -> Order:
        """Fill the cart with `items` ((seller, offer or index among its offers, quantity)),
        choose each shop's delivery (the first of `kinds` it offers), place the cart and pay
        on the sandbox's page with `card`."""
        cart = carts.cart_get(marketplace=self.marketplace, user=self.buyer, create=True)
        if refill:
            for seller, which, quantity in items:
                offer = which if isinstance(which, Offer) else self.offer(seller, which)
                quantity = min(quantity, offer.stock - 1)
                carts.cart_add(cart=cart, offer_id=offer.pk, quantity=quantity, user=self.buyer)
            for seller in {id(s): s for s, _which, _quantity in items}.values():
                self.choose_delivery(cart, seller, kinds)
        order = placement.checkout_place(
            cart=cart,
            buyer=self.buyer,
            checkout_token=f"{TOKEN_PREFIX}{self.marketplace.slug}:{name}",
            billing_address_id=self.address.pk,
            shipping_address_id=self.address.pk,
        )
        placement.checkout_payment_start(order=order, return_url=self.return_url(order))
        order.payment.refresh_from_db()
        bank.intent_pay(
            intent_id=order.payment.provider_reference, number=card, expiry="12/40", cvc="123"
        )
        order = placement.checkout_payment_update(order_id=order.pk)
        if approve_held and order.status == OrderStatus.PLACED:
            self.approve_if_held(order)
        self.orders.append(order)
        return order

    def offer(self, seller: Seller, index: int) -> Offer:
        """The seller's `index`-th offer with stock to spare (round the list)."""
        offers = seller.offers(self.buyer)
        return offers[index % len(offers)]

    def choose_delivery(self, cart, seller: Seller, kinds) -> None:
        modes = carts.available_modes(cart, seller.shop.pk)
        ranked = sorted(modes, key=lambda m: (kinds.index(m.kind) if m.kind in kinds else 9, m.pk))
        for mode in ranked:
            slot = _free_slot(mode) if _needs_slot(mode) else None
            if _needs_slot(mode) and slot is None:
                continue
            carts.cart_choose_delivery(
                cart=cart,
                shop_id=seller.shop.pk,
                delivery_mode_id=mode.pk,
                pickup_slot_id=slot.pk if slot else None,
                relay_point=RELAY_POINT if mode.kind == RELAY else "",
            )
            return
        raise DomainError(f"No delivery mode for the demo order of {seller.shop.slug}.")

    def approve_if_held(self, order: Order) -> None:
        """An order the fraud check held by accident of the demo (its rules were set
        otherwise before): the operator approves it, as they would a known customer."""
        held = order.shop_orders.filter(state=State.STAGING).exists()
        if held and self.operator is not None:
            orders.fraud_review(
                order_id=order.pk,
                operator=self.operator,
                approve=True,
                reason="Cliente connue des commerçants.",
            )

    def decide(self, shop_order, *, refused=(), reason: str = "") -> None:
        """The seller accepts every line but those at the `refused` positions (or `ALL`),
        then the capture of the accepted amount runs (the task's work, without a worker)."""
        seller = next(s for s in self.sellers if s.shop.pk == shop_order.shop_id)
        lines = list(shop_order.lines.order_by("pk"))
        decisions = {
            line.pk: refused is not ALL and index not in refused for index, line in enumerate(lines)
        }
        orders.shop_order_decide(
            shop_order_id=shop_order.pk, actor=seller.staff, decisions=decisions, reason=reason
        )
        if any(decisions.values()):
            payment_flow.collect_payment(shop_order_id=shop_order.pk)

    def shop_orders(self, order) -> list:
        return list(order.shop_orders.order_by("pk"))

    def return_url(self, order) -> str:
        try:
            return marketplace_url(
                self.marketplace,
                "storefront:checkout_return",
                kwargs={"reference": order.reference},
            )
        except NoReverseMatch:
            return marketplace_url(self.marketplace, "storefront:home")
