from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from halles.core.admin import MarketplaceScopedAdmin
from halles.core.errors import DomainError

from . import services, workflow
from .models import Marketplace, MarketplaceEvent, Membership, MembershipStatus


class MarketplaceEventInline(admin.TabularInline):
    model = MarketplaceEvent
    extra = 0
    can_delete = False
    fields = readonly_fields = ["at", "action", "from_status", "to_status", "actor"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Marketplace)
class MarketplaceAdmin(admin.ModelAdmin):
    inlines = [MarketplaceEventInline]
    list_display = ["name", "slug", "status", "registration_mode", "is_default", "opened_at"]
    list_filter = ["status", "registration_mode"]
    search_fields = ["name", "slug"]
    readonly_fields = ["status", "created_at", "opened_at", "closed_at"]
    filter_horizontal = ["operators"]
    actions = ["open_marketplaces", "start_closing", "cancel_closing", "close_marketplaces"]
    fieldsets = [
        (
            _("Identity"),
            {
                "fields": [
                    "name",
                    "slug",
                    "contact_email",
                    "currency",
                    "country",
                    "time_zone",
                    "default_language",
                    "is_default",
                    "operators",
                ]
            },
        ),
        (_("Branding"), {"fields": ["tagline", "description", "primary_color", "logo"]}),
        (
            _("Buyers"),
            {"fields": ["registration_mode", "buyers_are_organisations", "opening_threshold"]},
        ),
        (
            _("Deadlines"),
            {
                "fields": [
                    "acceptance_deadline_business_days",
                    "suspend_shop_on_missed_acceptance",
                    "payment_deadline_days",
                    "auto_receive_days",
                    "withdrawal_days",
                    "reply_sla_business_hours",
                    "escalation_business_hours",
                ]
            },
        ),
        (
            _("Lifecycle"),
            {
                "fields": [
                    "status",
                    "order_cutoff_at",
                    "service_end_at",
                    "created_at",
                    "opened_at",
                    "closed_at",
                ]
            },
        ),
    ]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(operators=request.user)

    def _transition(self, request, queryset, action):
        done = 0
        for marketplace in queryset:
            try:
                workflow.marketplace_transition(
                    marketplace_id=marketplace.pk, action=action, actor=request.user
                )
                done += 1
            except DomainError as error:
                self.message_user(request, f"{marketplace}: {error.message}", messages.ERROR)
        if done:
            self.message_user(
                request,
                ngettext("%d marketplace updated.", "%d marketplaces updated.", done) % done,
                messages.SUCCESS,
            )

    @admin.action(description=_("Open the marketplace"))
    def open_marketplaces(self, request, queryset):
        self._transition(request, queryset, "open")

    @admin.action(description=_("Start closing (dates required)"))
    def start_closing(self, request, queryset):
        self._transition(request, queryset, "start_closing")

    @admin.action(description=_("Cancel closing"))
    def cancel_closing(self, request, queryset):
        self._transition(request, queryset, "cancel_closing")

    @admin.action(description=_("Close (after the service end date)"))
    def close_marketplaces(self, request, queryset):
        self._transition(request, queryset, "close")


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (sent to the applicant)"), widget=forms.Textarea(attrs={"rows": 4})
    )


@admin.register(Membership)
class MembershipAdmin(MarketplaceScopedAdmin):
    list_display = [
        "user",
        "user_name",
        "organisation",
        "marketplace",
        "role",
        "status",
        "requested_at",
    ]
    list_filter = ["status", "role", "marketplace"]
    search_fields = ["user__email", "user__last_name", "user__organisation__name"]
    list_select_related = ["user", "user__organisation", "marketplace"]
    readonly_fields = [
        "marketplace",
        "user",
        "role",
        "status",
        "reason",
        "requested_at",
        "decided_at",
        "decided_by",
    ]
    actions = ["approve", "reject"]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("name"))
    def user_name(self, obj):
        return obj.user.get_full_name()

    @admin.display(description=_("organisation"))
    def organisation(self, obj):
        org = obj.user.organisation
        return f"{org} ({org.sector})" if org else "-"

    def _decide(self, request, queryset, approve, reason=""):
        done = 0
        for membership in queryset:
            try:
                services.membership_decide(
                    membership_id=membership.pk,
                    operator=request.user,
                    approve=approve,
                    reason=reason,
                )
                done += 1
            except DomainError as error:
                self.message_user(request, f"{membership}: {error.message}", messages.ERROR)
        return done

    @admin.action(description=_("Approve the selected requests"))
    def approve(self, request, queryset):
        done = self._decide(request, queryset, approve=True)
        if done:
            self.message_user(
                request,
                ngettext(
                    "%d request approved; the applicant is told by e-mail.",
                    "%d requests approved; the applicants are told by e-mail.",
                    done,
                )
                % done,
                messages.SUCCESS,
            )

    @admin.action(description=_("Reject the selected requests…"))
    def reject(self, request, queryset):
        form = RejectForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            done = self._decide(
                request, queryset, approve=False, reason=form.cleaned_data["reason"]
            )
            if done:
                self.message_user(
                    request,
                    ngettext(
                        "%d request rejected; the applicant is told by e-mail.",
                        "%d requests rejected; the applicants are told by e-mail.",
                        done,
                    )
                    % done,
                    messages.SUCCESS,
                )
            return None
        return render(
            request,
            "backoffice/membership_reject.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Reject requests"),
                "form": form,
                "queryset": queryset,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    def changelist_view(self, request, extra_context=None):
        # The pending queue is what an operator opens this page for.
        if request.method == "GET" and not request.GET:
            return redirect(f"{request.path}?status__exact={MembershipStatus.PENDING}")
        return super().changelist_view(request, extra_context)
