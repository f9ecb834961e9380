"""Placing the cart: one order split into one shop order per shop, stock reserved in the
same transaction, then one payment; and what follows the buyer's payment.

Locks are taken in one documented order, so carts that share offers never deadlock:
offers by id (guarded stock UPDATEs), then pick-up slots by id, then coupons by id.
"""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from halles.accounts.models import Address
from halles.catalog.models import Coupon
from halles.catalog.services import OutOfStock, stock_reserve
from halles.core.errors import DomainError, NotAllowed, NotFound
from halles.marketplaces.models import MembershipRole, MembershipStatus, RegistrationMode
from halles.marketplaces.services import membership_request
from halles.orders import creation
from halles.orders import services as orders
from halles.orders.models import Order, OrderStatus
from halles.payments import services as payments
from halles.payments.models import PaymentStatus
from halles.shops.models import DeliveryKind
from halles.shops.services import pickup_slot_book

from .models import Cart, CartLine, CouponRedemption
from .pricing import CartSummary, cart_summary


def _address_dict(address: Address) -> dict:
    return {
        "full_name": address.full_name,
        "company": address.company,
        "line1": address.line1,
        "line2": address.line2,
        "postcode": address.postcode,
        "city": address.city,
        "country": address.country,
        "phone": address.phone,
    }


def check_buyer(marketplace, user) -> None:
    """Only a confirmed account that may buy on the marketplace checks out."""
    if user is None or not user.is_authenticated or not user.is_active:
        raise NotAllowed(_("Log in to place your order."))
    if not user.email_verified:
        raise NotAllowed(_("Confirm your e-mail address before ordering."))
    membership = membership_request(marketplace=marketplace, user=user, role=MembershipRole.BUYER)
    if membership.status != MembershipStatus.APPROVED:
        message = (
            _("The marketplace has not approved your account yet.")
            if marketplace.registration_mode == RegistrationMode.APPROVAL
            else _("Your account cannot order on this marketplace.")
        )
        raise NotAllowed(message)


def checkout_place(
    *,
    cart: Cart,
    buyer,
    checkout_token: str,
    billing_address_id: int | None,
    shipping_address_id: int | None = None,
    expected_total_cents: int | None = None,
) -> Order:
    """Place the cart. The same `checkout_token` twice returns the first order (a double
    submission places one order). Nothing is written unless everything succeeds."""
    existing = Order.objects.filter(checkout_token=checkout_token).first()
    if existing is not None:
        if existing.buyer_id != buyer.pk:
            raise NotAllowed()
        return existing
    marketplace = cart.marketplace
    check_buyer(marketplace, buyer)
    billing = Address.objects.filter(pk=billing_address_id, user=buyer).first()
    if billing is None:
        raise DomainError(
            _("Give a billing address."), code="billing_required", field="billing_address"
        )
    with transaction.atomic():
        _abandon_previous(cart, buyer, checkout_token)  # its stock counts for this one
    summary = cart_summary(cart, buyer)
    _check_summary(summary, expected_total_cents)
    needs_shipping = any(g.delivery_mode.kind == DeliveryKind.HOME for g in summary.groups)
    shipping = None
    if needs_shipping:
        shipping = Address.objects.filter(pk=shipping_address_id, user=buyer).first()
        if shipping is None:
            raise DomainError(
                _("Give a delivery address."), code="shipping_required", field="shipping_address"
            )
    try:
        with transaction.atomic():
            _reserve_stock(summary)
            _book_slots(summary)
            drafts = _drafts(summary, shipping)
            order = creation.order_create(
                marketplace=marketplace,
                buyer=buyer,
                checkout_token=checkout_token,
                billing=_address_dict(billing),
                drafts=drafts,
                operator_coupon_code=summary.operator_coupon.code
                if summary.operator_coupon
                else "",
                cart_id=cart.pk,
            )
            _redeem_coupons(summary, buyer, order)
            if order.total_cents > 0:
                order.payment = payments.payment_create(
                    marketplace=marketplace,
                    reference=order.reference,
                    amount_cents=order.total_cents,
                    payer=buyer,
                )
                order.save(update_fields=["payment"])
            else:  # fully paid by coupons: nothing to authorise
                orders.order_mark_placed(order_id=order.pk)
                _clear_ordered(order)
    except IntegrityError:
        # The same token raced in from a second submission: that order is the one.
        existing = Order.objects.filter(checkout_token=checkout_token, buyer=buyer).first()
        if existing is None:
            raise
        return existing
    return order


