"""Creating the orders of a checkout: the drafts the checkout fills from the cart, and one
function that writes the order, its shop orders and their lines (frozen terms)."""

import secrets
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from halles.core.errors import DomainError

from .models import Order, OrderLine, ShopOrder


@dataclass
class LineDraft:
    offer_id: int
    product_id: int
    title: str
    sku: str
    quantity: int
    unit_price_cents: int
    vat_rate: Decimal

    @property
    def total_cents(self) -> int:
        return self.unit_price_cents * self.quantity


@dataclass
class ShopOrderDraft:
    """One shop's part of a checkout, as the buyer agreed to it."""

    shop: object
    delivery_mode: object
    lines: list[LineDraft]
    shipping_cents: int
    shipping_vat_rate: Decimal
    discount_cents: int = 0
    coupon_code: str = ""
    pickup_slot: object = None
    relay_point: str = ""
    relay_point_ref: object = None
    shipping_address: dict = field(default_factory=dict)

    @property
    def lines_cents(self) -> int:
        return sum(line.total_cents for line in self.lines)

    @property
    def total_cents(self) -> int:
        return self.lines_cents + self.shipping_cents - self.discount_cents


def new_reference(marketplace) -> str:
    """A short reference buyers can read out: the marketplace's initials and 8 characters."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    prefix = "".join(ch for ch in marketplace.slug.upper() if ch.isalnum())[:3] or "HAL"
    return f"{prefix}-" + "".join(secrets.choice(alphabet) for _ in range(8))


def order_create(
    *,
    marketplace,
    buyer,
    checkout_token: str,
    billing: dict,
    drafts: list[ShopOrderDraft],
    operator_coupon_code: str = "",
    cart_id: int | None = None,
    reference: str | None = None,
) -> Order:
    """Write one order and its shop orders (STAGING) and lines, in the caller's transaction
    (which has reserved the stock). The order waits for its payment."""
    if not drafts:
        raise DomainError(_("Your cart is empty."), code="empty_cart")
    order = Order.objects.create(
        marketplace=marketplace,
        reference=reference or new_reference(marketplace),
        buyer=buyer,
        checkout_token=checkout_token,
        cart_id=cart_id,
        currency=marketplace.currency,
        total_cents=sum(d.total_cents for d in drafts),
        operator_coupon_code=operator_coupon_code,
        email=buyer.email,
        billing_name=billing["full_name"],
        billing_company=billing.get("company", ""),
        billing_line1=billing["line1"],
        billing_line2=billing.get("line2", ""),
        billing_postcode=billing["postcode"],
        billing_city=billing["city"],
        billing_country=billing["country"],
        phone=billing.get("phone", ""),
    )
    lines = []
    for index, draft in enumerate(sorted(drafts, key=lambda d: d.shop.pk)):
        mode = draft.delivery_mode
        address = draft.shipping_address
        shop_order = ShopOrder.objects.create(
            order=order,
            marketplace=marketplace,
            shop=draft.shop,
            reference=f"{order.reference}-{_letter(index)}",
            delivery_mode=mode,
            delivery_kind=mode.kind,
            delivery_name=mode.name,
            carrier=mode.carrier,
            lead_time_days=mode.lead_time_days,
            pickup_address=mode.pickup_address,
            pickup_slot=draft.pickup_slot,
            pickup_slot_label=_slot_label(draft.pickup_slot, marketplace),
            relay_point=draft.relay_point,
            relay_point_ref=draft.relay_point_ref,
            shipping_name=address.get("full_name", ""),
            shipping_company=address.get("company", ""),
            shipping_line1=address.get("line1", ""),
            shipping_line2=address.get("line2", ""),
            shipping_postcode=address.get("postcode", ""),
            shipping_city=address.get("city", ""),
            shipping_country=address.get("country", ""),
            shipping_phone=address.get("phone", ""),
            lines_cents=draft.lines_cents,
            shipping_cents=draft.shipping_cents,
            shipping_vat_rate=draft.shipping_vat_rate,
            discount_cents=draft.discount_cents,
            coupon_code=draft.coupon_code,
            total_cents=draft.total_cents,
        )
        lines += [
            OrderLine(
                shop_order=shop_order,
                offer_id=line.offer_id,
                product_id_snapshot=line.product_id,
                title=line.title[:255],
                sku=line.sku,
                quantity=line.quantity,
                unit_price_cents=line.unit_price_cents,
                vat_rate=line.vat_rate,
                total_cents=line.total_cents,
            )
            for line in draft.lines
        ]
    OrderLine.objects.bulk_create(lines)
    return order


def _letter(index: int) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return letters[index] if index < 26 else f"{letters[index // 26 - 1]}{letters[index % 26]}"


def _slot_label(slot, marketplace) -> str:
    if slot is None:
        return ""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(marketplace.time_zone)
    start, end = slot.starts_at.astimezone(tz), slot.ends_at.astimezone(tz)
    return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"
