import threading
from datetime import UTC, date, datetime, time

import pytest
import time_machine
from django.db import connection

from halles.core.errors import DomainError, NotAllowed
from halles.shops import services
from halles.shops.models import PickupSlot

from ..factories import (
    ClickCollectFactory,
    DeliveryModeFactory,
    PickupSlotFactory,
    ShopFactory,
    UserFactory,
)

MONDAY = date(2026, 6, 1)
SUNDAY = date(2026, 6, 7)


@pytest.fixture
def owner(db):
    return UserFactory()


@pytest.fixture
def click_collect(marketplace, owner):
    shop = ShopFactory(marketplace=marketplace, owner=owner)
    services.opening_hours_set(
        shop=shop,
        by=owner,
        periods=[(day, time(9), time(12)) for day in range(6)]
        + [(day, time(14), time(18)) for day in range(6)],
    )
    return ClickCollectFactory(shop=shop)


@pytest.mark.django_db
@time_machine.travel(datetime(2026, 5, 25, 12, tzinfo=UTC))
def test_slots_follow_opening_hours_and_skip_closures(click_collect, owner):
    services.closure_add(
        shop=click_collect.shop, by=owner, start_date=date(2026, 6, 3), end_date=date(2026, 6, 3)
    )

    created = services.pickup_slots_generate(
        mode=click_collect,
        by=owner,
        start_date=MONDAY,
        end_date=SUNDAY,
        times=[(time(10), time(11)), (time(12), time(13)), (time(16), time(17))],
        capacity=4,
    )

    # Monday, Tuesday, Thursday, Friday, Saturday (Wednesday closed, Sunday no hours);
    # 12:00-13:00 is the lunch break.
    starts = sorted(slot.starts_at for slot in PickupSlot.objects.all())
    assert len(created) == len(starts) == 10
    days = sorted({s.astimezone(UTC).date() for s in starts})
    assert days == [date(2026, 6, d) for d in (1, 2, 4, 5, 6)]
    # 10:00 in Paris is 08:00 UTC in June.
    assert starts[0] == datetime(2026, 6, 1, 8, tzinfo=UTC)
    assert {slot.capacity for slot in PickupSlot.objects.all()} == {4}

    # Generating again adds nothing.
    again = services.pickup_slots_generate(
        mode=click_collect,
        by=owner,
        start_date=MONDAY,
        end_date=SUNDAY,
        times=[(time(10), time(11)), (time(16), time(17))],
        capacity=4,
    )
    assert again == [] and PickupSlot.objects.count() == 10


@pytest.mark.django_db
def test_slots_are_for_click_and_collect_with_slots_by_staff(click_collect, owner):
    for mode in (
        DeliveryModeFactory(shop=click_collect.shop),
        ClickCollectFactory(shop=click_collect.shop, uses_slots=False),
    ):
        with pytest.raises(DomainError) as error:
            services.pickup_slots_generate(
                mode=mode,
                by=owner,
                start_date=MONDAY,
                end_date=SUNDAY,
                times=[(time(10), time(11))],
                capacity=1,
            )
        assert error.value.code == "slots_not_enabled"
    with pytest.raises(NotAllowed):
        services.pickup_slots_generate(
            mode=click_collect,
            by=UserFactory(),
            start_date=MONDAY,
            end_date=SUNDAY,
            times=[(time(10), time(11))],
            capacity=1,
        )
    with pytest.raises(DomainError) as error:
        services.pickup_slots_generate(
            mode=click_collect,
            by=owner,
            start_date=MONDAY,
            end_date=SUNDAY,
            times=[(time(11), time(10))],
            capacity=1,
        )
    assert error.value.code == "slot_times"
    assert not PickupSlot.objects.exists()


@pytest.mark.django_db
def test_booking_a_slot_stops_at_its_capacity_and_release_gives_a_place_back():
    slot = PickupSlotFactory(capacity=2)
    assert services.pickup_slot_book(slot_id=slot.pk)
    assert services.pickup_slot_book(slot_id=slot.pk)
    assert not services.pickup_slot_book(slot_id=slot.pk)
    slot.refresh_from_db()
    assert slot.booked == 2

    assert services.pickup_slot_release(slot_id=slot.pk)
    assert services.pickup_slot_book(slot_id=slot.pk)
    empty = PickupSlotFactory()
    assert not services.pickup_slot_release(slot_id=empty.pk)


@pytest.mark.django_db
def test_a_past_slot_cannot_be_booked():
    slot = PickupSlotFactory()
    with time_machine.travel(slot.starts_at):
        assert not services.pickup_slot_book(slot_id=slot.pk)
    slot.refresh_from_db()
    assert slot.booked == 0


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_never_overbook_a_slot():
    """20 checkouts at once on a slot of capacity 3: exactly 3 get a place."""
    slot = PickupSlotFactory(capacity=3)
    barrier = threading.Barrier(20)
    outcomes = []

    def book():
        try:
            barrier.wait()
            outcomes.append(services.pickup_slot_book(slot_id=slot.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=book) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == [False] * 17 + [True] * 3
    slot.refresh_from_db()
    assert slot.booked == 3
