"""Provider callbacks: verified and stored once by the payments service, then applied to
the order they concern. A replay of a processed callback changes nothing."""

from halles.orders import payment_flow
from halles.orders.models import Order
from halles.payments import services as payments
from halles.payments.models import OperationStatus, PaymentOperation
from halles.payments.providers import OperationResult

from .placement import checkout_payment_update

MOVE_EVENTS = {
    "payment.captured": True,
    "capture.failed": False,
    "payment.voided": True,
    "void.failed": False,
    "payment.refunded": True,
    "refund.failed": False,
}


def payment_callback(*, provider_code: str, body: bytes, headers) -> str:
    """Handle one callback; returns what was done ("processed", "duplicate", "ignored")."""
    callback, todo = payments.callback_receive(
        provider_code=provider_code, body=body, headers=headers
    )
    if not todo:
        return "duplicate"
    payment = payments.payment_by_provider_reference(provider_code, callback.provider_reference)
    outcome = "ignored"
    if payment is not None:
        if callback.event_type in MOVE_EVENTS:
            outcome = _operation_callback(callback, MOVE_EVENTS[callback.event_type])
        else:
            order = Order.objects.filter(payment=payment).first()
            if order is not None:
                checkout_payment_update(order_id=order.pk)
                outcome = "processed"
    payments.callback_processed(provider_code=provider_code, event_id=callback.event_id)
    return outcome


def _operation_callback(callback, succeeded: bool) -> str:
    """A capture, release or refund the synchronous answer may not have recorded."""
    data = callback.payload.get("data", {})
    key = data.get("key", "")
    operation = PaymentOperation.objects.filter(idempotency_key=key).first()
    if operation is None:
        return "ignored"
    if operation.status == OperationStatus.PENDING:
        operation = payments.operation_record_result(
            idempotency_key=key,
            result=OperationResult(
                succeeded=succeeded,
                provider_reference=str(data.get("operation", "")),
                error_code=str(data.get("error", "")),
            ),
        )
    if operation.kind == "capture":
        payment_flow.record_capture(operation)
    return "processed"
