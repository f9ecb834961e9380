"""Order reads for the three audiences, each scoped to what it may see.

- Buyers see their own placed orders (and those still waiting for payment).
- Sellers see their shop's shop orders once placed; the customer's name, address and phone
  only once they accepted (`customer_for_seller`), and never the real e-mail (an alias).
- Operators see every order of the marketplaces they run.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from halles.core.errors import NotFound

from .models import ACCEPTED_STATES, Order, OrderEvent, OrderLine, OrderStatus, ShopOrder, State


def buyer_orders(buyer, marketplace) -> QuerySet[Order]:
    return (
        Order.objects.filter(buyer=buyer, marketplace=marketplace)
        .exclude(status=OrderStatus.ABANDONED)
        .prefetch_related(
            Prefetch("shop_orders", queryset=ShopOrder.objects.select_related("shop"))
        )
        .order_by("-created_at", "-id")
    )


def buyer_order(*, buyer, marketplace, reference: str) -> Order:
    order = (
        Order.objects.filter(buyer=buyer, marketplace=marketplace, reference=reference)
        .exclude(status=OrderStatus.ABANDONED)
        .select_related("payment")
        .first()
    )
    if order is None:
        raise NotFound(_("This order does not exist."))
    return order


def shop_orders_of(order: Order) -> list[ShopOrder]:
    return list(
        order.shop_orders.select_related("shop")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("pk")))
        .order_by("reference")
    )


def buyer_may_cancel(shop_order: ShopOrder) -> bool:
    """The buyer can still cancel: the order is placed and the seller has not accepted."""
    from .workflow import actions_for

    return shop_order.order.status == OrderStatus.PLACED and any(
        t.action == "buyer_cancel" for t in actions_for(shop_order.state, "buyer")
    )


def timeline(shop_order: ShopOrder, *, for_buyer: bool = False) -> QuerySet[OrderEvent]:
    """The history of a shop order; the buyer sees the events meant for them."""
    events = shop_order.events.select_related("actor").order_by("at", "id")
    if for_buyer:
        events = events.filter(buyer_visible=True)
    return events


# --- Sellers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SellerOrderFilters:
    state: str = ""
    placed_from: object = None  # date
    placed_to: object = None  # date
    deadline_within_hours: int | None = None  # acceptance deadline approaching
    query: str = ""  # reference


def seller_orders(shop, filters: SellerOrderFilters | None = None) -> QuerySet[ShopOrder]:
    """The shop's orders, placed ones only (an order waiting for its payment is not one)."""
    filters = filters or SellerOrderFilters()
    qs = (
        ShopOrder.objects.filter(shop=shop, order__status=OrderStatus.PLACED)
        .select_related("order")
        .order_by("-created_at", "-id")
    )
    if filters.state:
        qs = qs.filter(state=filters.state)
    tz = zoneinfo.ZoneInfo(shop.marketplace.time_zone)  # days as the marketplace sees them
    if filters.placed_from:
        start = datetime.combine(filters.placed_from, time.min, tzinfo=tz)
        qs = qs.filter(order__placed_at__gte=start)
    if filters.placed_to:
        end = datetime.combine(filters.placed_to + timedelta(days=1), time.min, tzinfo=tz)
        qs = qs.filter(order__placed_at__lt=end)
    if filters.deadline_within_hours is not None:
        limit = timezone.now() + timedelta(hours=filters.deadline_within_hours)
        qs = qs.filter(state=State.WAITING_ACCEPTANCE, acceptance_deadline__lte=limit)
    if filters.query:
        qs = qs.filter(reference__icontains=filters.query.strip())
    return qs


def seller_order(*, shop, reference: str) -> ShopOrder:
    shop_order = (
        ShopOrder.objects.filter(shop=shop, reference=reference, order__status=OrderStatus.PLACED)
        .select_related("order", "shop", "marketplace")
        .first()
    )
    if shop_order is None:
        raise NotFound(_("This order does not exist."))
    return shop_order


def seller_state_counts(shop) -> dict[str, int]:
    from django.db.models import Count

    rows = (
        ShopOrder.objects.filter(shop=shop, order__status=OrderStatus.PLACED)
        .values("state")
        .annotate(n=Count("id"))
    )
    return {row["state"]: row["n"] for row in rows}


@dataclass(frozen=True)
class Customer:
    """What a seller may know of the customer of one shop order."""

    revealed: bool
    name: str = ""
    company: str = ""
    address_lines: tuple[str, ...] = ()
    phone: str = ""
    email_alias: str = ""


def customer_for_seller(shop_order: ShopOrder) -> Customer:
    """Hidden until the seller accepted (STAGING and WAITING_ACCEPTANCE show nothing);
    after that, the name, delivery (else billing) address and phone, and the per-order
    alias instead of the buyer's e-mail address."""
    if shop_order.state not in ACCEPTED_STATES:
        return Customer(revealed=False)
    order = shop_order.order
    if shop_order.shipping_line1:
        name, company = shop_order.shipping_name, shop_order.shipping_company
        lines = (
            shop_order.shipping_line1,
            shop_order.shipping_line2,
            f"{shop_order.shipping_postcode} {shop_order.shipping_city}",
            shop_order.shipping_country,
        )
        phone = shop_order.shipping_phone or order.phone
    else:
        name, company = order.billing_name, order.billing_company
        lines = (
            order.billing_line1,
            order.billing_line2,
            f"{order.billing_postcode} {order.billing_city}",
            order.billing_country,
        )
        phone = order.phone
    return Customer(
        revealed=True,
        name=name,
        company=company,
        address_lines=tuple(line for line in lines if line.strip()),
        phone=phone,
        email_alias=shop_order.customer_alias_email,
    )


