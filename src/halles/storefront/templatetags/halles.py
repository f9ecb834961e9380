from django import template
from django.utils.translation import get_language

from halles.core.money import format_money

register = template.Library()


@register.filter
def money(cents, currency="EUR"):
    """{{ offer.price_cents|money }} -> '12,50 €' in French, '€12.50' in English."""
    if cents is None or cents == "":
        return ""
    return format_money(int(cents), currency or "EUR", (get_language() or "fr")[:2])


@register.filter
def euros(cents):
    """Cents as a plain decimal for form inputs: 1250 -> '12,50' in French."""
    if cents is None:
        return ""
    text = f"{int(cents) / 100:.2f}"
    return text.replace(".", ",") if (get_language() or "fr").startswith("fr") else text
