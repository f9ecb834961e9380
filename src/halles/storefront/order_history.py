"""What the buyer's order page shows of a shop order's fulfilment and history: the parcels
with their tracking links, and the history the buyer may see (`orders.selectors.history`).
Reads only."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from halles.orders import selectors as order_selectors
from halles.orders.models import Shipment, ShopOrder


@dataclass
class TimelineEntry:
    at: object
    label: str
    note: str = ""
    shipment: Shipment | None = None
    is_email: bool = False


def shipments_of(shop_order: ShopOrder) -> list[Shipment]:
    return list(shop_order.shipments.prefetch_related("lines__line").order_by("shipped_at", "id"))


def timeline(shop_order: ShopOrder) -> list[TimelineEntry]:
    """The buyer-visible events (a parcel with its tracking link) and the e-mails sent to
    the buyer about this shop order or the whole order, oldest first."""
    return [
        TimelineEntry(
            at=entry.at,
            label=str(_("E-mail sent to you: %(subject)s") % {"subject": entry.subject})
            if entry.kind == "email"
            else entry.label,
            note=entry.note,
            shipment=entry.shipment,
            is_email=entry.kind == "email",
        )
        for entry in order_selectors.history(shop_order, audience="buyer")
    ]