def _check_summary(summary: CartSummary | None, expected_total_cents: int | None) -> None:
    if summary is None or summary.is_empty:
        raise DomainError(_("Your cart is empty."), code="empty_cart")
    for group in summary.groups:  # a line's own problem keeps its code (e.g. out_of_stock)
        for line in group.lines:
            if line.problem:
                raise DomainError(line.problem, code=line.problem_code or "cart_invalid")
    problems = summary.all_problems
    if problems:
        raise DomainError(problems[0], code="cart_invalid")
    for group in summary.groups:
        if group.delivery_mode is None:
            raise DomainError(
                _("Choose a delivery mode for “%(shop)s”.") % {"shop": group.shop.name},
                code="delivery_required",
            )
    if expected_total_cents is not None and expected_total_cents != summary.total_cents:
        raise DomainError(
            _("The prices in your cart have changed; check the new total and confirm again."),
            code="total_changed",
        )


def _abandon_previous(cart, buyer, checkout_token: str) -> None:
    """An earlier checkout of this cart still waiting for payment gives its stock back (not
    one with this token: that is this same checkout, submitted twice)."""
    pending = (
        Order.objects.filter(cart_id=cart.pk, buyer=buyer, status=OrderStatus.PAYMENT_PENDING)
        .exclude(checkout_token=checkout_token)
        .order_by("pk")
    )
    for order in pending:
        if order.payment_id:
            payments.payment_cancel(payment_id=order.payment_id)
        if orders.order_mark_abandoned(order_id=order.pk):
            _release_coupons(order)


def _reserve_stock(summary: CartSummary) -> None:
    lines = sorted(
        (line for group in summary.groups for line in group.lines), key=lambda v: v.offer.pk
    )
    for line in lines:
        try:
            stock_reserve(offer_id=line.offer.pk, quantity=line.quantity)
        except OutOfStock:
            raise DomainError(
                _("“%(title)s” is out of stock in the quantity you asked for.")
                % {"title": line.offer.product.title},
                code="out_of_stock",
            ) from None


def _book_slots(summary: CartSummary) -> None:
    slots = sorted(
        g.choice.pickup_slot_id for g in summary.groups if g.choice and g.choice.pickup_slot_id
    )
    for slot_id in slots:
        if not pickup_slot_book(slot_id=slot_id):
            raise DomainError(_("Your pick-up slot is now full; choose another."), code="slot_full")


def _drafts(summary: CartSummary, shipping) -> list:
    drafts = []
    for group in summary.groups:
        mode = group.delivery_mode
        drafts.append(
            creation.ShopOrderDraft(
                shop=group.shop,
                delivery_mode=mode,
                lines=[
                    creation.LineDraft(
                        offer_id=line.offer.pk,
                        product_id=line.offer.product_id,
                        title=line.offer.product.title,
                        sku=line.offer.sku,
                        quantity=line.quantity,
                        unit_price_cents=line.unit_price_cents,
                        vat_rate=line.vat_rate,
                    )
                    for line in group.lines
                ],
                shipping_cents=group.shipping_cents,
                shipping_vat_rate=group.shipping_vat_rate,
                discount_cents=group.discount_cents,
                coupon_code=group.coupon.code if group.coupon else "",
                pickup_slot=group.choice.pickup_slot if group.choice else None,
                relay_point=group.choice.relay_point if group.choice else "",
                relay_point_ref=group.choice.relay_point_ref if group.choice else None,
                shipping_address=_address_dict(shipping)
                if shipping and mode.kind == DeliveryKind.HOME
                else {},
            )
        )
    return drafts


