"""Buyers' cart, checkout and orders pages. Thin: parse a form, call one checkout or order
service (or selector), render. A `DomainError` becomes a flash message, a form error or a
404, never a 500.

An anonymous visitor's cart is found by its token, kept in the session per marketplace
(`CART_SESSION_KEY`); a signed-in buyer's cart by their account. At login the anonymous
carts join the account's (`storefront.views.LoginView`).
"""

import uuid
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from halles.checkout import cart as carts
from halles.checkout import placement, pricing
from halles.core.errors import DomainError, NotFound
from halles.orders import selectors as order_selectors
from halles.orders import services as order_services
from halles.orders.models import OrderStatus, Role
from halles.orders.workflow import actions_for
from halles.shops.models import DeliveryKind
from halles.shops.selectors import open_pickup_slots

from . import order_forms, order_history

# {str(marketplace id): token of the visitor's anonymous cart on that marketplace}. The
# `marketplace` context processor reads the same key for the header's cart count.
CART_SESSION_KEY = "cart_tokens"
ORDERS_PER_PAGE = 20
SLOTS_PER_MODE = 60


# --- The visitor's cart ---------------------------------------------------------------------


def _marketplace(request):
    if request.marketplace is None:
        raise Http404
    return request.marketplace


def session_cart_tokens(request) -> list[str]:
    """The anonymous carts' tokens of this session (read them before `login()`)."""
    return [token for token in request.session.get(CART_SESSION_KEY, {}).values() if token]


def forget_session_carts(request) -> None:
    request.session.pop(CART_SESSION_KEY, None)


def _cart(request, *, create: bool = False):
    """The visitor's cart on this marketplace (None when there is none and `create` is
    False); a new anonymous cart's token is remembered in the session."""
    marketplace = _marketplace(request)
    key = str(marketplace.pk)
    tokens = request.session.get(CART_SESSION_KEY, {})
    cart = carts.cart_get(
        marketplace=marketplace, user=request.user, token=tokens.get(key), create=create
    )
    if cart is not None and cart.user_id is None and tokens.get(key) != cart.token:
        request.session[CART_SESSION_KEY] = {**tokens, key: cart.token}
    return cart


def _safe_next(request, url: str | None) -> str | None:
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


def _first_error(form) -> str:
    for errors in form.errors.values():
        return str(errors[0])
    return _("Check the form.")


def _back_to_cart():
    return redirect("storefront:cart")


# --- The cart page --------------------------------------------------------------------------


@dataclass
class ModeOption:
    """One delivery mode offered for a shop of the cart, as the cart page shows it."""

    mode: object
    fee_cents: int
    chosen: bool
    slots: list = field(default_factory=list)
    chosen_slot_id: int | None = None
    relay_point: str = ""
    relay_point_id: int | None = None  # the point chosen in the carrier's directory

    @property
    def needs_slot(self) -> bool:
        return self.mode.kind == DeliveryKind.CLICK_COLLECT and self.mode.uses_slots

    @property
    def is_relay(self) -> bool:
        return self.mode.kind == DeliveryKind.RELAY

    @property
    def picks_relay_point(self) -> bool:
        """A relay mode with a carrier's network: the buyer picks one of its points."""
        return self.is_relay and self.mode.relay_network_id is not None


@dataclass
class ShopPanel:
    group: object  # checkout.pricing.ShopGroup
    options: list[ModeOption]


@dataclass
class AppliedCoupon:
    coupon: object
    shop: object | None
    discount_cents: int | None  # None: the code no longer applies (the problems say why)


def _open_slots(modes) -> dict[int, list]:
    """Future pick-up slots with places left, per click-and-collect mode."""
    mode_ids = [m.pk for m in modes if m.kind == DeliveryKind.CLICK_COLLECT and m.uses_slots]
    by_mode: dict[int, list] = {pk: [] for pk in mode_ids}
    if not mode_ids:
        return by_mode
    slots = open_pickup_slots(mode_ids)
    for slot in slots:
        if len(by_mode[slot.delivery_mode_id]) < SLOTS_PER_MODE:
            by_mode[slot.delivery_mode_id].append(slot)
    return by_mode


