"""The one place where money moves: every authorisation, capture, release and refund goes
through these functions, which record a `PaymentOperation` (the ledger issue posts each one)
and call the provider outside any transaction that could still roll back.

Pattern for a movement (capture, void, refund):
1. in a transaction, lock the payment, check the amount, and insert the operation under its
   idempotency key (the same key twice is the same operation);
2. commit, then call the provider with that key (a retried call moves money once);
3. in a transaction, lock again and record the outcome once.
"""

import logging

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from halles.core.errors import DomainError, NotFound

from .models import (
    OperationKind,
    OperationStatus,
    Payment,
    PaymentOperation,
    PaymentStatus,
    WebhookEvent,
)
from .providers import Callback, InvalidSignature, OperationResult, PaymentState, get_provider

logger = logging.getLogger(__name__)

P = PaymentStatus
# An authorisation moves only forward: created -> requires_action -> authorised | failed.
_RANK = {P.CREATED: 0, P.REQUIRES_ACTION: 1, P.AUTHORISED: 2, P.FAILED: 2, P.CANCELED: 2}


class PaymentError(DomainError):
    code = "payment_error"
    status = 402


def payment_create(
    *, marketplace, reference: str, amount_cents: int, payer, method: str = "card"
) -> Payment:
    """A payment waiting for the buyer (in the caller's transaction; no provider call)."""
    if amount_cents <= 0:
        raise DomainError(_("There is nothing to pay."), code="nothing_to_pay")
    return Payment.objects.create(
        marketplace=marketplace,
        provider=get_provider().code,
        reference=reference,
        amount_cents=amount_cents,
        currency=marketplace.currency,
        payer=payer,
        method=method,
    )


def payment_start(*, payment_id: int, return_url: str, description: str) -> str:
    """Open the provider's payment page (once) and return where to send the buyer."""
    payment = Payment.objects.get(pk=payment_id)
    if payment.redirect_url:
        return payment.redirect_url
    if payment.status != P.CREATED:
        raise PaymentError(_("This payment can no longer be made."), code="payment_closed")
    session = get_provider(payment.provider).start(
        payment=payment, return_url=return_url, description=description
    )
    Payment.objects.filter(pk=payment.pk, redirect_url="").update(
        provider_reference=session.provider_reference, redirect_url=session.redirect_url
    )
    payment.refresh_from_db()
    return payment.redirect_url


def payment_refresh(*, payment_id: int) -> Payment:
    """Ask the provider where the authorisation stands and record it (the return page does
    this, so a buyer never waits for a callback)."""
    payment = Payment.objects.get(pk=payment_id)
    if not payment.provider_reference or _RANK[payment.status] == 2:
        return payment
    state = get_provider(payment.provider).retrieve(payment=payment)
    return payment_record_state(payment_id=payment.pk, state=state)


def payment_record_state(*, payment_id: int, state: PaymentState) -> Payment:
    """Record the provider's state of the authorisation; only forward moves count, so an old
    or replayed state changes nothing."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if _RANK[state.status] <= _RANK[payment.status]:
            return payment
        payment.status = state.status
        payment.failure_code = state.failure_code
        payment.failure_message = state.failure_message[:255]
        if state.status == P.AUTHORISED:
            payment.authorised_at = timezone.now()
            PaymentOperation.objects.get_or_create(
                idempotency_key=f"authorise:{payment.pk}",
                defaults={
                    "payment": payment,
                    "kind": OperationKind.AUTHORISE,
                    "amount_cents": payment.amount_cents,
                    "status": OperationStatus.SUCCEEDED,
                    "reference": payment.reference,
                    "provider_reference": payment.provider_reference or "",
                    "completed_at": timezone.now(),
                },
            )
        payment.save()
        return payment


def payment_cancel(*, payment_id: int) -> Payment:
    """The buyer gave up (or the session expired) before any authorisation."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.status in (P.CREATED, P.REQUIRES_ACTION):
            payment.status = P.CANCELED
            payment.save(update_fields=["status", "updated_at"])
        return payment


def payment_capture(
    *, payment_id: int, amount_cents: int, idempotency_key: str, reference: str
) -> PaymentOperation:
    """Capture `amount_cents` of the authorisation (for one shop order)."""
    return _move(OperationKind.CAPTURE, payment_id, amount_cents, idempotency_key, reference)


def payment_void(
    *, payment_id: int, amount_cents: int, idempotency_key: str, reference: str
) -> PaymentOperation:
    """Release `amount_cents` of the authorisation that will never be captured."""
    return _move(OperationKind.VOID, payment_id, amount_cents, idempotency_key, reference)


def payment_refund(
    *, payment_id: int, amount_cents: int, idempotency_key: str, reference: str
) -> PaymentOperation:
    """Give back captured money (used by customer care)."""
    return _move(OperationKind.REFUND, payment_id, amount_cents, idempotency_key, reference)


