from datetime import UTC, date, datetime, time

import pytest

from halles.core.errors import DomainError, NotAllowed, NotFound
from halles.shops import services
from halles.shops.models import DeliveryKind, DeliveryMode, OpeningHours
from halles.shops.selectors import is_open_at

from ..factories import DeliveryModeFactory, ShopFactory, ShopStaffFactory, UserFactory

pytestmark = pytest.mark.django_db

MONDAY = date(2026, 6, 1)


@pytest.fixture
def owner(db):
    return UserFactory()


@pytest.fixture
def shop(marketplace, owner):
    return ShopFactory(marketplace=marketplace, owner=owner)


# --- Profile --------------------------------------------------------------------------------


def test_staff_update_the_public_profile(shop):
    staff = ShopStaffFactory(shop=shop).user
    updated = services.shop_profile_update(
        shop=shop,
        by=staff,
        description="Fromages affinés",
        return_policy="Retours sous 14 jours",
        return_shipping_paid_by="shop",
        accepts_bank_transfer=True,
        public_email="Bonjour@Fromagerie.test",
    )
    shop.refresh_from_db()
    assert shop.description == "Fromages affinés" and shop.accepts_bank_transfer
    assert shop.return_shipping_paid_by == "shop"
    assert shop.public_email == updated.public_email == "bonjour@fromagerie.test"

    with pytest.raises(NotAllowed):
        services.shop_profile_update(shop=shop, by=UserFactory(), description="Piraté")
    with pytest.raises(TypeError):
        services.shop_profile_update(shop=shop, by=staff, siret="00000000000000")


def test_at_least_one_payment_method_stays_accepted(shop, owner):
    with pytest.raises(DomainError) as error:
        services.shop_profile_update(
            shop=shop,
            by=owner,
            accepts_card=False,
            accepts_bank_transfer=False,
            accepts_pay_in_store=False,
        )
    assert error.value.code == "payment_method_required"
    shop.refresh_from_db()
    assert shop.accepts_card

    services.shop_profile_update(shop=shop, by=owner, accepts_card=False, accepts_pay_in_store=True)
    shop.refresh_from_db()
    assert not shop.accepts_card and shop.accepts_pay_in_store


# --- Opening hours and closures -------------------------------------------------------------


def test_opening_hours_replace_the_previous_ones(shop, owner):
    services.opening_hours_set(shop=shop, by=owner, periods=[(0, time(8), time(20))])
    services.opening_hours_set(
        shop=shop,
        by=owner,
        periods=[(0, time(14), time(18)), (0, time(9), time(12)), (5, time(9), time(12))],
    )
    assert [(h.weekday, h.opens, h.closes) for h in shop.opening_hours.all()] == [
        (0, time(9), time(12)),
        (0, time(14), time(18)),
        (5, time(9), time(12)),
    ]


@pytest.mark.parametrize(
    ("periods", "code"),
    [
        ([(0, time(9), time(13)), (0, time(12), time(18))], "hours_overlap"),
        ([(2, time(9), time(18)), (2, time(10), time(11))], "hours_overlap"),
        ([(1, time(18), time(9))], "hours_order"),
        ([(1, time(9), time(9))], "hours_order"),
        ([(7, time(9), time(12))], "invalid_weekday"),
    ],
)
def test_bad_opening_hours_are_refused_and_keep_the_old_ones(shop, owner, periods, code):
    OpeningHours.objects.create(shop=shop, weekday=0, opens=time(9), closes=time(18))
    with pytest.raises(DomainError) as error:
        services.opening_hours_set(shop=shop, by=owner, periods=periods)
    assert error.value.code == code
    assert shop.opening_hours.count() == 1


def test_back_to_back_periods_are_fine(shop, owner):
    services.opening_hours_set(
        shop=shop, by=owner, periods=[(0, time(9), time(12)), (0, time(12), time(18))]
    )
    assert shop.opening_hours.count() == 2


def test_only_staff_set_opening_hours_and_closures(shop):
    outsider = UserFactory()
    with pytest.raises(NotAllowed):
        services.opening_hours_set(shop=shop, by=outsider, periods=[])
    with pytest.raises(NotAllowed):
        services.closure_add(shop=shop, by=outsider, start_date=MONDAY, end_date=MONDAY, reason="x")


