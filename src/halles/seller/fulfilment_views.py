"""The seller's fulfilment steps: declare a parcel, mark a click-and-collect order ready,
hand it over with the customer's code, and declare many parcels from a CSV file.

Thin views over `orders.fulfilment`: each posts from the order page, calls one service and
comes back to the page; a refused step shows the service's message on its form (with the
status of the error), and nothing is changed.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from halles.core.errors import DomainError
from halles.orders import fulfilment as services
from halles.orders.models import Channel, State
from halles.shipping.services import active_carriers

from . import fulfilment, order_views
from . import fulfilment_forms as forms
from .access import shop_view

SHIPMENTS_EXAMPLE = (
    "order;sku;quantity;carrier;tracking;carrier_name;url\n"
    "{reference};PAIN-01;2;colissimo;6A12345678901;;\n"
    "{reference};GATEAU-02;1;colissimo;6A12345678901;;\n"
    "{reference};CONFITURE-03;1;;CQ-778;Coursier du quartier;https://coursier.example/suivi/CQ-778\n"
)


def _back(request, shop_order):
    return redirect("seller:order", shop_slug=request.shop.slug, reference=shop_order.reference)


def _again(request, reference, *, status: int, **bound_forms):
    """The order page again (read afresh) with the form that failed. When the order has
    moved on and the page no longer shows that form, its errors are flash messages."""
    shop_order = order_views._shop_order(request.shop, reference)
    shown = {
        "ship_form": fulfilment.can_ship(shop_order),
        "collect_form": shop_order.state == State.TO_COLLECT,
    }
    for name, form in bound_forms.items():
        if not shown[name]:
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
    return order_views._detail(
        request,
        shop_order,
        order_views._decision_form(shop_order),
        status=status,
        **bound_forms,
    )


@shop_view
@require_POST
def order_ship(request, reference):
    shop_order = order_views._shop_order(request.shop, reference)
    with timezone.override(order_views.marketplace_zone(request.shop)):
        form = fulfilment.shipment_form(shop_order, request.POST)
        valid = form.is_valid()
    if not valid:
        return _again(request, reference, status=400, ship_form=form)
    data = form.cleaned_data
    try:
        services.shipment_declare(
            shop_order_id=shop_order.pk,
            actor=request.user,
            carrier_code=data["carrier_code"],
            other_carrier=data["other_carrier"],
            tracking_number=data["tracking_number"],
            tracking_url=data["tracking_url"],
            quantities=data["quantities"],
            shipped_at=data["shipped_at"],
            channel=Channel.WEB,
        )
    except DomainError as error:
        if error.status == 404:
            raise Http404(str(error.message)) from error
        form.add_error(forms.SERVICE_FIELDS.get(error.field), str(error.message))
        return _again(request, reference, status=error.status, ship_form=form)
    shop_order.refresh_from_db(fields=["state"])
    if shop_order.state == State.SHIPPED:
        message = _("Order %(reference)s is shipped; the buyer is sent the tracking links.")
    else:
        message = _(
            "Parcel declared for order %(reference)s; the buyer is sent its tracking link. "
            "Declare the rest when it leaves."
        )
    messages.success(request, message % {"reference": shop_order.reference})
    return _back(request, shop_order)


@shop_view
@require_POST
def order_ready(request, reference):
    shop_order = order_views._shop_order(request.shop, reference)
    try:
        services.pickup_ready(shop_order_id=shop_order.pk, actor=request.user)
    except DomainError as error:
        order_views._raise_for_status(error)
        messages.error(request, str(error.message))
    else:
        messages.success(
            request,
            _("Order %(reference)s is ready for pick-up; the buyer is sent the pick-up code.")
            % {"reference": shop_order.reference},
        )
    return _back(request, shop_order)


@shop_view
@require_POST
def order_collect(request, reference):
    shop_order = order_views._shop_order(request.shop, reference)
    form = forms.CollectForm(request.POST)
    if not form.is_valid():
        return _again(request, reference, status=400, collect_form=form)
    try:
        services.pickup_collect(
            shop_order_id=shop_order.pk, actor=request.user, code=form.cleaned_data["code"]
        )
    except DomainError as error:
        if error.status == 404:
            raise Http404(str(error.message)) from error
        # A wrong code, or too many of them (403): said on the form, not as an error page.
        form.add_error("code", str(error.message))
        return _again(request, reference, status=error.status, collect_form=form)
    messages.success(
        request,
        _("Order %(reference)s is handed over to the customer.")
        % {"reference": shop_order.reference},
    )
    return _back(request, shop_order)


@shop_view
def shipments_import(request):
    """Upload a CSV of parcels; each row is applied or refused on its own."""
    shop = request.shop
    report = None
    status = 200
    if request.method == "POST":
        form = forms.ShipmentsImportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                report = services.shipments_import(
                    shop=shop, actor=request.user, data=form.cleaned_data["file"].read()
                )
            except DomainError as error:
                form.add_error("file", str(error.message))
                status = error.status
            else:
                _report_message(request, report)
        else:
            status = 400
    else:
        form = forms.ShipmentsImportForm()
    example_reference = fulfilment.shippable_reference(shop) or _("ORDER-REFERENCE")
    return render(
        request,
        "seller/orders/shipments_import.html",
        {
            "shop": shop,
            "form": form,
            "report": report,
            "example": SHIPMENTS_EXAMPLE.format(reference=example_reference),
            "carriers": active_carriers(shop.marketplace),
        },
        status=status,
    )


def _report_message(request, report) -> None:
    if report.applied:
        messages.success(
            request,
            ngettext("%(n)d parcel declared.", "%(n)d parcels declared.", report.applied)
            % {"n": report.applied},
        )
    if report.errors:
        messages.error(
            request,
            ngettext(
                "%(n)d row refused: see below.",
                "%(n)d rows refused: see below.",
                len(report.errors),
            )
            % {"n": len(report.errors)},
        )
