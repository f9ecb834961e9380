"""The cart: adding and changing lines with every rule checked, the buyer's choices per
shop (delivery mode, slot, relay point) and coupons. Its priced summary is in `pricing`."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from halles.catalog.models import Coupon, Offer
from halles.catalog.selectors import offer_visible_to
from halles.catalog.services import coupon_discount
from halles.core.errors import DomainError, NotFound
from halles.marketplaces.models import MarketplaceStatus
from halles.shipping.models import RelayPoint
from halles.shops.models import DeliveryKind, DeliveryMode, PickupSlot, ShopStatus
from halles.shops.selectors import marketplace_accepts_orders, open_pickup_slots

from .models import Cart, CartLine, CartShop, CouponRedemption

# --- Finding the cart -----------------------------------------------------------------------


def cart_get(*, marketplace, user=None, token: str | None = None, create: bool = False):
    """The buyer's cart on `marketplace` (by account, else by the anonymous token)."""
    if user is not None and user.is_authenticated:
        cart = Cart.objects.filter(marketplace=marketplace, user=user).first()
        if cart is None and create:
            try:
                with transaction.atomic():
                    cart = Cart.objects.create(marketplace=marketplace, user=user)
            except IntegrityError:  # created by a concurrent request
                cart = Cart.objects.get(marketplace=marketplace, user=user)
        return cart
    cart = None
    if token:
        cart = Cart.objects.filter(marketplace=marketplace, token=token, user=None).first()
    if cart is None and create:
        cart = Cart.objects.create(marketplace=marketplace)
    return cart


def cart_merge(*, token: str, user) -> Cart | None:
    """At login, the anonymous cart's lines join the buyer's cart of the same marketplace:
    quantities add up, capped at what the offer allows (stock and maximum)."""
    anonymous = Cart.objects.filter(token=token, user=None).first()
    if anonymous is None:
        return None
    with transaction.atomic():
        cart = cart_get(marketplace=anonymous.marketplace, user=user, create=True)
        for line in anonymous.lines.select_related("offer"):
            existing = cart.lines.filter(offer=line.offer).first()
            wanted = line.quantity + (existing.quantity if existing else 0)
            ceiling = min(wanted, max(line.offer.stock, 0), line.offer.max_quantity or wanted)
            if ceiling < max(1, line.offer.min_quantity):
                continue
            CartLine.objects.update_or_create(
                cart=cart, offer=line.offer, defaults={"quantity": ceiling}
            )
            CartShop.objects.get_or_create(cart=cart, shop_id=line.offer.shop_id)
        _merge_choices(anonymous, cart)
        if anonymous.operator_coupon_id and not cart.operator_coupon_id:
            cart.operator_coupon_id = anonymous.operator_coupon_id
            cart.save(update_fields=["operator_coupon", "updated_at"])
        anonymous.delete()
    return cart


def _merge_choices(anonymous: Cart, cart: Cart) -> None:
    """The anonymous cart's delivery choices and shop coupons fill the gaps of the
    buyer's (what the buyer chose while logged in wins)."""
    for choice in anonymous.shop_choices.all():
        mine = CartShop.objects.filter(cart=cart, shop_id=choice.shop_id).first()
        if mine is None:
            continue
        if mine.delivery_mode_id is None and choice.delivery_mode_id:
            mine.delivery_mode_id = choice.delivery_mode_id
            mine.pickup_slot_id = choice.pickup_slot_id
            mine.relay_point = choice.relay_point
            mine.relay_point_ref_id = choice.relay_point_ref_id
        if mine.coupon_id is None and choice.coupon_id:
            mine.coupon_id = choice.coupon_id
        mine.save()


# --- Rules ---------------------------------------------------------------------------------


def check_marketplace_open(marketplace, at=None) -> None:
    """Raise a clear error when the marketplace takes no orders."""
    at = at or timezone.now()
    if marketplace.status == MarketplaceStatus.CLOSED:
        raise DomainError(_("This marketplace is closed."), code="marketplace_closed")
    if marketplace.order_cutoff_at and at >= marketplace.order_cutoff_at:
        raise DomainError(
            _("This marketplace took its last orders on %(date)s.")
            % {"date": timezone.localtime(marketplace.order_cutoff_at).strftime("%d/%m/%Y")},
            code="marketplace_cutoff",
        )
    if not marketplace_accepts_orders(marketplace, at):
        raise DomainError(
            _("This marketplace does not take orders yet."), code="marketplace_not_open"
        )


