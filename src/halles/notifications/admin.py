from django.contrib import admin
from django.utils.html import format_html, urlize
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from halles.core.admin import MarketplaceScopedAdmin

from .models import Email


@admin.register(Email)
class EmailAdmin(MarketplaceScopedAdmin):
    """The e-mails sent (and queued): an operator can read them and follow their links."""

    list_display = ["created_at", "to", "subject", "marketplace", "language", "status", "sent_at"]
    list_filter = ["status", "marketplace", "template", "language"]
    search_fields = ["to", "subject"]
    date_hierarchy = "created_at"
    fields = [
        "to",
        "from_email",
        "reply_to",
        "subject",
        "marketplace",
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
