"""Carriers a marketplace works with (tracking links) and their relay-point directories.

Knows nothing of orders: orders point here."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


def validate_tracking_template(value: str) -> None:
    if "{tracking}" not in value:
        raise ValidationError(_("The address must contain {tracking}."))
    if not value.startswith(("https://", "http://")):
        raise ValidationError(_("The address must start with https:// or http://."))
    leftover = value.replace("{tracking}", "").replace("{postcode}", "")
    if "{" in leftover or "}" in leftover:
        raise ValidationError(_("Only {tracking} and {postcode} may be used."))


class Carrier(models.Model):
    marketplace = models.ForeignKey(
        "marketplaces.Marketplace",
        on_delete=models.CASCADE,
        related_name="carriers",
        verbose_name=_("marketplace"),
    )
    code = models.SlugField(_("code"), max_length=30)
    label = models.CharField(_("name"), max_length=100)
    tracking_url_template = models.CharField(
        _("tracking address"),
        max_length=300,
        validators=[validate_tracking_template],
        help_text=_("e.g. https://www.laposte.fr/outils/suivre-vos-envois?code={tracking}"),
    )
    has_relay_points = models.BooleanField(_("has relay points"), default=False)
    is_active = models.BooleanField(_("offered to sellers"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("carrier")
        verbose_name_plural = _("carriers")
        ordering = ["position", "label"]
        constraints = [
            models.UniqueConstraint(fields=["marketplace", "code"], name="carrier_code_unique")
        ]

    def __str__(self) -> str:
        return self.label


class RelayPoint(models.Model):
    """One pick-up point of a carrier's network (imported from the carrier's file)."""

    carrier = models.ForeignKey(
        Carrier, on_delete=models.CASCADE, related_name="relay_points", verbose_name=_("carrier")
    )
    external_id = models.CharField(_("carrier's id"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    address = models.CharField(_("address"), max_length=255)
    postcode = models.CharField(_("postcode"), max_length=20, db_index=True)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=2, default="FR")
    opening_hours = models.TextField(_("opening hours"), blank=True)
    is_active = models.BooleanField(_("open"), default=True)

    class Meta:
        verbose_name = _("relay point")
        verbose_name_plural = _("relay points")
        ordering = ["postcode", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["carrier", "external_id"], name="relay_point_unique_per_carrier"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.address}, {self.postcode} {self.city}"
