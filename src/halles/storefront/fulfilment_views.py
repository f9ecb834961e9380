"""The buyer's side of fulfilment: confirming that an order arrived (a confirmation page,
then the confirmation), and the relay-point search of the cart page.

Thin: parse, call one service or selector, render. A `DomainError` becomes a flash message
or a form error, never a 500.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from halles.core.errors import DomainError
from halles.orders import fulfilment
from halles.orders import selectors as order_selectors
from halles.orders.models import Channel
from halles.shipping.services import relay_point_search
from halles.shops.models import DeliveryKind, DeliveryMode

from . import order_forms
from .order_views import _buyer_order, _marketplace


@login_required
def order_received(request, reference, shop_order_reference):
    """A confirmation page (GET), then the confirmation of receipt (POST). Confirming twice
    says so clearly and changes nothing."""
    order_ = _buyer_order(request, reference)
    shop_order = next(
        (s for s in order_selectors.shop_orders_of(order_) if s.reference == shop_order_reference),
        None,
    )
    if shop_order is None:
        raise Http404
    if request.method == "POST":
        try:
            fulfilment.receipt_confirm(
                shop_order_id=shop_order.pk, actor=request.user, channel=Channel.WEB
            )
        except DomainError as error:
            if error.status == 404:
                raise Http404 from error
            messages.error(request, str(error.message))
        else:
            messages.success(
                request,
                _("Thank you! Your order %(reference)s from %(shop)s is marked as received.")
                % {"reference": shop_order.reference, "shop": shop_order.shop.name},
            )
        return redirect("storefront:order", reference=order_.reference)
    return render(
        request,
        "storefront/orders/received.html",
        {"order": order_, "shop_order": shop_order, "lines": list(shop_order.lines.all())},
    )


def relay_points(request, shop_id):
    """The relay points of a delivery mode's carrier that match a postcode or a city.

    Plain HTML: a page of its own with the choice posted to the cart's delivery form; the
    list alone (`_relay_points.html`) for the cart page's live search (htmx)."""
    marketplace = _marketplace(request)
    form = order_forms.RelaySearchForm(request.GET or None)
    valid = form.is_valid()
    mode = None
    if form.is_bound and form.cleaned_data.get("mode"):
        mode = (
            DeliveryMode.objects.filter(
                pk=form.cleaned_data["mode"],
                shop_id=shop_id,
                shop__marketplace=marketplace,
                kind=DeliveryKind.RELAY,
                is_active=True,
                relay_network__isnull=False,
            )
            .select_related("shop", "relay_network")
            .first()
        )
    if mode is None:
        raise Http404
    points = (
        list(relay_point_search(carrier=mode.relay_network, query=form.cleaned_data["q"]))
        if valid
        else []
    )
    context = {"form": form, "mode": mode, "shop": mode.shop, "points": points}
    if request.headers.get("HX-Request"):
        return render(request, "storefront/cart/_relay_points.html", context)
    return render(
        request, "storefront/cart/relay_points.html", context, status=200 if valid else 400
    )