# --- Operators -----------------------------------------------------------------------------


def operator_shop_orders(operator) -> QuerySet[ShopOrder]:
    qs = ShopOrder.objects.filter(order__status=OrderStatus.PLACED)
    if not operator.is_superuser:
        qs = qs.filter(marketplace__operators=operator)
    return qs.select_related("order", "shop", "marketplace")


# A shop order needs the operator's attention when the seller has less than this left to
# accept it, or a capture has been in progress longer than DEBIT_WARNING.
ACCEPTANCE_WARNING = timedelta(hours=24)
DEBIT_WARNING = timedelta(hours=1)


def needs_attention(queryset, now=None):
    """Shop orders an operator should look at: waiting for the seller with less than a day
    left (or past the deadline), payment to collect past its due date, a capture stuck at
    the provider, or not shipped by the shipping deadline."""
    now = now or timezone.now()
    return queryset.filter(
        Q(state=State.WAITING_ACCEPTANCE, acceptance_deadline__lte=now + ACCEPTANCE_WARNING)
        | Q(state=State.WAITING_DEBIT, payment_due_at__lte=now)
        | Q(state=State.WAITING_DEBIT_PAYMENT, updated_at__lte=now - DEBIT_WARNING)
        | Q(state=State.SHIPPING, shipping_deadline__lte=now)
    )


def fraud_queue(operator) -> QuerySet[Order]:
    """Placed orders with a shop order still held by the fraud check."""
    qs = Order.objects.filter(
        status=OrderStatus.PLACED, shop_orders__state=State.STAGING
    ).distinct()
    if not operator.is_superuser:
        qs = qs.filter(marketplace__operators=operator)
    return qs.select_related("buyer", "marketplace").order_by("placed_at", "id")


# --- History --------------------------------------------------------------------------------

# Events that are not transitions of the workflow table.
EVENT_LABELS = {"shipment": _("A parcel has left (the rest follows)")}


@dataclass
class HistoryEntry:
    """One line of a shop order's history: a recorded event (transition or parcel) or an
    e-mail sent about it."""

    at: object
    kind: str  # "event" or "email"
    label: str = ""
    note: str = ""
    role: str = ""  # the actor's role, for people (Buyer, Seller...)
    actor_name: str = ""  # staff and operators by name; a buyer stays "Buyer"
    channel: str = ""
    from_state: str = ""
    to_state: str = ""
    shipment: object = None
    subject: str = ""
    to_buyer: bool = False
    email_status: str = ""


def history(shop_order: ShopOrder, *, audience: str) -> list[HistoryEntry]:
    """The complete history of a shop order for `audience` ("buyer", "seller" or
    "operator"), oldest first: transitions, parcels (with their tracking) and e-mails sent.

    The buyer sees the events meant for them and the e-mails sent to them (including the
    whole order's); the seller and the operator see every event and the e-mails about this
    shop order (one line per e-mail to the shop, however many staff received it)."""
    from halles.notifications.selectors import emails_for_reference

    from .workflow import TRANSITIONS

    shipments = {s.pk: s for s in shop_order.shipments.prefetch_related("lines__line")}
    entries = []
    for event in timeline(shop_order, for_buyer=audience == "buyer"):
        transition = TRANSITIONS.get(event.action)
        label = transition.label if transition else EVENT_LABELS.get(event.action, event.action)
        named = event.actor is not None and event.role in ("seller", "operator")
        entries.append(
            HistoryEntry(
                at=event.at,
                kind="event",
                label=str(label),
                note=event.note,
                role=event.get_role_display(),
                actor_name=event.actor.get_full_name() if named else "",
                channel=event.get_channel_display(),
                from_state=State(event.from_state).label if event.from_state else "",
                to_state=State(event.to_state).label if event.to_state else "",
                shipment=shipments.get((event.detail or {}).get("shipment")),
            )
        )
    order = shop_order.order
    references = [shop_order.reference] + ([order.reference] if audience != "seller" else [])
    seen = set()
    for email in emails_for_reference(references):
        to_buyer = email.recipient_id == order.buyer_id
        if audience == "buyer" and not to_buyer:
            continue
        key = (email.template, to_buyer, email.created_at.replace(microsecond=0))
        if not to_buyer and key in seen:
            continue
        seen.add(key)
        entries.append(
            HistoryEntry(
                at=email.created_at,
                kind="email",
                subject=email.subject,
                to_buyer=to_buyer,
                email_status=email.get_status_display(),
            )
        )
    return sorted(entries, key=lambda entry: entry.at)
