"""The cart's priced summary, which both the cart page and the checkout read: each line
re-checked and priced now, per shop the delivery fee and the shop's coupon, the operator's
coupon shared between shops to the cent, and the totals excluding VAT, VAT and including
VAT."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from halles.catalog.models import Coupon, Offer
from halles.catalog.services import coupon_discount
from halles.core.errors import DomainError
from halles.core.money import allocate, vat_of_gross
from halles.shops.models import DeliveryKind, DeliveryMode

from .cart import available_modes, check_marketplace_open, check_offer, coupon_uses
from .models import Cart, CartLine, CartShop

# --- The priced summary ---------------------------------------------------------------------


@dataclass
class LineView:
    line: CartLine
    offer: Offer
    quantity: int
    unit_price_cents: int
    vat_rate: Decimal
    problem: str = ""
    problem_code: str = ""

    @property
    def total_cents(self) -> int:
        return self.unit_price_cents * self.quantity


@dataclass
class ShopGroup:
    shop: object
    lines: list[LineView]
    choice: CartShop | None
    modes: list[DeliveryMode]
    delivery_mode: DeliveryMode | None = None
    shipping_cents: int = 0
    shipping_vat_rate: Decimal = Decimal("20")
    coupon: Coupon | None = None
    coupon_discount_cents: int = 0
    operator_discount_cents: int = 0
    vat_cents: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def lines_cents(self) -> int:
        return sum(line.total_cents for line in self.lines)

    @property
    def discount_cents(self) -> int:
        return min(self.lines_cents, self.coupon_discount_cents + self.operator_discount_cents)

    @property
    def total_cents(self) -> int:
        return self.lines_cents + self.shipping_cents - self.discount_cents

    @property
    def net_cents(self) -> int:
        return self.total_cents - self.vat_cents


@dataclass
class CartSummary:
    cart: Cart
    groups: list[ShopGroup]
    operator_coupon: Coupon | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def lines_cents(self) -> int:
        return sum(g.lines_cents for g in self.groups)

    @property
    def shipping_cents(self) -> int:
        return sum(g.shipping_cents for g in self.groups)

    @property
    def discount_cents(self) -> int:
        return sum(g.discount_cents for g in self.groups)

    @property
    def total_cents(self) -> int:
        return sum(g.total_cents for g in self.groups)

    @property
    def vat_cents(self) -> int:
        return sum(g.vat_cents for g in self.groups)

    @property
    def net_cents(self) -> int:
        return self.total_cents - self.vat_cents

    @property
    def count(self) -> int:
        return sum(line.quantity for g in self.groups for line in g.lines)

    @property
    def all_problems(self) -> list[str]:
        return (
            self.problems
            + [p for g in self.groups for p in g.problems]
            + [line.problem for g in self.groups for line in g.lines if line.problem]
        )

    @property
    def is_empty(self) -> bool:
        return not self.groups


def cart_summary(cart: Cart | None, user=None, at=None) -> CartSummary | None:
    """Price the cart now: each line re-checked, delivery fees, coupons, VAT."""
    if cart is None:
        return None
    at = at or timezone.now()
    lines = list(
        cart.lines.select_related("offer__shop", "offer__product").order_by("offer__shop_id", "pk")
    )
    choices = {c.shop_id: c for c in cart.shop_choices.select_related("delivery_mode", "coupon")}
    groups: dict[int, ShopGroup] = {}
    for line in lines:
        offer = line.offer
        group = groups.get(offer.shop_id)
        if group is None:
            group = groups[offer.shop_id] = ShopGroup(
                shop=offer.shop,
                lines=[],
                choice=choices.get(offer.shop_id),
                modes=available_modes(cart, offer.shop_id),
            )
        problem = problem_code = ""
        try:
            check_offer(offer, cart.marketplace, user, line.quantity)
        except DomainError as exc:
            problem, problem_code = f"{offer.product.title}: {exc.message}", exc.code
        group.lines.append(
            LineView(
                line=line,
                offer=offer,
                quantity=line.quantity,
                unit_price_cents=offer.effective_price_cents(at),
                vat_rate=offer.vat_rate,
                problem=problem,
                problem_code=problem_code,
            )
        )
    summary = CartSummary(cart=cart, groups=list(groups.values()))
    try:
        check_marketplace_open(cart.marketplace, at)
    except DomainError as exc:
        summary.problems.append(str(exc.message))
    for group in summary.groups:
        _price_delivery(group)
        _apply_shop_coupon(group, user, at)
    _apply_operator_coupon(summary, user, at)
    for group in summary.groups:
        _compute_vat(group)
    return summary


def _price_delivery(group: ShopGroup) -> None:
    mode = group.choice.delivery_mode if group.choice else None
    if mode is not None and mode.pk not in {m.pk for m in group.modes}:
        group.problems.append(
            str(
                _("“%(shop)s”: the chosen delivery mode is no longer available.")
                % {"shop": group.shop.name}
            )
        )
        mode = None
    group.delivery_mode = mode
    group.shipping_vat_rate = max((line.vat_rate for line in group.lines), default=Decimal(20))
    if mode is None:
        if not group.modes:
            group.problems.append(
                str(
                    _("“%(shop)s” offers no delivery mode for these items together.")
                    % {"shop": group.shop.name}
                )
            )
        return
    group.shipping_cents = mode.fee_for(group.lines_cents)
    # A choice made before the shop changed the mode (slots or a relay directory added, the
    # slot deleted) misses what the mode now needs: the buyer chooses again.
    choice = group.choice
    if mode.kind == DeliveryKind.CLICK_COLLECT and mode.uses_slots and not choice.pickup_slot_id:
        group.problems.append(
            str(_("“%(shop)s”: choose a pick-up slot.") % {"shop": group.shop.name})
        )
    if mode.kind == DeliveryKind.RELAY and not (
        choice.relay_point_ref_id if mode.relay_network_id else choice.relay_point
    ):
        group.problems.append(
            str(_("“%(shop)s”: choose a relay point.") % {"shop": group.shop.name})
        )


def _apply_shop_coupon(group: ShopGroup, user, at) -> None:
    coupon = group.choice.coupon if group.choice else None
    if coupon is None:
        return
    try:
        group.coupon_discount_cents = coupon_discount(
            coupon=coupon,
            basket_cents=group.lines_cents,
            uses_by_buyer=coupon_uses(coupon, user),
            at=at,
        )
        group.coupon = coupon
    except DomainError as exc:
        group.problems.append(f"{coupon.code}: {exc.message}")


def _apply_operator_coupon(summary: CartSummary, user, at) -> None:
    coupon = summary.cart.operator_coupon
    if coupon is None or not summary.groups:
        return
    try:
        discount = coupon_discount(
            coupon=coupon,
            basket_cents=summary.lines_cents,
            uses_by_buyer=coupon_uses(coupon, user),
            at=at,
        )
    except DomainError as exc:
        summary.problems.append(f"{coupon.code}: {exc.message}")
        return
    summary.operator_coupon = coupon
    shares = allocate(discount, [g.lines_cents for g in summary.groups])
    for group, share in zip(summary.groups, shares, strict=True):
        group.operator_discount_cents = share


def _compute_vat(group: ShopGroup) -> None:
    """VAT of each line on its price after its share of the discount, plus the delivery's."""
    shares = allocate(group.discount_cents, [line.total_cents for line in group.lines])
    vat = sum(
        vat_of_gross(line.total_cents - share, line.vat_rate)
        for line, share in zip(group.lines, shares, strict=True)
    )
    group.vat_cents = vat + vat_of_gross(group.shipping_cents, group.shipping_vat_rate)
