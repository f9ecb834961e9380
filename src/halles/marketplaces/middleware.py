"""Resolve the marketplace of a request.

`/m/<slug>/<path>` serves `<path>` for that marketplace: the middleware strips the prefix
from `path_info` and makes it the script prefix, so every `reverse()` and `{% url %}` in
the request points back inside the same marketplace. Any other path belongs to the default
marketplace. Draft marketplaces are visible to their operators only.
"""

import re

from django.http import Http404
from django.urls import get_script_prefix, set_script_prefix

from .selectors import default_marketplace, marketplace_by_slug
from .workflow import can_operate

PREFIX = re.compile(r"^/m/(?P<slug>[-a-zA-Z0-9_]+)(?P<rest>/.*)?$")


class MarketplaceMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        match = PREFIX.match(request.path_info)
        original_prefix = get_script_prefix()
        if match is None:
            request.marketplace = default_marketplace()
            request.marketplace_prefixed = False
            return self.get_response(request)
        marketplace = marketplace_by_slug(match["slug"])
        request.marketplace = marketplace
        request.marketplace_prefixed = True
        if marketplace is None:  # a 404, rendered by MarketplaceAccessMiddleware
            return self.get_response(request)
        request.path_info = match["rest"] or "/"
        set_script_prefix(f"{original_prefix.rstrip('/')}/m/{marketplace.slug}/")
        try:
            return self.get_response(request)
        finally:
            set_script_prefix(original_prefix)


class MarketplaceAccessMiddleware:
    """After authentication and language: an unknown marketplace is a 404, and so is a draft
    one for everyone but its operators."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        marketplace = getattr(request, "marketplace", None)
        if marketplace is None and getattr(request, "marketplace_prefixed", False):
            raise Http404("Unknown marketplace")
        if (
            marketplace is not None
            and not marketplace.is_public
            and request.marketplace_prefixed
            and not can_operate(request.user, marketplace)
        ):
            raise Http404("Unknown marketplace")
        return self.get_response(request)