def check_offer(offer: Offer, marketplace, user, quantity: int) -> None:
    """Every rule a cart line must follow; the first broken one is raised."""
    if offer.marketplace_id != marketplace.pk or not offer_visible_to(offer, user):
        raise DomainError(_("This offer is not sold on this marketplace."), code="offer_elsewhere")
    if not offer.is_active:
        raise DomainError(_("This offer is no longer available."), code="offer_inactive")
    if offer.shop.status != ShopStatus.ACTIVE:
        raise DomainError(
            _("The shop “%(shop)s” is not taking orders at the moment.")
            % {"shop": offer.shop.name},
            code="shop_not_active",
        )
    check_quantity(offer, quantity)


def check_quantity(offer: Offer, quantity: int) -> None:
    if quantity < 1:
        raise DomainError(_("The quantity must be at least 1."), code="bad_quantity")
    if quantity < offer.min_quantity:
        raise DomainError(
            _("The minimum quantity for this offer is %(n)s.") % {"n": offer.min_quantity},
            code="below_minimum",
        )
    if offer.max_quantity and quantity > offer.max_quantity:
        raise DomainError(
            _("At most %(n)s per order for this offer.") % {"n": offer.max_quantity},
            code="above_maximum",
        )
    if offer.stock <= 0:
        raise DomainError(_("This offer is out of stock."), code="out_of_stock")
    if quantity > offer.stock:
        raise DomainError(_("Only %(n)s left in stock.") % {"n": offer.stock}, code="above_stock")


# --- Changing the cart ----------------------------------------------------------------------


def cart_add(*, cart: Cart, offer_id: int, quantity: int, user=None) -> CartLine:
    """Add `quantity` of an offer (to what the cart already holds)."""
    check_marketplace_open(cart.marketplace)
    offer = Offer.objects.select_related("shop").filter(pk=offer_id).first()
    if offer is None:
        raise NotFound(_("This offer does not exist."))
    existing = cart.lines.filter(offer=offer).first()
    total = quantity + (existing.quantity if existing else 0)
    if quantity < 1:
        raise DomainError(_("The quantity must be at least 1."), code="bad_quantity")
    check_offer(offer, cart.marketplace, user, total)
    line, _created = CartLine.objects.update_or_create(
        cart=cart, offer=offer, defaults={"quantity": total}
    )
    CartShop.objects.get_or_create(cart=cart, shop=offer.shop)
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
    return line


def cart_set_quantity(*, cart: Cart, line_id: int, quantity: int, user=None) -> CartLine | None:
    """Change a line's quantity; 0 removes it."""
    line = cart.lines.select_related("offer__shop").filter(pk=line_id).first()
    if line is None:
        raise NotFound(_("This line is not in your cart."))
    if quantity == 0:
        return cart_remove(cart=cart, line_id=line_id)
    check_offer(line.offer, cart.marketplace, user, quantity)
    line.quantity = quantity
    line.save(update_fields=["quantity"])
    return line


def cart_remove(*, cart: Cart, line_id: int) -> None:
    line = cart.lines.filter(pk=line_id).first()
    if line is None:
        raise NotFound(_("This line is not in your cart."))
    shop_id = line.offer.shop_id
    line.delete()
    if not cart.lines.filter(offer__shop_id=shop_id).exists():
        CartShop.objects.filter(cart=cart, shop_id=shop_id).delete()


