"""E-mails about orders, each in its recipient's language, through the outbox.

Every e-mail is filed under the shop order's reference (the whole-order ones under the
order's), which makes the notification log of an order
(`notifications.selectors.emails_for_reference`), and comes with an in-app notice for its
recipient. `preview_context` gives the back-office's preview of these e-mails a sample built
from the marketplace's latest order (registered in `OrdersConfig.ready()`).
"""

from halles.core.urls import marketplace_url
from halles.notifications.services import email_queue
from halles.shops.models import ShopStaff

from .models import Order, Shipment, ShopOrder


def buyer(shop_order: ShopOrder, template: str, **context) -> None:
    """Tell the buyer about one of their shop orders."""
    order = shop_order.order
    _to_buyer(order, template, shop_order.reference, shop_order=shop_order, **context)


def buyer_order(order: Order, template: str, **context) -> None:
    """Tell the buyer about their whole order (e.g. placed), with its shop orders."""
    shop_orders = list(order.shop_orders.select_related("shop").order_by("reference"))
    _to_buyer(order, template, order.reference, shop_orders=shop_orders, **context)


def _to_buyer(order: Order, template: str, reference: str, **context) -> None:
    user = order.buyer
    if not user.is_active:
        return
    email_queue(
        to=order.email,
        template=template,
        context={**_buyer_context(order), **context},
        language=user.language or order.marketplace.default_language,
        marketplace=order.marketplace,
        recipient=user,
        reference=reference,
        notice=True,
    )


def shop(shop_order: ShopOrder, template: str, **context) -> None:
    """Tell every active staff member of the shop."""
    base = _shop_context(shop_order)
    staff = ShopStaff.objects.filter(shop=shop_order.shop, user__is_active=True).select_related(
        "user"
    )
    for member in staff:
        email_queue(
            to=member.user.email,
            template=template,
            context={**base, **context},
            language=member.user.language or shop_order.marketplace.default_language,
            marketplace=shop_order.marketplace,
            recipient=member.user,
            reference=shop_order.reference,
            notice=True,
        )


def _buyer_context(order: Order) -> dict:
    return {
        "order": order,
        "user": order.buyer,
        "link": marketplace_url(
            order.marketplace, "storefront:order", kwargs={"reference": order.reference}
        ),
    }


def _shop_context(shop_order: ShopOrder) -> dict:
    link = marketplace_url(
        shop_order.marketplace,
        "seller:order",
        kwargs={"shop_slug": shop_order.shop.slug, "reference": shop_order.reference},
    )
    return {"shop_order": shop_order, "shop": shop_order.shop, "link": link}


# --- Previews in the back-office --------------------------------------------------------------


def preview_context(template: str, marketplace) -> dict | None:
    """The context `template` would be sent with, built from `marketplace`'s latest shop
    order (for a shipment e-mail, the latest shipped one); None when it has no order."""
    shop_orders = ShopOrder.objects.filter(marketplace=marketplace).select_related(
        "order__buyer", "shop", "marketplace"
    )
    name = template.removeprefix("orders/")
    shipment = None
    if name == "buyer_shipped":
        shipment = (
            Shipment.objects.filter(shop_order__marketplace=marketplace)
            .select_related("shop_order")
            .order_by("-id")
            .first()
        )
    shop_order = (
        shipment.shop_order if shipment else shop_orders.order_by("-created_at", "-id").first()
    )
    if shop_order is None:
        return None
    if name.startswith("seller_"):
        context = _shop_context(shop_order)
    else:
        context = {**_buyer_context(shop_order.order), "shop_order": shop_order}
    if name == "buyer_shipped":
        context.update(shipment=shipment, complete=True)
    if name.endswith("_canceled"):
        context["reason"] = (
            shop_order.events.filter(note__gt="").values_list("note", flat=True).last() or ""
        )
    return context
