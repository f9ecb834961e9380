"""What the seller's order page shows about fulfilment: the shipping deadline and the late
flag, the parcels with their tracking links, the forms the order's state allows (declare a
parcel, mark ready for pick-up, hand over with the code), and the history completed with the
e-mails sent about the order.

Reads only; the writes are in `fulfilment_views`, through `orders.fulfilment`.
"""

from django.utils import timezone

from halles.orders import fulfilment, selectors
from halles.orders.models import Shipment, ShopOrder, State
from halles.shipping.services import active_carriers
from halles.shops.models import DeliveryKind

from . import fulfilment_forms as forms

# Events that are not transitions of the workflow table.


def is_late(shop_order: ShopOrder, now=None) -> bool:
    """Still to ship (or to prepare) and past its shipping deadline."""
    if shop_order.state != State.SHIPPING or shop_order.shipping_deadline is None:
        return False
    return shop_order.shipping_deadline < (now or timezone.now())


def is_collect(shop_order: ShopOrder) -> bool:
    return shop_order.delivery_kind == DeliveryKind.CLICK_COLLECT


def can_ship(shop_order: ShopOrder) -> bool:
    return shop_order.state == State.SHIPPING and not is_collect(shop_order)


def shipments_of(shop_order: ShopOrder) -> list[Shipment]:
    return list(
        shop_order.shipments.select_related("carrier")
        .prefetch_related("lines__line")
        .order_by("shipped_at", "id")
    )


def shippable_reference(shop) -> str | None:
    """A reference of one of the shop's orders to ship, for the bulk file's example."""
    return (
        selectors.seller_orders(shop, selectors.SellerOrderFilters(state=State.SHIPPING))
        .exclude(delivery_kind=DeliveryKind.CLICK_COLLECT)
        .values_list("reference", flat=True)
        .first()
    )


def shipment_form(shop_order: ShopOrder, data=None) -> forms.ShipmentForm:
    lines = shop_order.lines.order_by("pk")
    return forms.ShipmentForm(
        data,
        lines=lines,
        remaining=fulfilment.remaining_quantities(shop_order),
        carriers=active_carriers(shop_order.marketplace),
        initial=None if data is not None else {"shipped_at": timezone.localtime()},
    )


def panel(
    shop_order: ShopOrder, *, shipments: list[Shipment], ship_form=None, collect_form=None
) -> dict:
    """The template context of the fulfilment part of the order page (call it inside the
    marketplace's time zone)."""
    shipping = can_ship(shop_order)
    if shipping and ship_form is None:
        ship_form = shipment_form(shop_order)
    to_collect = shop_order.state == State.TO_COLLECT
    if to_collect and collect_form is None:
        collect_form = forms.CollectForm()
    return {
        "late": is_late(shop_order),
        "is_collect": is_collect(shop_order),
        "shipments": shipments,
        "ship_form": ship_form if shipping else None,
        "can_mark_ready": shop_order.state == State.SHIPPING and is_collect(shop_order),
        "collect_form": collect_form if to_collect else None,
        "pickup_attempts_left": max(fulfilment.MAX_PICKUP_ATTEMPTS - shop_order.pickup_attempts, 0),
    }
