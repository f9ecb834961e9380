"""The seller portal's navigation: how many orders wait for the shop's decision."""

from django import template

from halles.orders.models import State
from halles.orders.selectors import SellerOrderFilters, seller_orders

register = template.Library()


@register.simple_tag
def orders_to_accept(shop) -> int:
    """{% orders_to_accept shop as n %}: the shop's orders waiting for acceptance."""
    if not shop:  # a page without a shop
        return 0
    return seller_orders(shop, SellerOrderFilters(state=State.WAITING_ACCEPTANCE)).count()
