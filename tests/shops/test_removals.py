"""Removing closures, delivery modes and pick-up slots: what goes, what stays and why."""

import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone, translation

from halles.checkout.models import Cart, CartShop
from halles.core.errors import InvalidState, NotAllowed, NotFound
from halles.orders.models import ShopOrder
from halles.shops import services
from halles.shops.models import Closure, DeliveryMode, PickupSlot, ShopEvent

from ..factories import (
    ClickCollectFactory,
    ClosureFactory,
    DeliveryModeFactory,
    PickupSlotFactory,
    ShopFactory,
    ShopStaffFactory,
    UserFactory,
    make_offer,
)
from ..orders.conftest import fill_cart, place, world  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(db):
    return UserFactory()


@pytest.fixture
def shop(marketplace, owner):
    return ShopFactory(marketplace=marketplace, owner=owner)


@pytest.fixture
def clerk(shop):
    """Staff, not an owner: removals are for the whole staff."""
    return ShopStaffFactory(shop=shop).user


def cart_choosing(shop, mode, slot=None, relay_point=""):
    """A buyer's cart whose delivery choice for `shop` is `mode` (and `slot`)."""
    cart = Cart.objects.create(marketplace=shop.marketplace)
    return CartShop.objects.create(
        cart=cart, shop=shop, delivery_mode=mode, pickup_slot=slot, relay_point=relay_point
    )


# --- Closures -------------------------------------------------------------------------------


def test_staff_remove_current_and_future_closures(shop, owner, clerk):
    today = timezone.localdate()
    current = ClosureFactory(shop=shop, start_date=today - timedelta(days=2), end_date=today)
    future = ClosureFactory(shop=shop, start_date=today + timedelta(days=30))
    events = ShopEvent.objects.count()

    removed = services.closure_remove(shop=shop, by=owner, closure_id=current.pk)
    services.closure_remove(shop=shop, by=clerk, closure_id=future.pk)

    assert removed.end_date == today
    assert not Closure.objects.filter(shop=shop).exists()
    assert ShopEvent.objects.count() == events  # a setting, like closure_add: no event


def test_a_past_closure_stays_in_the_history(shop, owner):
    today = timezone.localdate()
    past = ClosureFactory(
        shop=shop, start_date=today - timedelta(days=9), end_date=today - timedelta(days=1)
    )
    with translation.override("en"), pytest.raises(InvalidState) as error:
        services.closure_remove(shop=shop, by=owner, closure_id=past.pk)
    assert error.value.code == "closure_past"
    with translation.override("en"):  # the message is lazy: read in English
        assert "past closures stay" in str(error.value.message)
    with pytest.raises(InvalidState):
        services.closure_remove_check(shop=shop, by=owner, closure_id=past.pk)
    assert Closure.objects.filter(pk=past.pk).exists()


@time_machine.travel(datetime(2026, 6, 1, 22, 30, tzinfo=UTC))  # June 2nd, 00:30 in Paris
def test_past_means_before_the_shops_today_in_its_time_zone(shop, owner):
    june_1 = ClosureFactory(shop=shop, start_date=date(2026, 6, 1))
    june_2 = ClosureFactory(shop=shop, start_date=date(2026, 6, 2))

    with pytest.raises(InvalidState):
        services.closure_remove(shop=shop, by=owner, closure_id=june_1.pk)
    services.closure_remove(shop=shop, by=owner, closure_id=june_2.pk)

    assert list(Closure.objects.filter(shop=shop)) == [june_1]


def test_a_closure_is_removed_only_by_its_shops_staff(marketplace, shop, owner):
    closure = ClosureFactory(shop=shop, start_date=timezone.localdate() + timedelta(days=3))
    other_owner = UserFactory()
    other_shop = ShopFactory(marketplace=marketplace, owner=other_owner)

    with pytest.raises(NotAllowed):
        services.closure_remove(shop=shop, by=UserFactory(), closure_id=closure.pk)
    with pytest.raises(NotFound):  # another shop's staff, through their own shop
        services.closure_remove(shop=other_shop, by=other_owner, closure_id=closure.pk)
    with pytest.raises(NotFound):
        services.closure_remove(shop=shop, by=owner, closure_id=closure.pk + 1000)

    assert Closure.objects.filter(pk=closure.pk).exists()


