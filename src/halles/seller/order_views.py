"""Sellers' orders: the list with its filters, one order (lines, amounts, delivery, the
customer once accepted, the parcels, the history) and the per-line acceptance. The
fulfilment steps post to `fulfilment_views` and come back to this page.

Thin views over `orders.selectors` and `orders.services.shop_order_decide`. Pages render in
the marketplace's time zone (dates shown and the "placed from/to" filter alike). A
DomainError is shown on the page with its status, never a 500.
"""

import zoneinfo
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from halles.core.errors import DomainError, NotFound
from halles.orders import selectors, services
from halles.orders.models import Channel, Role, ShopOrder, State
from halles.orders.workflow import actions_for
from halles.shops.models import DeliveryKind

from . import fulfilment
from . import order_forms as forms
from .access import shop_view

PAGE_SIZE = 30


def marketplace_zone(shop) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(shop.marketplace.time_zone)


def late_soon(shop_order: ShopOrder, now=None) -> bool:
    """Still to accept, and the deadline is within the "approaching" window (or passed)."""
    if shop_order.state != State.WAITING_ACCEPTANCE or shop_order.acceptance_deadline is None:
        return False
    now = now or timezone.now()
    return shop_order.acceptance_deadline <= now + timedelta(hours=forms.DEADLINE_SOON_HOURS)


@shop_view
def orders(request):
    shop = request.shop
    form = forms.OrderFilterForm(request.GET or None)
    if form.is_bound:
        form.is_valid()
    with timezone.override(marketplace_zone(shop)):
        now = timezone.now()
        qs = selectors.seller_orders(shop, form.filters())
        if form.late_only():
            qs = qs.filter(state=State.SHIPPING, shipping_deadline__lt=now)
        page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
        rows = [(shop_order, late_soon(shop_order, now)) for shop_order in page]
        late_ids = {so.pk for so in page if fulfilment.is_late(so, now)}
        return render(
            request,
            "seller/orders/list.html",
            {"shop": shop, "form": form, "page": page, "rows": rows, "late_ids": late_ids},
            status=400 if form.errors else 200,
        )


@shop_view
def order(request, reference):
    shop_order = _shop_order(request.shop, reference)
    return _detail(request, shop_order, _decision_form(shop_order))


@shop_view
@require_POST
def order_decide(request, reference):
    shop_order = _shop_order(request.shop, reference)
    form = _decision_form(shop_order, request.POST)
    if form.is_valid():
        try:
            decided = services.shop_order_decide(
                shop_order_id=shop_order.pk,
                actor=request.user,
                decisions=form.cleaned_data["decisions"],
                reason=form.cleaned_data["reason"],
                channel=Channel.WEB,
            )
        except DomainError as error:
            _raise_for_status(error)
            form.add_error("reason" if error.field == "reason" else None, str(error.message))
            return _detail(request, shop_order, form, status=error.status)
        messages.success(request, _decided_message(decided))
        return redirect("seller:order", shop_slug=request.shop.slug, reference=reference)
    return _detail(request, shop_order, form, status=400)


def _shop_order(shop, reference: str) -> ShopOrder:
    try:
        return selectors.seller_order(shop=shop, reference=reference)
    except NotFound as error:
        raise Http404(str(error.message)) from error


def _raise_for_status(error: DomainError) -> None:
    """Rights refused or a missing order are a 403 or 404 page, not a form error."""
    if error.status == 403:
        raise PermissionDenied(str(error.message))
    if error.status == 404:
        raise Http404(str(error.message))


def _can_decide(shop_order: ShopOrder) -> bool:
    return any(t.action == "accept" for t in actions_for(shop_order.state, Role.SELLER))


def _decision_form(shop_order: ShopOrder, data=None) -> forms.DecisionForm | None:
    if not _can_decide(shop_order):
        return None if data is None else forms.DecisionForm(data, lines=())
    pending = shop_order.lines.filter(state=State.WAITING_ACCEPTANCE).order_by("pk")
    return forms.DecisionForm(data, lines=pending)


def _decided_message(shop_order: ShopOrder) -> str:
    if shop_order.state == State.REFUSED:
        return _("Order %(reference)s refused; the buyer is told by e-mail.") % {
            "reference": shop_order.reference
        }
    return _(
        "Order %(reference)s accepted; the payment for the accepted lines is being collected."
    ) % {"reference": shop_order.reference}


def _detail(request, shop_order: ShopOrder, form, status: int = 200, **fulfilment_forms):
    """The order page; `fulfilment_forms` (`ship_form`, `collect_form`) are the bound forms
    of a fulfilment step that failed, shown with their errors."""
    shop = request.shop
    with timezone.override(marketplace_zone(shop)):
        shipments = fulfilment.shipments_of(shop_order)
        context = {
            "shop": shop,
            "shop_order": shop_order,
            "order": shop_order.order,
            "currency": shop_order.order.currency,
            "line_rows": _line_rows(shop_order, form),
            "form": form if _can_decide(shop_order) else None,
            "errors": form.non_field_errors() if form is not None else [],
            "late_soon": late_soon(shop_order),
            "time_zone": shop.marketplace.time_zone,
            "delivery_kind": _delivery_kind_label(shop_order.delivery_kind),
            "customer": selectors.customer_for_seller(shop_order),
            "events": selectors.history(shop_order, audience="seller"),
            **fulfilment.panel(shop_order, shipments=shipments, **fulfilment_forms),
        }
        return render(request, "seller/orders/detail.html", context, status=status)


def _line_rows(shop_order: ShopOrder, form) -> list[tuple]:
    """Each line with its accept/refuse field when it waits for a decision."""
    fields = dict(form.rows()) if form is not None and _can_decide(shop_order) else {}
    return [(line, fields.get(line)) for line in shop_order.lines.order_by("pk")]


def _delivery_kind_label(kind: str) -> str:
    try:
        return DeliveryKind(kind).label
    except ValueError:
        return kind
