"""Catalog reads shared by the storefront and the cart."""

from django.db.models import Q, QuerySet

from halles.shops.models import ShopStatus

from .models import Offer


def buyer_sector_id(user) -> int | None:
    """The business sector of a B2B buyer's organisation (None for anyone else)."""
    if user is not None and user.is_authenticated and user.organisation_id:
        return user.organisation.sector_id
    return None


def visible_offers(marketplace, user) -> QuerySet[Offer]:
    """Offers a buyer may see: active, of an active shop, and for B2B, of their sector."""
    qs = Offer.objects.filter(
        marketplace=marketplace, is_active=True, shop__status=ShopStatus.ACTIVE
    )
    sector = buyer_sector_id(user)
    restricted = Q(visible_to_sectors__isnull=False)
    if sector is None:
        return qs.exclude(restricted)
    return qs.filter(~restricted | Q(visible_to_sectors=sector)).distinct()


def offer_visible_to(offer: Offer, user) -> bool:
    """Whether the sector restriction of `offer` lets `user` see it."""
    sectors = set(offer.visible_to_sectors.values_list("pk", flat=True))
    return not sectors or buyer_sector_id(user) in sectors
