"""Reads on shops shared by the interfaces and by other domain apps."""

import zoneinfo
from datetime import datetime

from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from halles.core.errors import NotFound

from .models import (
    ApplicationStatus,
    KycDocument,
    KycKind,
    KycStatus,
    PickupSlot,
    PlanKind,
    SellerApplication,
    Shop,
    ShopStaff,
    ShopStatus,
    StaffRole,
)


def shops_of_user(user, marketplace=None) -> QuerySet[Shop]:
    """The shops `user` is staff of (owner or staff), on `marketplace` when given."""
    if user is None or not user.is_authenticated:
        return Shop.objects.none()
    shops = Shop.objects.filter(staff__user=user).select_related("marketplace", "plan")
    if marketplace is not None:
        shops = shops.filter(marketplace=marketplace)
    return shops.order_by("name", "id")


def shop_for_staff(user, shop_id_or_slug: int | str, marketplace) -> Shop:
    """One shop of `marketplace` that `user` is staff of: an int is an id, a str a slug.

    Any other shop, whether it exists or not, is NotFound (a seller never learns about
    another seller's shop).
    """
    shops = shops_of_user(user, marketplace)
    if isinstance(shop_id_or_slug, int):
        shop = shops.filter(pk=shop_id_or_slug).first()
    else:
        shop = shops.filter(slug=shop_id_or_slug).first()
    if shop is None:
        raise NotFound(_("This shop does not exist."))
    return shop


def public_shops(marketplace) -> QuerySet[Shop]:
    """The shops buyers see: active ones."""
    return Shop.objects.filter(marketplace=marketplace, status=ShopStatus.ACTIVE).order_by("name")


def is_staff_of(user, shop: Shop) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return ShopStaff.objects.filter(shop=shop, user=user).exists()


def is_shop_owner(user, shop: Shop) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return ShopStaff.objects.filter(shop=shop, user=user, role=StaffRole.OWNER).exists()


def shop_owners(shop: Shop) -> list:
    return [
        staff.user
        for staff in ShopStaff.objects.filter(shop=shop, role=StaffRole.OWNER)
        .select_related("user")
        .order_by("added_at", "id")
    ]


def shop_kyc_complete(shop: Shop) -> bool:
    """The newest document of every KYC kind is accepted (payouts wait for this)."""
    for kind in KycKind.values:
        newest = (
            KycDocument.objects.filter(shop=shop, kind=kind).order_by("-uploaded_at", "-id").first()
        )
        if newest is None or newest.status != KycStatus.ACCEPTED:
            return False
    return True


def is_open_at(shop: Shop, at: datetime) -> bool:
    """Whether the shop is open at `at` (aware), by its opening hours and exceptional
    closures, read in its marketplace's time zone."""
    if timezone.is_naive(at):
        raise ValueError("is_open_at needs an aware datetime")
    local = at.astimezone(zoneinfo.ZoneInfo(shop.marketplace.time_zone))
    day, moment = local.date(), local.time().replace(tzinfo=None)
    if shop.closures.filter(start_date__lte=day, end_date__gte=day).exists():
        return False
    return shop.opening_hours.filter(
        weekday=day.weekday(), opens__lte=moment, closes__gt=moment
    ).exists()


def open_pickup_slots(delivery_mode_ids, at=None) -> QuerySet[PickupSlot]:
    """Future pick-up slots with places left: what a buyer may still book."""
    return (
        PickupSlot.objects.filter(
            delivery_mode_id__in=list(delivery_mode_ids),
            starts_at__gt=at or timezone.now(),
            booked__lt=F("capacity"),
        )
        .annotate(places_left=F("capacity") - F("booked"))
        .order_by("starts_at", "pk")
    )


def marketplace_selling_shops_count(marketplace) -> int:
    """Active shops whose plan allows selling (the opening threshold counts these)."""
    return (
        Shop.objects.filter(marketplace=marketplace, status=ShopStatus.ACTIVE)
        .exclude(plan__kind=PlanKind.LISTING)
        .count()
    )


def marketplace_accepts_orders(marketplace, at=None) -> bool:
    """The marketplace takes orders (open, before its cut-off) and, when it has an opening
    threshold, enough shops may sell ("opens once 10 shops hold the PRO plan")."""
    if not marketplace.takes_orders(at):
        return False
    threshold = marketplace.opening_threshold
    return threshold == 0 or marketplace_selling_shops_count(marketplace) >= threshold


def pending_applications_for(operator) -> QuerySet[SellerApplication]:
    """Seller applications waiting in the marketplaces `operator` runs (the review queue)."""
    applications = SellerApplication.objects.filter(status=ApplicationStatus.PENDING)
    if not operator.is_superuser:
        applications = applications.filter(shop__marketplace__operators=operator)
    return applications.select_related("shop", "shop__marketplace", "applicant")


def pending_kyc_documents_for(operator) -> QuerySet[KycDocument]:
    documents = KycDocument.objects.filter(status=KycStatus.PENDING)
    if not operator.is_superuser:
        documents = documents.filter(shop__marketplace__operators=operator)
    return documents.select_related("shop")
