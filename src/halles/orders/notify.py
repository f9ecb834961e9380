"""E-mails about orders, each in its recipient's language, through the outbox."""

from halles.core.urls import marketplace_url
from halles.notifications.services import email_queue
from halles.shops.models import ShopStaff

from .models import Order, ShopOrder


def buyer(shop_order: ShopOrder, template: str, **context) -> None:
    """Tell the buyer about one of their shop orders."""
    order = shop_order.order
    _to_buyer(order, template, shop_order=shop_order, **context)


def buyer_order(order: Order, template: str, **context) -> None:
    """Tell the buyer about their whole order (e.g. placed)."""
    _to_buyer(order, template, **context)


def _to_buyer(order: Order, template: str, **context) -> None:
    user = order.buyer
    if not user.is_active:
        return
    email_queue(
        to=order.email,
        template=template,
        context={
            "order": order,
            "user": user,
            "link": marketplace_url(
                order.marketplace, "storefront:order", kwargs={"reference": order.reference}
            ),
            **context,
        },
        language=user.language or order.marketplace.default_language,
        marketplace=order.marketplace,
        recipient=user,
    )


def shop(shop_order: ShopOrder, template: str, **context) -> None:
    """Tell every active staff member of the shop."""
    link = marketplace_url(
        shop_order.marketplace,
        "seller:order",
        kwargs={"shop_slug": shop_order.shop.slug, "reference": shop_order.reference},
    )
    staff = ShopStaff.objects.filter(shop=shop_order.shop, user__is_active=True).select_related(
        "user"
    )
    for member in staff:
        email_queue(
            to=member.user.email,
            template=template,
            context={"shop_order": shop_order, "shop": shop_order.shop, "link": link, **context},
            language=member.user.language or shop_order.marketplace.default_language,
            marketplace=shop_order.marketplace,
            recipient=member.user,
        )
