"""Orders in the operator back-office: the fraud queue (approve, reject with a reason),
the operator's cancellation, the To-do counts, tenancy between marketplaces, and read-only
order pages."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from halles.catalog.models import Offer
from halles.notifications.models import Email
from halles.orders.fraud import rules_for
from halles.orders.models import FraudRules, Order, OrderEvent, ShopOrder, State

from ..factories import MarketplaceFactory, OperatorFactory
from ..orders.conftest import buy

pytestmark = pytest.mark.django_db

QUEUE = "/admin/orders/order/fraud-queue/"


@pytest.fixture
def admin_client(client, world, operator):
    client.force_login(operator)
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def held(world):
    """An order of the bakery held by the fraud check (every order scores above 0)."""
    rules = rules_for(world.marketplace)
    rules.review_from = 0
    rules.save()
    order = buy(world, [(world.cake, 2)])
    assert order.shop_orders.get().state == State.STAGING
    return order


def review_url(order):
    return f"/admin/orders/order/{order.pk}/fraud-review/"


def texts(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def stock(offer):
    return Offer.objects.get(pk=offer.pk).stock


def test_the_fraud_queue_lists_held_orders_and_the_home_page_counts_them(admin_client, held, world):
    buy(world, [(world.bread, 1)])  # scored too, and held as well
    home = admin_client.get("/admin/")
    assert home.context["fraud_queue_count"] == 2
    assert "2 orders held by the fraud check" in home.content.decode()

    queue = admin_client.get(QUEUE)

    assert queue.status_code == 200
    rows = {row["order"].reference: row for row in queue.context["rows"]}
    assert held.reference in rows
    row = rows[held.reference]
    held.refresh_from_db()
    assert "new account" in row["signals"]
    html = queue.content.decode()
    assert f"<strong>{held.fraud_score}</strong>" in html
    assert "€41.00" in html  # 2 cakes and the delivery
    assert "new account" in html and world.buyer.email in html


def test_approving_sends_the_order_to_its_shops(admin_client, held):
    response = admin_client.post(review_url(held), {"decision": "approve"})

    assert response.status_code == 302 and response["Location"] == QUEUE
    assert held.shop_orders.get().state == State.WAITING_ACCEPTANCE
    assert admin_client.get(QUEUE).context["rows"] == []
    event = OrderEvent.objects.get(action="fraud_pass")
    assert (event.role, event.channel) == ("operator", "backoffice")


def test_rejecting_needs_a_reason_then_cancels_and_gives_the_stock_back(
    admin_client, held, world, run_on_commit
):
    assert stock(world.cake) == 1

    refused = admin_client.post(review_url(held), {"decision": "reject", "reason": "  "})

    assert refused.status_code == 302
    assert any("Give the reason" in text for text in texts(refused))
    assert held.shop_orders.get().state == State.STAGING
    assert stock(world.cake) == 1

    with run_on_commit():
        done = admin_client.post(
            review_url(held), {"decision": "reject", "reason": "Carte volée", "next": "/admin/"}
        )

    assert done["Location"] == "/admin/"
    shop_order = held.shop_orders.get()
    assert shop_order.state == State.CANCELED
    assert shop_order.events.get(action="fraud_reject").note == "Carte volée"
    assert stock(world.cake) == 3


def test_a_review_of_an_order_no_longer_held_is_a_message_not_a_500(admin_client, held):
    admin_client.post(review_url(held), {"decision": "approve"})

    again = admin_client.post(review_url(held), {"decision": "reject", "reason": "Trop tard"})

    assert again.status_code == 302
    assert any("no longer waiting for the fraud check" in text for text in texts(again))
    assert held.shop_orders.get().state == State.WAITING_ACCEPTANCE


def test_the_order_page_offers_the_review_while_held(admin_client, held):
    page = admin_client.get(f"/admin/orders/order/{held.pk}/change/")

    html = page.content.decode()
    assert page.status_code == 200 and page.context["held"] is True
    assert review_url(held) in html
    assert "new account" in html  # the fraud signals, as labels


def test_an_operator_of_another_marketplace_sees_nothing(client, world, held):
    stranger = OperatorFactory(marketplaces=[MarketplaceFactory()])
    client.force_login(stranger)
    shop_order = held.shop_orders.get()

    assert client.get("/admin/").context["fraud_queue_count"] == 0
    assert client.get(QUEUE).context["rows"] == []
    assert client.post(review_url(held), {"decision": "approve"}).status_code == 404
    assert list(client.get("/admin/orders/order/").context["cl"].queryset) == []
    assert list(client.get("/admin/orders/shoporder/").context["cl"].queryset) == []
    # Another marketplace's order is not found (the admin sends back home).
    assert client.get(f"/admin/orders/shoporder/{shop_order.pk}/change/").status_code == 302
    assert client.get(f"/admin/orders/order/{held.pk}/change/").status_code == 302
    client.post(
        "/admin/orders/shoporder/",
        {"action": "cancel_shop_orders", "_selected_action": [shop_order.pk], "reason": "x"},
    )
    assert ShopOrder.objects.get(pk=shop_order.pk).state == State.STAGING


def test_order_pages_are_read_only(admin_client, world):
    order = buy(world, [(world.bread, 1)])
    shop_order = order.shop_orders.get()
    url = f"/admin/orders/shoporder/{shop_order.pk}/change/"

    page = admin_client.get(url)

    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="_save"' not in html
    assert "Produit PAIN" in html  # the lines inline
    assert "Fraud check passed" in html  # the history inline, with the transition's label
    assert admin_client.post(url, {"state": "SHIPPING", "total_cents": 1}).status_code == 403
    assert admin_client.get("/admin/orders/shoporder/add/").status_code == 403
    assert admin_client.get(f"/admin/orders/shoporder/{shop_order.pk}/delete/").status_code == 403
    assert admin_client.get(f"/admin/orders/order/{order.pk}/change/").status_code == 200
    assert admin_client.post(f"/admin/orders/order/{order.pk}/change/", {}).status_code == 403
    assert (
        admin_client.get(f"/admin/payments/payment/{order.payment_id}/change/").status_code == 200
    )
    shop_order.refresh_from_db()
    assert (shop_order.state, shop_order.total_cents) == (State.WAITING_ACCEPTANCE, 750)


def test_the_shop_order_list_filters_and_searches_by_buyer_email(admin_client, world):
    order = buy(world, [(world.bread, 1), (world.novel, 1)])
    bakery = order.shop_orders.get(shop__slug="boulangerie")

    by_email = admin_client.get("/admin/orders/shoporder/", {"q": world.buyer.email})
    by_shop = admin_client.get("/admin/orders/shoporder/", {"shop__id__exact": world.bakery.pk})
    by_state = admin_client.get("/admin/orders/shoporder/", {"state__exact": "REFUSED"})

    assert set(by_email.context["cl"].queryset) == set(order.shop_orders.all())
    assert list(by_shop.context["cl"].queryset) == [bakery]
    assert list(by_state.context["cl"].queryset) == []


def test_the_operator_cancels_with_a_reason_where_it_is_legal(admin_client, world, run_on_commit):
    order = buy(world, [(world.bread, 2), (world.novel, 1)])
    bakery = order.shop_orders.get(shop__slug="boulangerie")
    books = order.shop_orders.get(shop__slug="librairie")
    with run_on_commit():  # the bookseller accepts: paid, SHIPPING, no longer cancellable
        from halles.orders.services import shop_order_decide

        shop_order_decide(
            shop_order_id=books.pk, actor=world.bookseller, decisions={books.lines.get().pk: True}
        )
    assert ShopOrder.objects.get(pk=books.pk).state == State.SHIPPING
    page = admin_client.get(f"/admin/orders/shoporder/{bakery.pk}/change/")
    assert page.context["can_cancel"] is True
    assert (
        admin_client.get(f"/admin/orders/shoporder/{books.pk}/change/").context["can_cancel"]
        is False
    )
    selected = {"action": "cancel_shop_orders", "_selected_action": [bakery.pk, books.pk]}

    asked = admin_client.post("/admin/orders/shoporder/", selected)
    assert asked.status_code == 200 and "reason" in asked.context["form"].fields

    with run_on_commit():
        done = admin_client.post(
            "/admin/orders/shoporder/", {**selected, "reason": "Boutique fermée"}
        )

    assert ShopOrder.objects.get(pk=bakery.pk).state == State.CANCELED
    assert ShopOrder.objects.get(pk=books.pk).state == State.SHIPPING
    assert stock(world.bread) == 10
    messages = texts(done)
    assert any("1 shop order cancelled" in text for text in messages)
    assert any(books.reference in text and "Not possible" in text for text in messages)


def test_the_home_page_counts_orders_waiting_too_long(admin_client, world):
    order = buy(world, [(world.bread, 1)])
    home = admin_client.get("/admin/")
    assert home.context["late_orders_count"] == 0
    ShopOrder.objects.filter(order=order).update(
        acceptance_deadline=timezone.now() + timedelta(hours=5)
    )

    home = admin_client.get("/admin/")
    late = admin_client.get("/admin/orders/shoporder/", {"attention": "late"})

    assert home.context["late_orders_count"] == 1
    assert "1 shop order waiting too long" in home.content.decode()
    assert list(late.context["cl"].queryset) == list(ShopOrder.objects.filter(order=order))


def test_operators_edit_the_fraud_rules_of_their_marketplace_only(admin_client, world):
    rules = rules_for(world.marketplace)
    other = rules_for(MarketplaceFactory())
    url = f"/admin/orders/fraudrules/{rules.pk}/change/"
    data = {
        "review_from": 80,
        "amount_above_cents": 100_000,
        "amount_points": 40,
        "young_account_days": 2,
        "young_account_points": 30,
        "velocity_orders": 3,
        "velocity_hours": 1,
        "velocity_points": 40,
        "country_mismatch_points": 30,
    }

    saved = admin_client.post(url, data)

    assert saved.status_code == 302
    rules.refresh_from_db()
    assert (rules.review_from, rules.amount_above_cents) == (80, 100_000)
    assert rules.marketplace == world.marketplace
    listed = admin_client.get("/admin/orders/fraudrules/").context["cl"].queryset
    assert list(listed) == [rules]
    assert admin_client.get(f"/admin/orders/fraudrules/{other.pk}/change/").status_code == 302
    assert FraudRules.objects.get(pk=other.pk).review_from == 60


def test_the_order_changelist_links_the_fraud_queue(admin_client, held):
    page = admin_client.get("/admin/orders/order/")
    assert QUEUE in page.content.decode()
    assert list(page.context["cl"].queryset) == [Order.objects.get(pk=held.pk)]


def test_the_shop_order_page_shows_the_whole_history_with_the_emails(
    admin_client, world, run_on_commit
):
    with run_on_commit():
        order = buy(world, [(world.bread, 1)])
    shop_order = order.shop_orders.get()

    page = admin_client.get(f"/admin/orders/shoporder/{shop_order.pk}/change/")

    assert page.status_code == 200
    history = page.context["history"]
    assert [entry.kind for entry in history].count("email") >= 2  # buyer placed + new order
    new_order = Email.objects.get(template="orders/seller_new_order")
    assert new_order.subject in page.content.decode()


def test_an_order_not_shipped_by_its_deadline_needs_attention(world, run_on_commit):
    from halles.orders import services
    from halles.orders.selectors import needs_attention

    with run_on_commit():
        order = buy(world, [(world.bread, 1)])
    shop_order = order.shop_orders.get()
    with run_on_commit():
        services.shop_order_decide(
            shop_order_id=shop_order.pk,
            actor=world.baker,
            decisions={shop_order.lines.get().pk: True},
        )
    shop_order.refresh_from_db()
    assert shop_order.state == State.SHIPPING

    before = needs_attention(ShopOrder.objects.all(), now=shop_order.shipping_deadline)
    after = needs_attention(
        ShopOrder.objects.all(), now=shop_order.shipping_deadline + timedelta(minutes=1)
    )
    assert shop_order in after and shop_order in before  # the deadline itself counts
    assert shop_order not in needs_attention(
        ShopOrder.objects.all(), now=shop_order.shipping_deadline - timedelta(hours=1)
    )