def _panels(summary) -> list[ShopPanel]:
    slots = _open_slots([mode for group in summary.groups for mode in group.modes])
    panels = []
    for group in summary.groups:
        choice = group.choice
        chosen_id = group.delivery_mode.pk if group.delivery_mode else None
        options = [
            ModeOption(
                mode=mode,
                fee_cents=mode.fee_for(group.lines_cents),
                chosen=mode.pk == chosen_id,
                slots=slots.get(mode.pk, []),
                chosen_slot_id=choice.pickup_slot_id if choice and mode.pk == chosen_id else None,
                relay_point=choice.relay_point if choice and mode.pk == chosen_id else "",
                relay_point_id=(
                    choice.relay_point_ref_id if choice and mode.pk == chosen_id else None
                ),
            )
            for mode in group.modes
        ]
        panels.append(ShopPanel(group=group, options=options))
    return panels


def _applied_coupons(summary) -> list[AppliedCoupon]:
    applied = []
    cart = summary.cart
    if cart.operator_coupon_id:
        valid = summary.operator_coupon is not None
        applied.append(
            AppliedCoupon(
                coupon=cart.operator_coupon,
                shop=None,
                discount_cents=sum(g.operator_discount_cents for g in summary.groups)
                if valid
                else None,
            )
        )
    for group in summary.groups:
        if group.choice and group.choice.coupon_id:
            applied.append(
                AppliedCoupon(
                    coupon=group.choice.coupon,
                    shop=group.shop,
                    discount_cents=group.coupon_discount_cents if group.coupon else None,
                )
            )
    return applied


def _missing_delivery(summary) -> list:
    """Shops whose delivery mode the buyer still has to choose (when there is one)."""
    return [g.shop for g in summary.groups if g.delivery_mode is None and g.modes]


def cart(request):
    _marketplace(request)
    summary = pricing.cart_summary(_cart(request), request.user)
    context = {"summary": summary}
    if summary is not None and not summary.is_empty:
        missing = _missing_delivery(summary)
        context.update(
            panels=_panels(summary),
            coupons=_applied_coupons(summary),
            coupon_form=order_forms.CouponForm(),
            missing_delivery=missing,
            ready=not summary.all_problems and not missing,
        )
    return render(request, "storefront/cart/cart.html", context)


@require_POST
def cart_add(request):
    _marketplace(request)
    form = order_forms.AddToCartForm(request.POST)
    back = _safe_next(request, request.POST.get("next")) or reverse("storefront:cart")
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return redirect(back)
    try:
        line = carts.cart_add(
            cart=_cart(request, create=True),
            offer_id=form.cleaned_data["offer_id"],
            quantity=form.cleaned_data["quantity"],
            user=request.user,
        )
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(
            request,
            _("Added to your cart: %(title)s (%(n)s in the cart).")
            % {"title": line.offer.product.title, "n": line.quantity},
        )
    return redirect(back)


@require_POST
def cart_line(request, line_id):
    form = order_forms.CartLineForm(request.POST)
    cart_ = _cart(request)
    if cart_ is None:
        messages.error(request, _("This line is not in your cart."))
    elif not form.is_valid():
        messages.error(request, _first_error(form))
    else:
        try:
            if form.removes:
                carts.cart_remove(cart=cart_, line_id=line_id)
                messages.success(request, _("The item has been removed from your cart."))
            else:
                carts.cart_set_quantity(
                    cart=cart_,
                    line_id=line_id,
                    quantity=form.cleaned_data["quantity"],
                    user=request.user,
                )
                messages.success(request, _("The quantity has been updated."))
        except DomainError as error:
            messages.error(request, str(error.message))
    return _back_to_cart()


