"""Marketplaces (tenants), their policy and who may buy or sell on them."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MarketplaceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open")
    CLOSING = "closing", _("Closing")
    CLOSED = "closed", _("Closed")


class RegistrationMode(models.TextChoices):
    OPEN = "open", _("Open: buyers can order as soon as their e-mail is confirmed")
    APPROVAL = "approval", _("Approval: an operator approves each buyer")


LANGUAGE_CHOICES = [("fr", _("French")), ("en", _("English"))]


class Marketplace(models.Model):
    # Identity
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=120)
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default="EUR",
        validators=[RegexValidator(r"^[A-Z]{3}$", _("Use an ISO 4217 code such as EUR."))],
    )
    country = models.CharField(
        _("country"),
        max_length=2,
        default="FR",
        help_text=_("ISO 3166 code; its public holidays define business days."),
        validators=[RegexValidator(r"^[A-Z]{2}$", _("Use an ISO 3166 code such as FR."))],
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Paris")
    default_language = models.CharField(
        _("default language"), max_length=5, choices=LANGUAGE_CHOICES, default="fr"
    )
    contact_email = models.EmailField(_("contact e-mail"))
    is_default = models.BooleanField(
        _("served at the site root"),
        default=False,
        help_text=_("This marketplace is also served at / (one marketplace at most)."),
    )
    operators = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="operated_marketplaces",
        verbose_name=_("operators"),
        help_text=_("Operator staff who run this marketplace in the back-office."),
    )

    # Branding
    tagline = models.CharField(_("tagline"), max_length=200, blank=True)
    description = models.TextField(_("home page text"), blank=True)
    primary_color = models.CharField(
        _("primary colour"),
        max_length=7,
        default="#1f6f5c",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a colour such as #1f6f5c."))],
    )
    logo = models.ImageField(_("logo"), upload_to="marketplaces/logos/", blank=True)

    # Policy
    registration_mode = models.CharField(
        _("buyer registration"),
        max_length=10,
        choices=RegistrationMode.choices,
        default=RegistrationMode.OPEN,
    )
    buyers_are_organisations = models.BooleanField(
        _("B2B: buyers are organisations"),
        default=False,
        help_text=_("Buyers give their organisation and business sector when they sign up."),
    )
    acceptance_deadline_business_days = models.PositiveSmallIntegerField(
        _("acceptance deadline (business days)"), default=5, validators=[MinValueValidator(1)]
    )
    suspend_shop_on_missed_acceptance = models.BooleanField(
        _("suspend a shop that lets an order expire"), default=True
    )
    payment_deadline_days = models.PositiveSmallIntegerField(
        _("payment deadline (days after the order)"), default=7, validators=[MinValueValidator(1)]
    )
    auto_receive_days = models.PositiveSmallIntegerField(
        _("automatic receipt (days after shipping)"), default=15, validators=[MinValueValidator(1)]
    )
    withdrawal_days = models.PositiveSmallIntegerField(
        _("withdrawal period (days after receipt)"), default=14, validators=[MinValueValidator(0)]
    )
    reply_sla_business_hours = models.PositiveSmallIntegerField(
        _("seller reply deadline (business hours)"), default=48, validators=[MinValueValidator(1)]
    )
    escalation_business_hours = models.PositiveSmallIntegerField(
        _("escalation to an incident (business hours)"),
        default=72,
        validators=[MinValueValidator(1)],
    )
    opening_threshold = models.PositiveIntegerField(
        _("opening threshold (shops)"),
        default=0,
        help_text=_(
            "Orders are taken once this many shops hold a plan that allows selling (0: no "
            "threshold)."
        ),
    )
    order_cutoff_at = models.DateTimeField(
        _("last order date"),
        null=True,
        blank=True,
        help_text=_("No new orders from this moment (set when closing)."),
    )
    service_end_at = models.DateTimeField(
        _("service end date"),
        null=True,
        blank=True,
        help_text=_("Payments, incidents and documents are served until this moment."),
    )

    # Lifecycle
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=MarketplaceStatus.choices,
        default=MarketplaceStatus.DRAFT,
        editable=False,
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("marketplace")
        verbose_name_plural = _("marketplaces")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="one_default_marketplace",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    escalation_business_hours__gt=models.F("reply_sla_business_hours")
                ),
                name="escalation_after_reply_sla",
            ),
            models.CheckConstraint(
                condition=models.Q(service_end_at__isnull=True)
                | models.Q(order_cutoff_at__isnull=True)
                | models.Q(service_end_at__gte=models.F("order_cutoff_at")),
                name="service_end_after_cutoff",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        errors = {}
        if (
            self.escalation_business_hours is not None
            and self.reply_sla_business_hours is not None
            and self.escalation_business_hours <= self.reply_sla_business_hours
        ):
            errors["escalation_business_hours"] = _(
                "Escalation must come after the seller's reply deadline."
            )
        if (
            self.order_cutoff_at
            and self.service_end_at
            and self.service_end_at < self.order_cutoff_at
        ):
            errors["service_end_at"] = _("The service end date must follow the last order date.")
        try:
            import zoneinfo

            zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors["time_zone"] = _("Unknown time zone.")
        if errors:
            raise ValidationError(errors)

    @property
    def is_public(self) -> bool:
        return self.status != MarketplaceStatus.DRAFT

    def takes_orders(self, at=None) -> bool:
        """Open, and before the last order date. (Shop thresholds come with the catalog.)"""
        at = at or timezone.now()
        if self.status != MarketplaceStatus.OPEN:
            return False
        return self.order_cutoff_at is None or at < self.order_cutoff_at

    @property
    def calendar(self):
        from halles.core.calendar import calendar_for

        return calendar_for(self.country, self.time_zone)


class MembershipRole(models.TextChoices):
    BUYER = "buyer", _("Buyer")
    SELLER = "seller", _("Seller")


class MembershipStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Membership(models.Model):
    """A user's access to one marketplace as a buyer or as a seller, and its approval."""

    marketplace = models.ForeignKey(
        Marketplace,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("marketplace"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
    )
    role = models.CharField(_("role"), max_length=10, choices=MembershipRole.choices)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=MembershipStatus.choices,
        default=MembershipStatus.PENDING,
    )
    reason = models.TextField(_("reason given"), blank=True)
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["marketplace", "user", "role"], name="one_membership_per_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.marketplace} ({self.get_role_display()})"


class MarketplaceEvent(models.Model):
    """The history of a marketplace's lifecycle: who changed it, when, from what to what."""

    marketplace = models.ForeignKey(
        Marketplace, on_delete=models.CASCADE, related_name="events", verbose_name=_("marketplace")
    )
    action = models.CharField(_("action"), max_length=30)
    from_status = models.CharField(_("from"), max_length=10, choices=MarketplaceStatus.choices)
    to_status = models.CharField(_("to"), max_length=10, choices=MarketplaceStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("marketplace event")
        verbose_name_plural = _("marketplace events")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.marketplace}: {self.from_status} -> {self.to_status}"
