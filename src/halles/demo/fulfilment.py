"""Demo carriers, relay points and orders past SHIPPING: shipped in two parcels, ready for
pick-up, received, and closed.

Carriers are the ones French shops use, with their public tracking addresses; Mondial
Relay gets a few relay points around Villeneuve, imported through the operator's import.
The orders go through the domain services like the rest of the demo (`demo.orders`). The
closed order needs its withdrawal window behind it: once it is received, every date of
that one finished order is moved back by the same number of days (nothing is left to run
for it, so its history stays coherent), then the closing service closes it.

Idempotent: carriers by code, relay points by id, orders by their `demo:` checkout token.
"""

from datetime import timedelta

from halles.accounts.models import User
from halles.marketplaces.models import Marketplace
from halles.notifications.models import Email, Notice
from halles.orders import fulfilment
from halles.orders.models import Order, OrderEvent, Shipment, ShopOrder
from halles.payments.models import Payment
from halles.shipping.models import Carrier
from halles.shipping.services import relay_points_import
from halles.shops.models import DeliveryKind, DeliveryMode

from .orders import BUYER, MARKETPLACE, TOKEN_PREFIX, DemoOrders, _sellers

MONDIAL_RELAY_TRACKING = (
    "https://www.mondialrelay.fr/suivi-de-colis/?numeroExpedition={tracking}&codePostal={postcode}"
)
CARRIERS = [
    ("colissimo", "Colissimo", "https://www.laposte.fr/outils/suivre-vos-envois?code={tracking}"),
    (
        "chronopost",
        "Chronopost",
        "https://www.chronopost.fr/tracking-no-cms/suivi-page?listeNumerosLT={tracking}",
    ),
    ("mondial-relay", "Mondial Relay", MONDIAL_RELAY_TRACKING),
    ("ups", "UPS", "https://www.ups.com/track?loc=fr_FR&tracknum={tracking}"),
    ("dhl", "DHL", "https://www.dhl.com/fr-fr/home/suivi.html?tracking-id={tracking}"),
    ("dpd", "DPD", "https://trace.dpd.fr/fr/trace/{tracking}"),
    ("gls", "GLS", "https://gls-group.com/FR/fr/suivi-colis/?match={tracking}"),
]
RELAY_NETWORKS = {"mondial-relay"}

RELAY_POINTS = """id;name;address;postcode;city;country;opening_hours
094001;Relais Presse de la Gare;2 place de la Gare;94290;Villeneuve-le-Roi;FR;Lun-Sam 7h-19h30
094002;Pressing du Marché;14 rue du Marché;94290;Villeneuve-le-Roi;FR;Mar-Sam 9h-19h
094003;Tabac Le Balto;31 avenue de la République;94290;Villeneuve-le-Roi;FR;Lun-Dim 6h30-20h
094004;Fleurs et Jardins;5 rue Victor-Hugo;94190;Villeneuve-Saint-Georges;FR;Mar-Dim 9h-13h, 15h-19h
094005;Épicerie du Port;48 quai de Seine;94190;Villeneuve-Saint-Georges;FR;Lun-Sam 8h-21h
"""

PARCELS = {"colissimo": "6A{n:011d}", "mondial-relay": "MR{n:08d}", "dpd": "250{n:011d}"}


def load_carriers() -> None:
    """The carriers of every marketplace, and Mondial Relay's points near Villeneuve."""
    for marketplace in Marketplace.objects.all():
        for position, (code, label, template) in enumerate(CARRIERS):
            Carrier.objects.get_or_create(
                marketplace=marketplace,
                code=code,
                defaults={
                    "label": label,
                    "tracking_url_template": template,
                    "has_relay_points": code in RELAY_NETWORKS,
                    "position": position,
                },
            )
    mondial = Carrier.objects.filter(marketplace__slug=MARKETPLACE, code="mondial-relay").first()
    if mondial is not None and not mondial.relay_points.exists():
        relay_points_import(carrier=mondial, data=RELAY_POINTS.encode())


def load_fulfilment_demo(marketplace_slug: str = MARKETPLACE, buyer_email: str = BUYER) -> list:
    """Orders past SHIPPING for the demo buyer (see the module's docstring)."""
    load_carriers()
    marketplace = Marketplace.objects.filter(slug=marketplace_slug).first()
    buyer = User.objects.filter(email=buyer_email).first()
    if marketplace is None or buyer is None:
        return []
    token = f"{TOKEN_PREFIX}{marketplace.slug}:fulfilment-"
    if Order.objects.filter(checkout_token__startswith=token).exists():
        return []
    address = buyer.addresses.order_by("-is_default_billing", "pk").first()
    sellers = _sellers(marketplace, buyer)
    if address is None or not sellers:
        return []
    demo = Fulfilment(marketplace, buyer, address, sellers)
    orders = demo.run()
    _relay_network(marketplace)
    return orders


