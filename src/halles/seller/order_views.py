"""Sellers' orders pages (being written)."""

from django.http import Http404


def _todo(request, **kwargs):
    raise Http404


orders = order = order_decide = _todo
