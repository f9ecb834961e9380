"""Shops (sellers), their onboarding (application, KYC, plan), staff and delivery modes."""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PlanKind(models.TextChoices):
    LISTING = "listing", _("Listing only (shop page, no selling)")
    SUBSCRIPTION = "subscription", _("Subscription")
    COMMISSION = "commission", _("Commission only")
    SUBSCRIPTION_COMMISSION = "subscription_commission", _("Subscription and commission")


class Plan(models.Model):
    """What a shop pays the operator and whether it may sell. Per marketplace."""

    marketplace = models.ForeignKey(
        "marketplaces.Marketplace",
        on_delete=models.CASCADE,
        related_name="plans",
        verbose_name=_("marketplace"),
    )
    code = models.SlugField(_("code"), max_length=50)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=30, choices=PlanKind.choices)
    description = models.TextField(_("description"), blank=True)
    monthly_fee_cents = models.PositiveIntegerField(_("monthly fee (cents)"), default=0)
    commission_rate = models.DecimalField(
        _("commission rate (%)"), max_digits=5, decimal_places=2, default=0
    )
    commission_fixed_cents = models.PositiveIntegerField(
        _("fixed commission per order (cents)"), default=0
    )
    is_active = models.BooleanField(_("offered to new sellers"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["marketplace", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["marketplace", "code"], name="plan_code_unique"),
            models.CheckConstraint(
                condition=models.Q(commission_rate__gte=0, commission_rate__lte=100),
                name="plan_commission_rate_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def allows_selling(self) -> bool:
        return self.kind != PlanKind.LISTING


class LegalForm(models.TextChoices):
    EI = "EI", _("Sole trader (EI)")
    MICRO = "MICRO", _("Micro-enterprise")
    EURL = "EURL", "EURL"
    SARL = "SARL", "SARL"
    SAS = "SAS", "SAS"
    SASU = "SASU", "SASU"
    SA = "SA", "SA"
    SCOP = "SCOP", "SCOP"
    ASSOCIATION = "ASSO", _("Association")
    OTHER = "OTHER", _("Other")


class ShopStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    CLOSED = "closed", _("Closed")


class ReturnShippingPayer(models.TextChoices):
    BUYER = "buyer", _("The buyer pays the return shipping")
    SHOP = "shop", _("The shop pays the return shipping")


class Shop(models.Model):
    marketplace = models.ForeignKey(
        "marketplaces.Marketplace",
        on_delete=models.PROTECT,
        related_name="shops",
        verbose_name=_("marketplace"),
    )
    slug = models.SlugField(_("address (slug)"), max_length=60)
    name = models.CharField(_("shop name"), max_length=120)
    status = models.CharField(
        _("status"), max_length=10, choices=ShopStatus.choices, default=ShopStatus.PENDING
    )
    status_reason = models.TextField(_("reason for the status"), blank=True)
    suspended_automatically = models.BooleanField(_("suspended automatically"), default=False)
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, related_name="shops", verbose_name=_("plan")
    )

    # The declared business (shown on invoices).
    legal_name = models.CharField(_("legal name"), max_length=200)
    legal_form = models.CharField(_("legal form"), max_length=10, choices=LegalForm.choices)
    share_capital_cents = models.PositiveBigIntegerField(
        _("share capital (cents)"), null=True, blank=True
    )
    siren = models.CharField(_("SIREN"), max_length=9)
    siret = models.CharField(_("SIRET"), max_length=14)
    vat_number = models.CharField(_("VAT number"), max_length=20, blank=True)
    rcs = models.CharField(
        _("RCS registration"), max_length=100, blank=True, help_text=_("e.g. RCS Lyon 123 456 789")
    )
    address_line1 = models.CharField(_("registered address"), max_length=200)
    address_line2 = models.CharField(_("address (continued)"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=20)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=2, default="FR")
    contact_name = models.CharField(_("contact person"), max_length=200)
    contact_email = models.EmailField(_("contact e-mail"))
    contact_phone = models.CharField(_("contact phone"), max_length=30)
    activity = models.TextField(_("activity"), help_text=_("What the shop sells."))
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)

    # Public profile.
    description = models.TextField(_("description"), blank=True)
    logo = models.ImageField(_("logo"), upload_to="shops/logos/", blank=True)
    public_email = models.EmailField(_("public e-mail"), blank=True)
    public_phone = models.CharField(_("public phone"), max_length=30, blank=True)
    return_policy = models.TextField(_("return policy"), blank=True)
    return_shipping_paid_by = models.CharField(
        _("return shipping"),
        max_length=10,
        choices=ReturnShippingPayer.choices,
        default=ReturnShippingPayer.BUYER,
    )
    accepts_card = models.BooleanField(_("card payment"), default=True)
    accepts_bank_transfer = models.BooleanField(_("bank transfer"), default=False)
    accepts_pay_in_store = models.BooleanField(_("payment in store"), default=False)

    created_at = models.DateTimeField(_("created"), default=timezone.now)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["marketplace", "slug"], name="shop_slug_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == ShopStatus.ACTIVE

    @property
    def can_sell(self) -> bool:
        return self.is_active and self.plan.allows_selling


class ApplicationStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class SellerApplication(models.Model):
    """The review record of a shop's onboarding; the details it reviews are on the shop."""

    shop = models.OneToOneField(
        Shop, on_delete=models.CASCADE, related_name="application", verbose_name=_("shop")
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="seller_applications",
        verbose_name=_("applicant"),
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ApplicationStatus.choices,
        default=ApplicationStatus.PENDING,
    )
    reason = models.TextField(_("reason"), blank=True)
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)
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
        verbose_name = _("seller application")
        verbose_name_plural = _("seller applications")
        ordering = ["-submitted_at"]

    def __str__(self) -> str:
        return f"{self.shop} ({self.get_status_display()})"


