"""Order tasks: thin, they take ids and call idempotent services. Deadline tasks are
scheduled at the deadline; `sweep_order_deadlines` runs every minute as the safety net."""

from datetime import timedelta

from django.db.models import F
from django.utils import timezone
from django_tasks import task

from halles.marketplaces.models import Marketplace, MarketplaceStatus

from . import fulfilment, payment_flow, services
from .models import Order, OrderStatus, ShopOrder, State


@task()
def collect_payment(shop_order_id: int) -> str:
    return payment_flow.collect_payment(shop_order_id=shop_order_id)


@task()
def settle_payment(order_id: int) -> int:
    return payment_flow.settle_payment(order_id=order_id)


@task()
def expire_acceptance(shop_order_id: int) -> bool:
    return services.acceptance_expire(shop_order_id=shop_order_id)


@task()
def remind_acceptance(shop_order_id: int) -> bool:
    return services.acceptance_remind(shop_order_id=shop_order_id)


@task()
def notify_late_shipment(shop_order_id: int) -> bool:
    return fulfilment.late_shipment_notify(shop_order_id=shop_order_id)


@task()
def receive_automatically(shop_order_id: int) -> bool:
    return fulfilment.receipt_auto(shop_order_id=shop_order_id)


@task()
def close_order(shop_order_id: int) -> bool:
    return fulfilment.order_close(shop_order_id=shop_order_id)


@task()
def sweep_order_deadlines() -> dict:
    return sweep(timezone.now())


def sweep(now) -> dict:
    """Everything a deadline owes, whether or not its scheduled task ran."""
    done = {
        "expired": 0,
        "reminded": 0,
        "collected": 0,
        "late": 0,
        "received": 0,
        "closed": 0,
        "unpaid": 0,
        "released": 0,
    }
    waiting = ShopOrder.objects.filter(state=State.WAITING_ACCEPTANCE)
    for pk in waiting.filter(acceptance_deadline__lte=now).values_list("pk", flat=True):
        done["expired"] += services.acceptance_expire(shop_order_id=pk)
    remind = waiting.filter(
        acceptance_deadline__gt=now,
        acceptance_deadline__lte=now + timedelta(hours=24),
        acceptance_reminded_at__isnull=True,
    )
    for pk in remind.values_list("pk", flat=True):
        done["reminded"] += services.acceptance_remind(shop_order_id=pk)
    # Captures whose task was lost (worker stopped): the same idempotency key is reused.
    stuck = ShopOrder.objects.filter(
        state__in=(State.WAITING_DEBIT, State.WAITING_DEBIT_PAYMENT),
        updated_at__lte=now - timedelta(minutes=5),
        order__payment__status="authorised",
    )
    for pk in stuck.values_list("pk", flat=True):
        state = payment_flow.collect_payment(shop_order_id=pk)
        done["collected"] += state == State.SHIPPING
    unpaid = ShopOrder.objects.filter(state=State.WAITING_DEBIT, payment_due_at__lte=now).exclude(
        order__payment__status="authorised"
    )
    for pk in unpaid.values_list("pk", flat=True):
        done["unpaid"] += services.payment_due_expire(shop_order_id=pk, now=now)
    late = ShopOrder.objects.filter(
        state=State.SHIPPING, shipping_deadline__lte=now, late_notified_at__isnull=True
    )
    for pk in late.values_list("pk", flat=True):
        done["late"] += fulfilment.late_shipment_notify(shop_order_id=pk, now=now)
    # Authorisations with a remainder no shop order can capture any more (a lost task).
    unsettled = (
        Order.objects.filter(
            status=OrderStatus.PLACED,
            payment__status="authorised",
            payment__amount_cents__gt=F("payment__captured_cents") + F("payment__voided_cents"),
        )
        .exclude(shop_orders__state__in=payment_flow.UNDECIDED)
        .filter(shop_orders__updated_at__lte=now - timedelta(minutes=5))
        .distinct()
    )
    for pk in unsettled.values_list("pk", flat=True):
        done["released"] += payment_flow.settle_payment(order_id=pk) > 0
    for marketplace in Marketplace.objects.exclude(status=MarketplaceStatus.DRAFT):
        shipped = ShopOrder.objects.filter(
            marketplace=marketplace,
            state=State.SHIPPED,
            shipped_at__lte=now - timedelta(days=marketplace.auto_receive_days),
        )
        for pk in shipped.values_list("pk", flat=True):
            done["received"] += fulfilment.receipt_auto(shop_order_id=pk, now=now)
        received = ShopOrder.objects.filter(
            marketplace=marketplace,
            state=State.RECEIVED,
            received_at__lte=now - timedelta(days=marketplace.withdrawal_days),
        )
        for pk in received.values_list("pk", flat=True):
            done["closed"] += fulfilment.order_close(shop_order_id=pk, now=now)
    return done
