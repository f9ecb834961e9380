"""What the buyer's order page shows of a shop order's fulfilment and history: the parcels
with their tracking links, and one timeline of the changes the buyer may see, the parcels,
and the e-mails sent to the buyer about it, by date. Reads only."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from halles.notifications.selectors import emails_for_reference
from halles.orders import selectors as order_selectors
from halles.orders.models import Shipment, ShopOrder
from halles.orders.workflow import TRANSITIONS

# Events that are not transitions of the workflow table.
EVENT_LABELS = {"shipment": _("A parcel has left (the rest follows)")}


@dataclass
class TimelineEntry:
    at: object
    label: str
    note: str = ""
    shipment: Shipment | None = None
    is_email: bool = False


def shipments_of(shop_order: ShopOrder) -> list[Shipment]:
    return list(shop_order.shipments.prefetch_related("lines__line").order_by("shipped_at", "id"))


def timeline(shop_order: ShopOrder, shipments: list[Shipment]) -> list[TimelineEntry]:
    """The buyer-visible events (a parcel with its tracking link) and the e-mails sent to
    the buyer about this shop order or the whole order, oldest first."""
    by_id = {shipment.pk: shipment for shipment in shipments}
    entries = []
    for event in order_selectors.timeline(shop_order, for_buyer=True):
        transition = TRANSITIONS.get(event.action)
        label = transition.label if transition else EVENT_LABELS.get(event.action, event.action)
        entries.append(
            TimelineEntry(
                at=event.at,
                label=str(label),
                note=event.note,
                shipment=by_id.get((event.detail or {}).get("shipment")),
            )
        )
    order = shop_order.order
    for email in emails_for_reference([shop_order.reference, order.reference]):
        if email.recipient_id == order.buyer_id:
            entries.append(
                TimelineEntry(
                    at=email.created_at,
                    label=str(_("E-mail sent to you: %(subject)s") % {"subject": email.subject}),
                    is_email=True,
                )
            )
    return sorted(entries, key=lambda entry: entry.at)
