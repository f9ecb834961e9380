import pytest

from halles.core.errors import DomainError, InvalidState, NotAllowed
from halles.notifications.models import Email
from halles.shops.models import ShopEvent, ShopStatus
from halles.shops.workflow import allowed_actions, shop_transition

from ..factories import (
    MarketplaceFactory,
    OperatorFactory,
    SellerApplicationFactory,
    ShopFactory,
    ShopStaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(db):
    return UserFactory(email="owner@example.test", language="en")


@pytest.fixture
def shop(marketplace, owner):
    return ShopFactory(marketplace=marketplace, owner=owner)


def test_an_operator_suspends_with_a_reason_and_the_owner_is_told(
    shop, operator, run_on_commit, outbox
):
    with pytest.raises(DomainError) as error:
        shop_transition(shop_id=shop.pk, action="suspend", actor=operator)
    assert error.value.code == "reason_required"

    with run_on_commit():
        suspended = shop_transition(
            shop_id=shop.pk, action="suspend", actor=operator, reason="Commandes non expédiées"
        )

    assert suspended.status == ShopStatus.SUSPENDED
    assert suspended.status_reason == "Commandes non expédiées"
    assert not suspended.suspended_automatically and not suspended.can_sell
    event = ShopEvent.objects.get(shop=shop)
    assert (event.action, event.from_status, event.to_status, event.actor, event.automatic) == (
        "suspend",
        "active",
        "suspended",
        operator,
        False,
    )
    assert [m.to for m in outbox] == [["owner@example.test"]]
    assert "is suspended" in outbox[0].subject
    assert "Commandes non expédiées" in outbox[0].body


def test_the_system_suspends_automatically_without_an_author(shop, run_on_commit, outbox):
    with run_on_commit():
        suspended = shop_transition(
            shop_id=shop.pk,
            action="suspend",
            actor=None,
            reason="Commande non acceptée dans le délai",
            automatic=True,
        )
    assert suspended.status == ShopStatus.SUSPENDED and suspended.suspended_automatically
    event = ShopEvent.objects.get(shop=shop)
    assert event.automatic and event.actor is None
    assert "suspended automatically" in outbox[0].body


def test_only_a_suspension_is_automatic_and_it_has_no_author(shop, operator):
    with pytest.raises(DomainError) as error:
        shop_transition(shop_id=shop.pk, action="close", actor=None, automatic=True)
    assert error.value.code == "not_automatic"
    with pytest.raises(DomainError):
        shop_transition(
            shop_id=shop.pk, action="suspend", actor=operator, reason="x", automatic=True
        )
    # Without automatic=True, nobody is nobody.
    with pytest.raises(NotAllowed):
        shop_transition(shop_id=shop.pk, action="suspend", actor=None, reason="x")
    shop.refresh_from_db()
    assert shop.status == ShopStatus.ACTIVE and not ShopEvent.objects.exists()


def test_reactivation_is_for_operators_and_clears_the_suspension(
    shop, owner, operator, run_on_commit, outbox
):
    shop_transition(shop_id=shop.pk, action="suspend", actor=None, reason="x", automatic=True)
    with pytest.raises(NotAllowed):
        shop_transition(shop_id=shop.pk, action="reactivate", actor=owner)

    with run_on_commit():
        active = shop_transition(shop_id=shop.pk, action="reactivate", actor=operator)
    assert active.status == ShopStatus.ACTIVE
    assert not active.suspended_automatically and active.status_reason == ""
    assert "active again" in outbox[-1].subject
    assert list(ShopEvent.objects.filter(shop=shop).values_list("action", flat=True)) == [
        "reactivate",
        "suspend",
    ]


def test_the_owner_may_close_the_shop_but_staff_may_not(shop, owner, run_on_commit, outbox):
    staff = ShopStaffFactory(shop=shop).user
    with pytest.raises(NotAllowed):
        shop_transition(shop_id=shop.pk, action="close", actor=staff)
    with pytest.raises(NotAllowed):
        shop_transition(shop_id=shop.pk, action="suspend", actor=owner, reason="vacances")

    with run_on_commit():
        closed = shop_transition(shop_id=shop.pk, action="close", actor=owner)
    assert closed.status == ShopStatus.CLOSED
    assert outbox == []  # the owner did it: nothing to tell them
    assert allowed_actions(closed) == []


def test_an_operator_closes_a_suspended_shop_and_tells_the_owner(
    shop, operator, run_on_commit, outbox
):
    shop_transition(shop_id=shop.pk, action="suspend", actor=operator, reason="Fraude")
    with run_on_commit():
        shop_transition(shop_id=shop.pk, action="close", actor=operator, reason="Fraude avérée")
    shop.refresh_from_db()
    assert shop.status == ShopStatus.CLOSED
    assert "is closed" in outbox[-1].subject and "Fraude avérée" in outbox[-1].body


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (ShopStatus.PENDING, "suspend"),
        (ShopStatus.PENDING, "close"),
        (ShopStatus.ACTIVE, "activate"),
        (ShopStatus.ACTIVE, "reactivate"),
        (ShopStatus.SUSPENDED, "suspend"),
        (ShopStatus.CLOSED, "reactivate"),
        (ShopStatus.CLOSED, "close"),
    ],
)
def test_illegal_transitions_are_refused_and_change_nothing(marketplace, operator, status, action):
    shop = ShopFactory(marketplace=marketplace, status=status)
    with pytest.raises(InvalidState):
        shop_transition(shop_id=shop.pk, action=action, actor=operator, reason="x")
    shop.refresh_from_db()
    assert shop.status == status
    assert not ShopEvent.objects.exists() and not Email.objects.exists()


def test_unknown_actions_are_refused(shop, operator):
    with pytest.raises(DomainError) as error:
        shop_transition(shop_id=shop.pk, action="delete", actor=operator)
    assert error.value.code == "unknown_action"


def test_operators_of_another_marketplace_cannot_touch_the_shop(shop):
    stranger = OperatorFactory(marketplaces=[MarketplaceFactory()])
    with pytest.raises(NotAllowed):
        shop_transition(shop_id=shop.pk, action="suspend", actor=stranger, reason="x")


def test_a_pending_shop_is_activated_through_its_application_only(marketplace, operator):
    application = SellerApplicationFactory(shop__marketplace=marketplace)
    with pytest.raises(DomainError) as error:
        shop_transition(shop_id=application.shop_id, action="activate", actor=operator)
    assert error.value.code == "application_not_decided"
    application.shop.refresh_from_db()
    assert application.shop.status == ShopStatus.PENDING
