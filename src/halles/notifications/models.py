"""Notifications: the e-mail outbox (every e-mail is a row written in the transaction that
causes it), the in-app notices that go with it, and the e-mail templates an operator edits
per marketplace."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EmailStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Email(models.Model):
    marketplace = models.ForeignKey(
        "marketplaces.Marketplace",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="emails",
        verbose_name=_("marketplace"),
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="emails",
        verbose_name=_("recipient"),
    )
    to = models.EmailField(_("to"))
    from_email = models.CharField(_("from"), max_length=254)
    reply_to = models.EmailField(_("reply to"), blank=True)
    template = models.CharField(_("template"), max_length=100)
    language = models.CharField(_("language"), max_length=5)
    # What the e-mail is about, for the log per order: a shop order's or an order's reference.
    reference = models.CharField(_("reference"), max_length=40, blank=True, db_index=True)
    subject = models.CharField(_("subject"), max_length=255)
    body_text = models.TextField(_("text"))
    body_html = models.TextField(_("HTML"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=EmailStatus.choices, default=EmailStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("e-mail")
        verbose_name_plural = _("e-mails")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.to}: {self.subject}"


class Notice(models.Model):
    """One entry of a user's in-app notification centre on one marketplace."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notices",
        verbose_name=_("user"),
    )
    marketplace = models.ForeignKey(
        "marketplaces.Marketplace",
        on_delete=models.CASCADE,
        related_name="notices",
        verbose_name=_("marketplace"),
    )
    title = models.CharField(_("title"), max_length=255)
    body = models.CharField(_("text"), max_length=300, blank=True)
    link = models.CharField(_("link"), max_length=500, blank=True)
    reference = models.CharField(_("reference"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notice_user_read_idx")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class EmailTemplateOverride(models.Model):
    """An operator's version of one e-mail (`emails/<template>.*`) for one marketplace and
    one language. The three texts are Django templates rendered with the e-mail's context;
    `halles.notifications.rendering` checks them (`check_sources`) and renders them."""

    marketplace = models.ForeignKey(
        "marketplaces.Marketplace",
        on_delete=models.CASCADE,
        related_name="email_templates",
        verbose_name=_("marketplace"),
    )
    template = models.CharField(_("e-mail"), max_length=100)
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES)
    subject = models.TextField(_("subject"))
    body_text = models.TextField(_("text"))
    body_html = models.TextField(_("HTML"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )

    class Meta:
        verbose_name = _("e-mail template")
        verbose_name_plural = _("e-mail templates")
        ordering = ["marketplace", "template", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["marketplace", "template", "language"],
                name="email_template_override_unique",
                violation_error_message=_(
                    "This marketplace already has its own version of this e-mail in this "
                    "language: edit that one."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.template} ({self.language})"

    def clean(self):
        from .rendering import check_override

        check_override(self)
