"""Orders in the operator back-office: read-only views of orders and shop orders (state and
amounts change only through the workflow), the fraud check queue with its approve / reject
buttons, the operator's cancellation with a reason, and each marketplace's fraud rules.

Every write calls a service (`fraud_review`, `shop_order_cancel`), which checks the
operator's right again; the lists are scoped to the marketplaces the operator runs.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from halles.core.admin import MarketplaceScopedAdmin
from halles.core.errors import DomainError
from halles.core.money import Money

from . import fraud, selectors, services
from .models import (
    Channel,
    FraudRules,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Role,
    Shipment,
    ShopOrder,
    State,
)
from .workflow import TRANSITIONS, actions_for


def money(cents, currency: str) -> str:
    if cents is None:
        return "-"
    return Money(int(cents), currency or "EUR").format((get_language() or "fr")[:2])


def when(value) -> str:
    return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT") if value else "-"


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (sent to the buyer and the seller)"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=1000,
    )


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(MarketplaceScopedAdmin):
    """No raw edit: rows change through the services only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Shop orders ----------------------------------------------------------------------------


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = readonly_fields = [
        "title",
        "sku",
        "quantity",
        "unit_price",
        "vat_rate",
        "line_total",
        "state",
        "refusal_reason",
        "stock_released",
    ]

    @admin.display(description=_("unit price (VAT included)"))
    def unit_price(self, obj):
        return money(obj.unit_price_cents, obj.shop_order.order.currency)

    @admin.display(description=_("line total"))
    def line_total(self, obj):
        return money(obj.total_cents, obj.shop_order.order.currency)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("shop_order__order")


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    verbose_name_plural = _("history")
    fields = readonly_fields = [
        "at",
        "action_label",
        "from_state",
        "to_state",
        "actor",
        "role",
        "channel",
        "note",
    ]

    @admin.display(description=_("action"))
    def action_label(self, obj):
        transition = TRANSITIONS.get(obj.action)
        return transition.label if transition else obj.action

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor").order_by("at", "id")


class ShipmentInline(ReadOnlyInline):
    """The parcels declared by the seller, with their tracking links (as stored: encoded)."""

    model = Shipment
    fields = readonly_fields = [
        "shipped_at",
        "carrier_name",
        "tracking",
        "items",
        "created_by",
        "created_at",
    ]

    @admin.display(description=_("tracking number"))
    def tracking(self, obj):
        if not obj.tracking_url:
            return obj.tracking_number
        return format_html(
            '<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>',
            obj.tracking_url,
            obj.tracking_number,
        )

    @admin.display(description=_("items"))
    def items(self, obj):
        return ", ".join(f"{item.quantity} × {item.line.title}" for item in obj.lines.all())

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("created_by")
            .prefetch_related("lines__line")
            .order_by("shipped_at", "id")
        )


class AttentionFilter(admin.SimpleListFilter):
    title = _("needs attention")
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("late", _("waiting too long"))]

    def queryset(self, request, queryset):
        if self.value() == "late":
            return selectors.needs_attention(queryset)
        return queryset


