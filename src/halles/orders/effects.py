"""What happens when a shop order enters a state: deadlines set, e-mails and tasks queued.

Called by `workflow.apply_transition` inside its transaction; e-mails go through the outbox
(written in the same transaction) and tasks are queued on commit, so a rolled-back
transition leaves nothing behind.
"""

from datetime import timedelta

from django.utils import timezone

from halles.core.tasks import enqueue_at_on_commit, enqueue_on_commit
from halles.shops.services import pickup_slot_release

from . import notify
from .models import ShopOrder, State

S = State


def on_enter(shop_order: ShopOrder, *, transition, from_state: str, event) -> None:
    handler = _HANDLERS.get(transition.target)
    if handler is not None:
        handler(shop_order, transition=transition, from_state=from_state, event=event)


def _waiting_acceptance(shop_order, *, transition, from_state, event):
    from .tasks import expire_acceptance, remind_acceptance

    marketplace = shop_order.marketplace
    deadline = marketplace.calendar.add_business_days(
        event.at, marketplace.acceptance_deadline_business_days
    )
    reminder_at = max(event.at, deadline - timedelta(hours=24))
    ShopOrder.objects.filter(pk=shop_order.pk).update(acceptance_deadline=deadline)
    shop_order.acceptance_deadline = deadline
    enqueue_at_on_commit(remind_acceptance, reminder_at, shop_order.pk)
    enqueue_at_on_commit(expire_acceptance, deadline, shop_order.pk)
    notify.shop(shop_order, "orders/seller_new_order")


def _waiting_debit(shop_order, *, transition, from_state, event):
    from .tasks import collect_payment

    order = shop_order.order
    due = order.created_at + timedelta(days=shop_order.marketplace.payment_deadline_days)
    now = event.at
    ShopOrder.objects.filter(pk=shop_order.pk).update(accepted_at=now, payment_due_at=due)
    shop_order.accepted_at, shop_order.payment_due_at = now, due
    notify.buyer(shop_order, "orders/buyer_accepted")
    enqueue_on_commit(collect_payment, shop_order.pk)


def _shipping(shop_order, *, transition, from_state, event):
    """Paid: the seller prepares, within the delivery mode's lead time (business days)."""
    marketplace = shop_order.marketplace
    deadline = marketplace.calendar.add_business_days(event.at, max(shop_order.lead_time_days, 1))
    ShopOrder.objects.filter(pk=shop_order.pk).update(paid_at=event.at, shipping_deadline=deadline)
    shop_order.paid_at, shop_order.shipping_deadline = event.at, deadline
    notify.shop(shop_order, "orders/seller_paid")
    notify.buyer(shop_order, "orders/buyer_paid")
    from .tasks import notify_late_shipment, settle_payment

    enqueue_at_on_commit(notify_late_shipment, deadline, shop_order.pk)

    enqueue_on_commit(settle_payment, shop_order.order_id)  # refused lines: release their part


def _shipped(shop_order, *, transition, from_state, event):
    """The automatic receipt is scheduled from the shipping date (the sweep backs it up)."""
    from .tasks import receive_automatically

    shipped_at = shop_order.shipped_at or event.at
    delay = timedelta(days=shop_order.marketplace.auto_receive_days)
    enqueue_at_on_commit(receive_automatically, shipped_at + delay, shop_order.pk)


def _received(shop_order, *, transition, from_state, event):
    """Closing is scheduled for the end of the withdrawal window."""
    from .tasks import close_order

    window = timedelta(days=shop_order.marketplace.withdrawal_days)
    enqueue_at_on_commit(close_order, event.at + window, shop_order.pk)


def _refused(shop_order, *, transition, from_state, event):
    from .tasks import settle_payment

    _release_slot(shop_order)
    notify.buyer(shop_order, "orders/buyer_refused")
    if transition.action == "expire":
        notify.shop(shop_order, "orders/seller_expired")
    enqueue_on_commit(settle_payment, shop_order.order_id)


def _canceled(shop_order, *, transition, from_state, event):
    from .tasks import settle_payment

    _release_slot(shop_order)
    if transition.action != "payment_fail":  # the buyer saw the failure on the payment page
        notify.buyer(shop_order, "orders/buyer_canceled", reason=event.note)
        if from_state != S.STAGING:  # the seller had the order to handle
            notify.shop(shop_order, "orders/seller_canceled", reason=event.note)
    enqueue_on_commit(settle_payment, shop_order.order_id)


def _release_slot(shop_order):
    if shop_order.pickup_slot_id:
        pickup_slot_release(slot_id=shop_order.pickup_slot_id)


def acceptance_deadline_passed(shop_order: ShopOrder, at=None) -> bool:
    at = at or timezone.now()
    return shop_order.acceptance_deadline is not None and at >= shop_order.acceptance_deadline


_HANDLERS = {
    S.WAITING_ACCEPTANCE: _waiting_acceptance,
    S.WAITING_DEBIT: _waiting_debit,
    S.SHIPPING: _shipping,
    S.SHIPPED: _shipped,
    S.RECEIVED: _received,
    S.REFUSED: _refused,
    S.CANCELED: _canceled,
}
