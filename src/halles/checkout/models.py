"""The cart: what a buyer (or an anonymous visitor) is about to buy on one marketplace, and
their choices per shop (delivery mode, pick-up slot, relay point, coupon).

Nothing here is frozen: prices, stock and rules are read live until checkout copies them
into an order.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def _cart_token() -> str:
    return secrets.token_urlsafe(24)


class Cart(models.Model):
    marketplace = models.ForeignKey(
        "marketplaces.Marketplace",
        on_delete=models.CASCADE,
        related_name="carts",
        verbose_name=_("marketplace"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="carts",
        verbose_name=_("buyer"),
    )
    token = models.CharField(max_length=40, unique=True, default=_cart_token, editable=False)
    operator_coupon = models.ForeignKey(
        "catalog.Coupon",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("marketplace coupon"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("cart")
        verbose_name_plural = _("carts")
        constraints = [
            models.UniqueConstraint(
                fields=["marketplace", "user"],
                condition=Q(user__isnull=False),
                name="one_cart_per_buyer_and_marketplace",
            )
        ]

    def __str__(self) -> str:
        return f"cart {self.pk} ({self.user or 'anonymous'})"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    offer = models.ForeignKey("catalog.Offer", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))
    added_at = models.DateTimeField(_("added"), default=timezone.now)

    class Meta:
        verbose_name = _("cart line")
        verbose_name_plural = _("cart lines")
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "offer"], name="one_cart_line_per_offer"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="cart_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × offer {self.offer_id}"


class CartShop(models.Model):
    """The buyer's choices for one shop of the cart."""

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="shop_choices")
    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    delivery_mode = models.ForeignKey(
        "shops.DeliveryMode",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("delivery mode"),
    )
    pickup_slot = models.ForeignKey(
        "shops.PickupSlot",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("pick-up slot"),
    )
    relay_point = models.CharField(_("relay point"), max_length=255, blank=True)
    relay_point_ref = models.ForeignKey(
        "shipping.RelayPoint",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("relay point"),
    )
    coupon = models.ForeignKey(
        "catalog.Coupon",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("coupon"),
    )

    class Meta:
        verbose_name = _("cart shop choice")
        verbose_name_plural = _("cart shop choices")
        constraints = [
            models.UniqueConstraint(fields=["cart", "shop"], name="one_choice_per_cart_shop")
        ]

    def __str__(self) -> str:
        return f"{self.cart_id}/{self.shop_id}"


class CouponRedemption(models.Model):
    """A coupon used by a buyer on an order: counts against the per-buyer limit; given back
    when the order's payment is not completed."""

    coupon = models.ForeignKey(
        "catalog.Coupon", on_delete=models.CASCADE, related_name="redemptions"
    )
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    order_reference = models.CharField(max_length=30)
    discount_cents = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("coupon use")
        verbose_name_plural = _("coupon uses")
        constraints = [
            models.UniqueConstraint(
                fields=["coupon", "order_reference"], name="one_redemption_per_order"
            )
        ]

    def __str__(self) -> str:
        return f"{self.coupon} on {self.order_reference}"
