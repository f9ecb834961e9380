"""Buyers' cart, checkout and orders pages (being written)."""

from django.http import Http404


def _todo(request, **kwargs):
    raise Http404


cart = cart_add = cart_line = cart_delivery = cart_coupon = cart_coupon_remove = _todo
checkout = checkout_pay = checkout_return = orders = order = order_cancel = _todo
