"""The seller's orders pages: tenancy, the customer hidden until acceptance, per-line
decisions through the page (states and stock), clear errors, filters and the dashboard.

Pages are read in English (the language cookie) so that the checks do not depend on the
French catalogue."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.formats import date_format

from halles.catalog.models import Offer
from halles.orders.fraud import rules_for
from halles.orders.models import OrderEvent, ShopOrder, State

from ..orders.conftest import buy

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller(client, world):
    """The baker, signed in, reading pages in English."""
    client.force_login(world.baker)
    client.cookies["django_language"] = "en"
    return client


def bakery_order(order) -> ShopOrder:
    return order.shop_orders.get(shop__slug="boulangerie")


def page_url(shop_order, suffix=""):
    return f"/seller/{shop_order.shop.slug}/orders/{shop_order.reference}/{suffix}"


def decide_url(shop_order):
    return page_url(shop_order, "decide/")


def stock(offer) -> int:
    return Offer.objects.get(pk=offer.pk).stock


def test_a_seller_sees_only_their_shops_orders(seller, world):
    order = buy(world, [(world.bread, 1), (world.novel, 1)])
    mine = bakery_order(order)
    theirs = order.shop_orders.get(shop__slug="librairie")

    listing = seller.get("/seller/boulangerie/orders/")

    assert listing.status_code == 200
    assert [so.reference for so, _soon in listing.context["rows"]] == [mine.reference]
    assert theirs.reference not in listing.content.decode()
    assert seller.get(page_url(mine)).status_code == 200
    # Another shop's order through my shop's pages, or through theirs: not found.
    assert seller.get(f"/seller/boulangerie/orders/{theirs.reference}/").status_code == 404
    assert seller.get(page_url(theirs)).status_code == 404
    line = theirs.lines.get()
    forged = seller.post(
        f"/seller/boulangerie/orders/{theirs.reference}/decide/", {f"line-{line.pk}": "refuse"}
    )
    assert forged.status_code == 404
    assert ShopOrder.objects.get(pk=theirs.pk).state == State.WAITING_ACCEPTANCE


def test_customer_details_are_hidden_until_acceptance_and_the_real_email_never_shown(
    seller, world, run_on_commit
):
    shop_order = bakery_order(buy(world, [(world.bread, 1)]))

    before = seller.get(page_url(shop_order))

    html = before.content.decode()
    assert before.context["customer"].revealed is False
    assert "Customer details appear once you accept the order" in html
    assert "Bob Acheteur" not in html and "0601020304" not in html
    assert world.buyer.email not in html

    with run_on_commit():
        seller.post(decide_url(shop_order), {f"line-{shop_order.lines.get().pk}": "accept"})
    after = seller.get(page_url(shop_order)).content.decode()

    assert "Bob Acheteur" in after and "3 rue des Lilas" in after and "0601020304" in after
    assert ShopOrder.objects.get(pk=shop_order.pk).customer_alias_email in after
    assert world.buyer.email not in after


def test_accepting_one_line_and_refusing_another_through_the_page(seller, world, run_on_commit):
    shop_order = bakery_order(buy(world, [(world.bread, 2), (world.cake, 1)]))
    bread_line, cake_line = shop_order.lines.order_by("pk")
    assert (stock(world.bread), stock(world.cake)) == (8, 2)

    with run_on_commit():
        response = seller.post(
            decide_url(shop_order),
            {
                f"line-{bread_line.pk}": "accept",
                f"line-{cake_line.pk}": "refuse",
                "reason": "Plus de gâteau aujourd'hui",
            },
        )

    assert response.status_code == 302 and response["Location"] == page_url(shop_order)
    shop_order.refresh_from_db()
    assert shop_order.state == State.SHIPPING  # accepted, then the accepted lines captured
    assert shop_order.accepted_cents == 2 * 250 + 500
    assert shop_order.captured_cents == 2 * 250 + 500
    cake_line.refresh_from_db()
    assert (cake_line.state, cake_line.refusal_reason) == (
        State.REFUSED,
        "Plus de gâteau aujourd'hui",
    )
    assert (stock(world.bread), stock(world.cake)) == (8, 3)  # the refused cake is back
    page = seller.get(page_url(shop_order)).content.decode()
    assert "Plus de gâteau aujourd&#x27;hui" in page  # the line's reason
    assert "Alice Martin" in page  # who accepted, in the history


def test_refusing_every_line_refuses_the_order_and_gives_the_stock_back(seller, world):
    shop_order = bakery_order(buy(world, [(world.bread, 2), (world.cake, 1)]))

    seller.post(
        decide_url(shop_order), {f"line-{line.pk}": "refuse" for line in shop_order.lines.all()}
    )

    assert ShopOrder.objects.get(pk=shop_order.pk).state == State.REFUSED
    assert (stock(world.bread), stock(world.cake)) == (10, 3)


def test_deciding_an_order_already_refused_says_so_and_changes_nothing(seller, world):
    shop_order = bakery_order(buy(world, [(world.bread, 1)]))
    line = shop_order.lines.get()
    seller.post(decide_url(shop_order), {f"line-{line.pk}": "refuse"})
    assert stock(world.bread) == 10

    again = seller.post(decide_url(shop_order), {f"line-{line.pk}": "accept"})

    assert again.status_code == 409
    assert "there is nothing to accept or refuse" in again.content.decode()
    assert ShopOrder.objects.get(pk=shop_order.pk).state == State.REFUSED
    assert (
        OrderEvent.objects.filter(shop_order=shop_order, action__in=["accept", "refuse"]).count()
        == 1
    )
    assert stock(world.bread) == 10
    assert again.context["form"] is None  # no decision form on a refused order


def test_a_line_of_another_order_in_the_post_is_an_error(seller, world):
    shop_order = bakery_order(buy(world, [(world.bread, 1)]))
    other = bakery_order(buy(world, [(world.cake, 1)]))
    decisions = {f"line-{shop_order.lines.get().pk}": "accept"}
    decisions[f"line-{other.lines.get().pk}"] = "refuse"

    response = seller.post(decide_url(shop_order), decisions)

    assert response.status_code == 400
    assert "is not a line of this order" in response.content.decode()
    assert ShopOrder.objects.get(pk=shop_order.pk).state == State.WAITING_ACCEPTANCE
    assert ShopOrder.objects.get(pk=other.pk).state == State.WAITING_ACCEPTANCE
    assert (stock(world.bread), stock(world.cake)) == (9, 2)


def test_every_line_needs_a_decision_and_a_bad_value_is_refused(seller, world):
    shop_order = bakery_order(buy(world, [(world.bread, 1), (world.cake, 1)]))
    bread_line, _cake_line = shop_order.lines.order_by("pk")

    missing = seller.post(decide_url(shop_order), {f"line-{bread_line.pk}": "accept"})
    garbage = seller.post(decide_url(shop_order), {f"line-{bread_line.pk}": "maybe"})

    assert missing.status_code == 400
    assert "Accept or refuse every line (1 left)" in missing.content.decode()
    assert garbage.status_code == 400
    assert ShopOrder.objects.get(pk=shop_order.pk).state == State.WAITING_ACCEPTANCE


def test_an_order_under_fraud_check_is_shown_without_customer_or_decision(seller, world):
    rules = rules_for(world.marketplace)
    rules.review_from = 0
    rules.save()
    shop_order = bakery_order(buy(world, [(world.bread, 1)]))
    assert shop_order.state == State.STAGING

    page = seller.get(page_url(shop_order))

    html = page.content.decode()
    assert 'data-testid="staging-notice"' in html
    assert "The marketplace is checking this order" in html
    assert page.context["form"] is None and 'data-testid="decision-form"' not in html
    assert "Produit PAIN" in html  # the lines and amounts are shown
    assert "Bob Acheteur" not in html and world.buyer.email not in html
    line = shop_order.lines.get()
    refused = seller.post(decide_url(shop_order), {f"line-{line.pk}": "accept"})
    assert refused.status_code == 409
    assert ShopOrder.objects.get(pk=shop_order.pk).state == State.STAGING


def test_the_detail_shows_the_deadline_in_the_marketplace_time_zone_and_the_amounts(seller, world):
    world.marketplace.time_zone = "America/Martinique"
    world.marketplace.save()
    shop_order = bakery_order(buy(world, [(world.bread, 2)]))
    local = timezone.localtime(shop_order.acceptance_deadline, ZoneInfo("America/Martinique"))
    with translation.override("en"):
        expected = date_format(local, "DATETIME_FORMAT")

    html = seller.get(page_url(shop_order)).content.decode()

    assert 'data-testid="deadline"' in html and "America/Martinique" in html
    assert expected in html
    assert "€5.00" in html and "€10.00" in html  # items, and the total with delivery


def test_filters_by_state_reference_dates_and_approaching_deadline(seller, world):
    with time_machine.travel("2026-03-02 10:00 +01:00", tick=False):
        old = bakery_order(buy(world, [(world.bread, 1)]))
    with time_machine.travel("2026-03-10 10:00 +01:00", tick=False):
        refused = bakery_order(buy(world, [(world.bread, 1)]))
        seller.post(decide_url(refused), {f"line-{refused.lines.get().pk}": "refuse"})
    recent = bakery_order(buy(world, [(world.cake, 1)]))
    ShopOrder.objects.filter(pk=recent.pk).update(
        acceptance_deadline=timezone.now() + timedelta(hours=3)
    )
    ShopOrder.objects.filter(pk=old.pk).update(
        acceptance_deadline=timezone.now() + timedelta(days=3)
    )

    def listed(**params):
        response = seller.get("/seller/boulangerie/orders/", params)
        return {so.reference for so, _soon in response.context["rows"]}

    assert listed() == {old.reference, refused.reference, recent.reference}
    assert listed(state="REFUSED") == {refused.reference}
    assert listed(state="WAITING_ACCEPTANCE") == {old.reference, recent.reference}
    assert listed(q=recent.reference[-6:]) == {recent.reference}
    assert listed(placed_from="2026-03-01", placed_to="2026-03-05") == {old.reference}
    assert listed(placed_from="2026-03-09", placed_to="2026-03-10") == {refused.reference}
    assert listed(deadline_soon="on") == {recent.reference}
    flagged = seller.get("/seller/boulangerie/orders/").context["rows"]
    assert {so.reference for so, soon in flagged if soon} == {recent.reference}
    bad = seller.get(
        "/seller/boulangerie/orders/", {"placed_from": "2026-03-10", "placed_to": "2026-03-01"}
    )
    assert (
        bad.status_code == 400 and "The end date is before the start date" in bad.content.decode()
    )


def test_the_list_is_paginated(seller, world, monkeypatch):
    from halles.seller import order_views

    monkeypatch.setattr(order_views, "PAGE_SIZE", 2)
    for _ in range(3):
        buy(world, [(world.bread, 1)])

    first = seller.get("/seller/boulangerie/orders/")
    second = seller.get("/seller/boulangerie/orders/", {"page": 2})

    assert len(first.context["rows"]) == 2 and len(second.context["rows"]) == 1
    assert "Page 1 of 2" in first.content.decode()


def test_dashboard_counts_orders_per_state_and_lists_the_deadlines(seller, world):
    first = bakery_order(buy(world, [(world.bread, 1)]))
    second = bakery_order(buy(world, [(world.cake, 1)]))
    refused = bakery_order(buy(world, [(world.bread, 1)]))
    seller.post(decide_url(refused), {f"line-{refused.lines.get().pk}": "refuse"})
    ShopOrder.objects.filter(pk=second.pk).update(
        acceptance_deadline=first.acceptance_deadline - timedelta(hours=1)
    )

    page = seller.get("/seller/boulangerie/")

    counts = {code: n for code, _label, n in page.context["order_counts"]}
    assert counts == {State.WAITING_ACCEPTANCE: 2, State.REFUSED: 1}
    assert [so.reference for so in page.context["orders_to_accept"]] == [
        second.reference,
        first.reference,
    ]
    nav = page.content.decode().split('data-testid="orders-nav"')[1].split("</a>")[0]
    assert '<span class="badge badge-pending"' in nav and ">2</span>" in nav


def test_the_list_makes_as_many_queries_for_one_order_as_for_five(seller, world):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert seller.get("/seller/boulangerie/orders/").status_code == 200
        return len(captured)

    buy(world, [(world.bread, 1)])
    one = queries()
    for _ in range(4):
        buy(world, [(world.bread, 1)])

    assert queries() == one
