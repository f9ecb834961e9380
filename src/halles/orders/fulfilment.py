"""From SHIPPING to CLOSED: shipments (split and bulk), click and collect with a pick-up
code, receipt (by the buyer or automatically) and closing. State changes go through
`workflow.apply_transition`; a shipment that does not finish the order is recorded as an
event of its own."""

import csv
import io
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from halles.core.errors import DomainError, InvalidState, NotAllowed
from halles.shipping import services as shipping
from halles.shops.models import DeliveryKind

from . import notify, services
from .models import Channel, OrderEvent, Role, Shipment, ShipmentLine, ShopOrder, State
from .workflow import TRANSITIONS, apply_transition, check_right, lock_shop_order

S = State
MAX_PICKUP_ATTEMPTS = 5


def remaining_quantities(shop_order: ShopOrder) -> dict[int, int]:
    """Accepted quantity not shipped yet, per line (refused lines have none)."""
    lines = shop_order.lines.exclude(state__in=(S.REFUSED, S.CANCELED)).order_by("pk")
    shipped = dict(
        ShipmentLine.objects.filter(line__shop_order=shop_order)
        .values("line_id")
        .annotate(n=Sum("quantity"))
        .values_list("line_id", "n")
    )
    return {line.pk: line.quantity - shipped.get(line.pk, 0) for line in lines}


def shipment_declare(
    *,
    shop_order_id: int,
    actor,
    carrier_code: str = "",
    other_carrier: str = "",
    tracking_number: str,
    tracking_url: str = "",
    quantities: dict[int, int] | None = None,
    shipped_at=None,
    channel: str = Channel.WEB,
) -> Shipment:
    """Declare a parcel for all (`quantities` None) or part of what is left to ship. The
    order becomes SHIPPED when every accepted quantity has shipped."""
    now = timezone.now()
    shipped_at = shipped_at or now
    if shipped_at > now + timedelta(minutes=5):
        raise DomainError(
            _("A shipment cannot be dated in the future."),
            code="future_shipment",
            field="shipped_at",
        )
    tracking_number = shipping.clean_tracking_number(tracking_number)
    with transaction.atomic():
        shop_order = lock_shop_order(shop_order_id)
        check_right(shop_order, TRANSITIONS["ship"], actor, Role.SELLER)
        if shop_order.state != S.SHIPPING:
            raise InvalidState(
                _("Order %(ref)s is “%(state)s”: it cannot be shipped now.")
                % {"ref": shop_order.reference, "state": shop_order.get_state_display()},
                code="not_shipping",
            )
        placed_at = shop_order.order.placed_at or shop_order.created_at
        if shipped_at < placed_at - timedelta(minutes=5):
            raise DomainError(
                _("A parcel cannot be dated before the order was placed (%(date)s).")
                % {"date": timezone.localtime(placed_at).strftime("%d/%m/%Y %H:%M")},
                code="backdated_shipment",
                field="shipped_at",
            )
        if shop_order.delivery_kind == DeliveryKind.CLICK_COLLECT:
            raise DomainError(
                _("This order is collected in the shop: mark it ready instead."),
                code="click_and_collect",
            )
        carrier, name, url = _carrier(
            shop_order, carrier_code, other_carrier, tracking_number, tracking_url
        )
        remaining = remaining_quantities(shop_order)
        wanted = _check_quantities(shop_order, remaining, quantities)
        shipment = Shipment.objects.create(
            shop_order=shop_order,
            carrier=carrier,
            carrier_name=name,
            tracking_number=tracking_number,
            tracking_url=url,
            shipped_at=shipped_at,
            created_by=actor,
        )
        ShipmentLine.objects.bulk_create(
            [ShipmentLine(shipment=shipment, line_id=pk, quantity=n) for pk, n in wanted.items()]
        )
        detail = {"shipment": shipment.pk, "tracking": tracking_number, "carrier": name}
        done = all(remaining[pk] - wanted.get(pk, 0) == 0 for pk in remaining)
        if done:
            ShopOrder.objects.filter(pk=shop_order.pk).update(shipped_at=shipped_at)
            shop_order.shipped_at = shipped_at
            apply_transition(
                shop_order,
                action="ship",
                actor=actor,
                role=Role.SELLER,
                channel=channel,
                detail=detail,
            )
        else:
            OrderEvent.objects.create(
                shop_order=shop_order,
                action="shipment",
                from_state=S.SHIPPING,
                to_state=S.SHIPPING,
                actor=actor,
                role=Role.SELLER,
                channel=channel,
                detail=detail,
            )
        notify.buyer(shop_order, "orders/buyer_shipped", shipment=shipment, complete=done)
        return shipment


