from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext_lazy as _

from halles.core.admin import MarketplaceScopedAdmin
from halles.core.errors import DomainError
from halles.core.money import Money

from . import services, workflow
from .models import (
    ApplicationStatus,
    KycDocument,
    KycStatus,
    Plan,
    SellerApplication,
    Shop,
    ShopEvent,
    ShopStaff,
)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (sent to the seller)"), widget=forms.Textarea(attrs={"rows": 4})
    )


def _ask_reason(modeladmin, request, queryset, *, action, title, intro, submit_label):
    """The reason of a refusal or a suspension: (reason, None) once given, else (None, the
    intermediate page asking for it)."""
    form = ReasonForm(request.POST if "reason" in request.POST else None)
    if form.is_valid():
        return form.cleaned_data["reason"], None
    page = render(
        request,
        "backoffice/reason_form.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "intro": intro,
            "submit_label": submit_label,
            "action": action,
            "form": form,
            "queryset": queryset,
            "opts": modeladmin.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        },
    )
    return None, page


def _apply(modeladmin, request, queryset, call, success) -> None:
    """Call `call(obj)` for each selected row; report errors one by one, then the count."""
    done = 0
    for obj in queryset:
        try:
            call(obj)
            done += 1
        except DomainError as error:
            modeladmin.message_user(request, f"{obj}: {error.message}", messages.ERROR)
    if done:
        modeladmin.message_user(request, success(done), messages.SUCCESS)


def _file_link(document: KycDocument):
    if not document.file:
        return "-"
    return format_html(
        '<a href="{}" target="_blank" rel="noopener">{}</a>', document.file.url, _("View the file")
    )


def mask_iban(iban: str) -> str:
    """All but the last 4 characters hidden: `•••• •••• •••• •••• •••• ••• 2606`."""
    if not iban:
        return "-"
    hidden = "•" * (len(iban) - 4)
    groups = [hidden[i : i + 4] for i in range(0, len(hidden), 4)]
    return " ".join([*groups, iban[-4:]])


# --- Plans ----------------------------------------------------------------------------------


@admin.register(Plan)
class PlanAdmin(MarketplaceScopedAdmin):
    list_display = [
        "name",
        "code",
        "marketplace",
        "kind",
        "monthly_fee_cents",
        "commission_rate",
        "commission_fixed_cents",
        "is_active",
        "position",
    ]
    list_filter = ["marketplace", "kind", "is_active"]
    search_fields = ["name", "code"]
    list_select_related = ["marketplace"]


# --- Seller applications: the review queue -------------------------------------------------


def _shop_field(name: str):
    field = Shop._meta.get_field(name)

    def display(self, obj):
        value = (
            getattr(obj.shop, f"get_{name}_display")() if field.choices else getattr(obj.shop, name)
        )
        return value if value not in ("", None) else "-"

    display.short_description = field.verbose_name
    return display


