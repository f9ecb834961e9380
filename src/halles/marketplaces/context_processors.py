from django.conf import settings
from django.db.models import Sum

# The session key under which the storefront keeps anonymous carts' tokens per marketplace
# (`halles.storefront.order_views.CART_SESSION_KEY`; repeated here: a domain app does not
# import an interface app).
CART_SESSION_KEY = "cart_tokens"


def marketplace(request):
    current = getattr(request, "marketplace", None)
    return {
        "marketplace": current,
        "LANGUAGE_CHOICES": settings.LANGUAGES,
        # A callable: templates call it only when they show the count (one query).
        "cart_count": lambda: cart_count(request, current),
        # The header's bell: the signed-in user's unread notices here (one COUNT, on use).
        "unread_notices": lambda: unread_notices(request, current),
    }


def unread_notices(request, marketplace) -> int:
    user = getattr(request, "user", None)
    if marketplace is None or user is None or not user.is_authenticated:
        return 0
    from halles.notifications.selectors import unread_count

    return unread_count(user, marketplace)


def cart_count(request, marketplace) -> int:
    """How many items the visitor's cart on `marketplace` holds."""
    from halles.checkout.models import CartLine

    if marketplace is None:
        return 0
    lines = CartLine.objects.filter(cart__marketplace=marketplace)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        lines = lines.filter(cart__user=user)
    else:
        session = getattr(request, "session", None)
        tokens = session.get(CART_SESSION_KEY, {}) if session is not None else {}
        token = tokens.get(str(marketplace.pk))
        if not token:
            return 0
        lines = lines.filter(cart__user=None, cart__token=token)
    return lines.aggregate(n=Sum("quantity"))["n"] or 0
