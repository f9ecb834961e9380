"""Payments: what Halles asked a provider to do with the buyer's money, and what came back.

`Payment` is one authorisation (one per checkout attempt); `PaymentOperation` is each
movement on it (authorise, capture, void, refund), the rows the ledger will post;
`WebhookEvent` de-duplicates provider callbacks. The sandbox provider keeps its own side
(what a real provider keeps on its servers) in `SandboxIntent` and `SandboxWebhook`.

Payments knows orders only by their reference string (imports go orders -> payments).
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PaymentStatus(models.TextChoices):
    CREATED = "created", _("Waiting for the buyer")
    REQUIRES_ACTION = "requires_action", _("Waiting for the buyer's confirmation")
    AUTHORISED = "authorised", _("Authorised")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Cancelled")


class Payment(models.Model):
    marketplace = models.ForeignKey(
        "marketplaces.Marketplace",
        on_delete=models.PROTECT,
        related_name="payments",
        verbose_name=_("marketplace"),
    )
    provider = models.CharField(_("provider"), max_length=20)
    # NULL until the provider knows it: unique (provider, reference) ignores NULLs.
    provider_reference = models.CharField(  # noqa: DJ001
        _("provider's reference"), max_length=100, null=True, blank=True
    )
    reference = models.CharField(_("order reference"), max_length=40, db_index=True)
    payer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="payments",
        verbose_name=_("payer"),
    )
    method = models.CharField(_("method"), max_length=20, default="card")
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    amount_cents = models.PositiveIntegerField(_("amount (cents)"))
    captured_cents = models.PositiveIntegerField(_("captured (cents)"), default=0)
    voided_cents = models.PositiveIntegerField(_("released (cents)"), default=0)
    refunded_cents = models.PositiveIntegerField(_("refunded (cents)"), default=0)
    status = models.CharField(
        _("status"), max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.CREATED
    )
    failure_code = models.CharField(_("failure code"), max_length=40, blank=True)
    failure_message = models.CharField(_("failure"), max_length=255, blank=True)
    redirect_url = models.CharField(_("payment page"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    authorised_at = models.DateTimeField(_("authorised"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_reference"], name="payment_provider_reference"
            ),
            models.CheckConstraint(
                condition=Q(
                    captured_cents__lte=F("amount_cents") - F("voided_cents"),
                ),
                name="payment_capture_within_authorisation",
            ),
            models.CheckConstraint(
                condition=Q(refunded_cents__lte=F("captured_cents")),
                name="payment_refund_within_capture",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.provider})"

    @property
    def open_cents(self) -> int:
        """Authorised, neither captured nor released yet."""
        if self.status != PaymentStatus.AUTHORISED:
            return 0
        return self.amount_cents - self.captured_cents - self.voided_cents


class OperationKind(models.TextChoices):
    AUTHORISE = "authorise", _("Authorisation")
    CAPTURE = "capture", _("Capture")
    VOID = "void", _("Release")
    REFUND = "refund", _("Refund")


class OperationStatus(models.TextChoices):
    PENDING = "pending", _("In progress")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class PaymentOperation(models.Model):
    """One money movement asked of the provider. `idempotency_key` is sent to the provider
    and unique here: asking twice for the same movement moves the money once."""

    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="operations", verbose_name=_("payment")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=OperationKind.choices)
    amount_cents = models.PositiveIntegerField(_("amount (cents)"))
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=OperationStatus.choices,
        default=OperationStatus.PENDING,
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, unique=True)
    reference = models.CharField(
        _("for"), max_length=40, blank=True, help_text=_("The shop order it concerns.")
    )
    provider_reference = models.CharField(_("provider's reference"), max_length=100, blank=True)
    error_code = models.CharField(_("error code"), max_length=40, blank=True)
    error_message = models.CharField(_("error"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment operation")
        verbose_name_plural = _("payment operations")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount_cents} ({self.get_status_display()})"


class WebhookEvent(models.Model):
    """A provider callback, stored once: the unique (provider, event id) makes replays
    harmless."""

    provider = models.CharField(_("provider"), max_length=20)
    event_id = models.CharField(_("event id"), max_length=100)
    event_type = models.CharField(_("type"), max_length=60)
    provider_reference = models.CharField(_("provider's payment"), max_length=100, blank=True)
    payload = models.JSONField(_("payload"), default=dict)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    times_received = models.PositiveIntegerField(_("times received"), default=1)

    class Meta:
        verbose_name = _("provider callback")
        verbose_name_plural = _("provider callbacks")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.event_id}"


# --- The sandbox provider's own side -------------------------------------------------------


def _intent_id() -> str:
    return "sbx_pi_" + secrets.token_hex(12)


class SandboxIntent(models.Model):
    """What the sandbox provider knows of a payment (a real provider keeps this on its
    servers): the card outcome, the amounts it authorised, captured, released, refunded."""

    id = models.CharField(primary_key=True, max_length=40, default=_intent_id, editable=False)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=200, blank=True)
    return_url = models.CharField(max_length=500)
    status = models.CharField(max_length=20, default=PaymentStatus.CREATED)
    card_last4 = models.CharField(max_length=4, blank=True)
    card_behaviour = models.CharField(max_length=30, blank=True)
    failure_code = models.CharField(max_length=40, blank=True)
    captured_cents = models.PositiveIntegerField(default=0)
    voided_cents = models.PositiveIntegerField(default=0)
    refunded_cents = models.PositiveIntegerField(default=0)
    idempotency_keys = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("sandbox payment")
        verbose_name_plural = _("sandbox payments")

    def __str__(self) -> str:
        return self.id


class SandboxWebhook(models.Model):
    """A callback the sandbox owes Halles, sent over HTTP by a task (its outbox)."""

    event_id = models.CharField(max_length=40, unique=True)
    intent = models.ForeignKey(SandboxIntent, on_delete=models.CASCADE, related_name="webhooks")
    event_type = models.CharField(max_length=60)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("sandbox callback")
        verbose_name_plural = _("sandbox callbacks")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"
