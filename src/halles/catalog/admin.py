from django.contrib import admin, messages
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from halles.core.admin import MarketplaceScopedAdmin
from halles.core.errors import DomainError
from halles.marketplaces.admin import RejectForm

from . import services
from .models import Category, CategoryRequest, Coupon, Offer, OfferImport, Product, ProductImage


@admin.register(Category)
class CategoryAdmin(MarketplaceScopedAdmin):
    list_display = ["name", "parent", "marketplace", "sellers_may_use", "is_active", "position"]
    list_filter = ["marketplace", "sellers_may_use", "is_active"]
    list_editable = ["sellers_may_use", "is_active", "position"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(CategoryRequest)
class CategoryRequestAdmin(MarketplaceScopedAdmin):
    marketplace_lookup = "shop__marketplace"
    list_display = ["name", "parent", "shop", "status", "created_at"]
    list_filter = ["status"]
    readonly_fields = ["shop", "name", "parent", "reason", "status", "created_at"]
    actions = ["accept", "refuse"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Create the requested categories"))
    def accept(self, request, queryset):
        for item in queryset:
            try:
                services.category_request_decide(
                    request_id=item.pk, operator=request.user, accept=True
                )
            except DomainError as error:
                self.message_user(request, f"{item} — {error.message}", messages.ERROR)

    @admin.action(description=_("Refuse the selected requests…"))
    def refuse(self, request, queryset):
        form = RejectForm(request.POST if "reason" in request.POST else None)
        if not form.is_valid():
            return render(
                request,
                "backoffice/reason_form.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("Refuse requests"),
                    "intro": _("The shops will see your answer."),
                    "form": form,
                    "submit_label": _("Refuse"),
                    "queryset": queryset,
                    "action": "refuse",
                    "opts": self.model._meta,
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                },
            )
        answer = form.cleaned_data["reason"]
        for item in queryset:
            try:
                services.category_request_decide(
                    request_id=item.pk, operator=request.user, accept=False, answer=answer
                )
            except DomainError as error:
                self.message_user(request, f"{item} — {error.message}", messages.ERROR)
        return None


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    fields = ["image", "thumbnail", "alt", "position"]


@admin.register(Product)
class ProductAdmin(MarketplaceScopedAdmin):
    list_display = ["title", "brand", "gtin", "category", "created_by_shop", "marketplace"]
    list_filter = ["marketplace", "category"]
    search_fields = ["title", "brand", "gtin"]
    list_select_related = ["category", "created_by_shop", "marketplace"]
    inlines = [ProductImageInline]


@admin.register(Offer)
class OfferAdmin(MarketplaceScopedAdmin):
    list_display = [
        "sku",
        "product",
        "shop",
        "price_cents",
        "discount_price_cents",
        "stock",
        "is_active",
    ]
    list_filter = ["marketplace", "is_active", "shop"]
    search_fields = ["sku", "product__title", "shop__name"]
    list_select_related = ["product", "shop"]
    raw_id_fields = ["product"]
    filter_horizontal = ["delivery_modes", "visible_to_sectors"]


@admin.register(Coupon)
class CouponAdmin(MarketplaceScopedAdmin):
    list_display = [
        "code",
        "kind",
        "percent",
        "amount_cents",
        "shop",
        "starts_at",
        "ends_at",
        "times_used",
        "max_uses",
        "is_active",
    ]
    list_filter = ["marketplace", "kind", "is_active"]
    search_fields = ["code"]


@admin.register(OfferImport)
class OfferImportAdmin(MarketplaceScopedAdmin):
    marketplace_lookup = "shop__marketplace"
    list_display = [
        "created_at",
        "shop",
        "original_name",
        "mode",
        "status",
        "total_rows",
        "applied_rows",
        "error_rows",
    ]
    list_filter = ["status", "mode"]
    readonly_fields = [f.name for f in OfferImport._meta.fields]

    def has_add_permission(self, request):
        return False
