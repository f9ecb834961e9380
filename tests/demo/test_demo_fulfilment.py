"""The demo's carriers, relay points and orders past SHIPPING."""

import pytest
from django.core.management import call_command

from halles.orders.models import ShopOrder, State
from halles.shipping.models import Carrier, RelayPoint
from halles.shops.models import DeliveryKind, DeliveryMode

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    call_command("demo")


def test_the_demo_ships_the_french_carriers_everywhere(demo):
    codes = set(
        Carrier.objects.filter(marketplace__slug="villeneuve").values_list("code", flat=True)
    )
    assert codes == {"colissimo", "chronopost", "mondial-relay", "ups", "dhl", "dpd", "gls"}
    assert RelayPoint.objects.filter(carrier__code="mondial-relay", is_active=True).count() == 5
    relay_modes = DeliveryMode.objects.filter(
        shop__marketplace__slug="villeneuve", kind=DeliveryKind.RELAY
    )
    assert relay_modes and all(mode.relay_network.code == "mondial-relay" for mode in relay_modes)


def test_the_demo_has_orders_shipped_to_collect_received_and_closed(demo):
    states = set(
        ShopOrder.objects.filter(marketplace__slug="villeneuve").values_list("state", flat=True)
    )
    assert {State.SHIPPED, State.TO_COLLECT, State.RECEIVED, State.CLOSED} <= states
    shipped = ShopOrder.objects.get(
        marketplace__slug="villeneuve",
        state=State.SHIPPED,
        order__checkout_token__endswith="shipped",
    )
    assert shipped.shipments.count() == 2  # two parcels, two carriers
    assert all(s.tracking_url.startswith("https://") for s in shipped.shipments.all())
    closed = ShopOrder.objects.get(state=State.CLOSED)
    assert closed.received_at < closed.closed_at
    assert (closed.closed_at - closed.received_at).days >= closed.marketplace.withdrawal_days
    to_collect = ShopOrder.objects.get(state=State.TO_COLLECT)
    assert len(to_collect.pickup_code) == 6


def test_loading_the_demo_twice_adds_nothing(demo):
    before = (ShopOrder.objects.count(), Carrier.objects.count(), RelayPoint.objects.count())
    call_command("demo")
    assert (
        ShopOrder.objects.count(),
        Carrier.objects.count(),
        RelayPoint.objects.count(),
    ) == before
