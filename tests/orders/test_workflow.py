"""The shop-order transition table, exhaustively: every action from every state, and every
action by every role; an illegal transition is a clear error and changes nothing."""

import pytest

from halles.core.errors import DomainError, InvalidState, NotAllowed
from halles.orders.models import Order, OrderEvent, OrderLine, OrderStatus, Role, ShopOrder, State
from halles.orders.workflow import TRANSITIONS, actions_for, shop_order_transition

from ..factories import OperatorFactory, UserFactory, make_offer, make_shop

pytestmark = pytest.mark.django_db

ROLES = [Role.BUYER, Role.SELLER, Role.OPERATOR, Role.SYSTEM]


@pytest.fixture
def case(marketplace):
    """A placed order of one line, its buyer, the shop's owner and an operator."""
    shop, owner = make_shop(marketplace, slug="epicerie")
    offer = make_offer(shop, sku="MIEL", stock=5)
    buyer = UserFactory()
    order = Order.objects.create(
        marketplace=marketplace,
        reference="TST-00000001",
        buyer=buyer,
        status=OrderStatus.PLACED,
        checkout_token="t1",
        total_cents=1000,
        email=buyer.email,
        billing_name="Bob",
        billing_line1="1 rue",
        billing_postcode="75001",
        billing_city="Paris",
        billing_country="FR",
    )
    shop_order = ShopOrder.objects.create(
        order=order,
        marketplace=marketplace,
        shop=shop,
        reference="TST-00000001-A",
        delivery_kind="home",
        delivery_name="Colissimo",
        lines_cents=1000,
        total_cents=1000,
    )
    OrderLine.objects.create(
        shop_order=shop_order,
        offer=offer,
        title="Miel",
        sku="MIEL",
        quantity=1,
        unit_price_cents=1000,
        vat_rate="5.50",
        total_cents=1000,
    )
    actors = {
        Role.BUYER: buyer,
        Role.SELLER: owner,
        Role.OPERATOR: OperatorFactory(marketplaces=[marketplace]),
        Role.SYSTEM: None,
    }
    return shop_order, actors


def put_in(shop_order, state):
    ShopOrder.objects.filter(pk=shop_order.pk).update(state=state)
    OrderLine.objects.filter(shop_order=shop_order).update(state=state)


def attempt(shop_order, action, role, actor, note="a reason"):
    return shop_order_transition(
        shop_order_id=shop_order.pk, action=action, actor=actor, role=role, note=note
    )


@pytest.mark.parametrize("action", sorted(TRANSITIONS))
@pytest.mark.parametrize("state", State.values)
def test_each_action_applies_from_its_source_states_only(case, action, state):
    shop_order, actors = case
    transition = TRANSITIONS[action]
    role = sorted(transition.roles)[0]
    put_in(shop_order, state)

    if state in transition.sources:
        result = attempt(shop_order, action, role, actors[role])
        assert result.state == transition.target
        assert ShopOrder.objects.get(pk=shop_order.pk).state == transition.target
        event = OrderEvent.objects.get(shop_order=shop_order)
        assert (event.action, event.from_state, event.to_state, event.role) == (
            action,
            state,
            transition.target,
            role,
        )
    else:
        with pytest.raises(InvalidState):
            attempt(shop_order, action, role, actors[role])
        assert ShopOrder.objects.get(pk=shop_order.pk).state == state
        assert not OrderEvent.objects.exists()


@pytest.mark.parametrize("action", sorted(TRANSITIONS))
@pytest.mark.parametrize("role", ROLES)
def test_each_action_is_applied_by_its_roles_only(case, action, role):
    shop_order, actors = case
    transition = TRANSITIONS[action]
    put_in(shop_order, transition.sources[0])

    if role in transition.roles:
        assert attempt(shop_order, action, role, actors[role]).state == transition.target
    else:
        with pytest.raises(NotAllowed):
            attempt(shop_order, action, role, actors[role])
        assert ShopOrder.objects.get(pk=shop_order.pk).state == transition.sources[0]
        assert not OrderEvent.objects.exists()


@pytest.mark.parametrize("action,role", [("accept", Role.SELLER), ("buyer_cancel", Role.BUYER)])
def test_someone_else_acting_in_the_role_is_refused(case, marketplace, action, role):
    shop_order, _actors = case
    put_in(shop_order, State.WAITING_ACCEPTANCE)
    other_shop, other_owner = make_shop(marketplace, slug="autre")
    stranger = other_owner if role == Role.SELLER else UserFactory()

    with pytest.raises(NotAllowed):
        attempt(shop_order, action, role, stranger)
    assert ShopOrder.objects.get(pk=shop_order.pk).state == State.WAITING_ACCEPTANCE


def test_an_operator_of_another_marketplace_cannot_act(case):
    shop_order, _actors = case
    put_in(shop_order, State.STAGING)
    outsider = OperatorFactory(marketplaces=[])

    with pytest.raises(NotAllowed):
        attempt(shop_order, "fraud_pass", Role.OPERATOR, outsider)


def test_the_system_acts_without_an_author(case):
    shop_order, actors = case
    put_in(shop_order, State.STAGING)

    with pytest.raises(NotAllowed):
        attempt(shop_order, "fraud_pass", Role.SYSTEM, actors[Role.OPERATOR])


def test_a_reason_is_required_where_the_table_says_so(case):
    shop_order, actors = case
    put_in(shop_order, State.STAGING)

    with pytest.raises(DomainError) as error:
        attempt(shop_order, "fraud_reject", Role.OPERATOR, actors[Role.OPERATOR], note="  ")
    assert error.value.code == "reason_required"
    assert ShopOrder.objects.get(pk=shop_order.pk).state == State.STAGING


def test_an_unknown_action_is_an_error(case):
    shop_order, actors = case
    with pytest.raises(DomainError) as error:
        attempt(shop_order, "teleport", Role.SYSTEM, None)
    assert error.value.code == "unknown_action"


def test_a_transition_happens_once(case):
    shop_order, actors = case
    put_in(shop_order, State.WAITING_ACCEPTANCE)
    attempt(shop_order, "buyer_cancel", Role.BUYER, actors[Role.BUYER])

    with pytest.raises(InvalidState):
        attempt(shop_order, "buyer_cancel", Role.BUYER, actors[Role.BUYER])
    assert OrderEvent.objects.filter(action="buyer_cancel").count() == 1


def test_ending_an_order_ends_its_live_lines_and_gives_the_stock_back_once(case):
    shop_order, actors = case
    put_in(shop_order, State.WAITING_ACCEPTANCE)
    line = shop_order.lines.get()
    stock_before = line.offer.stock

    attempt(shop_order, "buyer_cancel", Role.BUYER, actors[Role.BUYER])

    line.refresh_from_db()
    line.offer.refresh_from_db()
    assert (line.state, line.stock_released) == (State.CANCELED, True)
    assert line.offer.stock == stock_before + 1


def test_live_lines_follow_the_order(case):
    shop_order, actors = case
    put_in(shop_order, State.STAGING)

    attempt(shop_order, "fraud_pass", Role.SYSTEM, None)

    assert shop_order.lines.get().state == State.WAITING_ACCEPTANCE


def test_actions_for_lists_what_a_role_can_do_in_a_state():
    assert [t.action for t in actions_for(State.WAITING_ACCEPTANCE, Role.SELLER)] == [
        "accept",
        "refuse",
    ]
    assert [t.action for t in actions_for(State.WAITING_ACCEPTANCE, Role.BUYER)] == ["buyer_cancel"]
    assert actions_for(State.CLOSED, Role.OPERATOR) == []