@require_POST
def cart_delivery(request, shop_id):
    form = order_forms.DeliveryForm(request.POST)
    cart_ = _cart(request)
    if cart_ is None:
        messages.error(request, _("This shop has nothing in your cart."))
    elif not form.is_valid():
        messages.error(request, _first_error(form))
    else:
        try:
            choice = carts.cart_choose_delivery(
                cart=cart_,
                shop_id=shop_id,
                delivery_mode_id=form.cleaned_data["delivery_mode"],
                pickup_slot_id=form.cleaned_data["pickup_slot"],
                relay_point=form.cleaned_data["relay_point"],
                relay_point_id=form.cleaned_data["relay_point_id"],
            )
        except DomainError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(
                request,
                _("Delivery for %(shop)s: %(mode)s.")
                % {"shop": choice.shop.name, "mode": choice.delivery_mode.name},
            )
    return _back_to_cart()


@require_POST
def cart_coupon(request):
    form = order_forms.CouponForm(request.POST)
    cart_ = _cart(request)
    if cart_ is None:
        messages.error(request, _("Your cart is empty."))
    elif not form.is_valid():
        messages.error(request, _first_error(form))
    else:
        try:
            coupon = carts.cart_apply_coupon(
                cart=cart_, code=form.cleaned_data["code"], user=request.user
            )
        except DomainError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, _("The code %(code)s is applied.") % {"code": coupon.code})
    return _back_to_cart()


@require_POST
def cart_coupon_remove(request, coupon_id):
    cart_ = _cart(request)
    if cart_ is not None:
        carts.cart_remove_coupon(cart=cart_, coupon_id=coupon_id)
        messages.success(request, _("The code has been removed."))
    return _back_to_cart()


# --- Checkout and payment -------------------------------------------------------------------


def _needs_shipping(summary) -> bool:
    return any(
        g.delivery_mode and g.delivery_mode.kind == DeliveryKind.HOME for g in summary.groups
    )


@login_required
def checkout(request):
    _marketplace(request)
    cart_ = _cart(request)
    summary = pricing.cart_summary(cart_, request.user)
    if summary is None or summary.is_empty:
        messages.info(request, _("Your cart is empty."))
        return _back_to_cart()
    needs_shipping = _needs_shipping(summary)
    if request.method == "POST":
        form = order_forms.CheckoutForm(
            request.POST, user=request.user, needs_shipping=needs_shipping
        )
        if form.is_valid():
            data = form.cleaned_data
            try:
                order = placement.checkout_place(
                    cart=cart_,
                    buyer=request.user,
                    checkout_token=data["checkout_token"],
                    billing_address_id=_pk(data.get("billing_address")),
                    shipping_address_id=_pk(data.get("shipping_address")),
                    expected_total_cents=data["expected_total"],
                )
            except DomainError as error:
                form = _checkout_form_again(request, summary, needs_shipping, error)
            else:
                return _to_payment(request, order)
    else:
        if summary.all_problems or _missing_delivery(summary):
            messages.error(request, _("Complete your cart before ordering."))
            return _back_to_cart()
        form = order_forms.CheckoutForm(
            user=request.user,
            needs_shipping=needs_shipping,
            initial={"checkout_token": uuid.uuid4().hex, "expected_total": summary.total_cents},
        )
    return render(
        request,
        "storefront/cart/checkout.html",
        {"summary": summary, "form": form, "needs_shipping": needs_shipping},
    )


def _pk(instance) -> int | None:
    return instance.pk if instance is not None else None


def _checkout_form_again(request, summary, needs_shipping, error):
    """The buyer's choices with the service's error, and the total now shown (so that
    confirming again orders at the price on the page)."""
    data = request.POST.copy()
    data["expected_total"] = str(summary.total_cents)
    form = order_forms.CheckoutForm(data, user=request.user, needs_shipping=needs_shipping)
    form.is_valid()
    form.add_error(error.field if error.field in form.fields else None, str(error.message))
    return form


def _return_url(request, order) -> str:
    return request.build_absolute_uri(
        reverse("storefront:checkout_return", kwargs={"reference": order.reference})
    )