def _move(kind, payment_id, amount_cents, key, reference) -> PaymentOperation:
    if amount_cents <= 0:
        raise DomainError(_("The amount must be positive."), code="bad_amount")
    operation = _operation_open(kind, payment_id, amount_cents, key, reference)
    if operation.status != OperationStatus.PENDING:
        return operation  # done before: the same key is the same movement
    provider = get_provider(operation.payment.provider)
    call = {
        OperationKind.CAPTURE: provider.capture,
        OperationKind.VOID: provider.void,
        OperationKind.REFUND: provider.refund,
    }[kind]
    result = call(payment=operation.payment, amount_cents=amount_cents, idempotency_key=key)
    return operation_record_result(idempotency_key=key, result=result)


def _operation_open(kind, payment_id, amount_cents, key, reference) -> PaymentOperation:
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(pk=payment_id).first()
        if payment is None:
            raise NotFound(_("This payment does not exist."))
        existing = PaymentOperation.objects.filter(idempotency_key=key).first()
        if existing is not None:
            if existing.kind != kind or existing.amount_cents != amount_cents:
                raise DomainError(
                    _("This operation was already asked with other terms."),
                    code="idempotency_conflict",
                )
            return existing
        _check_amount(payment, kind, amount_cents)
        try:
            with transaction.atomic():
                return PaymentOperation.objects.create(
                    payment=payment,
                    kind=kind,
                    amount_cents=amount_cents,
                    idempotency_key=key,
                    reference=reference,
                )
        except IntegrityError:  # pragma: no cover - the payment lock serialises keys
            return PaymentOperation.objects.get(idempotency_key=key)


def _check_amount(payment: Payment, kind: str, amount_cents: int) -> None:
    pending = sum(
        payment.operations.filter(kind=kind, status=OperationStatus.PENDING).values_list(
            "amount_cents", flat=True
        )
    )
    if kind in (OperationKind.CAPTURE, OperationKind.VOID):
        other = OperationKind.VOID if kind == OperationKind.CAPTURE else OperationKind.CAPTURE
        pending_other = sum(
            payment.operations.filter(kind=other, status=OperationStatus.PENDING).values_list(
                "amount_cents", flat=True
            )
        )
        if payment.status != P.AUTHORISED:
            raise PaymentError(_("This payment is not authorised."), code="not_authorised")
        if amount_cents + pending + pending_other > payment.open_cents:
            raise PaymentError(
                _("The amount is more than what is left of the authorisation."),
                code="over_authorisation",
            )
    elif amount_cents + pending > payment.captured_cents - payment.refunded_cents:
        raise PaymentError(_("The refund is more than what was paid."), code="over_refund")


def operation_record_result(*, idempotency_key: str, result: OperationResult) -> PaymentOperation:
    """Record a provider's answer to an operation, once (the synchronous answer and the
    callback may both bring it)."""
    with transaction.atomic():
        operation = PaymentOperation.objects.select_for_update().get(
            idempotency_key=idempotency_key
        )
        if operation.status != OperationStatus.PENDING:
            return operation
        payment = Payment.objects.select_for_update().get(pk=operation.payment_id)
        operation.completed_at = timezone.now()
        operation.provider_reference = result.provider_reference[:100]
        if result.succeeded:
            operation.status = OperationStatus.SUCCEEDED
            column = {
                OperationKind.CAPTURE: "captured_cents",
                OperationKind.VOID: "voided_cents",
                OperationKind.REFUND: "refunded_cents",
            }[operation.kind]
            Payment.objects.filter(pk=payment.pk).update(
                **{column: F(column) + operation.amount_cents}
            )
        else:
            operation.status = OperationStatus.FAILED
            operation.error_code = result.error_code[:40]
            operation.error_message = result.error_message[:255]
        operation.save()
        return operation


def callback_receive(*, provider_code: str, body: bytes, headers) -> tuple[Callback, bool]:
    """Verify a provider callback and store it once (unique provider + event id). Returns the
    callback and whether it still needs processing: a replay of a processed event is only
    counted. Processing itself is idempotent, so two deliveries racing are harmless."""
    try:
        provider = get_provider(provider_code)
    except LookupError:
        raise NotFound(_("Unknown payment provider.")) from None
    try:
        callback = provider.parse_callback(body=body, headers=headers)
    except InvalidSignature as exc:
        raise DomainError(
            _("The callback's signature does not verify."), code="bad_signature"
        ) from exc
    try:
        with transaction.atomic():
            WebhookEvent.objects.create(
                provider=provider_code,
                event_id=callback.event_id,
                event_type=callback.event_type,
                provider_reference=callback.provider_reference,
                payload=callback.payload,
            )
    except IntegrityError:
        WebhookEvent.objects.filter(provider=provider_code, event_id=callback.event_id).update(
            times_received=F("times_received") + 1
        )
        event = WebhookEvent.objects.get(provider=provider_code, event_id=callback.event_id)
        return callback, event.processed_at is None
    return callback, True


def callback_processed(*, provider_code: str, event_id: str) -> None:
    WebhookEvent.objects.filter(
        provider=provider_code, event_id=event_id, processed_at__isnull=True
    ).update(processed_at=timezone.now())


def payment_by_provider_reference(provider_code: str, provider_reference: str) -> Payment | None:
    return Payment.objects.filter(
        provider=provider_code, provider_reference=provider_reference
    ).first()