class KycKind(models.TextChoices):
    IDENTITY = "identity", _("Identity document of the legal representative")
    REGISTRATION = "registration", _("Company registration extract (Kbis, less than 3 months)")
    BANK = "bank", _("Bank details (RIB)")


class KycStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    ACCEPTED = "accepted", _("Accepted")
    REFUSED = "refused", _("Refused")


class KycDocument(models.Model):
    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="kyc_documents", verbose_name=_("shop")
    )
    kind = models.CharField(_("document"), max_length=20, choices=KycKind.choices)
    file = models.FileField(_("file"), upload_to="kyc/%Y/%m/")
    status = models.CharField(
        _("status"), max_length=10, choices=KycStatus.choices, default=KycStatus.PENDING
    )
    reason = models.TextField(_("reason for refusal"), blank=True)
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )

    class Meta:
        verbose_name = _("KYC document")
        verbose_name_plural = _("KYC documents")
        ordering = ["shop", "kind", "-uploaded_at"]

    def __str__(self) -> str:
        return f"{self.shop}: {self.get_kind_display()} ({self.get_status_display()})"


class StaffRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    STAFF = "staff", _("Team member")


class ShopStaff(models.Model):
    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="staff", verbose_name=_("shop")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="shop_roles",
        verbose_name=_("user"),
    )
    role = models.CharField(
        _("role"), max_length=10, choices=StaffRole.choices, default=StaffRole.STAFF
    )
    added_at = models.DateTimeField(_("added"), default=timezone.now)

    class Meta:
        verbose_name = _("shop staff member")
        verbose_name_plural = _("shop staff")
        constraints = [models.UniqueConstraint(fields=["shop", "user"], name="staff_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.shop}"


def _invitation_token() -> str:
    return secrets.token_urlsafe(32)


class StaffInvitation(models.Model):
    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("shop")
    )
    email = models.EmailField(_("e-mail address"))
    token = models.CharField(max_length=64, unique=True, default=_invitation_token)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("invited by"),
    )
    created_at = models.DateTimeField(_("sent"), default=timezone.now)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)

    class Meta:
        verbose_name = _("staff invitation")
        verbose_name_plural = _("staff invitations")

    def __str__(self) -> str:
        return f"{self.email} -> {self.shop}"


