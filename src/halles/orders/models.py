"""Orders: what a buyer paid once (`Order`) split into what each shop handles (`ShopOrder`),
their lines and their history (`OrderEvent`). Everything a buyer agreed to is frozen here at
checkout: titles, prices, VAT rates, delivery mode and fees, addresses.

State codes follow Mirakl's; the transitions are in `workflow.py`.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class OrderStatus(models.TextChoices):
    """The commercial order: has the buyer's payment been authorised?"""

    PAYMENT_PENDING = "payment_pending", _("Waiting for payment")
    PLACED = "placed", _("Placed")
    ABANDONED = "abandoned", _("Payment not completed")


class Order(models.Model):
    marketplace = models.ForeignKey(
        "marketplaces.Marketplace",
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("marketplace"),
    )
    reference = models.CharField(_("reference"), max_length=30, unique=True)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("buyer"),
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=OrderStatus.choices,
        default=OrderStatus.PAYMENT_PENDING,
    )
    checkout_token = models.CharField(_("checkout token"), max_length=64, unique=True)
    cart_id = models.PositiveIntegerField(_("cart"), null=True, blank=True)
    payment = models.ForeignKey(
        "payments.Payment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("payment"),
    )
    payment_method = models.CharField(_("payment method"), max_length=20, default="card")
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    total_cents = models.PositiveIntegerField(_("total (cents, VAT included)"))
    operator_coupon_code = models.CharField(_("marketplace coupon"), max_length=40, blank=True)
    # Buyer's details, frozen at checkout.
    email = models.EmailField(_("e-mail"))
    billing_name = models.CharField(_("billing name"), max_length=200)
    billing_company = models.CharField(_("company"), max_length=200, blank=True)
    billing_line1 = models.CharField(_("billing address"), max_length=200)
    billing_line2 = models.CharField(_("billing address (continued)"), max_length=200, blank=True)
    billing_postcode = models.CharField(_("billing postcode"), max_length=20)
    billing_city = models.CharField(_("billing city"), max_length=100)
    billing_country = models.CharField(_("billing country"), max_length=2)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    fraud_score = models.PositiveSmallIntegerField(_("fraud score"), null=True, blank=True)
    fraud_reasons = models.JSONField(_("fraud signals"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    placed_at = models.DateTimeField(_("placed"), null=True, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["buyer", "-created_at"])]

    def __str__(self) -> str:
        return self.reference


class State(models.TextChoices):
    """A shop order's state, and its lines' (Mirakl's codes)."""

    STAGING = "STAGING", _("Fraud check")
    WAITING_ACCEPTANCE = "WAITING_ACCEPTANCE", _("Waiting for the seller")
    WAITING_DEBIT = "WAITING_DEBIT", _("Payment to collect")
    WAITING_DEBIT_PAYMENT = "WAITING_DEBIT_PAYMENT", _("Payment in progress")
    SHIPPING = "SHIPPING", _("Being prepared")
    TO_COLLECT = "TO_COLLECT", _("Ready for pick-up")
    SHIPPED = "SHIPPED", _("Shipped")
    RECEIVED = "RECEIVED", _("Received")
    CLOSED = "CLOSED", pgettext_lazy("order state", "Closed")
    REFUSED = "REFUSED", pgettext_lazy("order state", "Refused")
    CANCELED = "CANCELED", _("Cancelled")


FINAL_STATES = (State.CLOSED, State.REFUSED, State.CANCELED)
# From SHIPPING on, the seller sees the customer's name, address and phone.
ACCEPTED_STATES = (
    State.WAITING_DEBIT,
    State.WAITING_DEBIT_PAYMENT,
    State.SHIPPING,
    State.TO_COLLECT,
    State.SHIPPED,
    State.RECEIVED,
    State.CLOSED,
)


def _alias_token() -> str:
    return secrets.token_hex(6)


class ShopOrder(models.Model):
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="shop_orders", verbose_name=_("order")
    )
    marketplace = models.ForeignKey(
        "marketplaces.Marketplace",
        on_delete=models.PROTECT,
        related_name="shop_orders",
        verbose_name=_("marketplace"),
    )
    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.PROTECT, related_name="orders", verbose_name=_("shop")
    )
    reference = models.CharField(_("reference"), max_length=40, unique=True)
    state = models.CharField(
        _("state"), max_length=25, choices=State.choices, default=State.STAGING
    )
    # Delivery, frozen at checkout.
    delivery_mode = models.ForeignKey(
        "shops.DeliveryMode",
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("delivery mode"),
    )
    delivery_kind = models.CharField(_("delivery"), max_length=20)
    delivery_name = models.CharField(_("delivery mode"), max_length=100)
    carrier = models.CharField(_("carrier"), max_length=100, blank=True)
    lead_time_days = models.PositiveSmallIntegerField(_("lead time (business days)"), default=0)
    pickup_address = models.TextField(_("pick-up address"), blank=True)
    pickup_slot = models.ForeignKey(
        "shops.PickupSlot",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("pick-up slot"),
    )
    pickup_slot_label = models.CharField(_("pick-up slot"), max_length=100, blank=True)
    relay_point = models.CharField(_("relay point"), max_length=255, blank=True)
    shipping_name = models.CharField(_("ship to"), max_length=200, blank=True)
    shipping_company = models.CharField(_("company"), max_length=200, blank=True)
    shipping_line1 = models.CharField(_("shipping address"), max_length=200, blank=True)
    shipping_line2 = models.CharField(_("shipping address (continued)"), max_length=200, blank=True)
    shipping_postcode = models.CharField(_("shipping postcode"), max_length=20, blank=True)
    shipping_city = models.CharField(_("shipping city"), max_length=100, blank=True)
    shipping_country = models.CharField(_("shipping country"), max_length=2, blank=True)
    shipping_phone = models.CharField(_("phone"), max_length=30, blank=True)
    # Amounts in cents, VAT included, frozen at checkout.
    lines_cents = models.PositiveIntegerField(_("items"))
    shipping_cents = models.PositiveIntegerField(_("delivery"), default=0)
    shipping_vat_rate = models.DecimalField(
        _("delivery VAT rate (%)"), max_digits=4, decimal_places=2, default=20
    )
    discount_cents = models.PositiveIntegerField(_("discount"), default=0)
    coupon_code = models.CharField(_("coupon"), max_length=40, blank=True)
    total_cents = models.PositiveIntegerField(_("total"))
    # What the seller accepted (set at acceptance): the amount to capture.
    accepted_cents = models.PositiveIntegerField(_("accepted amount"), null=True, blank=True)
    captured_cents = models.PositiveIntegerField(_("amount paid"), default=0)
    # Deadlines.
    acceptance_deadline = models.DateTimeField(_("accept before"), null=True, blank=True)
    acceptance_reminded_at = models.DateTimeField(_("reminder sent"), null=True, blank=True)
    payment_due_at = models.DateTimeField(_("payment due"), null=True, blank=True)
    alias_token = models.CharField(max_length=12, default=_alias_token, editable=False)
    relay_point_ref = models.ForeignKey(
        "shipping.RelayPoint",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("relay point"),
    )
    # Fulfilment.
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    shipping_deadline = models.DateTimeField(_("ship before"), null=True, blank=True)
    late_notified_at = models.DateTimeField(_("late shipment reported"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped"), null=True, blank=True)
    ready_at = models.DateTimeField(_("ready for pick-up"), null=True, blank=True)
    pickup_code = models.CharField(_("pick-up code"), max_length=8, blank=True)
    pickup_attempts = models.PositiveSmallIntegerField(_("wrong pick-up codes"), default=0)
    received_at = models.DateTimeField(_("received"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("shop order")
        verbose_name_plural = _("shop orders")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["shop", "state", "-created_at"]),
            models.Index(fields=["state", "acceptance_deadline"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(captured_cents__lte=models.F("total_cents")),
                name="shop_order_capture_within_total",
            )
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def customer_alias_email(self) -> str:
        """The address shown to the seller instead of the buyer's real one."""
        return f"order-{self.reference.lower()}-{self.alias_token}@{settings.HALLES_ALIAS_DOMAIN}"

    @property
    def is_accepted(self) -> bool:
        return self.state in ACCEPTED_STATES

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES


class OrderLine(models.Model):
    shop_order = models.ForeignKey(
        ShopOrder, on_delete=models.CASCADE, related_name="lines", verbose_name=_("shop order")
    )
    offer = models.ForeignKey(
        "catalog.Offer",
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("offer"),
    )
    product_id_snapshot = models.PositiveIntegerField(_("product"), null=True, blank=True)
    title = models.CharField(_("item"), max_length=255)
    sku = models.CharField(_("shop SKU"), max_length=100)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price_cents = models.PositiveIntegerField(_("unit price (VAT included)"))
    vat_rate = models.DecimalField(_("VAT rate (%)"), max_digits=4, decimal_places=2)
    total_cents = models.PositiveIntegerField(_("line total"))
    state = models.CharField(
        _("state"), max_length=25, choices=State.choices, default=State.STAGING
    )
    stock_released = models.BooleanField(_("stock given back"), default=False)
    refusal_reason = models.CharField(_("reason"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.title}"


class Shipment(models.Model):
    """One parcel: some accepted quantities, a carrier, a tracking number."""

    shop_order = models.ForeignKey(
        ShopOrder, on_delete=models.CASCADE, related_name="shipments", verbose_name=_("order")
    )
    carrier = models.ForeignKey(
        "shipping.Carrier",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("carrier"),
    )
    carrier_name = models.CharField(_("carrier"), max_length=100)
    tracking_number = models.CharField(_("tracking number"), max_length=60)
    tracking_url = models.CharField(_("tracking address"), max_length=500, blank=True)
    shipped_at = models.DateTimeField(_("shipped"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("declared by"),
    )
    created_at = models.DateTimeField(_("declared"), default=timezone.now)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["shipped_at", "id"]

    def __str__(self) -> str:
        return f"{self.carrier_name} {self.tracking_number}"


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="shipped")
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("shipped quantity")
        verbose_name_plural = _("shipped quantities")
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="shipment_line_quantity_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.line_id}"


class Channel(models.TextChoices):
    WEB = "web", _("web")
    API = "api", _("API")
    BACKOFFICE = "backoffice", _("back-office")
    SYSTEM = "system", _("automatic")
    PROVIDER = "provider", _("payment provider")


class Role(models.TextChoices):
    BUYER = "buyer", _("Buyer")
    SELLER = "seller", _("Seller")
    OPERATOR = "operator", _("Operator")
    SYSTEM = "system", _("Halles")


class OrderEvent(models.Model):
    """One line of a shop order's history: who did what, when, through which interface."""

    shop_order = models.ForeignKey(
        ShopOrder, on_delete=models.CASCADE, related_name="events", verbose_name=_("shop order")
    )
    action = models.CharField(_("action"), max_length=40)
    from_state = models.CharField(_("from"), max_length=25, blank=True)
    to_state = models.CharField(_("to"), max_length=25, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    role = models.CharField(_("as"), max_length=10, choices=Role.choices)
    channel = models.CharField(_("through"), max_length=12, choices=Channel.choices)
    note = models.TextField(_("note"), blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    buyer_visible = models.BooleanField(_("shown to the buyer"), default=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.shop_order} {self.action}"


class FraudRules(models.Model):
    """A marketplace's fraud scoring: each signal adds its points; an order scoring at or
    above `review_from` waits for an operator."""

    marketplace = models.OneToOneField(
        "marketplaces.Marketplace",
        on_delete=models.CASCADE,
        related_name="fraud_rules",
        verbose_name=_("marketplace"),
    )
    amount_above_cents = models.PositiveIntegerField(_("large order above (cents)"), default=50_000)
    amount_points = models.PositiveSmallIntegerField(_("points for a large order"), default=40)
    young_account_days = models.PositiveSmallIntegerField(
        _("new account younger than (days)"), default=2
    )
    young_account_points = models.PositiveSmallIntegerField(
        _("points for a new account"), default=30
    )
    velocity_orders = models.PositiveSmallIntegerField(_("orders in the window above"), default=3)
    velocity_hours = models.PositiveSmallIntegerField(_("window (hours)"), default=1)
    velocity_points = models.PositiveSmallIntegerField(
        _("points for many orders in the window"), default=40
    )
    country_mismatch_points = models.PositiveSmallIntegerField(
        _("points when billing and shipping countries differ"), default=30
    )
    review_from = models.PositiveSmallIntegerField(_("manual review from (points)"), default=60)

    class Meta:
        verbose_name = _("fraud rules")
        verbose_name_plural = _("fraud rules")

    def __str__(self) -> str:
        return str(self.marketplace)