class Fulfilment(DemoOrders):
    parcel_number = 1

    def run(self) -> list[Order]:
        self.shipped_in_two_parcels()
        self.ready_for_pick_up()
        self.received()
        self.closed()
        return self.orders

    def shipped_in_two_parcels(self) -> None:
        seller = self.pick("librairie-du-parc", lambda s: len(s.offers(self.buyer)) >= 2)
        shop_order = self.paid("fulfilment-shipped", seller, [(0, 1), (1, 1)], (HOME,))
        first, second = shop_order.lines.order_by("pk")
        self.ship(shop_order, "colissimo", {first.pk: first.quantity})
        self.ship(shop_order, "dpd", {second.pk: second.quantity})

    def ready_for_pick_up(self) -> None:
        seller = self.pick("boulangerie-martin", lambda s: COLLECT in s.kinds)
        if seller is None or COLLECT not in seller.kinds:
            return
        shop_order = self.paid("fulfilment-to-collect", seller, [(2, 1)], (COLLECT,))
        fulfilment.pickup_ready(shop_order_id=shop_order.pk, actor=seller.staff)

    def received(self) -> None:
        seller = self.pick("atelier-lune")
        shop_order = self.paid("fulfilment-received", seller, [(2, 1)], (HOME, RELAY))
        self.ship(shop_order, "colissimo")
        fulfilment.receipt_confirm(shop_order_id=shop_order.pk, actor=self.buyer)

    def closed(self) -> None:
        seller = self.pick("librairie-du-parc")
        shop_order = self.paid("fulfilment-closed", seller, [(2, 1)], (HOME, RELAY))
        self.ship(shop_order, "colissimo")
        fulfilment.receipt_confirm(shop_order_id=shop_order.pk, actor=self.buyer)
        days = shop_order.marketplace.withdrawal_days + 7
        age(ShopOrder.objects.get(pk=shop_order.pk), timedelta(days=days))
        fulfilment.order_close(shop_order_id=shop_order.pk)

    # --- Steps -------------------------------------------------------------------------

    def paid(self, name, seller, items, kinds) -> ShopOrder:
        order = self.checkout(name, [(seller, index, n) for index, n in items], kinds)
        shop_order = self.shop_orders(order)[0]
        self.decide(shop_order)
        return ShopOrder.objects.get(pk=shop_order.pk)

    def ship(self, shop_order, carrier: str, quantities=None) -> None:
        number = PARCELS.get(carrier, "{n:012d}").format(n=20261100 + Fulfilment.parcel_number)
        Fulfilment.parcel_number += 1
        seller = next(s for s in self.sellers if s.shop.pk == shop_order.shop_id)
        fulfilment.shipment_declare(
            shop_order_id=shop_order.pk,
            actor=seller.staff,
            carrier_code=carrier,
            tracking_number=number,
            quantities=quantities,
        )


HOME, RELAY, COLLECT = DeliveryKind.HOME, DeliveryKind.RELAY, DeliveryKind.CLICK_COLLECT


def age(shop_order: ShopOrder, delta: timedelta) -> None:
    """Move every date of one finished shop order (and of its order, payment, parcels,
    history, e-mails and notices) back by `delta`."""
    order = shop_order.order

    def back(instance, *fields):
        changes = {f: getattr(instance, f) - delta for f in fields if getattr(instance, f)}
        type(instance).objects.filter(pk=instance.pk).update(**changes)

    back(order, "created_at", "placed_at")
    if order.payment_id:
        back(Payment.objects.get(pk=order.payment_id), "created_at", "authorised_at")
    back(
        shop_order,
        "created_at",
        "accepted_at",
        "paid_at",
        "shipped_at",
        "received_at",
        "acceptance_deadline",
        "payment_due_at",
        "shipping_deadline",
    )
    for event in OrderEvent.objects.filter(shop_order=shop_order):
        back(event, "at")
    for shipment in Shipment.objects.filter(shop_order=shop_order):
        back(shipment, "shipped_at", "created_at")
    references = [shop_order.reference, order.reference]
    for email in Email.objects.filter(reference__in=references):
        back(email, "created_at", "sent_at")
    for notice in Notice.objects.filter(reference__in=references):
        back(notice, "created_at")


def _relay_network(marketplace) -> None:
    """From now on, Villeneuve's relay deliveries name a Mondial Relay point of the list."""
    mondial = Carrier.objects.filter(marketplace=marketplace, code="mondial-relay").first()
    if mondial is not None:
        DeliveryMode.objects.filter(
            shop__marketplace=marketplace, kind=DeliveryKind.RELAY, relay_network__isnull=True
        ).update(relay_network=mondial)