# --- Delivery modes -------------------------------------------------------------------------


def test_an_unused_mode_goes_with_its_slots_and_links_and_carts_choose_again(shop, owner):
    mode = ClickCollectFactory(shop=shop)
    kept = DeliveryModeFactory(shop=shop)
    slots = PickupSlotFactory.create_batch(2, delivery_mode=mode)
    both = make_offer(shop, sku="BOTH")
    both.delivery_modes.set([mode, kept])
    unrestricted = make_offer(shop, sku="ALL")
    by_slot = cart_choosing(shop, mode, slots[0])
    elsewhere = cart_choosing(shop, kept)

    assert services.delivery_mode_delete_check(shop=shop, by=owner, mode_id=mode.pk) == mode
    deleted = services.delivery_mode_delete(shop=shop, by=owner, mode_id=mode.pk)

    assert deleted.name == mode.name
    assert not DeliveryMode.objects.filter(pk=mode.pk).exists()
    assert not PickupSlot.objects.filter(pk__in=[s.pk for s in slots]).exists()
    assert list(both.delivery_modes.all()) == [kept]
    assert not unrestricted.delivery_modes.exists()
    by_slot.refresh_from_db()
    assert (by_slot.delivery_mode, by_slot.pickup_slot) == (None, None)
    elsewhere.refresh_from_db()
    assert elsewhere.delivery_mode == kept


def test_a_cart_choice_is_reset_whole(shop, owner):
    relay = DeliveryModeFactory(shop=shop, kind="relay", name="Relais", carrier="Mondial Relay")
    choice = cart_choosing(shop, relay, relay_point="Tabac de la Gare, Lyon")

    services.delivery_mode_delete(shop=shop, by=owner, mode_id=relay.pk)

    choice.refresh_from_db()
    assert (choice.delivery_mode, choice.relay_point) == (None, "")


def test_a_mode_orders_were_placed_with_stays_and_deactivating_is_suggested(world):  # noqa: F811
    place(world, fill_cart(world, [(world.bread, 1)]))
    mode = world.bakery_home
    assert ShopOrder.objects.filter(delivery_mode=mode).exists()

    for remove in (services.delivery_mode_delete_check, services.delivery_mode_delete):
        with translation.override("en"), pytest.raises(InvalidState) as error:
            remove(shop=world.bakery, by=world.baker, mode_id=mode.pk)
        assert error.value.code == "delivery_mode_used"
        assert "orders were placed with it" in str(error.value.message)
        assert "Deactivate it instead" in str(error.value.message)

    assert DeliveryMode.objects.filter(pk=mode.pk).exists()
    assert ShopOrder.objects.get(delivery_mode=mode).delivery_name == mode.name


def test_a_mode_with_a_booked_slot_stays(shop, owner):
    mode = ClickCollectFactory(shop=shop)
    free = PickupSlotFactory(delivery_mode=mode)
    booked = PickupSlotFactory(delivery_mode=mode, booked=1)
    choice = cart_choosing(shop, mode, free)

    with translation.override("en"), pytest.raises(InvalidState) as error:
        services.delivery_mode_delete(shop=shop, by=owner, mode_id=mode.pk)

    assert error.value.code == "delivery_mode_slots_booked"
    assert "Deactivate it instead" in str(error.value.message)
    assert PickupSlot.objects.filter(pk__in=[free.pk, booked.pk]).count() == 2
    choice.refresh_from_db()
    assert choice.pickup_slot == free


def test_a_mode_that_is_an_offers_only_mode_stays(shop, owner):
    """An offer without delivery modes accepts all of its shop's: deleting its only mode
    would widen it (a fresh cheese offered for collection only would become deliverable)."""
    collect = ClickCollectFactory(shop=shop)
    home = DeliveryModeFactory(shop=shop)
    for sku in ("BRIE", "COMTE"):
        make_offer(shop, sku=sku).delivery_modes.set([collect])
    make_offer(shop, sku="BOTH").delivery_modes.set([collect, home])

    with translation.override("en"), pytest.raises(InvalidState) as error:
        services.delivery_mode_delete(shop=shop, by=owner, mode_id=collect.pk)

    assert error.value.code == "delivery_mode_only_one"
    assert "2 offers are delivered by this mode only" in str(error.value.message)
    assert collect.offers.count() == 3
    services.delivery_mode_delete(shop=shop, by=owner, mode_id=home.pk)  # BOTH keeps collect
    assert not DeliveryMode.objects.filter(pk=home.pk).exists()


