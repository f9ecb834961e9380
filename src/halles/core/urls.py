"""Absolute links to marketplace pages, for e-mails and tasks (outside any request)."""

from django.conf import settings
from django.urls import reverse


def marketplace_url(marketplace, viewname: str, *, kwargs: dict | None = None) -> str:
    """`https://site/m/<slug>/<path>` for a storefront view of `marketplace`."""
    path = reverse(viewname, kwargs=kwargs, urlconf=None)
    prefix = f"/m/{marketplace.slug}" if marketplace is not None else ""
    return f"{settings.SITE_URL}{prefix}{_strip_script_prefix(path)}"


def _strip_script_prefix(path: str) -> str:
    """reverse() may carry the current request's marketplace prefix; keep only the view path."""
    from django.urls import get_script_prefix

    prefix = get_script_prefix()
    if prefix != "/" and path.startswith(prefix):
        return "/" + path[len(prefix) :]
    return path


def site_url(viewname: str, *, kwargs: dict | None = None) -> str:
    """`https://site/<path>` for a view outside any marketplace (provider pages, webhooks)."""
    return f"{settings.SITE_URL}{_strip_script_prefix(reverse(viewname, kwargs=kwargs))}"