@admin.register(ShopOrder)
class ShopOrderAdmin(ReadOnlyAdmin):
    inlines = [OrderLineInline, ShipmentInline, OrderEventInline]
    change_form_template = "backoffice/orders/shoporder_change_form.html"
    list_display = [
        "reference",
        "placed_at",
        "marketplace",
        "shop",
        "state",
        "total",
        "acceptance_deadline",
    ]
    list_filter = [
        ("marketplace", admin.RelatedOnlyFieldListFilter),
        "state",
        ("shop", admin.RelatedOnlyFieldListFilter),
        ("order__placed_at", admin.DateFieldListFilter),
        AttentionFilter,
    ]
    search_fields = ["reference", "order__reference", "order__email", "order__buyer__email"]
    actions = ["cancel_shop_orders"]
    fieldsets = [
        (
            _("Shop order"),
            {
                "fields": [
                    "reference",
                    "order_link",
                    "marketplace",
                    "shop",
                    "state",
                    "placed_at",
                    "accepted_at",
                    "updated_at",
                ]
            },
        ),
        (
            _("Deadlines"),
            {
                "fields": [
                    "acceptance_deadline",
                    "acceptance_reminded_at",
                    "payment_due_at",
                    "paid_at",
                    "shipping_deadline",
                    "late_notified_at",
                ]
            },
        ),
        (
            _("Fulfilment"),
            {
                "fields": [
                    "shipped_at",
                    "ready_at",
                    "pickup_attempts",
                    "received_at",
                    "closed_at",
                ]
            },
        ),
        (
            _("Amounts"),
            {
                "fields": [
                    "items",
                    "delivery",
                    "discount",
                    "total",
                    "accepted_amount",
                    "paid_amount",
                ]
            },
        ),
        (
            _("Delivery"),
            {
                "fields": [
                    "delivery_name",
                    "delivery_kind",
                    "carrier",
                    "pickup_slot_label",
                    "pickup_address",
                    "relay_point",
                    "ship_to",
                    "shipping_phone",
                ]
            },
        ),
        (_("Buyer"), {"fields": ["buyer_email", "customer_alias_email"]}),
    ]
    readonly_fields = [field for _title, options in fieldsets for field in options["fields"]]

    def get_queryset(self, request):
        qs = selectors.operator_shop_orders(request.user)
        ordering = self.get_ordering(request)
        return qs.order_by(*ordering) if ordering else qs

    def has_cancel_permission(self, request, obj=None):
        return request.user.has_perm("orders.change_shoporder")

    def _currency(self, obj):
        return obj.order.currency

    @admin.display(description=_("order"))
    def order_link(self, obj):
        url = reverse("admin:orders_order_change", args=[obj.order_id])
        return format_html('<a href="{}">{}</a>', url, obj.order.reference)

    @admin.display(description=_("placed"), ordering="order__placed_at")
    def placed_at(self, obj):
        return when(obj.order.placed_at)

    @admin.display(description=_("items"))
    def items(self, obj):
        return money(obj.lines_cents, self._currency(obj))

    @admin.display(description=_("delivery"))
    def delivery(self, obj):
        return money(obj.shipping_cents, self._currency(obj))

    @admin.display(description=_("discount"))
    def discount(self, obj):
        amount = money(obj.discount_cents, self._currency(obj))
        return f"{amount} ({obj.coupon_code})" if obj.coupon_code else amount

    @admin.display(description=_("total"), ordering="total_cents")
    def total(self, obj):
        return money(obj.total_cents, self._currency(obj))

    @admin.display(description=_("accepted amount"))
    def accepted_amount(self, obj):
        return money(obj.accepted_cents, self._currency(obj))

    @admin.display(description=_("amount paid"))
    def paid_amount(self, obj):
        return money(obj.captured_cents, self._currency(obj))

    @admin.display(description=_("ship to"))
    def ship_to(self, obj):
        lines = [
            obj.shipping_name,
            obj.shipping_company,
            obj.shipping_line1,
            obj.shipping_line2,
            f"{obj.shipping_postcode} {obj.shipping_city}".strip(),
            obj.shipping_country,
        ]
        lines = [line for line in lines if line.strip()]
        if not lines:
            return "-"
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))

    @admin.display(description=_("buyer's e-mail"))
    def buyer_email(self, obj):
        return obj.order.email

    @admin.display(description=_("e-mail alias given to the seller"))
    def customer_alias_email(self, obj):
        return obj.customer_alias_email

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        can_cancel = (
            obj is not None
            and self.has_cancel_permission(request)
            and any(t.action == "operator_cancel" for t in actions_for(obj.state, Role.OPERATOR))
        )
        extra = {
            "can_cancel": can_cancel,
            "history": selectors.history(obj, audience="operator") if obj else [],
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    @admin.action(description=_("Cancel the selected shop orders…"), permissions=["cancel"])
    def cancel_shop_orders(self, request, queryset):
        form = ReasonForm(request.POST if "reason" in request.POST else None)
        if not form.is_valid():
            return TemplateResponse(
                request,
                "backoffice/reason_form.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("Cancel shop orders"),
                    "intro": _(
                        "The shop orders below will be cancelled, their stock given back and "
                        "the buyer's card released for them. The buyer and the seller receive "
                        "your reason by e-mail:"
                    ),
                    "submit_label": _("Cancel and send the reason"),
                    "action": "cancel_shop_orders",
                    "form": form,
                    "queryset": queryset,
                    "opts": self.model._meta,
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                },
            )
        reason = form.cleaned_data["reason"]
        done = 0
        for shop_order in queryset:
            try:
                services.shop_order_cancel(
                    shop_order_id=shop_order.pk,
                    actor=request.user,
                    role=Role.OPERATOR,
                    reason=reason,
                    channel=Channel.BACKOFFICE,
                )
                done += 1
            except DomainError as error:
                self.message_user(request, f"{shop_order}: {error.message}", messages.ERROR)
        if done:
            self.message_user(
                request,
                ngettext(
                    "%d shop order cancelled; the buyer and the seller are told by e-mail.",
                    "%d shop orders cancelled; the buyers and the sellers are told by e-mail.",
                    done,
                )
                % done,
                messages.SUCCESS,
            )
        return None