def _carrier(shop_order, carrier_code, other_carrier, tracking_number, tracking_url):
    if carrier_code:
        carrier = shipping.carrier_by_code(shop_order.marketplace, carrier_code)
        postcode = shop_order.shipping_postcode
        return (
            carrier,
            carrier.label,
            shipping.tracking_url(carrier.tracking_url_template, tracking_number, postcode),
        )
    name = (other_carrier or "").strip()
    if not name:
        raise DomainError(
            _("Choose a carrier, or give the name of another one."),
            code="carrier_required",
            field="carrier",
        )
    return None, name[:100], shipping.check_url(tracking_url)


def _check_quantities(shop_order, remaining: dict[int, int], quantities) -> dict[int, int]:
    if quantities is None:
        wanted = {pk: n for pk, n in remaining.items() if n > 0}
    else:
        wanted = {}
        for pk, n in quantities.items():
            if pk not in remaining:
                raise DomainError(
                    _("Line %(line)s is not an accepted line of order %(ref)s.")
                    % {"line": pk, "ref": shop_order.reference},
                    code="unknown_line",
                )
            if n < 0:
                raise DomainError(_("A quantity cannot be negative."), code="bad_quantity")
            if n > remaining[pk]:
                raise DomainError(
                    _("Line %(line)s: %(n)s to ship, only %(left)s left.")
                    % {"line": pk, "n": n, "left": remaining[pk]},
                    code="over_shipment",
                )
            if n:
                wanted[pk] = n
    if not wanted:
        raise DomainError(_("Nothing left to ship in this parcel."), code="empty_shipment")
    return wanted


# --- Bulk declaration -----------------------------------------------------------------------

SHIPMENT_COLUMNS = ["order", "line", "sku", "quantity", "carrier", "tracking", "url"]


@dataclass
class ShipmentImportReport:
    applied: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # line number, message