def test_a_mode_is_deleted_only_by_its_shops_staff(marketplace, shop, owner):
    mode = DeliveryModeFactory(shop=shop)
    other_owner = UserFactory()
    other_shop = ShopFactory(marketplace=marketplace, owner=other_owner)

    with pytest.raises(NotAllowed):
        services.delivery_mode_delete(shop=shop, by=UserFactory(), mode_id=mode.pk)
    with pytest.raises(NotFound):
        services.delivery_mode_delete(shop=other_shop, by=other_owner, mode_id=mode.pk)

    assert DeliveryMode.objects.filter(pk=mode.pk).exists()


def test_a_slot_booked_while_its_mode_is_deleted_keeps_everything(shop, owner, monkeypatch):
    """A booking that commits between the checks and the DELETE wins; nothing changes."""
    mode = ClickCollectFactory(shop=shop)
    slot = PickupSlotFactory(delivery_mode=mode)
    choice = cart_choosing(shop, mode, slot)
    assert services.pickup_slot_book(slot_id=slot.pk)
    # The checks ran before that booking: they let the mode go.
    monkeypatch.setattr(services, "_deletable_mode", lambda found: found)

    with pytest.raises(InvalidState) as error:
        services.delivery_mode_delete(shop=shop, by=owner, mode_id=mode.pk)

    assert error.value.code == "delivery_mode_slots_booked"
    slot.refresh_from_db()
    assert slot.booked == 1 and DeliveryMode.objects.filter(pk=mode.pk).exists()
    choice.refresh_from_db()
    assert (choice.delivery_mode, choice.pickup_slot) == (mode, slot)


def test_the_removals_handle_every_reference_to_modes_and_slots():
    """A new foreign key to DeliveryMode or PickupSlot must be considered by
    delivery_mode_delete and pickup_slot_delete (the slot DELETE bypasses Django's on_delete)."""

    def references(model):
        return {
            (rel.related_model._meta.label, rel.field.name, getattr(rel.on_delete, "__name__", ""))
            for rel in model._meta.get_fields(include_hidden=True)
            if rel.auto_created and not rel.concrete and not rel.many_to_many
        }

    assert references(DeliveryMode) == {
        ("shops.PickupSlot", "delivery_mode", "CASCADE"),
        ("catalog.Offer_delivery_modes", "deliverymode", "CASCADE"),
        ("orders.ShopOrder", "delivery_mode", "SET_NULL"),
        ("checkout.CartShop", "delivery_mode", "SET_NULL"),
    }
    assert references(PickupSlot) == {
        ("orders.ShopOrder", "pickup_slot", "SET_NULL"),
        ("checkout.CartShop", "pickup_slot", "SET_NULL"),
    }


# --- Pick-up slots --------------------------------------------------------------------------


def test_an_unbooked_slot_goes_and_carts_that_chose_it_choose_again(shop, owner, clerk):
    mode = ClickCollectFactory(shop=shop)
    slot, other = PickupSlotFactory.create_batch(2, delivery_mode=mode)
    choice = cart_choosing(shop, mode, slot)

    assert services.pickup_slot_delete_check(shop=shop, by=clerk, slot_id=slot.pk) == slot
    services.pickup_slot_delete(shop=shop, by=clerk, slot_id=slot.pk)

    assert list(PickupSlot.objects.filter(delivery_mode=mode)) == [other]
    choice.refresh_from_db()
    # The whole choice goes: a slot mode without its slot must not reach checkout.
    assert (choice.delivery_mode, choice.pickup_slot) == (None, None)


