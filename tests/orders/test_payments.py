"""Payments from the order's side: the confirmation step, failed captures, the fraud
queue, and provider callbacks (verified, de-duplicated, safe to replay)."""

import json

import pytest
from django.urls import reverse

from halles.catalog.models import Offer
from halles.checkout import placement
from halles.orders import services
from halles.orders.fraud import rules_for
from halles.orders.models import OrderEvent, OrderStatus, State
from halles.payments.models import Payment, PaymentStatus, SandboxWebhook, WebhookEvent
from halles.payments.sandbox import bank

from ..factories import OperatorFactory
from .conftest import CAPTURE_FAILS, CONFIRM, INSUFFICIENT, buy, fill_cart, pay, place

pytestmark = pytest.mark.django_db
WEBHOOK_URL = "/payments/webhooks/sandbox/"


def post_callback(client, webhook, *, signature=None):
    body = bank.webhook_body(webhook)
    return client.post(
        WEBHOOK_URL,
        data=body,
        content_type="application/json",
        headers={"Halles-Signature": signature or bank.sign(body)},
    )


def accept_all(shop_order, actor):
    services.shop_order_decide(
        shop_order_id=shop_order.pk,
        actor=actor,
        decisions={line.pk: True for line in shop_order.lines.all()},
    )


def test_the_confirmation_step_keeps_the_order_waiting_until_confirmed(world):
    order = pay(place(world, fill_cart(world, [(world.bread, 1)])), card=CONFIRM)
    assert order.status == OrderStatus.PAYMENT_PENDING
    assert order.payment.status == PaymentStatus.REQUIRES_ACTION

    bank.intent_confirm(intent_id=order.payment.provider_reference, approve=True)
    order = placement.checkout_payment_update(order_id=order.pk)

    assert order.status == OrderStatus.PLACED


def test_refusing_the_confirmation_step_fails_the_payment(world):
    order = pay(place(world, fill_cart(world, [(world.cake, 1)])), card=CONFIRM, confirm=False)

    assert order.status == OrderStatus.ABANDONED
    assert order.payment.failure_code == "authentication_failed"
    assert Offer.objects.get(pk=world.cake.pk).stock == 3


def test_insufficient_funds_says_so(world):
    order = pay(place(world, fill_cart(world, [(world.cake, 1)])), card=INSUFFICIENT)

    assert order.payment.failure_code == "insufficient_funds"
    assert order.payment.failure_message == str(bank.FAILURES["insufficient_funds"])


def test_a_refused_capture_cancels_the_shop_order_and_gives_the_stock_back(world, run_on_commit):
    order = buy(world, [(world.bread, 3)], card=CAPTURE_FAILS)
    shop_order = order.shop_orders.get()

    with run_on_commit():
        accept_all(shop_order, world.baker)

    shop_order.refresh_from_db()
    assert shop_order.state == State.CANCELED
    assert [e.action for e in shop_order.events.order_by("at", "id")][-3:] == [
        "accept",
        "debit_request",
        "debit_fail",
    ]
    assert Offer.objects.get(pk=world.bread.pk).stock == 10
    payment = Payment.objects.get(pk=order.payment_id)
    assert payment.captured_cents == 0 and payment.voided_cents == payment.amount_cents


def test_collecting_twice_captures_once(world, run_on_commit):
    from halles.orders.payment_flow import collect_payment

    order = buy(world, [(world.bread, 1)])
    shop_order = order.shop_orders.get()
    with run_on_commit():
        accept_all(shop_order, world.baker)

    assert collect_payment(shop_order_id=shop_order.pk) == State.SHIPPING
    payment = Payment.objects.get(pk=order.payment_id)
    assert payment.captured_cents == shop_order.total_cents
    assert payment.operations.filter(kind="capture").count() == 1


def test_a_held_order_waits_for_the_operator_then_goes_to_the_seller(world, run_on_commit):
    rules = rules_for(world.marketplace)
    rules.review_from = 0
    rules.save()
    operator = OperatorFactory(marketplaces=[world.marketplace])
    order = buy(world, [(world.bread, 1), (world.novel, 1)])
    assert {so.state for so in order.shop_orders.all()} == {State.STAGING}

    services.fraud_review(order_id=order.pk, operator=operator, approve=True)

    assert {so.state for so in order.shop_orders.all()} == {State.WAITING_ACCEPTANCE}


def test_rejecting_a_held_order_cancels_it_and_releases_the_card(world, run_on_commit):
    rules = rules_for(world.marketplace)
    rules.review_from = 0
    rules.save()
    operator = OperatorFactory(marketplaces=[world.marketplace])
    with run_on_commit():
        order = buy(world, [(world.cake, 2)])

    with pytest.raises(Exception) as error:
        services.fraud_review(order_id=order.pk, operator=operator, approve=False, reason="")
    assert getattr(error.value, "code", "") == "reason_required"

    with run_on_commit():
        services.fraud_review(
            order_id=order.pk, operator=operator, approve=False, reason="Carte suspecte"
        )

    shop_order = order.shop_orders.get()
    assert shop_order.state == State.CANCELED
    assert Offer.objects.get(pk=world.cake.pk).stock == 3
    payment = Payment.objects.get(pk=order.payment_id)
    assert payment.voided_cents == payment.amount_cents


def test_large_orders_from_new_accounts_are_held(world):
    rules = rules_for(world.marketplace)
    rules.amount_above_cents = 1000
    rules.save()

    order = buy(world, [(world.cake, 1)])  # 18 € + delivery, from an account made today

    assert order.fraud_score == rules.amount_points + rules.young_account_points
    assert set(order.fraud_reasons) == {"large_amount", "new_account"}
    assert order.shop_orders.get().state == State.STAGING