# --- Orders and the fraud check -------------------------------------------------------------


class ShopOrderInline(ReadOnlyInline):
    model = ShopOrder
    fields = readonly_fields = ["shop_order_link", "shop", "state", "total", "acceptance_deadline"]

    @admin.display(description=_("shop order"))
    def shop_order_link(self, obj):
        url = reverse("admin:orders_shoporder_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.reference)

    @admin.display(description=_("total"))
    def total(self, obj):
        return money(obj.total_cents, obj.order.currency)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("shop", "order").order_by("reference")


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    inlines = [ShopOrderInline]
    change_form_template = "backoffice/orders/order_change_form.html"
    change_list_template = "backoffice/orders/order_change_list.html"
    list_display = [
        "reference",
        "placed_at",
        "marketplace",
        "email",
        "status",
        "total",
        "fraud_score",
    ]
    list_filter = [
        ("marketplace", admin.RelatedOnlyFieldListFilter),
        "status",
        ("placed_at", admin.DateFieldListFilter),
    ]
    search_fields = ["reference", "email", "buyer__email"]
    list_select_related = ["marketplace"]
    fieldsets = [
        (
            _("Order"),
            {
                "fields": [
                    "reference",
                    "marketplace",
                    "status",
                    "total",
                    "payment_link",
                    "payment_method",
                    "operator_coupon_code",
                    "created_at",
                    "placed_at",
                ]
            },
        ),
        (_("Fraud check"), {"fields": ["fraud_score", "fraud_signals"]}),
        (
            _("Buyer"),
            {"fields": ["buyer", "buyer_since", "email", "billing_address", "phone"]},
        ),
    ]
    readonly_fields = [field for _title, options in fieldsets for field in options["fields"]]

    def has_review_permission(self, request, obj=None):
        return request.user.has_perm("orders.change_order")

    @admin.display(description=_("total"), ordering="total_cents")
    def total(self, obj):
        return money(obj.total_cents, obj.currency)

    @admin.display(description=_("payment"))
    def payment_link(self, obj):
        if obj.payment_id is None:
            return "-"
        url = reverse("admin:payments_payment_change", args=[obj.payment_id])
        return format_html('<a href="{}">{}</a>', url, obj.payment)

    @admin.display(description=_("fraud signals"))
    def fraud_signals(self, obj):
        return ", ".join(fraud.signal_labels(obj.fraud_reasons)) or "-"

    @admin.display(description=_("account age at the order"))
    def buyer_since(self, obj):
        return _account_age(obj)

    @admin.display(description=_("billing address"))
    def billing_address(self, obj):
        lines = [
            obj.billing_name,
            obj.billing_company,
            obj.billing_line1,
            obj.billing_line2,
            f"{obj.billing_postcode} {obj.billing_city}",
            obj.billing_country,
        ]
        return format_html_join(
            mark_safe("<br>"), "{}", ((line,) for line in lines if line.strip())
        )

    # The fraud queue: a page of its own, and a review endpoint its buttons post to.

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("fraud-queue/", view(self.fraud_queue_view), name="orders_order_fraud_queue"),
            path(
                "<int:object_id>/fraud-review/",
                view(require_POST(self.fraud_review_view)),
                name="orders_order_fraud_review",
            ),
            *super().get_urls(),
        ]

    def fraud_queue_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        held = selectors.fraud_queue(request.user).prefetch_related(
            Prefetch("shop_orders", queryset=ShopOrder.objects.select_related("shop"))
        )
        page = Paginator(held, 50).get_page(request.GET.get("page"))
        rows = [
            {
                "order": order,
                "total": money(order.total_cents, order.currency),
                "signals": fraud.signal_labels(order.fraud_reasons),
                "account_age": _account_age(order),
                "shops": [so.shop for so in order.shop_orders.all()],
            }
            for order in page
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Fraud check queue"),
            "opts": self.model._meta,
            "page": page,
            "rows": rows,
            "can_review": self.has_review_permission(request),
            "reason_form": ReasonForm(),
        }
        return TemplateResponse(request, "backoffice/orders/fraud_queue.html", context)

    def fraud_review_view(self, request, object_id):
        if not self.has_review_permission(request):
            raise PermissionDenied
        order = self.get_queryset(request).filter(pk=object_id).first()
        if order is None:
            raise Http404
        decision = request.POST.get("decision")
        if decision not in ("approve", "reject"):
            self.message_user(request, _("Choose to approve or reject."), messages.ERROR)
        else:
            approve = decision == "approve"
            try:
                services.fraud_review(
                    order_id=order.pk,
                    operator=request.user,
                    approve=approve,
                    reason=request.POST.get("reason", ""),
                )
            except DomainError as error:
                self.message_user(request, f"{order}: {error.message}", messages.ERROR)
            else:
                message = (
                    _("Order %(reference)s approved: its shops can now accept it.")
                    if approve
                    else _(
                        "Order %(reference)s rejected and cancelled; the buyer is told by e-mail."
                    )
                )
                self.message_user(
                    request, message % {"reference": order.reference}, messages.SUCCESS
                )
        next_url = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            next_url = reverse("admin:orders_order_fraud_queue")
        return redirect(next_url)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        held = obj is not None and obj.shop_orders.filter(state=State.STAGING).exists()
        extra = {
            "held": held and obj.status == OrderStatus.PLACED,
            "can_review": self.has_review_permission(request),
            "reason_form": ReasonForm(),
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})


def _account_age(order: Order) -> str:
    """How old the buyer's account was when the order was placed."""
    joined = order.buyer.date_joined
    at = order.placed_at or order.created_at
    return format_html(
        "{} <span class='quiet'>({})</span>",
        timesince(joined, at),
        _("joined %(date)s") % {"date": when(joined)},
    )


# --- Fraud rules ----------------------------------------------------------------------------


@admin.register(FraudRules)
class FraudRulesAdmin(MarketplaceScopedAdmin):
    list_display = [
        "marketplace",
        "review_from",
        "amount_above_cents",
        "amount_points",
        "young_account_days",
        "young_account_points",
        "velocity_points",
        "country_mismatch_points",
    ]
    list_select_related = ["marketplace"]
    fieldsets = [
        (None, {"fields": ["marketplace", "review_from"]}),
        (_("Large orders"), {"fields": ["amount_above_cents", "amount_points"]}),
        (_("New accounts"), {"fields": ["young_account_days", "young_account_points"]}),
        (
            _("Many orders in a short time"),
            {"fields": ["velocity_orders", "velocity_hours", "velocity_points"]},
        ),
        (_("Countries"), {"fields": ["country_mismatch_points"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return ["marketplace"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False
