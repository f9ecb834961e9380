"""Removing closures, delivery modes and pick-up slots from the shop settings: a button on
the list, a confirmation page, then the removal or the reason it cannot happen."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from halles.orders.models import ShopOrder
from halles.shops.models import Closure, DeliveryMode, PickupSlot

from ..factories import (
    ClickCollectFactory,
    ClosureFactory,
    DeliveryModeFactory,
    PickupSlotFactory,
    ShopFactory,
    ShopStaffFactory,
    UserFactory,
)
from ..orders.conftest import fill_cart, place

pytestmark = pytest.mark.django_db

CONFIRM = {"confirm": "yes"}


@pytest.fixture(autouse=True)
def english(client):
    """Pages in English; the assertions on wording also run under translation.override."""
    client.cookies["django_language"] = "en"


@pytest.fixture
def owner(db):
    return UserFactory(email="owner@example.test")


@pytest.fixture
def shop(marketplace, owner):
    return ShopFactory(marketplace=marketplace, owner=owner, name="La Fromagerie")


@pytest.fixture
def clerk(shop):
    return ShopStaffFactory(shop=shop, user=UserFactory(email="clerk@example.test")).user


def url(shop, path=""):
    return f"/seller/{shop.slug}/settings/{path}"


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


# --- Closures -------------------------------------------------------------------------------


def test_a_closure_is_removed_after_a_confirmation(client, shop, clerk):
    closure = ClosureFactory(
        shop=shop, start_date=timezone.localdate() + timedelta(days=5), reason="Inventaire"
    )
    remove = url(shop, f"hours/closures/{closure.pk}/remove/")
    client.force_login(clerk)

    page = client.get(url(shop, "hours/")).content.decode()
    assert f'action="{remove}"' in page

    assert client.get(remove).status_code == 405
    confirmation = client.post(remove)
    assert confirmation.status_code == 200
    assert confirmation.context["closure"] == closure
    assert 'name="confirm" value="yes"' in confirmation.content.decode()
    assert "Inventaire" in confirmation.content.decode()
    assert Closure.objects.filter(pk=closure.pk).exists()

    with translation.override("en"):
        done = client.post(remove, CONFIRM, follow=True)
        assert done.redirect_chain == [(url(shop, "hours/"), 302)]
        assert messages_of(done) == ["The closure is deleted."]
    assert not Closure.objects.filter(pk=closure.pk).exists()


def test_a_past_closure_is_refused_with_a_message(client, shop, owner):
    today = timezone.localdate()
    past = ClosureFactory(
        shop=shop, start_date=today - timedelta(days=5), end_date=today - timedelta(days=1)
    )
    client.force_login(owner)
    with translation.override("en"):
        for data in ({}, CONFIRM):  # refused at once, and when confirmed anyway
            response = client.post(url(shop, f"hours/closures/{past.pk}/remove/"), data)
            assert response.status_code == 302 and response["Location"] == url(shop, "hours/")
            page = client.get(response["Location"])
            assert any("past closures stay" in m for m in messages_of(page))
    assert Closure.objects.filter(pk=past.pk).exists()


def test_another_shops_closure_is_not_found_and_strangers_get_nothing(
    client, marketplace, shop, owner
):
    theirs = ClosureFactory(shop=ShopFactory(marketplace=marketplace, owner=UserFactory()))
    mine = ClosureFactory(shop=shop)
    client.force_login(owner)
    for data in ({}, CONFIRM):
        assert (
            client.post(url(shop, f"hours/closures/{theirs.pk}/remove/"), data).status_code == 404
        )

    client.force_login(UserFactory())
    for data in ({}, CONFIRM):
        assert client.post(url(shop, f"hours/closures/{mine.pk}/remove/"), data).status_code == 404
    assert Closure.objects.filter(pk__in=[theirs.pk, mine.pk]).count() == 2


# --- Delivery modes -------------------------------------------------------------------------


def test_an_unused_delivery_mode_is_deleted_after_a_confirmation(client, shop, owner):
    mode = ClickCollectFactory(shop=shop, name="Retrait au marché")
    PickupSlotFactory(delivery_mode=mode)
    delete = url(shop, f"delivery/{mode.pk}/delete/")
    client.force_login(owner)

    assert f'action="{delete}"' in client.get(url(shop, "delivery/")).content.decode()
    assert client.get(delete).status_code == 405
    confirmation = client.post(delete)
    assert confirmation.status_code == 200 and confirmation.context["mode"] == mode
    assert "Retrait au marché" in confirmation.content.decode()
    assert DeliveryMode.objects.filter(pk=mode.pk).exists()

    with translation.override("en"):
        done = client.post(delete, CONFIRM, follow=True)
        assert done.redirect_chain == [(url(shop, "delivery/"), 302)]
        assert messages_of(done) == ["The delivery mode “Retrait au marché” is deleted."]
    assert not DeliveryMode.objects.filter(pk=mode.pk).exists()
    assert not PickupSlot.objects.filter(delivery_mode_id=mode.pk).exists()


def test_a_mode_used_by_an_order_is_refused_and_deactivating_suggested(client, world):
    place(world, fill_cart(world, [(world.bread, 1)]))
    mode = world.bakery_home
    assert ShopOrder.objects.filter(delivery_mode=mode).exists()
    delete = url(world.bakery, f"delivery/{mode.pk}/delete/")
    client.force_login(world.baker)

    with translation.override("en"):
        for data in ({}, CONFIRM):  # no confirmation asked for what cannot go
            response = client.post(delete, data, follow=True)
            assert response.redirect_chain == [(url(world.bakery, "delivery/"), 302)]
            [message] = messages_of(response)
            assert "orders were placed with it" in message
            assert "Deactivate it instead" in message
    mode.refresh_from_db()
    assert mode.is_active


def test_another_shops_delivery_mode_is_not_found(client, marketplace, shop, owner):
    theirs = DeliveryModeFactory(shop=ShopFactory(marketplace=marketplace, owner=UserFactory()))
    mine = DeliveryModeFactory(shop=shop)
    client.force_login(owner)
    for data in ({}, CONFIRM):
        assert client.post(url(shop, f"delivery/{theirs.pk}/delete/"), data).status_code == 404

    client.force_login(UserFactory())
    for data in ({}, CONFIRM):
        assert client.post(url(shop, f"delivery/{mine.pk}/delete/"), data).status_code == 404
    assert DeliveryMode.objects.filter(pk__in=[theirs.pk, mine.pk]).count() == 2


# --- Pick-up slots --------------------------------------------------------------------------


def test_an_unbooked_slot_is_deleted_and_the_seller_is_back_on_the_same_page(client, shop, owner):
    mode = ClickCollectFactory(shop=shop)
    slots = [
        PickupSlotFactory(delivery_mode=mode, starts_at=timezone.now() + timedelta(days=1, hours=n))
        for n in range(51)
    ]
    last = slots[-1]  # on the second page of the list
    delete = url(shop, f"delivery/{mode.pk}/slots/{last.pk}/delete/")
    client.force_login(owner)

    page = client.get(url(shop, f"delivery/{mode.pk}/slots/?page=2")).content.decode()
    assert f'action="{delete}"' in page and 'name="page" value="2"' in page

    assert client.get(delete).status_code == 405
    confirmation = client.post(delete, {"page": "2"})
    assert confirmation.status_code == 200 and confirmation.context["slot"] == last
    assert 'name="page" value="2"' in confirmation.content.decode()
    assert PickupSlot.objects.filter(pk=last.pk).exists()

    with translation.override("en"):
        done = client.post(delete, {**CONFIRM, "page": "2"}, follow=True)
        assert done.redirect_chain == [(url(shop, f"delivery/{mode.pk}/slots/?page=2"), 302)]
        assert messages_of(done) == ["The pick-up slot is deleted."]
    assert not PickupSlot.objects.filter(pk=last.pk).exists()
    assert PickupSlot.objects.filter(delivery_mode=mode).count() == 50


def test_a_booked_slot_has_no_button_and_is_refused(client, shop, owner):
    mode = ClickCollectFactory(shop=shop)
    booked = PickupSlotFactory(delivery_mode=mode, booked=1)
    delete = url(shop, f"delivery/{mode.pk}/slots/{booked.pk}/delete/")
    client.force_login(owner)

    assert (
        f'action="{delete}"'
        not in client.get(url(shop, f"delivery/{mode.pk}/slots/")).content.decode()
    )
    with translation.override("en"):
        for data in ({}, CONFIRM):
            response = client.post(delete, data, follow=True)
            assert response.redirect_chain == [(url(shop, f"delivery/{mode.pk}/slots/"), 302)]
            [message] = messages_of(response)
            assert "This pick-up slot is booked" in message
    booked.refresh_from_db()
    assert booked.booked == 1


def test_another_shops_slot_or_a_slot_of_another_mode_is_not_found(
    client, marketplace, shop, owner
):
    mode = ClickCollectFactory(shop=shop)
    other_mode = ClickCollectFactory(shop=shop)
    mine = PickupSlotFactory(delivery_mode=mode)
    theirs = PickupSlotFactory(
        delivery_mode__shop=ShopFactory(marketplace=marketplace, owner=UserFactory())
    )
    client.force_login(owner)
    for path in (
        f"delivery/{mode.pk}/slots/{theirs.pk}/delete/",
        f"delivery/{theirs.delivery_mode_id}/slots/{theirs.pk}/delete/",
        f"delivery/{other_mode.pk}/slots/{mine.pk}/delete/",
    ):
        for data in ({}, CONFIRM):
            assert client.post(url(shop, path), data).status_code == 404, path

    client.force_login(UserFactory())
    assert (
        client.post(url(shop, f"delivery/{mode.pk}/slots/{mine.pk}/delete/"), CONFIRM).status_code
        == 404
    )
    assert PickupSlot.objects.filter(pk__in=[mine.pk, theirs.pk]).count() == 2