def test_a_closure_ends_on_or_after_its_start(shop, owner):
    with pytest.raises(DomainError) as error:
        services.closure_add(
            shop=shop, by=owner, start_date=date(2026, 6, 2), end_date=MONDAY, reason="x"
        )
    assert error.value.code == "closure_dates"


def test_is_open_at_reads_hours_in_the_marketplaces_time_zone_and_skips_closures(shop, owner):
    services.opening_hours_set(
        shop=shop, by=owner, periods=[(0, time(9), time(12)), (0, time(14), time(18))]
    )
    # Paris is UTC+2 in June: 07:30 UTC is 09:30 in the shop.
    assert is_open_at(shop, datetime(2026, 6, 1, 7, 30, tzinfo=UTC))
    assert not is_open_at(shop, datetime(2026, 6, 1, 6, 30, tzinfo=UTC))  # 08:30
    assert not is_open_at(shop, datetime(2026, 6, 1, 10, 30, tzinfo=UTC))  # 12:30, lunch
    assert not is_open_at(shop, datetime(2026, 6, 1, 16, 0, tzinfo=UTC))  # 18:00, closed
    assert not is_open_at(shop, datetime(2026, 6, 2, 8, 0, tzinfo=UTC))  # Tuesday
    assert is_open_at(shop, datetime(2026, 6, 8, 8, 0, tzinfo=UTC))  # next Monday

    services.closure_add(
        shop=shop, by=owner, start_date=date(2026, 5, 30), end_date=MONDAY, reason="Inventaire"
    )
    assert not is_open_at(shop, datetime(2026, 6, 1, 7, 30, tzinfo=UTC))
    assert is_open_at(shop, datetime(2026, 6, 8, 8, 0, tzinfo=UTC))  # the closure is over


# --- Delivery modes -------------------------------------------------------------------------


def mode(**fields):
    return DeliveryMode(**{"name": "Livraison", "fee_cents": 0, **fields})


def test_each_kind_of_delivery_has_its_rules(shop, owner):
    with pytest.raises(DomainError) as error:
        services.delivery_mode_save(shop=shop, by=owner, mode=mode(kind=DeliveryKind.CLICK_COLLECT))
    assert (error.value.code, error.value.field) == ("pickup_address_required", "pickup_address")
    for kind in (DeliveryKind.HOME, DeliveryKind.RELAY):
        with pytest.raises(DomainError) as error:
            services.delivery_mode_save(shop=shop, by=owner, mode=mode(kind=kind))
        assert (error.value.code, error.value.field) == ("carrier_required", "carrier")
    with pytest.raises(DomainError) as error:
        services.delivery_mode_save(
            shop=shop, by=owner, mode=mode(kind=DeliveryKind.HOME, carrier="DPD", fee_cents=-1)
        )
    assert error.value.code == "negative_fee"
    with pytest.raises(DomainError) as error:
        services.delivery_mode_save(
            shop=shop,
            by=owner,
            mode=mode(kind=DeliveryKind.RELAY, carrier="Mondial Relay", uses_slots=True),
        )
    assert error.value.code == "slots_click_collect_only"
    assert not DeliveryMode.objects.exists()

    saved = services.delivery_mode_save(
        shop=shop,
        by=owner,
        mode=mode(
            kind=DeliveryKind.CLICK_COLLECT, pickup_address="1 place du Marché", uses_slots=True
        ),
    )
    assert saved.pk and saved.shop == shop


def test_a_shop_cannot_save_another_shops_delivery_mode(shop, owner):
    theirs = DeliveryModeFactory()
    theirs.fee_cents = 0
    with pytest.raises(NotFound):
        services.delivery_mode_save(shop=shop, by=owner, mode=theirs)
    theirs.refresh_from_db()
    assert theirs.fee_cents == 590 and theirs.shop != shop
    with pytest.raises(NotAllowed):
        services.delivery_mode_save(shop=theirs.shop, by=owner, mode=theirs)