@admin.register(SellerApplication)
class SellerApplicationAdmin(MarketplaceScopedAdmin):
    marketplace_lookup = "shop__marketplace"
    list_display = [
        "shop",
        "applicant",
        "marketplace",
        "plan",
        "siret",
        "status",
        "submitted_at",
    ]
    list_filter = ["status", "shop__marketplace", "shop__plan"]
    search_fields = ["shop__name", "shop__legal_name", "shop__siret", "applicant__email"]
    list_select_related = ["shop", "shop__marketplace", "shop__plan", "applicant"]
    actions = ["approve", "reject"]

    shop_legal_name = _shop_field("legal_name")
    shop_legal_form = _shop_field("legal_form")
    shop_siren = _shop_field("siren")
    shop_siret = _shop_field("siret")
    shop_vat_number = _shop_field("vat_number")
    shop_rcs = _shop_field("rcs")
    shop_contact_name = _shop_field("contact_name")
    shop_contact_email = _shop_field("contact_email")
    shop_contact_phone = _shop_field("contact_phone")
    shop_bic = _shop_field("bic")
    shop_activity = _shop_field("activity")

    fieldsets = [
        (
            _("Application"),
            {
                "fields": [
                    "shop_link",
                    "applicant",
                    "marketplace",
                    "plan",
                    "status",
                    "reason",
                    "submitted_at",
                    "decided_at",
                    "decided_by",
                ]
            },
        ),
        (
            _("Company"),
            {
                "fields": [
                    "shop_legal_name",
                    "shop_legal_form",
                    "share_capital",
                    "shop_siren",
                    "shop_siret",
                    "shop_vat_number",
                    "shop_rcs",
                    "registered_address",
                ]
            },
        ),
        (
            _("Contact"),
            {"fields": ["shop_contact_name", "shop_contact_email", "shop_contact_phone"]},
        ),
        (_("Bank"), {"fields": ["masked_iban", "shop_bic"]}),
        (_("Activity"), {"fields": ["shop_activity"]}),
        (_("KYC documents"), {"fields": ["kyc_documents"]}),
    ]
    readonly_fields = [field for _title, options in fieldsets for field in options["fields"]]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("shop"))
    def shop_link(self, obj):
        url = reverse("admin:shops_shop_change", args=[obj.shop_id])
        return format_html('<a href="{}">{}</a>', url, obj.shop)

    @admin.display(description=_("marketplace"), ordering="shop__marketplace__name")
    def marketplace(self, obj):
        return obj.shop.marketplace

    @admin.display(description=_("plan"), ordering="shop__plan__name")
    def plan(self, obj):
        return obj.shop.plan

    @admin.display(description=_("SIRET"), ordering="shop__siret")
    def siret(self, obj):
        return obj.shop.siret

    @admin.display(description=_("share capital"))
    def share_capital(self, obj):
        cents = obj.shop.share_capital_cents
        if cents is None:
            return "-"
        return Money(cents, obj.shop.marketplace.currency).format(get_language() or "fr")

    @admin.display(description=_("registered address"))
    def registered_address(self, obj):
        shop = obj.shop
        lines = [
            shop.address_line1,
            shop.address_line2,
            f"{shop.postcode} {shop.city}",
            shop.country,
        ]
        return format_html_join(
            mark_safe("<br>"), "{}", ((line,) for line in lines if line.strip())
        )

    @admin.display(description=_("IBAN"))
    def masked_iban(self, obj):
        return mask_iban(obj.shop.iban)

    @admin.display(description=_("documents"))
    def kyc_documents(self, obj):
        documents = obj.shop.kyc_documents.order_by("kind", "-uploaded_at")
        if not documents:
            return _("No document uploaded.")
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:shops_kycdocument_change", args=[doc.pk]),
                    doc.get_kind_display(),
                    doc.get_status_display(),
                    date_format(localtime(doc.uploaded_at), "SHORT_DATETIME_FORMAT"),
                    _file_link(doc),
                )
                for doc in documents
            ),
        )
        return format_html("<table>{}</table>", rows)

    def _decide(self, request, queryset, *, approve, reason=""):
        _apply(
            self,
            request,
            queryset,
            lambda application: services.application_decide(
                application_id=application.pk,
                operator=request.user,
                approve=approve,
                reason=reason,
            ),
            lambda done: (
                (
                    ngettext(
                        "%d application approved; the applicant is told by e-mail.",
                        "%d applications approved; the applicants are told by e-mail.",
                        done,
                    )
                    if approve
                    else ngettext(
                        "%d application rejected; the applicant is told by e-mail.",
                        "%d applications rejected; the applicants are told by e-mail.",
                        done,
                    )
                )
                % done
            ),
        )

    @admin.action(description=_("Approve the selected applications"), permissions=["change"])
    def approve(self, request, queryset):
        self._decide(request, queryset, approve=True)

    @admin.action(description=_("Reject the selected applications…"), permissions=["change"])
    def reject(self, request, queryset):
        reason, page = _ask_reason(
            self,
            request,
            queryset,
            action="reject",
            title=_("Reject applications"),
            intro=_("The applicants below will receive your reason by e-mail:"),
            submit_label=_("Reject and send the reason"),
        )
        if page is not None:
            return page
        self._decide(request, queryset, approve=False, reason=reason)
        return None

    def changelist_view(self, request, extra_context=None):
        # The pending queue is what an operator opens this page for.
        if request.method == "GET" and not request.GET:
            return redirect(f"{request.path}?status__exact={ApplicationStatus.PENDING}")
        return super().changelist_view(request, extra_context)


# --- KYC documents --------------------------------------------------------------------------


@admin.register(KycDocument)
class KycDocumentAdmin(MarketplaceScopedAdmin):
    marketplace_lookup = "shop__marketplace"
    list_display = ["shop", "kind", "status", "uploaded_at", "file_link", "reviewed_by"]
    list_filter = ["status", "kind", "shop__marketplace"]
    search_fields = ["shop__name", "shop__legal_name", "shop__siret"]
    list_select_related = ["shop", "reviewed_by"]
    fields = readonly_fields = [
        "shop",
        "kind",
        "file_link",
        "status",
        "reason",
        "uploaded_at",
        "reviewed_at",
        "reviewed_by",
    ]
    actions = ["accept", "refuse"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("file"))
    def file_link(self, obj):
        return _file_link(obj)

    def _review(self, request, queryset, *, accept, reason=""):
        _apply(
            self,
            request,
            queryset,
            lambda document: services.kyc_document_review(
                document_id=document.pk, operator=request.user, accept=accept, reason=reason
            ),
            lambda done: (
                (
                    ngettext("%d document accepted.", "%d documents accepted.", done)
                    if accept
                    else ngettext(
                        "%d document refused; the shop is told by e-mail.",
                        "%d documents refused; the shops are told by e-mail.",
                        done,
                    )
                )
                % done
            ),
        )

    @admin.action(description=_("Accept the selected documents"), permissions=["change"])
    def accept(self, request, queryset):
        self._review(request, queryset, accept=True)

    @admin.action(description=_("Refuse the selected documents…"), permissions=["change"])
    def refuse(self, request, queryset):
        reason, page = _ask_reason(
            self,
            request,
            queryset,
            action="refuse",
            title=_("Refuse documents"),
            intro=_("The shops below will receive your reason by e-mail:"),
            submit_label=_("Refuse and send the reason"),
        )
        if page is not None:
            return page
        self._review(request, queryset, accept=False, reason=reason)
        return None

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET" and not request.GET:
            return redirect(f"{request.path}?status__exact={KycStatus.PENDING}")
        return super().changelist_view(request, extra_context)


