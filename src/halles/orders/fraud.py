"""Fraud scoring of a placed order: each signal of the marketplace's rules adds points; a
score at or above the review threshold keeps the order in STAGING for an operator."""

from dataclasses import dataclass
from datetime import timedelta

from django.utils.translation import gettext_lazy as _

from .models import FraudRules, Order, OrderStatus

SIGNALS = {
    "large_amount": _("large amount"),
    "new_account": _("new account"),
    "velocity": _("many orders in a short time"),
    "country_mismatch": _("billing and shipping countries differ"),
}


def signal_labels(codes) -> list[str]:
    return [str(SIGNALS.get(code, code)) for code in codes]


@dataclass(frozen=True)
class Score:
    points: int
    reasons: list[str]
    needs_review: bool


def rules_for(marketplace) -> FraudRules:
    rules, _created = FraudRules.objects.get_or_create(marketplace=marketplace)
    return rules


def score_order(order: Order, at=None) -> Score:
    """Score `order` (being placed at `at`) against its marketplace's rules."""
    rules = rules_for(order.marketplace)
    at = at or order.created_at
    points, reasons = 0, []
    if rules.amount_points and order.total_cents > rules.amount_above_cents:
        points += rules.amount_points
        reasons.append("large_amount")
    joined = order.buyer.date_joined
    if rules.young_account_points and at - joined < timedelta(days=rules.young_account_days):
        points += rules.young_account_points
        reasons.append("new_account")
    if rules.velocity_points:
        recent = (
            Order.objects.filter(
                buyer=order.buyer,
                status=OrderStatus.PLACED,
                placed_at__gte=at - timedelta(hours=rules.velocity_hours),
            )
            .exclude(pk=order.pk)
            .count()
        )
        if recent >= rules.velocity_orders:
            points += rules.velocity_points
            reasons.append("velocity")
    if rules.country_mismatch_points:
        shipping_countries = set(
            order.shop_orders.exclude(shipping_country="").values_list(
                "shipping_country", flat=True
            )
        )
        if shipping_countries - {order.billing_country}:
            points += rules.country_mismatch_points
            reasons.append("country_mismatch")
    return Score(points=points, reasons=reasons, needs_review=points >= rules.review_from)
