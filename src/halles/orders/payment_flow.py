"""Collecting the buyer's money for what sellers accepted, and releasing the rest.

Runs in tasks, after the transitions that call for it have committed:
- `collect_payment`: WAITING_DEBIT -> WAITING_DEBIT_PAYMENT, capture exactly the accepted
  amount at the provider, then SHIPPING (or CANCELED if the bank refuses);
- `settle_payment`: once no shop order of the order can still be captured, release the
  authorisation's remainder (refused lines, refused or cancelled shops).
Both are idempotent: the idempotency keys name the shop order or the order, and the state
checks under lock make a second run a no-op.
"""

from django.db import transaction

from halles.payments import services as payments
from halles.payments.models import OperationStatus, PaymentStatus

from .models import Channel, Order, Role, ShopOrder, State
from .services import shop_order_record_capture
from .workflow import apply_transition, lock_shop_order

S = State
# Shop orders in these states may still be captured: the remainder waits for them.
UNDECIDED = (S.STAGING, S.WAITING_ACCEPTANCE, S.WAITING_DEBIT, S.WAITING_DEBIT_PAYMENT)


def capture_key(shop_order: ShopOrder) -> str:
    return f"capture:{shop_order.reference}"


def collect_payment(*, shop_order_id: int) -> str:
    """Capture the accepted amount of one shop order. Returns the state it ends in."""
    with transaction.atomic():
        shop_order = lock_shop_order(shop_order_id)
        if shop_order.state == S.WAITING_DEBIT:
            payment = shop_order.order.payment
            if payment is None or payment.status != PaymentStatus.AUTHORISED:
                return shop_order.state  # paid otherwise (bank transfer): the buyer is asked
            if not shop_order.accepted_cents:
                apply_transition(
                    shop_order, action="debit_confirm", role=Role.SYSTEM, channel=Channel.SYSTEM
                )
                return shop_order.state
            apply_transition(
                shop_order,
                action="debit_request",
                role=Role.SYSTEM,
                channel=Channel.SYSTEM,
                detail={"amount": shop_order.accepted_cents},
            )
        elif shop_order.state != S.WAITING_DEBIT_PAYMENT:
            return shop_order.state
    operation = payments.payment_capture(
        payment_id=shop_order.order.payment_id,
        amount_cents=shop_order.accepted_cents,
        idempotency_key=capture_key(shop_order),
        reference=shop_order.reference,
    )
    return record_capture(operation).state


def record_capture(operation) -> ShopOrder:
    """Move the shop order on from a capture's outcome (the synchronous answer, or the
    provider's callback when the answer was lost)."""
    shop_order = ShopOrder.objects.get(reference=operation.reference)
    if operation.status == OperationStatus.PENDING:
        return shop_order
    return shop_order_record_capture(
        shop_order_id=shop_order.pk,
        amount_cents=operation.amount_cents,
        succeeded=operation.status == OperationStatus.SUCCEEDED,
        error=operation.error_message,
    )


def settle_payment(*, order_id: int) -> int:
    """Release what is left of the authorisation once every shop order is past its capture.
    Returns the amount released (0 when nothing is to release yet)."""
    order = Order.objects.select_related("payment").get(pk=order_id)
    payment = order.payment
    if payment is None or payment.status != PaymentStatus.AUTHORISED:
        return 0
    if order.shop_orders.filter(state__in=UNDECIDED).exists():
        return 0
    payment.refresh_from_db()
    remainder = payment.open_cents
    if remainder <= 0:
        return 0
    operation = payments.payment_void(
        payment_id=payment.pk,
        amount_cents=remainder,
        idempotency_key=f"void:{order.reference}:{payment.captured_cents}",
        reference=order.reference,
    )
    return operation.amount_cents if operation.status == OperationStatus.SUCCEEDED else 0