def test_an_order_whose_booking_was_released_keeps_its_slot_label(world):  # noqa: F811
    """ShopOrder.pickup_slot is SET_NULL: the order loses the link, keeps the label."""
    order = place(world, fill_cart(world, [(world.bread, 1)]))
    slot = PickupSlotFactory(delivery_mode__shop=world.bakery)
    shop_order = ShopOrder.objects.get(order=order, shop=world.bakery)
    ShopOrder.objects.filter(pk=shop_order.pk).update(
        pickup_slot=slot, pickup_slot_label="mardi 10:00-11:00"
    )

    services.pickup_slot_delete(shop=world.bakery, by=world.baker, slot_id=slot.pk)

    shop_order.refresh_from_db()
    assert (shop_order.pickup_slot, shop_order.pickup_slot_label) == (None, "mardi 10:00-11:00")
    assert not PickupSlot.objects.filter(pk=slot.pk).exists()


def test_a_booked_slot_stays(shop, owner):
    slot = PickupSlotFactory(delivery_mode=ClickCollectFactory(shop=shop), booked=1)

    for remove in (services.pickup_slot_delete_check, services.pickup_slot_delete):
        with translation.override("en"), pytest.raises(InvalidState) as error:
            remove(shop=shop, by=owner, slot_id=slot.pk)
        assert error.value.code == "slot_booked"
        with translation.override("en"):  # the message is lazy: read in English
            assert "booked" in str(error.value.message)

    slot.refresh_from_db()
    assert slot.booked == 1


def test_a_slot_is_deleted_only_by_its_shops_staff(marketplace, shop, owner):
    slot = PickupSlotFactory(delivery_mode=ClickCollectFactory(shop=shop))
    other_owner = UserFactory()
    other_shop = ShopFactory(marketplace=marketplace, owner=other_owner)

    with pytest.raises(NotAllowed):
        services.pickup_slot_delete(shop=shop, by=UserFactory(), slot_id=slot.pk)
    with pytest.raises(NotFound):
        services.pickup_slot_delete(shop=other_shop, by=other_owner, slot_id=slot.pk)

    assert PickupSlot.objects.filter(pk=slot.pk).exists()


def test_a_slot_booked_after_the_check_is_not_deleted(shop, owner, monkeypatch):
    """The DELETE itself says `booked = 0`: a booking that commits between the check and the
    DELETE keeps its slot, and the carts are left as they were."""
    mode = ClickCollectFactory(shop=shop)
    slot = PickupSlotFactory(delivery_mode=mode)
    choice = cart_choosing(shop, mode, slot)
    stale = PickupSlot.objects.get(pk=slot.pk)  # what the check read, before the booking
    assert services.pickup_slot_book(slot_id=slot.pk)
    monkeypatch.setattr(services, "pickup_slot_delete_check", lambda **kwargs: stale)

    with pytest.raises(InvalidState) as error:
        services.pickup_slot_delete(shop=shop, by=owner, slot_id=slot.pk)

    assert error.value.code == "slot_booked"
    slot.refresh_from_db()
    assert slot.booked == 1
    choice.refresh_from_db()
    assert (choice.delivery_mode, choice.pickup_slot) == (mode, slot)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_and_a_deletion_never_lose_a_booking():
    """Checkouts book a slot while the seller deletes it, in rounds where the deletion starts
    later and later among the bookings: either the slot is gone and no booking succeeded, or
    it stays with exactly the bookings that succeeded."""
    owner = UserFactory()
    shop = ShopFactory(owner=owner)
    for round_ in range(8):
        slot = PickupSlotFactory(delivery_mode=ClickCollectFactory(shop=shop), capacity=10)
        barrier = threading.Barrier(11)
        booked, refused = [], []

        def run(action, delay, barrier=barrier):
            try:
                barrier.wait()
                time.sleep(delay)
                action()
            finally:
                connection.close()

        def book(slot_id=slot.pk, booked=booked):
            booked.append(services.pickup_slot_book(slot_id=slot_id))

        def delete(slot_id=slot.pk, refused=refused):
            try:
                services.pickup_slot_delete(shop=shop, by=owner, slot_id=slot_id)
            except InvalidState:
                refused.append(True)

        threads = [threading.Thread(target=run, args=(book, 0.01 + n * 0.003)) for n in range(10)]
        threads.append(threading.Thread(target=run, args=(delete, round_ * 0.004)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        remaining = PickupSlot.objects.filter(pk=slot.pk).first()
        if remaining is None:
            assert not refused and booked.count(True) == 0
        else:
            assert refused and remaining.booked == booked.count(True) > 0