def _to_payment(request, order):
    """Send the buyer to the provider's page for an order waiting for its payment."""
    if order.status == OrderStatus.PLACED:  # nothing to pay (coupons) or already paid
        messages.success(
            request, _("Thank you! Your order %(reference)s is placed.") % {"reference": order}
        )
        return redirect("storefront:order", reference=order.reference)
    if order.status == OrderStatus.ABANDONED:
        messages.error(
            request, _("This payment was not completed. Check your cart and order again.")
        )
        return _back_to_cart()
    try:
        url = placement.checkout_payment_start(order=order, return_url=_return_url(request, order))
    except DomainError as error:
        messages.error(request, str(error.message))
        return redirect("storefront:order", reference=order.reference)
    return HttpResponseRedirect(url, status=303)


def _buyer_order(request, reference):
    try:
        return order_selectors.buyer_order(
            buyer=request.user, marketplace=_marketplace(request), reference=reference
        )
    except NotFound:
        raise Http404 from None


@login_required
@require_POST
def checkout_pay(request, reference):
    return _to_payment(request, _buyer_order(request, reference))


@login_required
def checkout_return(request, reference):
    """Where the provider sends the buyer back: the order follows its payment."""
    order = _buyer_order(request, reference)
    try:
        order = placement.checkout_payment_update(order_id=order.pk)
    except DomainError as error:
        messages.error(request, str(error.message))
        return redirect("storefront:order", reference=order.reference)
    if order.status == OrderStatus.PLACED:
        messages.success(
            request, _("Thank you! Your order %(reference)s is placed.") % {"reference": order}
        )
        return redirect("storefront:order", reference=order.reference)
    if order.status == OrderStatus.ABANDONED:
        reason = order.payment.failure_message if order.payment else ""
        messages.error(
            request,
            _("Your payment did not go through: %(reason)s Your cart is unchanged.")
            % {"reason": reason or _("the payment was not completed.")},
        )
        return _back_to_cart()
    messages.info(request, _("Your payment is not complete yet."))
    return redirect("storefront:order", reference=order.reference)


# --- The buyer's orders ---------------------------------------------------------------------


@dataclass
class ShopOrderPanel:
    shop_order: object
    lines: list
    timeline: list[order_history.TimelineEntry]
    can_cancel: bool
    shipments: list = field(default_factory=list)

    @property
    def can_confirm_receipt(self) -> bool:
        return any(t.action == "receive" for t in actions_for(self.shop_order.state, Role.BUYER))


def _panel(order_, shop_order) -> ShopOrderPanel:
    shipments = order_history.shipments_of(shop_order)
    return ShopOrderPanel(
        shop_order=shop_order,
        lines=list(shop_order.lines.all()),
        timeline=order_history.timeline(shop_order),
        can_cancel=order_selectors.buyer_may_cancel(shop_order),
        shipments=shipments,
    )


@login_required
def orders(request):
    marketplace = _marketplace(request)
    page = Paginator(
        order_selectors.buyer_orders(request.user, marketplace), ORDERS_PER_PAGE
    ).get_page(request.GET.get("page"))
    return render(request, "storefront/orders/list.html", {"page": page})


@login_required
def order(request, reference):
    order_ = _buyer_order(request, reference)
    panels = [_panel(order_, shop_order) for shop_order in order_selectors.shop_orders_of(order_)]
    return render(
        request,
        "storefront/orders/detail.html",
        {
            "order": order_,
            "panels": panels,
            "payment_pending": order_.status == OrderStatus.PAYMENT_PENDING,
        },
    )


@login_required
def order_cancel(request, reference, shop_order_reference):
    """A confirmation page (GET), then the cancellation (POST)."""
    order_ = _buyer_order(request, reference)
    shop_order = next(
        (s for s in order_selectors.shop_orders_of(order_) if s.reference == shop_order_reference),
        None,
    )
    if shop_order is None:
        raise Http404
    form = order_forms.CancelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            order_services.shop_order_cancel(
                shop_order_id=shop_order.pk,
                actor=request.user,
                role=Role.BUYER,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(
                request,
                _("Your order %(reference)s from %(shop)s is cancelled.")
                % {"reference": shop_order.reference, "shop": shop_order.shop.name},
            )
        return redirect("storefront:order", reference=order_.reference)
    return render(
        request,
        "storefront/orders/cancel.html",
        {"order": order_, "shop_order": shop_order, "form": form},
    )
