"""The notification centre of buyers and sellers: the list of their notices on this
marketplace, opening one (marks it read, then follows its link) and "mark all as read".
Thin: each view calls one notifications service or selector."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from halles.core.errors import NotFound
from halles.notifications import selectors, services

NOTICES_PER_PAGE = 20


def _marketplace(request):
    if request.marketplace is None:
        raise Http404
    return request.marketplace


@login_required
@require_GET
def notices(request):
    marketplace = _marketplace(request)
    page = Paginator(selectors.notices_for(request.user, marketplace), NOTICES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    unread = selectors.unread_count(request.user, marketplace)
    return render(request, "storefront/notices/list.html", {"page": page, "unread": unread})


@login_required
@require_GET
def notice_open(request, notice_id):
    """Mark the notice read and go where it points, when that is on this site."""
    try:
        notice = services.notice_mark_read(user=request.user, notice_id=notice_id)
    except NotFound as error:
        raise Http404(error.message) from error
    return redirect(safe_link(request, notice.link) or "storefront:notices")


@login_required
@require_POST
def notices_read_all(request):
    count = services.notices_mark_all_read(user=request.user, marketplace=_marketplace(request))
    if count:
        messages.success(request, _("All your notifications are marked as read."))
    return redirect("storefront:notices")


def safe_link(request, link: str) -> str | None:
    """`link` when it is relative or on this site (this request's host or `SITE_URL`'s),
    else None: a notice never sends anyone elsewhere."""
    if not link:
        return None
    hosts = {request.get_host(), urlsplit(settings.SITE_URL).netloc}
    if url_has_allowed_host_and_scheme(link, allowed_hosts=hosts, require_https=False):
        return link
    return None
