"""Which shop a seller-portal request works on: always one the user is staff of."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404

from halles.shops.models import Shop


def shops_of(user, marketplace):
    if not user.is_authenticated or marketplace is None:
        return Shop.objects.none()
    return Shop.objects.filter(marketplace=marketplace, staff__user=user).select_related("plan")


def shop_view(view):
    """Resolve `shop_slug` to `request.shop` among the user's shops on this marketplace; any
    other shop is a 404 (a seller never learns whether another shop's page exists)."""

    @login_required
    @wraps(view)
    def wrapper(request, shop_slug, *args, **kwargs):
        shop = shops_of(request.user, request.marketplace).filter(slug=shop_slug).first()
        if shop is None:
            raise Http404
        request.shop = shop
        return view(request, *args, **kwargs)

    return wrapper
