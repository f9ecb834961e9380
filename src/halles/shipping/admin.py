"""Carriers and relay points in the operator back-office.

Operators manage their marketplaces' carriers (the tracking address template is checked by
the model's validator: `{tracking}` required, `{postcode}` optional, http(s) only) and
import each carrier's relay-point directory from a CSV file through
`shipping.services.relay_points_import`, which reports every refused row. Relay points are
read-only here: the carrier's file is their source. Every list and page is scoped to the
marketplaces the operator runs.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from halles.core.admin import MarketplaceScopedAdmin
from halles.core.errors import DomainError

from .models import Carrier, RelayPoint
from .services import RELAY_COLUMNS, relay_points_import, tracking_url

MAX_RELAY_FILE_BYTES = 20 * 1024 * 1024
RELAY_EXAMPLE = (
    "id;name;address;postcode;city;country;opening_hours\n"
    "020123;Tabac de la Gare;2 place de la Gare;69002;Lyon;FR;Mon-Sat 7:00-19:00\n"
    "020124;Pressing Martin;14 rue Victor Hugo;69003;Lyon;FR;\n"
)


class RelayImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8, separated by ; or , with a header row; at most 20 MB."),
        error_messages={"required": _("Choose the file to send.")},
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_RELAY_FILE_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB: split it."))
        return upload


@admin.register(Carrier)
class CarrierAdmin(MarketplaceScopedAdmin):
    change_form_template = "backoffice/shipping/carrier_change_form.html"
    list_display = [
        "label",
        "code",
        "marketplace",
        "is_active",
        "has_relay_points",
        "relay_points",
        "position",
    ]
    list_filter = [("marketplace", admin.RelatedOnlyFieldListFilter), "is_active"]
    list_editable = ["position"]
    list_select_related = ["marketplace"]
    search_fields = ["code", "label"]
    fields = [
        "marketplace",
        "code",
        "label",
        "tracking_url_template",
        "example_link",
        "has_relay_points",
        "is_active",
        "position",
    ]
    readonly_fields = ["example_link"]

    def get_readonly_fields(self, request, obj=None):
        # A carrier stays on its marketplace: its parcels and relay points belong there.
        return ["marketplace", *self.readonly_fields] if obj is not None else self.readonly_fields

    @admin.display(description=_("example of a tracking link"))
    def example_link(self, obj):
        if obj is None or not obj.pk:
            return "-"
        url = tracking_url(obj.tracking_url_template, "6A12345678901", "75011")
        return format_html(
            '<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>', url, url
        )

    @admin.display(description=_("relay points"))
    def relay_points(self, obj):
        if not obj.has_relay_points:
            return "-"
        count = getattr(obj, "relay_count", None)
        listing = reverse("admin:shipping_relaypoint_changelist") + f"?carrier__id__exact={obj.pk}"
        upload = reverse("admin:shipping_carrier_relay_import", args=[obj.pk])
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            listing,
            count,
            upload,
            _("import"),
        )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(relay_count=Count("relay_points"))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:object_id>/relay-points/import/",
                view(self.relay_import_view),
                name="shipping_carrier_relay_import",
            ),
            *super().get_urls(),
        ]

    def relay_import_view(self, request, object_id):
        """Upload a carrier's relay-point file; show what was created, updated and refused."""
        carrier = self.get_queryset(request).filter(pk=object_id).first()
        if carrier is None:
            raise Http404
        if not self.has_change_permission(request, carrier):
            raise PermissionDenied
        report = None
        form = RelayImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                report = relay_points_import(carrier=carrier, data=form.cleaned_data["file"].read())
            except DomainError as error:
                form.add_error("file", str(error.message))
            else:
                self._report_message(request, report)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import the relay points of %(carrier)s") % {"carrier": carrier.label},
            "opts": self.model._meta,
            "original": carrier,
            "carrier": carrier,
            "form": form,
            "report": report,
            "columns": RELAY_COLUMNS,
            "example": RELAY_EXAMPLE,
        }
        status = 400 if form.errors else 200
        return TemplateResponse(
            request, "backoffice/shipping/relay_import.html", context, status=status
        )

    def _report_message(self, request, report) -> None:
        self.message_user(
            request,
            _("%(created)d relay points created, %(updated)d updated.")
            % {"created": report.created, "updated": report.updated},
            messages.SUCCESS,
        )
        if report.errors:
            n = len(report.errors)
            self.message_user(
                request,
                ngettext(
                    "%(n)d row refused: see the list below.",
                    "%(n)d rows refused: see the list below.",
                    n,
                )
                % {"n": n},
                messages.WARNING,
            )


@admin.register(RelayPoint)
class RelayPointAdmin(MarketplaceScopedAdmin):
    """The directory as imported: searchable, not editable (the carrier's file is its
    source; import again to change it)."""

    marketplace_lookup = "carrier__marketplace"
    list_display = ["external_id", "name", "address", "postcode", "city", "country", "carrier"]
    list_filter = [("carrier", admin.RelatedOnlyFieldListFilter), "is_active", "country"]
    list_select_related = ["carrier"]
    search_fields = ["postcode", "city", "name", "=external_id"]
    fields = [
        "carrier",
        "external_id",
        "name",
        "address",
        "postcode",
        "city",
        "country",
        "opening_hours",
        "is_active",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
