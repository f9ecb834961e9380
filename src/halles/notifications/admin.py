"""Notifications in the back-office: the outbox (read-only, filterable by the reference of
the order it is about) and each marketplace's own versions of the e-mails, with "start from
the default" and a preview on the marketplace's real data."""

from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, urlize
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from halles.core.admin import MarketplaceScopedAdmin
from halles.core.errors import DomainError

from .models import Email, EmailTemplateOverride
from .previews import NoPreviewSample, email_preview
from .rendering import PARTS, Sources, file_sources, known_templates
from .services import template_override_save


class ReferenceFilter(admin.SimpleListFilter):
    """`?reference=R1,R2`: the e-mails about these orders (the log of an order, linked from
    the order pages). Shown in the sidebar only while it filters."""

    title = _("reference")
    parameter_name = "reference"

    def lookups(self, request, model_admin):
        value = self.value()
        return [(value, value)] if value else []

    def queryset(self, request, queryset):
        references = [r.strip() for r in (self.value() or "").split(",") if r.strip()]
        return queryset.filter(reference__in=references) if references else queryset


@admin.register(Email)
class EmailAdmin(MarketplaceScopedAdmin):
    """The e-mails sent (and queued): an operator can read them and follow their links."""

    list_display = [
        "created_at",
        "to",
        "subject",
        "reference",
        "marketplace",
        "language",
        "status",
        "sent_at",
    ]
    list_filter = [ReferenceFilter, "status", "marketplace", "template", "language"]
    search_fields = ["to", "subject", "=reference"]
    date_hierarchy = "created_at"
    fields = [
        "to",
        "from_email",
        "reply_to",
        "subject",
        "marketplace",
        "reference",
        "template",
        "language",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
        "body",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("message"))
    def body(self, obj):
        # urlize escapes the text (autoescape) and turns the links into anchors.
        body = mark_safe(urlize(obj.body_text, autoescape=True))
        return format_html(
            '<div class="halles-mail-body" style="white-space: pre-wrap">{}</div>', body
        )


# --- The marketplace's own versions of the e-mails ----------------------------------------------

_CODE = {"style": "font-family: monospace; width: 100%", "spellcheck": "false"}