def shipments_import(*, shop, actor, data: bytes) -> ShipmentImportReport:
    """Declare shipments from a CSV (`order`, `line` or `sku`, `quantity`, `carrier` code,
    `tracking`, and for a carrier outside the marketplace's list `carrier_name` and `url`).
    Each row is checked on its own and a refused row changes nothing; the valid rows of one
    order with the same tracking number make one parcel."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError(_("The file must be UTF-8 text."), code="bad_encoding") from None
    delimiter = ";" if text[:2048].count(";") > text[:2048].count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [(h or "").strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in ("order", "quantity", "tracking") if c not in header]
    if missing or ("line" not in header and "sku" not in header):
        raise DomainError(
            _("Missing columns: %(columns)s.") % {"columns": ", ".join(missing or ["line / sku"])},
            code="missing_columns",
        )
    report = ShipmentImportReport()
    parcels: dict[tuple, dict] = {}
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        try:
            shop_order, line, quantity, carrier = _import_row(shop, row)
        except DomainError as exc:
            report.errors.append((number, str(exc.message)))
            continue
        key = (shop_order.pk, row["tracking"], carrier.pk if carrier else row["carrier_name"])
        parcel = parcels.setdefault(
            key, {"shop_order": shop_order, "carrier": carrier, "row": row, "lines": {}, "rows": []}
        )
        parcel["lines"][line.pk] = parcel["lines"].get(line.pk, 0) + quantity
        parcel["rows"].append(number)
    for parcel in parcels.values():
        row, carrier = parcel["row"], parcel["carrier"]
        try:
            shipment_declare(
                shop_order_id=parcel["shop_order"].pk,
                actor=actor,
                carrier_code=carrier.code if carrier else "",
                other_carrier="" if carrier else row["carrier_name"],
                tracking_number=row["tracking"],
                tracking_url=row.get("url", ""),
                quantities=parcel["lines"],
            )
        except DomainError as exc:
            report.errors += [(number, str(exc.message)) for number in parcel["rows"]]
        else:
            report.applied += len(parcel["rows"])
    report.errors.sort()
    return report


def _import_row(shop, row: dict):
    """Check one row on its own: (shop order, line, quantity, carrier or None)."""
    shop_order = ShopOrder.objects.filter(shop=shop, reference=row.get("order", "")).first()
    if shop_order is None:
        raise DomainError(
            _("Order “%(ref)s” is not an order of your shop.") % {"ref": row.get("order", "")}
        )
    lines = shop_order.lines.exclude(state__in=(S.REFUSED, S.CANCELED))
    if row.get("line"):
        line = lines.filter(pk=int(row["line"]) if row["line"].isdigit() else 0).first()
    else:
        line = lines.filter(sku=row.get("sku", "")).first()
    if line is None:
        raise DomainError(_("No accepted line of this order matches the line or SKU given."))
    if not row.get("quantity", "").isdigit() or int(row["quantity"]) < 1:
        raise DomainError(_("The quantity must be a whole number of at least 1."))
    shipping.clean_tracking_number(row.get("tracking", ""))
    code = row.get("carrier", "")
    carrier = None
    if code:
        carrier = shipping.carrier_by_code(shop.marketplace, code)
    elif not row.get("carrier_name"):
        raise DomainError(
            _("Give a carrier code, or the name of another carrier in carrier_name."),
            code="carrier_required",
        )
    else:
        shipping.check_url(row.get("url", ""))
    return shop_order, line, int(row["quantity"]), carrier


# --- Click and collect ----------------------------------------------------------------------


def pickup_ready(*, shop_order_id: int, actor, channel: str = Channel.WEB) -> ShopOrder:
    """The seller has prepared a click-and-collect order: the buyer gets a pick-up code."""
    with transaction.atomic():
        shop_order = lock_shop_order(shop_order_id)
        check_right(shop_order, TRANSITIONS["ready_for_pickup"], actor, Role.SELLER)
        if shop_order.delivery_kind != DeliveryKind.CLICK_COLLECT:
            raise DomainError(
                _("This order is delivered: declare its shipment instead."), code="not_collect"
            )
        code = f"{secrets.randbelow(10**6):06d}"
        now = timezone.now()
        ShopOrder.objects.filter(pk=shop_order.pk).update(pickup_code=code, ready_at=now)
        shop_order.pickup_code, shop_order.ready_at = code, now
        apply_transition(
            shop_order, action="ready_for_pickup", actor=actor, role=Role.SELLER, channel=channel
        )
        notify.buyer(shop_order, "orders/buyer_ready_for_pickup")
        return shop_order


def pickup_collect(*, shop_order_id: int, actor, code: str, channel: str = Channel.WEB):
    """The seller types the buyer's code at hand-over. After five wrong codes the order
    refuses codes until the operator looks at it."""
    code = (code or "").strip()
    with transaction.atomic():
        shop_order = lock_shop_order(shop_order_id)
        check_right(shop_order, TRANSITIONS["collect"], actor, Role.SELLER)
        if shop_order.state != S.TO_COLLECT:
            raise InvalidState(
                _("Order %(ref)s is “%(state)s”: it is not waiting for its pick-up.")
                % {"ref": shop_order.reference, "state": shop_order.get_state_display()},
                code="not_to_collect",
            )
        if shop_order.pickup_attempts >= MAX_PICKUP_ATTEMPTS:
            raise NotAllowed(
                _("Too many wrong codes: contact the marketplace to hand this order over."),
            )
        wrong = not secrets.compare_digest(code, shop_order.pickup_code)
        if wrong:
            ShopOrder.objects.filter(pk=shop_order.pk).update(
                pickup_attempts=shop_order.pickup_attempts + 1
            )
        else:
            ShopOrder.objects.filter(pk=shop_order.pk).update(received_at=timezone.now())
            apply_transition(
                shop_order, action="collect", actor=actor, role=Role.SELLER, channel=channel
            )
            notify.buyer(shop_order, "orders/buyer_received")
    if wrong:  # raised after the commit: the attempt counts
        left = MAX_PICKUP_ATTEMPTS - shop_order.pickup_attempts - 1
        raise DomainError(
            _("Wrong pick-up code (%(left)s attempts left).") % {"left": left},
            code="wrong_pickup_code",
            field="code",
        )
    return shop_order


# --- Receipt and closing --------------------------------------------------------------------


def receipt_confirm(*, shop_order_id: int, actor, channel: str = Channel.WEB) -> ShopOrder:
    """The buyer says the parcel arrived."""
    with transaction.atomic():
        shop_order = lock_shop_order(shop_order_id)
        check_right(shop_order, TRANSITIONS["receive"], actor, Role.BUYER)
        if shop_order.state == S.RECEIVED or shop_order.received_at:
            raise InvalidState(
                _("You already confirmed receiving this order."), code="already_received"
            )
        ShopOrder.objects.filter(pk=shop_order.pk).update(received_at=timezone.now())
        apply_transition(
            shop_order, action="receive", actor=actor, role=Role.BUYER, channel=channel
        )
        notify.shop(shop_order, "orders/seller_received")
        return shop_order


def receipt_auto(*, shop_order_id: int, now=None) -> bool:
    """SHIPPED for longer than the marketplace's delay: received. Idempotent."""
    now = now or timezone.now()
    with transaction.atomic():
        shop_order = lock_shop_order(shop_order_id)
        delay = timedelta(days=shop_order.marketplace.auto_receive_days)
        if shop_order.state != S.SHIPPED or not shop_order.shipped_at:
            return False
        if now < shop_order.shipped_at + delay:
            return False
        ShopOrder.objects.filter(pk=shop_order.pk).update(received_at=now)
        apply_transition(
            shop_order,
            action="receive",
            role=Role.SYSTEM,
            channel=Channel.SYSTEM,
            note=services.system_text(
                shop_order,
                _("Received automatically %(days)s days after shipping"),
                days=shop_order.marketplace.auto_receive_days,
            ),
        )
        notify.buyer(shop_order, "orders/buyer_received")
        return True