def _redeem_coupons(summary: CartSummary, buyer, order: Order) -> None:
    used = {}
    for group in summary.groups:
        if group.coupon:
            used[group.coupon.pk] = (group.coupon, group.coupon_discount_cents)
    if summary.operator_coupon:
        total = sum(g.operator_discount_cents for g in summary.groups)
        used[summary.operator_coupon.pk] = (summary.operator_coupon, total)
    for coupon_id in sorted(used):
        coupon, discount = used[coupon_id]
        taken = (
            Coupon.objects.filter(pk=coupon_id)
            .filter(Q(max_uses__isnull=True) | Q(times_used__lt=F("max_uses")))
            .update(times_used=F("times_used") + 1)
        )
        if not taken:
            raise DomainError(
                _("The code %(code)s has just been used up.") % {"code": coupon.code},
                code="coupon_used_up",
            )
        CouponRedemption.objects.create(
            coupon=coupon, buyer=buyer, order_reference=order.reference, discount_cents=discount
        )


def _release_coupons(order: Order) -> None:
    for redemption in CouponRedemption.objects.filter(order_reference=order.reference):
        Coupon.objects.filter(pk=redemption.coupon_id, times_used__gt=0).update(
            times_used=F("times_used") - 1
        )
        redemption.delete()


def _clear_ordered(order: Order) -> None:
    """Remove from the cart what the order bought (the buyer may have added more since)."""
    offer_ids = order.shop_orders.values_list("lines__offer_id", flat=True)
    CartLine.objects.filter(cart_id=order.cart_id, offer_id__in=list(offer_ids)).delete()


# --- After the payment page -----------------------------------------------------------------


def checkout_payment_start(*, order: Order, return_url: str) -> str:
    """Open the provider's payment page for an order waiting for its payment."""
    if order.status != OrderStatus.PAYMENT_PENDING or order.payment_id is None:
        raise DomainError(_("This order has nothing left to pay."), code="nothing_to_pay")
    return payments.payment_start(
        payment_id=order.payment_id,
        return_url=return_url,
        description=str(_("Order %(reference)s") % {"reference": order.reference}),
    )


def checkout_payment_update(*, order_id: int) -> Order:
    """Bring the order in line with its payment (the return page and the provider's callback
    both call this; it is idempotent): authorised -> placed and the cart emptied; failed
    or cancelled -> abandoned, stock and coupons given back, the cart kept."""
    order = Order.objects.select_related("payment").get(pk=order_id)
    if order.payment_id is None:
        return order
    payment = payments.payment_refresh(payment_id=order.payment_id)
    if payment.status == PaymentStatus.AUTHORISED:
        if orders.order_mark_placed(order_id=order.pk):
            _clear_ordered(order)
        elif Order.objects.get(pk=order.pk).status == OrderStatus.ABANDONED:
            from halles.orders.tasks import settle_payment

            settle_payment.enqueue(order.pk)  # paid after giving up: release it all
    elif payment.status in (PaymentStatus.FAILED, PaymentStatus.CANCELED):
        with transaction.atomic():
            if orders.order_mark_abandoned(order_id=order.pk):
                _release_coupons(order)
    order.refresh_from_db()
    return order


def checkout_abandon_stale(*, now=None) -> int:
    """Orders left on the payment page longer than the session allows give their stock
    back (after one last look at the provider). Returns how many were abandoned."""
    now = now or timezone.now()
    limit = now - timedelta(minutes=settings.HALLES_PAYMENT_SESSION_MINUTES)
    abandoned = 0
    stale = Order.objects.filter(status=OrderStatus.PAYMENT_PENDING, created_at__lte=limit)
    for order in stale.order_by("pk"):
        order = checkout_payment_update(order_id=order.pk)
        if order.status == OrderStatus.PAYMENT_PENDING:
            if order.payment_id:
                payments.payment_cancel(payment_id=order.payment_id)
            with transaction.atomic():
                if orders.order_mark_abandoned(order_id=order.pk):
                    _release_coupons(order)
                    abandoned += 1
    return abandoned


def order_for_buyer(*, reference: str, buyer, marketplace) -> Order:
    order = Order.objects.filter(reference=reference, buyer=buyer, marketplace=marketplace).first()
    if order is None:
        raise NotFound(_("This order does not exist."))
    return order