class EmailTemplateOverrideForm(forms.ModelForm):
    template = forms.ChoiceField(label=_("e-mail"))

    class Meta:
        model = EmailTemplateOverride
        fields = ["marketplace", "template", "language", "subject", "body_text", "body_html"]
        widgets = {
            "subject": forms.Textarea(attrs={"rows": 3, **_CODE}),
            "body_text": forms.Textarea(attrs={"rows": 18, **_CODE}),
            "body_html": forms.Textarea(attrs={"rows": 18, **_CODE}),
        }
        help_texts = {
            "subject": _(
                "Django template language; the marketplace's name is added in front. "
                "{% load i18n halles %} is available."
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "template" in self.fields:
            self.fields["template"].choices = [("", "---------")] + [
                (name, name) for name in known_templates()
            ]


@admin.register(EmailTemplateOverride)
class EmailTemplateOverrideAdmin(MarketplaceScopedAdmin):
    """An operator writes their marketplace's version of an e-mail in one language, starting
    from the default texts, and previews it with the marketplace's latest order."""

    form = EmailTemplateOverrideForm
    change_form_template = "notifications/admin/override_change_form.html"
    list_display = ["template", "language", "marketplace", "updated_at", "updated_by", "preview"]
    list_filter = ["marketplace", "language", "template"]
    search_fields = ["template", "subject"]
    readonly_fields = ["updated_at", "updated_by"]

    def get_fields(self, request, obj=None):
        return [
            "marketplace",
            "template",
            "language",
            "subject",
            "body_text",
            "body_html",
            "updated_at",
            "updated_by",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:  # an override stays the version of one e-mail in one language
            return ["marketplace", "template", "language", *self.readonly_fields]
        return self.readonly_fields

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("preview/", view(self.preview_view), name=f"{prefix}_preview"),
            path(
                "<int:object_id>/preview/",
                view(self.preview_view),
                name=f"{prefix}_preview_saved",
            ),
            *super().get_urls(),
        ]

    @admin.display(description=_("preview"))
    def preview(self, obj):
        url = reverse("admin:notifications_emailtemplateoverride_preview_saved", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Preview"))

    def save_model(self, request, obj, form, change):
        try:
            template_override_save(override=obj, actor=request.user)
        except DomainError as error:
            raise PermissionDenied(str(error.message)) from error

    # "Start from the default": the button posts the form with `_default`; we come back to
    # the form (GET, `?_default=1`) with the default texts of the chosen e-mail filled in.

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and "_default" in request.POST:
            return self._load_default(request, object_id)
        if object_id is None:
            preview_url = reverse("admin:notifications_emailtemplateoverride_preview")
        else:
            preview_url = reverse(
                "admin:notifications_emailtemplateoverride_preview_saved", args=[object_id]
            )
        extra_context = {**(extra_context or {}), "preview_url": preview_url}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _load_default(self, request, object_id):
        if object_id is not None:
            url = reverse("admin:notifications_emailtemplateoverride_change", args=[object_id])
            return redirect(f"{url}?_default=1")
        params = {key: request.POST.get(key, "") for key in ("marketplace", "template", "language")}
        url = reverse("admin:notifications_emailtemplateoverride_add")
        if params["template"] not in known_templates():
            messages.error(request, _("Choose the e-mail first."))
            params.pop("template")
        else:
            params["_default"] = "1"
        return redirect(f"{url}?{urlencode({k: v for k, v in params.items() if v})}")

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.pop("_default", None)
        template = request.GET.get("template")
        if "_default" in request.GET and template in known_templates():
            initial.update(vars(file_sources(template)))
            messages.info(request, _("The default texts are filled in: edit them, then save."))
        return initial

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if (
            obj is not None
            and request.method == "GET"
            and "_default" in request.GET
            and obj.template in known_templates()
        ):
            for part, source in vars(file_sources(obj.template)).items():
                setattr(obj, part, source)
            messages.info(
                request, _("The default texts are filled in: edit them, then save to keep them.")
            )
        return obj

    # The preview: a saved version (`<id>/preview/`), the default or the saved version of
    # (marketplace, e-mail, language) (GET `preview/?marketplace=&template=&language=`), or
    # the form's unsaved texts (the form's Preview button posts them to `preview/`).

    def preview_view(self, request, object_id=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else request.GET
        if object_id is not None:
            override = get_object_or_404(self.get_queryset(request), pk=object_id)
            marketplace, template, language = (
                override.marketplace,
                override.template,
                override.language,
            )
            saved = override
        else:
            marketplace = (
                self._operated_marketplaces(request)
                .filter(pk=data.get("marketplace") or None)
                .first()
            )
            template = data.get("template", "")
            language = data.get("language") or get_language()
            if marketplace is None or template not in known_templates():
                return self._preview_response(
                    request, error=_("Choose a marketplace and an e-mail to preview.")
                )
            saved = (
                self.get_queryset(request)
                .filter(marketplace=marketplace, template=template, language=language)
                .first()
            )
        if request.method == "POST":  # the form's texts, not saved (all empty: the default)
            posted = {part: data.get(part, "") for part in PARTS}
            sources = Sources(**posted) if any(v.strip() for v in posted.values()) else None
        else:
            sources = Sources.of(saved) if saved is not None else None
        return self._render_preview(request, marketplace, template, language, sources)

    def _render_preview(self, request, marketplace, template, language, sources):
        context = {"marketplace": marketplace, "template": template, "language": language}
        context["is_default"] = sources is None
        try:
            context["rendered"] = email_preview(
                template=template, language=language, marketplace=marketplace, sources=sources
            )
        except NoPreviewSample as error:
            context["error"] = error.message
        except Exception as error:  # the operator's template: show why it fails
            context["error"] = _("This version cannot be rendered: %(error)s") % {"error": error}
        return self._preview_response(request, **context)

    def _preview_response(self, request, **context):
        return TemplateResponse(
            request,
            "notifications/admin/preview.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": _("Preview of an e-mail"),
                "languages": settings.LANGUAGES,
                **context,
            },
        )

    def _operated_marketplaces(self, request):
        model = self.opts.get_field("marketplace").related_model
        if request.user.is_superuser:
            return model.objects.all()
        return model.objects.filter(operators=request.user)
