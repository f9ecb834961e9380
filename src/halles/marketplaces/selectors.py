from .models import Marketplace, MarketplaceStatus, Membership, MembershipStatus


def marketplace_by_slug(slug: str) -> Marketplace | None:
    return Marketplace.objects.filter(slug=slug).first()


def default_marketplace() -> Marketplace | None:
    """The marketplace served at `/`: the one marked default, else the first public one.
    A draft is never served at `/` (its operators preview it under `/m/<slug>/`)."""
    return (
        Marketplace.objects.exclude(status=MarketplaceStatus.DRAFT)
        .order_by("-is_default", "id")
        .first()
    )


def public_marketplaces():
    return Marketplace.objects.exclude(status=MarketplaceStatus.DRAFT).order_by("name")


def membership_of(user, marketplace) -> list[Membership]:
    if not user.is_authenticated or marketplace is None:
        return []
    return list(Membership.objects.filter(user=user, marketplace=marketplace))


def pending_memberships_for(operator):
    qs = Membership.objects.filter(status=MembershipStatus.PENDING).select_related(
        "user", "marketplace"
    )
    if not operator.is_superuser:
        qs = qs.filter(marketplace__operators=operator)
    return qs
