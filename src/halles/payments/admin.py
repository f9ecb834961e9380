"""Payments in the operator back-office, read-only: money moves only through
`payments.services`. Provider callbacks are not tied to a marketplace, so only superusers
see them."""

from django.contrib import admin
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from halles.core.admin import MarketplaceScopedAdmin
from halles.core.money import Money

from .models import Payment, PaymentOperation, WebhookEvent


def _money(cents: int, currency: str) -> str:
    return Money(int(cents), currency or "EUR").format((get_language() or "fr")[:2])


class PaymentOperationInline(admin.TabularInline):
    model = PaymentOperation
    extra = 0
    can_delete = False
    fields = readonly_fields = [
        "created_at",
        "kind",
        "amount",
        "status",
        "reference",
        "idempotency_key",
        "provider_reference",
        "error_code",
        "error_message",
        "completed_at",
    ]

    @admin.display(description=_("amount"))
    def amount(self, obj):
        return _money(obj.amount_cents, obj.payment.currency)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("payment")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(MarketplaceScopedAdmin):
    inlines = [PaymentOperationInline]
    list_display = [
        "reference",
        "marketplace",
        "provider",
        "method",
        "amount",
        "captured",
        "released",
        "refunded",
        "status",
        "created_at",
    ]
    list_filter = [
        ("marketplace", admin.RelatedOnlyFieldListFilter),
        "status",
        "provider",
        "method",
    ]
    search_fields = ["reference", "provider_reference", "payer__email"]
    list_select_related = ["marketplace"]
    fields = readonly_fields = [
        "reference",
        "marketplace",
        "provider",
        "provider_reference",
        "payer",
        "method",
        "status",
        "amount",
        "captured",
        "released",
        "refunded",
        "failure_code",
        "failure_message",
        "created_at",
        "authorised_at",
        "updated_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("amount"), ordering="amount_cents")
    def amount(self, obj):
        return _money(obj.amount_cents, obj.currency)

    @admin.display(description=_("captured"))
    def captured(self, obj):
        return _money(obj.captured_cents, obj.currency)

    @admin.display(description=_("released"))
    def released(self, obj):
        return _money(obj.voided_cents, obj.currency)

    @admin.display(description=_("refunded"))
    def refunded(self, obj):
        return _money(obj.refunded_cents, obj.currency)


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = [
        "received_at",
        "provider",
        "event_type",
        "event_id",
        "provider_reference",
        "times_received",
        "processed_at",
    ]
    list_filter = ["provider", "event_type"]
    search_fields = ["event_id", "provider_reference"]
    fields = readonly_fields = [
        "provider",
        "event_id",
        "event_type",
        "provider_reference",
        "payload",
        "received_at",
        "processed_at",
        "times_received",
    ]

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