class OpeningHours(models.Model):
    """One opening period of a weekday (a shop closed at lunch has two)."""

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="opening_hours", verbose_name=_("shop")
    )
    weekday = models.PositiveSmallIntegerField(
        _("day"),
        choices=[
            (0, _("Monday")),
            (1, _("Tuesday")),
            (2, _("Wednesday")),
            (3, _("Thursday")),
            (4, _("Friday")),
            (5, _("Saturday")),
            (6, _("Sunday")),
        ],
    )
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        ordering = ["weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes__gt=models.F("opens")), name="hours_close_after_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class Closure(models.Model):
    """An exceptional closure (holidays, inventory...)."""

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="closures", verbose_name=_("shop")
    )
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("to (included)"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("exceptional closure")
        verbose_name_plural = _("exceptional closures")
        ordering = ["start_date"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")),
                name="closure_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.start_date} - {self.end_date}"


class DeliveryKind(models.TextChoices):
    HOME = "home", _("Home delivery")
    RELAY = "relay", _("Relay point")
    CLICK_COLLECT = "click_collect", _("Click and collect")


class DeliveryMode(models.Model):
    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="delivery_modes", verbose_name=_("shop")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=DeliveryKind.choices)
    name = models.CharField(_("name shown to buyers"), max_length=100)
    carrier = models.CharField(_("carrier"), max_length=100, blank=True)
    fee_cents = models.PositiveIntegerField(_("fee (cents, VAT included)"), default=0)
    free_above_cents = models.PositiveIntegerField(
        _("free from (cents)"),
        null=True,
        blank=True,
        help_text=_("Free when the shop's basket reaches this amount."),
    )
    lead_time_days = models.PositiveSmallIntegerField(_("lead time (business days)"), default=2)
    pickup_address = models.TextField(_("pick-up address"), blank=True)
    relay_network = models.ForeignKey(
        "shipping.Carrier",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("relay-point network"),
        help_text=_("Buyers choose one of this carrier's relay points."),
    )
    uses_slots = models.BooleanField(_("pick-up slots"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("delivery mode")
        verbose_name_plural = _("delivery modes")
        ordering = ["shop", "kind", "id"]

    def __str__(self) -> str:
        return self.name

    def fee_for(self, basket_cents: int) -> int:
        if self.free_above_cents is not None and basket_cents >= self.free_above_cents:
            return 0
        return self.fee_cents


class PickupSlot(models.Model):
    delivery_mode = models.ForeignKey(
        DeliveryMode,
        on_delete=models.CASCADE,
        related_name="slots",
        verbose_name=_("delivery mode"),
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    capacity = models.PositiveSmallIntegerField(_("capacity (orders)"))
    booked = models.PositiveSmallIntegerField(_("booked"), default=0)

    class Meta:
        verbose_name = _("pick-up slot")
        verbose_name_plural = _("pick-up slots")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="slot_end_after_start"
            ),
            models.CheckConstraint(
                condition=models.Q(booked__lte=models.F("capacity")), name="slot_not_overbooked"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M} ({self.booked}/{self.capacity})"


class ShopEvent(models.Model):
    """The history of a shop's status: who changed it, when, from what to what, and why."""

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="events", verbose_name=_("shop")
    )
    action = models.CharField(_("action"), max_length=30)
    from_status = models.CharField(_("from"), max_length=10, choices=ShopStatus.choices)
    to_status = models.CharField(_("to"), max_length=10, choices=ShopStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    reason = models.TextField(_("reason"), blank=True)
    automatic = models.BooleanField(_("automatic"), default=False)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("shop event")
        verbose_name_plural = _("shop events")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.shop}: {self.from_status} -> {self.to_status}"