# --- Callbacks ----------------------------------------------------------------------------


def test_the_authorisation_callback_alone_places_the_order(world, client):
    order = place(world, fill_cart(world, [(world.bread, 1)]))
    placement.checkout_payment_start(order=order, return_url="http://testserver/r/")
    order.payment.refresh_from_db()
    bank.intent_pay(
        intent_id=order.payment.provider_reference,
        number="4242424242424242",
        expiry="12/40",
        cvc="123",
    )
    webhook = SandboxWebhook.objects.get(event_type="payment.authorised")

    response = post_callback(client, webhook)

    assert response.status_code == 200
    assert response.json()["outcome"] == "processed"
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED
    assert not world.buyer.carts.get().lines.exists()


def test_a_callback_replayed_ten_times_counts_once(world, client):
    order = place(world, fill_cart(world, [(world.bread, 1)]))
    placement.checkout_payment_start(order=order, return_url="http://testserver/r/")
    order.payment.refresh_from_db()
    bank.intent_pay(
        intent_id=order.payment.provider_reference,
        number="4242424242424242",
        expiry="12/40",
        cvc="123",
    )
    webhook = SandboxWebhook.objects.get(event_type="payment.authorised")

    outcomes = [post_callback(client, webhook).json()["outcome"] for _ in range(10)]

    assert outcomes == ["processed"] + ["duplicate"] * 9
    event = WebhookEvent.objects.get(event_id=webhook.event_id)
    assert event.times_received == 10 and event.processed_at is not None
    assert OrderEvent.objects.filter(action="fraud_pass").count() == 1


def test_a_callback_with_a_bad_signature_is_refused_and_stored_nowhere(world, client):
    order = place(world, fill_cart(world, [(world.bread, 1)]))
    placement.checkout_payment_start(order=order, return_url="http://testserver/r/")
    order.payment.refresh_from_db()
    bank.intent_pay(
        intent_id=order.payment.provider_reference,
        number="4242424242424242",
        expiry="12/40",
        cvc="123",
    )
    webhook = SandboxWebhook.objects.get(event_type="payment.authorised")
    forged = bank.sign(bank.webhook_body(webhook), secret="not-the-secret")

    response = post_callback(client, webhook, signature=forged)

    assert response.status_code == 400
    assert response.json()["error"] == "bad_signature"
    assert not WebhookEvent.objects.exists()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAYMENT_PENDING


def test_an_old_signature_is_refused(world):
    body = json.dumps({"id": "x", "type": "payment.authorised", "data": {"payment": "p"}})
    old = bank.sign(body.encode(), timestamp=1_000_000_000)
    assert not bank.verify(body.encode(), old)


def test_an_unknown_provider_is_a_404(client):
    response = client.post(
        "/payments/webhooks/nobody/", data=b"{}", content_type="application/json"
    )
    assert response.status_code == 404


def test_a_capture_callback_completes_a_capture_whose_answer_was_lost(world, client):
    from halles.payments import services as payments

    order = buy(world, [(world.bread, 1)])
    shop_order = order.shop_orders.get()
    accept_all(shop_order, world.baker)  # collect_payment not run: no on-commit here
    services_state = shop_order.__class__.objects.get(pk=shop_order.pk).state
    assert services_state == State.WAITING_DEBIT
    # The capture reaches the provider but our process dies before recording the answer.
    from halles.orders.payment_flow import capture_key
    from halles.orders.workflow import shop_order_transition

    shop_order_transition(shop_order_id=shop_order.pk, action="debit_request", role="system")
    payments._operation_open(
        "capture",
        order.payment_id,
        shop_order.total_cents,
        capture_key(shop_order),
        shop_order.reference,
    )
    bank.intent_move(
        intent_id=order.payment.provider_reference,
        kind="capture",
        amount_cents=shop_order.total_cents,
        key=capture_key(shop_order),
    )
    webhook = SandboxWebhook.objects.get(event_type="payment.captured")

    assert post_callback(client, webhook).json()["outcome"] == "processed"

    shop_order.refresh_from_db()
    assert shop_order.state == State.SHIPPING
    assert shop_order.captured_cents == shop_order.total_cents


def test_webhooks_are_delivered_over_http_and_retried(world, live_server, settings):
    from halles.payments.tasks import sweep_sandbox_webhooks

    settings.HALLES_SANDBOX_WEBHOOK_URL = "http://127.0.0.1:9/unreachable/"
    order = place(world, fill_cart(world, [(world.bread, 1)]))
    placement.checkout_payment_start(order=order, return_url="http://testserver/r/")
    order.payment.refresh_from_db()
    bank.intent_pay(  # the callback task runs at once (on commit) and finds nobody
        intent_id=order.payment.provider_reference,
        number="4242424242424242",
        expiry="12/40",
        cvc="123",
    )
    webhook = SandboxWebhook.objects.get(event_type="payment.authorised")
    assert (webhook.delivered_at, webhook.attempts) == (None, 1)
    assert webhook.last_error

    settings.HALLES_SANDBOX_WEBHOOK_URL = live_server.url + WEBHOOK_URL
    assert sweep_sandbox_webhooks.call() == 1

    webhook.refresh_from_db()
    assert webhook.delivered_at is not None and webhook.attempts == 2
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED
    assert reverse("api:provider_callback", kwargs={"provider": "sandbox"}) == WEBHOOK_URL