def has_open_claims(shop_order: ShopOrder) -> bool:
    """An open incident or return keeps an order from closing (customer care hooks in)."""
    return False


def order_close(*, shop_order_id: int, now=None) -> bool:
    """RECEIVED, the withdrawal window over and nothing open: closed. Idempotent."""
    now = now or timezone.now()
    with transaction.atomic():
        shop_order = lock_shop_order(shop_order_id)
        window = timedelta(days=shop_order.marketplace.withdrawal_days)
        if shop_order.state != S.RECEIVED or not shop_order.received_at:
            return False
        if now < shop_order.received_at + window or has_open_claims(shop_order):
            return False
        ShopOrder.objects.filter(pk=shop_order.pk).update(closed_at=now)
        apply_transition(shop_order, action="close", role=Role.SYSTEM, channel=Channel.SYSTEM)
        return True


def late_shipment_notify(*, shop_order_id: int, now=None) -> bool:
    """Tell the shop, once, that an order is past its shipping deadline."""
    now = now or timezone.now()
    with transaction.atomic():
        shop_order = lock_shop_order(shop_order_id)
        if (
            shop_order.state != S.SHIPPING
            or shop_order.late_notified_at
            or not shop_order.shipping_deadline
            or now < shop_order.shipping_deadline
        ):
            return False
        ShopOrder.objects.filter(pk=shop_order.pk).update(late_notified_at=now)
        notify.shop(shop_order, "orders/seller_late_shipment")
        return True
