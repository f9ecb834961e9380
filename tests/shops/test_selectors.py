import pytest

from halles.core.errors import NotFound
from halles.marketplaces.models import MarketplaceStatus
from halles.shops.models import PlanKind, ShopStatus
from halles.shops.selectors import (
    marketplace_accepts_orders,
    marketplace_selling_shops_count,
    public_shops,
    shop_for_staff,
    shops_of_user,
)

from ..factories import MarketplaceFactory, PlanFactory, ShopFactory, ShopStaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_staff_reach_their_shops_only(marketplace):
    alice = UserFactory()
    mine = ShopFactory(marketplace=marketplace, owner=alice, slug="mine")
    also_mine = ShopStaffFactory(shop__marketplace=marketplace, user=alice).shop
    theirs = ShopFactory(marketplace=marketplace, slug="theirs", owner=UserFactory())
    elsewhere = ShopFactory(owner=alice)  # another marketplace

    assert set(shops_of_user(alice)) == {mine, also_mine, elsewhere}
    assert set(shops_of_user(alice, marketplace)) == {mine, also_mine}
    assert shop_for_staff(alice, "mine", marketplace) == mine
    assert shop_for_staff(alice, mine.pk, marketplace) == mine
    for other in ("theirs", theirs.pk, elsewhere.pk, elsewhere.slug, "nope"):
        with pytest.raises(NotFound):
            shop_for_staff(alice, other, marketplace)
    assert list(shops_of_user(None)) == []


def test_buyers_see_active_shops_only(marketplace):
    active = ShopFactory(marketplace=marketplace)
    for status in (ShopStatus.PENDING, ShopStatus.SUSPENDED, ShopStatus.CLOSED):
        ShopFactory(marketplace=marketplace, status=status)
    ShopFactory()  # another marketplace
    assert list(public_shops(marketplace)) == [active]


def test_a_marketplace_with_a_threshold_opens_once_enough_shops_may_sell():
    """The seeds' town marketplace opens once 10 shops hold the PRO plan."""
    town = MarketplaceFactory(opening_threshold=10)
    pro = PlanFactory(marketplace=town, kind=PlanKind.SUBSCRIPTION)
    listing = PlanFactory(marketplace=town, kind=PlanKind.LISTING)
    ShopFactory.create_batch(9, marketplace=town, plan=pro)
    # Neither a listing-only shop, nor a suspended or pending PRO shop, nor a shop of
    # another marketplace counts.
    ShopFactory(marketplace=town, plan=listing)
    ShopFactory(marketplace=town, plan=pro, status=ShopStatus.SUSPENDED)
    ShopFactory(marketplace=town, plan=pro, status=ShopStatus.PENDING)
    ShopFactory.create_batch(3)

    assert marketplace_selling_shops_count(town) == 9
    assert not marketplace_accepts_orders(town)

    tenth = ShopFactory(marketplace=town, plan=pro)
    assert marketplace_selling_shops_count(town) == 10
    assert marketplace_accepts_orders(town)

    tenth.status = ShopStatus.SUSPENDED
    tenth.save()
    assert not marketplace_accepts_orders(town)


def test_without_a_threshold_the_marketplace_status_decides(marketplace):
    assert marketplace.opening_threshold == 0
    assert marketplace_accepts_orders(marketplace)  # no shop needed
    marketplace.status = MarketplaceStatus.DRAFT
    marketplace.save()
    assert not marketplace_accepts_orders(marketplace)