def cart_choose_delivery(
    *,
    cart: Cart,
    shop_id: int,
    delivery_mode_id: int,
    pickup_slot_id: int | None = None,
    relay_point: str = "",
    relay_point_id: int | None = None,
) -> CartShop:
    """The delivery mode for one shop of the cart (with its slot or relay point)."""
    choice = CartShop.objects.filter(cart=cart, shop_id=shop_id).first()
    if choice is None or not cart.lines.filter(offer__shop_id=shop_id).exists():
        raise NotFound(_("This shop has nothing in your cart."))
    modes = available_modes(cart, shop_id)
    mode = next((m for m in modes if m.pk == delivery_mode_id), None)
    if mode is None:
        raise DomainError(
            _("This delivery mode is not available for these items."),
            code="delivery_unavailable",
            field="delivery_mode",
        )
    slot = None
    if mode.kind == DeliveryKind.CLICK_COLLECT and mode.uses_slots:
        slot = PickupSlot.objects.filter(pk=pickup_slot_id, delivery_mode=mode).first()
        if slot is None:
            raise DomainError(
                _("Choose a pick-up slot."), code="slot_required", field="pickup_slot"
            )
        if not open_pickup_slots([mode.pk]).filter(pk=slot.pk).exists():
            raise DomainError(
                _("This pick-up slot is no longer available; choose another."),
                code="slot_full",
                field="pickup_slot",
            )
    relay_point = (relay_point or "").strip()
    point = None
    if mode.kind == DeliveryKind.RELAY and mode.relay_network_id:
        point = RelayPoint.objects.filter(
            pk=relay_point_id,
            carrier_id=mode.relay_network_id,
            is_active=True,
            carrier__is_active=True,
        ).first()
        if point is None:
            raise DomainError(
                _("Choose a relay point of the list."),
                code="relay_required",
                field="relay_point",
            )
        relay_point = str(point)
    elif mode.kind == DeliveryKind.RELAY and not relay_point:
        raise DomainError(
            _("Give the relay point where you will collect the parcel."),
            code="relay_required",
            field="relay_point",
        )
    choice.delivery_mode = mode
    choice.pickup_slot = slot
    choice.relay_point = relay_point[:255] if mode.kind == DeliveryKind.RELAY else ""
    choice.relay_point_ref = point
    choice.save()
    return choice


def available_modes(cart: Cart, shop_id: int) -> list[DeliveryMode]:
    """The shop's active delivery modes that every offer of the cart from that shop allows
    (an offer without delivery modes allows all of its shop's)."""
    modes = list(DeliveryMode.objects.filter(shop_id=shop_id, is_active=True).order_by("pk"))
    allowed = {m.pk for m in modes}
    for line in cart.lines.filter(offer__shop_id=shop_id).prefetch_related("offer__delivery_modes"):
        own = {m.pk for m in line.offer.delivery_modes.all()}
        if own:
            allowed &= own
    return [m for m in modes if m.pk in allowed]


def cart_apply_coupon(*, cart: Cart, code: str, user=None) -> Coupon:
    """Apply a shop's code (to that shop's items) or the marketplace's (to the whole cart)."""
    code = (code or "").strip().upper()
    coupon = Coupon.objects.filter(marketplace=cart.marketplace, code=code).first()
    if not code or coupon is None:
        raise DomainError(_("This code does not exist."), code="coupon_unknown", field="code")
    from .pricing import cart_summary  # the summary prices the cart this module fills

    summary = cart_summary(cart, user)
    if coupon.shop_id is None:
        base = summary.lines_cents
    else:
        group = next((g for g in summary.groups if g.shop.pk == coupon.shop_id), None)
        if group is None:
            raise DomainError(
                _("This code is for items of “%(shop)s”, which are not in your cart.")
                % {"shop": coupon.shop.name},
                code="coupon_shop_absent",
                field="code",
            )
        base = group.lines_cents
    coupon_discount(coupon=coupon, basket_cents=base, uses_by_buyer=coupon_uses(coupon, user))
    if coupon.shop_id is None:
        cart.operator_coupon = coupon
        cart.save(update_fields=["operator_coupon", "updated_at"])
    else:
        CartShop.objects.filter(cart=cart, shop_id=coupon.shop_id).update(coupon=coupon)
    return coupon


def cart_remove_coupon(*, cart: Cart, coupon_id: int) -> None:
    if cart.operator_coupon_id == coupon_id:
        cart.operator_coupon = None
        cart.save(update_fields=["operator_coupon", "updated_at"])
    CartShop.objects.filter(cart=cart, coupon_id=coupon_id).update(coupon=None)


def coupon_uses(coupon, user) -> int:
    """How many times this buyer has used this coupon (0 for a visitor)."""
    if user is None or not user.is_authenticated:
        return 0
    return CouponRedemption.objects.filter(coupon=coupon, buyer=user).count()