# --- Shops ----------------------------------------------------------------------------------


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ShopEventInline(ReadOnlyInline):
    model = ShopEvent
    fields = readonly_fields = [
        "at",
        "action",
        "from_status",
        "to_status",
        "actor",
        "automatic",
        "reason",
    ]


class ShopStaffInline(ReadOnlyInline):
    model = ShopStaff
    fields = readonly_fields = ["user", "role", "added_at"]


class KycDocumentInline(ReadOnlyInline):
    model = KycDocument
    fields = readonly_fields = ["kind", "status", "uploaded_at", "file_link", "reason"]

    @admin.display(description=_("file"))
    def file_link(self, obj):
        return _file_link(obj)


@admin.register(Shop)
class ShopAdmin(MarketplaceScopedAdmin):
    inlines = [ShopEventInline, ShopStaffInline, KycDocumentInline]
    list_display = ["name", "slug", "marketplace", "plan", "status", "activated_at"]
    list_filter = ["status", "marketplace", "plan", "suspended_automatically"]
    search_fields = ["name", "slug", "legal_name", "siret", "contact_email"]
    list_select_related = ["marketplace", "plan"]
    actions = ["suspend", "reactivate", "close"]
    # Operators change the name and the plan; the declared business is reviewed through
    # the application, and the status only changes through the actions (history kept).
    fieldsets = [
        (
            _("Shop"),
            {
                "fields": [
                    "name",
                    "slug",
                    "marketplace",
                    "plan",
                    "status",
                    "status_reason",
                    "suspended_automatically",
                    "created_at",
                    "activated_at",
                ]
            },
        ),
        (
            _("Company"),
            {
                "fields": [
                    "legal_name",
                    "legal_form",
                    "share_capital_cents",
                    "siren",
                    "siret",
                    "vat_number",
                    "rcs",
                    "address_line1",
                    "address_line2",
                    "postcode",
                    "city",
                    "country",
                ]
            },
        ),
        (_("Contact"), {"fields": ["contact_name", "contact_email", "contact_phone"]}),
        (_("Bank"), {"fields": ["masked_iban", "bic"]}),
        (
            _("Public profile"),
            {
                "fields": [
                    "activity",
                    "description",
                    "public_email",
                    "public_phone",
                    "return_policy",
                    "return_shipping_paid_by",
                    "accepts_card",
                    "accepts_bank_transfer",
                    "accepts_pay_in_store",
                ]
            },
        ),
    ]
    readonly_fields = [
        field
        for _title, options in fieldsets
        for field in options["fields"]
        if field not in ("name", "plan")
    ]

    def has_add_permission(self, request):
        return False  # shops come through seller applications

    def has_delete_permission(self, request, obj=None):
        return False  # shops are closed, never deleted (orders and invoices refer to them)

    @admin.display(description=_("IBAN"))
    def masked_iban(self, obj):
        return mask_iban(obj.iban)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and "plan" in form.base_fields:
            form.base_fields["plan"].queryset = Plan.objects.filter(marketplace=obj.marketplace_id)
        return form

    def _transition(self, request, queryset, action, reason=""):
        _apply(
            self,
            request,
            queryset,
            lambda shop: workflow.shop_transition(
                shop_id=shop.pk, action=action, actor=request.user, reason=reason
            ),
            lambda done: ngettext("%d shop updated.", "%d shops updated.", done) % done,
        )

    @admin.action(description=_("Suspend the selected shops…"), permissions=["change"])
    def suspend(self, request, queryset):
        reason, page = _ask_reason(
            self,
            request,
            queryset,
            action="suspend",
            title=_("Suspend shops"),
            intro=_("The owners of the shops below will receive your reason by e-mail:"),
            submit_label=_("Suspend and send the reason"),
        )
        if page is not None:
            return page
        self._transition(request, queryset, "suspend", reason)
        return None

    @admin.action(description=_("Reactivate the selected shops"), permissions=["change"])
    def reactivate(self, request, queryset):
        self._transition(request, queryset, "reactivate")

    @admin.action(description=_("Close the selected shops…"), permissions=["change"])
    def close(self, request, queryset):
        reason, page = _ask_reason(
            self,
            request,
            queryset,
            action="close",
            title=_("Close shops"),
            intro=_(
                "The shops below will be closed for good; their owners receive your reason by "
                "e-mail:"
            ),
            submit_label=_("Close and send the reason"),
        )
        if page is not None:
            return page
        self._transition(request, queryset, "close", reason)
        return None
