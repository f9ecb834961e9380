"""The sandbox provider's own side: its test cards, its hosted payment page's decisions and
its signed callbacks. It behaves like a real card processor, kept inside Halles:

- `intent_open` is its "create payment" API; the buyer pays on its page (`views.py`);
- `intent_pay` / `intent_confirm` decide the card's outcome (test cards below);
- `intent_capture` / `intent_void` / `intent_refund` are its money APIs, idempotent by key;
- every change emits a callback, signed with HMAC-SHA256 (`Halles-Signature: t=..,v1=..`)
  and POSTed to Halles by a task, retried until delivered.
"""

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum import luhn

from halles.core.errors import DomainError, InvalidState, NotFound
from halles.core.tasks import enqueue_on_commit

from ..models import PaymentStatus, SandboxIntent, SandboxWebhook

P = PaymentStatus
SIGNATURE_HEADER = "Halles-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300
MAX_DELIVERY_ATTEMPTS = 12


@dataclass(frozen=True)
class TestCard:
    number: str
    behaviour: str
    label: str


TEST_CARDS = [
    TestCard("4242424242424242", "succeed", _("Payment succeeds")),
    TestCard("4000000000000002", "decline", _("Card declined")),
    TestCard("4000000000009995", "insufficient_funds", _("Insufficient funds")),
    TestCard("4000002760003184", "confirm", _("Asks for a confirmation step (3-D Secure)")),
    TestCard("4000000000000341", "capture_fails", _("Authorised, but the capture fails")),
]
_CARDS = {card.number: card for card in TEST_CARDS}

FAILURES = {
    "card_declined": _("Your card was declined."),
    "insufficient_funds": _("Your card has insufficient funds."),
    "authentication_failed": _("The payment was not confirmed."),
    "capture_declined": _("The bank refused the debit."),
}


class CardError(DomainError):
    code = "card_invalid"


def intent_open(*, amount_cents: int, currency: str, description: str, return_url: str):
    return SandboxIntent.objects.create(
        amount_cents=amount_cents,
        currency=currency,
        description=description[:200],
        return_url=return_url,
    )


def _lock(intent_id: str) -> SandboxIntent:
    intent = SandboxIntent.objects.select_for_update().filter(pk=intent_id).first()
    if intent is None:
        raise NotFound(_("This payment does not exist."))
    return intent


def intent_pay(*, intent_id: str, number: str, expiry: str, cvc: str) -> SandboxIntent:
    """The buyer submits a card on the payment page."""
    number = "".join(number.split())
    _check_card(number, expiry, cvc)
    with transaction.atomic():
        intent = _lock(intent_id)
        if intent.status != P.CREATED:
            raise InvalidState(_("This payment was already made."), code="already_paid")
        card = _CARDS.get(number)
        intent.card_last4 = number[-4:]
        intent.card_behaviour = card.behaviour
        if card.behaviour == "decline":
            _fail(intent, "card_declined")
        elif card.behaviour == "insufficient_funds":
            _fail(intent, "insufficient_funds")
        elif card.behaviour == "confirm":
            intent.status = P.REQUIRES_ACTION
            intent.save()
            _emit(intent, "payment.requires_action")
        else:
            _authorise(intent)
        return intent


def intent_confirm(*, intent_id: str, approve: bool) -> SandboxIntent:
    """The buyer's answer to the confirmation step."""
    with transaction.atomic():
        intent = _lock(intent_id)
        if intent.status != P.REQUIRES_ACTION:
            raise InvalidState(_("There is nothing to confirm."), code="nothing_to_confirm")
        if approve:
            _authorise(intent)
        else:
            _fail(intent, "authentication_failed")
        return intent


def intent_cancel(*, intent_id: str) -> SandboxIntent:
    with transaction.atomic():
        intent = _lock(intent_id)
        if intent.status in (P.CREATED, P.REQUIRES_ACTION):
            intent.status = P.CANCELED
            intent.save()
            _emit(intent, "payment.canceled")
        return intent


def _authorise(intent):
    intent.status = P.AUTHORISED
    intent.save()
    _emit(intent, "payment.authorised")


def _fail(intent, code):
    intent.status = P.FAILED
    intent.failure_code = code
    intent.save()
    _emit(intent, "payment.failed")


def _check_card(number: str, expiry: str, cvc: str) -> None:
    if not number.isdigit() or not luhn.is_valid(number):
        raise CardError(_("This card number is not valid."), field="number")
    if number not in _CARDS:
        raise CardError(
            _("The sandbox only knows its test cards (listed on this page)."), field="number"
        )
    try:
        month, year = (int(part) for part in expiry.replace(" ", "").split("/"))
        year += 2000 if year < 100 else 0
        last_day = date(year + (month == 12), month % 12 + 1, 1)
    except ValueError:
        raise CardError(_("Give the expiry date as MM/YY."), field="expiry") from None
    if last_day <= timezone.localdate():
        raise CardError(_("This card has expired."), field="expiry")
    if not (cvc.isdigit() and len(cvc) in (3, 4)):
        raise CardError(_("The security code has 3 digits."), field="cvc")


# --- Money APIs (called by the provider adapter) -------------------------------------------


def intent_move(*, intent_id: str, kind: str, amount_cents: int, key: str) -> dict:
    """Capture, void or refund, once per idempotency key; returns the API's answer."""
    with transaction.atomic():
        intent = _lock(intent_id)
        if key in intent.idempotency_keys:
            return intent.idempotency_keys[key]
        answer = _apply_move(intent, kind, amount_cents)
        answer["id"] = "sbx_op_" + secrets.token_hex(8)
        intent.idempotency_keys = {**intent.idempotency_keys, key: answer}
        intent.save()
        event = {
            "capture": "payment.captured",
            "void": "payment.voided",
            "refund": "payment.refunded",
        }
        if answer["status"] == "succeeded":
            _emit(intent, event[kind], operation=answer["id"], key=key, amount=amount_cents)
        else:
            _emit(intent, f"{kind}.failed", operation=answer["id"], key=key, amount=amount_cents)
        return answer


def _apply_move(intent, kind, amount_cents) -> dict:
    if intent.status != P.AUTHORISED:
        return {"status": "failed", "error": "not_authorised"}
    open_cents = intent.amount_cents - intent.captured_cents - intent.voided_cents
    if kind == "capture":
        if amount_cents > open_cents:
            return {"status": "failed", "error": "amount_too_large"}
        if intent.card_behaviour == "capture_fails":
            return {"status": "failed", "error": "capture_declined"}
        intent.captured_cents += amount_cents
    elif kind == "void":
        if amount_cents > open_cents:
            return {"status": "failed", "error": "amount_too_large"}
        intent.voided_cents += amount_cents
    elif kind == "refund":
        if amount_cents > intent.captured_cents - intent.refunded_cents:
            return {"status": "failed", "error": "amount_too_large"}
        intent.refunded_cents += amount_cents
    else:
        raise ValueError(kind)
    return {"status": "succeeded"}


# --- Callbacks -----------------------------------------------------------------------------


def _emit(intent: SandboxIntent, event_type: str, **extra) -> SandboxWebhook:
    event_id = "sbx_evt_" + secrets.token_hex(10)
    payload = {
        "id": event_id,
        "type": event_type,
        "created": int(time.time()),
        "data": {
            "payment": intent.id,
            "status": intent.status,
            "amount": intent.amount_cents,
            "captured": intent.captured_cents,
            "voided": intent.voided_cents,
            "refunded": intent.refunded_cents,
            "failure_code": intent.failure_code,
            **extra,
        },
    }
    webhook = SandboxWebhook.objects.create(
        event_id=event_id, intent=intent, event_type=event_type, payload=payload
    )
    from ..tasks import deliver_sandbox_webhook

    enqueue_on_commit(deliver_sandbox_webhook, webhook.pk)
    return webhook


def sign(body: bytes, timestamp: int | None = None, secret: str | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    secret = secret or settings.HALLES_SANDBOX_SECRET
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(body: bytes, header: str, now: float | None = None) -> bool:
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    expected = sign(body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


def webhook_body(webhook: SandboxWebhook) -> bytes:
    return json.dumps(webhook.payload, separators=(",", ":"), sort_keys=True).encode()


def webhook_deliver(*, webhook_id: int) -> bool:
    """POST one callback to Halles; True once delivered (a 2xx answer). Without a target URL
    (tests), callbacks stay stored and the return page's check moves payments on."""
    url = settings.HALLES_SANDBOX_WEBHOOK_URL
    webhook = SandboxWebhook.objects.filter(pk=webhook_id, delivered_at__isnull=True).first()
    if webhook is None or not url or webhook.attempts >= MAX_DELIVERY_ATTEMPTS:
        return False
    body = webhook_body(webhook)
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body)},
    )
    error = ""
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            delivered = 200 <= response.status < 300
            if not delivered:
                error = f"HTTP {response.status}"
    except (urllib.error.URLError, OSError) as exc:
        delivered, error = False, str(exc)[:255]
    changes = {"attempts": webhook.attempts + 1, "last_error": error}
    if delivered:
        changes["delivered_at"] = timezone.now()
    SandboxWebhook.objects.filter(pk=webhook.pk).update(**changes)
    return delivered


def undelivered_webhooks():
    return SandboxWebhook.objects.filter(
        delivered_at__isnull=True, attempts__lt=MAX_DELIVERY_ATTEMPTS
    ).order_by("id")
