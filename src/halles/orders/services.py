"""Order writes: creating the orders of a checkout, the seller's acceptance, deadlines, the
fraud review and cancellations. State changes go through `workflow.apply_transition`."""

from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from halles.catalog.models import Offer
from halles.catalog.services import stock_release
from halles.core.errors import DomainError, InvalidState, NotAllowed, NotFound
from halles.core.money import round_half_up
from halles.marketplaces.workflow import can_operate
from halles.shops.models import ShopStatus
from halles.shops.workflow import shop_transition

from . import fraud, notify
from .effects import acceptance_deadline_passed
from .models import (
    Channel,
    Order,
    OrderLine,
    OrderStatus,
    Role,
    ShopOrder,
    State,
)
from .workflow import TRANSITIONS, apply_transition, check_right, lock_shop_order

S = State


def system_text(shop_order: ShopOrder, message, **values) -> str:
    """A text Halles writes into an order's history, in the marketplace's language (not in
    the language of whoever's request triggered it)."""
    with translation.override(shop_order.marketplace.default_language):
        return str(message % values if values else message)


def lines_end(lines: list[OrderLine], *, state: str, reason: str = "") -> None:
    """End lines (refused or cancelled) and give their stock back, once per line."""
    for line in lines:
        released = OrderLine.objects.filter(pk=line.pk, stock_released=False).update(
            state=state, stock_released=True, refusal_reason=reason[:255]
        )
        if released and line.offer_id:
            stock_release(offer_id=line.offer_id, quantity=line.quantity)
        elif not released:
            OrderLine.objects.filter(pk=line.pk).update(state=state)


# --- Placement: the payment was authorised -------------------------------------------------


def order_mark_placed(*, order_id: int) -> bool:
    """The buyer's payment is authorised: the order is placed, scored for fraud, and each
    shop order goes to its seller unless the score asks for a review. Once."""
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("buyer").get(pk=order_id)
        if order.status != OrderStatus.PAYMENT_PENDING:
            return False
        now = timezone.now()
        Order.objects.filter(pk=order.pk).update(status=OrderStatus.PLACED, placed_at=now)
        order.status, order.placed_at = OrderStatus.PLACED, now
        score = fraud.score_order(order, at=now)
        Order.objects.filter(pk=order.pk).update(
            fraud_score=score.points, fraud_reasons=score.reasons
        )
        notify.buyer_order(order, "orders/buyer_placed")
        for shop_order_id in _shop_order_ids(order):
            shop_order = lock_shop_order(shop_order_id)
            if not score.needs_review:
                apply_transition(
                    shop_order,
                    action="fraud_pass",
                    role=Role.SYSTEM,
                    channel=Channel.SYSTEM,
                    detail={"score": score.points},
                )
        return True


def order_mark_abandoned(*, order_id: int) -> bool:
    """The payment failed or was never completed: the order is dropped, its stock given back
    (its shop orders are cancelled without telling the sellers, who never saw them)."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status != OrderStatus.PAYMENT_PENDING:
            return False
        Order.objects.filter(pk=order.pk).update(status=OrderStatus.ABANDONED)
        for shop_order_id in _shop_order_ids(order):
            shop_order = lock_shop_order(shop_order_id)
            if shop_order.state == S.STAGING:
                apply_transition(
                    shop_order, action="payment_fail", role=Role.SYSTEM, channel=Channel.SYSTEM
                )
        return True


def _shop_order_ids(order) -> list[int]:
    """Shop orders of an order in id order: the one order in which several are locked."""
    return list(order.shop_orders.order_by("pk").values_list("pk", flat=True))


# --- Fraud review ---------------------------------------------------------------------------


def fraud_review(*, order_id: int, operator, approve: bool, reason: str = "") -> Order:
    """An operator's decision on an order held by the fraud check (all its shops at once).
    Rejecting cancels it, gives the stock back, releases the card and tells the buyer."""
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("marketplace").get(pk=order_id)
        if not can_operate(operator, order.marketplace):
            raise NotAllowed()
        if order.status != OrderStatus.PLACED:
            raise InvalidState(_("This order is not placed."), code="not_placed")
        held = [pk for pk in _shop_order_ids(order)]
        moved = 0
        for shop_order_id in held:
            shop_order = lock_shop_order(shop_order_id)
            if shop_order.state != S.STAGING:
                continue
            apply_transition(
                shop_order,
                action="fraud_pass" if approve else "fraud_reject",
                actor=operator,
                role=Role.OPERATOR,
                channel=Channel.BACKOFFICE,
                note=reason,
            )
            moved += 1
        if not moved:
            raise InvalidState(
                _("This order is no longer waiting for the fraud check."), code="not_staging"
            )
        return order


# --- Acceptance -----------------------------------------------------------------------------


def shop_order_decide(
    *,
    shop_order_id: int,
    actor,
    decisions: dict[int, bool],
    reason: str = "",
    channel: str = Channel.WEB,
) -> ShopOrder:
    """The seller accepts or refuses each line. Every pending line gets a decision; a line
    of another order is an error; nothing changes unless everything is right."""
    reason = (reason or "").strip()
    with transaction.atomic():
        shop_order = lock_shop_order(shop_order_id)
        check_right(shop_order, TRANSITIONS["accept"], actor, Role.SELLER)
        if shop_order.state != S.WAITING_ACCEPTANCE:
            raise InvalidState(
                _("This order is “%(state)s”: there is nothing to accept or refuse.")
                % {"state": shop_order.get_state_display()},
                code="not_waiting_acceptance",
            )
        if acceptance_deadline_passed(shop_order):
            raise InvalidState(
                _("The acceptance deadline has passed: the order is refused automatically."),
                code="deadline_passed",
            )
        pending = {
            line.pk: line
            for line in shop_order.lines.filter(state=S.WAITING_ACCEPTANCE).order_by("pk")
        }
        unknown = sorted(set(decisions) - set(pending))
        if unknown:
            raise DomainError(
                _("Line %(line)s is not a line of this order waiting for a decision.")
                % {"line": unknown[0]},
                code="unknown_line",
            )
        missing = sorted(set(pending) - set(decisions))
        if missing:
            raise DomainError(
                _("Accept or refuse every line (%(count)s left).") % {"count": len(missing)},
                code="undecided_lines",
            )
        refused = [pending[pk] for pk, accept in decisions.items() if not accept]
        accepted = [pending[pk] for pk, accept in decisions.items() if accept]
        if refused and not reason:
            reason = system_text(shop_order, _("Not available"))
        detail = {
            "accepted": [line.pk for line in accepted],
            "refused": [line.pk for line in refused],
        }
        if not accepted:
            return apply_transition(
                shop_order,
                action="refuse",
                actor=actor,
                role=Role.SELLER,
                channel=channel,
                note=reason,
                detail=detail,
            )
        lines_end(refused, state=S.REFUSED, reason=reason)
        amount = accepted_amount(shop_order, accepted)
        ShopOrder.objects.filter(pk=shop_order.pk).update(accepted_cents=amount)
        shop_order.accepted_cents = amount
        return apply_transition(
            shop_order,
            action="accept",
            actor=actor,
            role=Role.SELLER,
            channel=channel,
            note=reason if refused else "",
            detail={**detail, "amount": amount},
        )


def accepted_amount(shop_order: ShopOrder, accepted: list[OrderLine]) -> int:
    """What the buyer pays for the accepted lines: their total, the delivery fee, minus the
    discount in proportion to the accepted items (rounded half-up)."""
    lines = sum(line.total_cents for line in accepted)
    discount = shop_order.discount_cents
    if lines != shop_order.lines_cents and shop_order.lines_cents:
        discount = round_half_up(
            Decimal(shop_order.discount_cents) * lines / shop_order.lines_cents
        )
    return max(0, lines + shop_order.shipping_cents - discount)


def acceptance_expire(*, shop_order_id: int) -> bool:
    """Past the deadline, the lines still pending are refused, their offers deactivated, and
    the shop suspended when the marketplace's policy says so. Idempotent."""
    with transaction.atomic():
        shop_order = lock_shop_order(shop_order_id)
        if shop_order.state != S.WAITING_ACCEPTANCE or not acceptance_deadline_passed(shop_order):
            return False
        offer_ids = list(
            shop_order.lines.filter(state=S.WAITING_ACCEPTANCE).values_list("offer_id", flat=True)
        )
        Offer.objects.filter(pk__in=[pk for pk in offer_ids if pk]).update(is_active=False)
        apply_transition(
            shop_order,
            action="expire",
            role=Role.SYSTEM,
            channel=Channel.SYSTEM,
            note=system_text(shop_order, _("Not accepted before the deadline")),
        )
        marketplace = shop_order.marketplace
        if (
            marketplace.suspend_shop_on_missed_acceptance
            and shop_order.shop.status == ShopStatus.ACTIVE
        ):
            shop_transition(
                shop_id=shop_order.shop_id,
                action="suspend",
                actor=None,
                automatic=True,
                reason=system_text(
                    shop_order,
                    _("Order %(reference)s was not accepted before its deadline."),
                    reference=shop_order.reference,
                ),
            )
        return True


def acceptance_remind(*, shop_order_id: int, hours_before: int = 24) -> bool:
    """Remind the shop of an order still waiting, once, in the day before the deadline."""
    with transaction.atomic():
        shop_order = lock_shop_order(shop_order_id)
        now = timezone.now()
        if (
            shop_order.state != S.WAITING_ACCEPTANCE
            or shop_order.acceptance_reminded_at is not None
            or shop_order.acceptance_deadline is None
            or now >= shop_order.acceptance_deadline
            or (shop_order.acceptance_deadline - now).total_seconds() > hours_before * 3600
        ):
            return False
        ShopOrder.objects.filter(pk=shop_order.pk).update(acceptance_reminded_at=now)
        notify.shop(shop_order, "orders/seller_acceptance_reminder")
        return True


# --- Cancellation ---------------------------------------------------------------------------


def shop_order_cancel(
    *, shop_order_id: int, actor, role: str, reason: str = "", channel: str = Channel.WEB
) -> ShopOrder:
    """The buyer cancels before the seller accepted, or an operator before shipping."""
    action = {Role.BUYER: "buyer_cancel", Role.OPERATOR: "operator_cancel"}.get(role)
    if action is None:
        raise NotAllowed()
    with transaction.atomic():
        shop_order = lock_shop_order(shop_order_id)
        if shop_order.order.status != OrderStatus.PLACED:
            raise NotFound(_("This order does not exist."))
        return apply_transition(
            shop_order, action=action, actor=actor, role=role, channel=channel, note=reason
        )


def shop_order_record_capture(*, shop_order_id: int, amount_cents: int, succeeded: bool, error=""):
    """The provider's answer to the capture of a shop order's accepted amount, once."""
    with transaction.atomic():
        shop_order = lock_shop_order(shop_order_id)
        if shop_order.state != S.WAITING_DEBIT_PAYMENT:
            return shop_order
        if succeeded:
            ShopOrder.objects.filter(pk=shop_order.pk).update(
                captured_cents=F("captured_cents") + amount_cents
            )
            return apply_transition(
                shop_order,
                action="debit_confirm",
                role=Role.SYSTEM,
                channel=Channel.PROVIDER,
                detail={"amount": amount_cents},
            )
        return apply_transition(
            shop_order,
            action="debit_fail",
            role=Role.SYSTEM,
            channel=Channel.PROVIDER,
            note=error,
        )


def payment_due_expire(*, shop_order_id: int, now=None) -> bool:
    """A shop order whose payment was never collected by its due date is cancelled (the
    buyer was asked to pay by transfer or a "confirm then pay" flow). Idempotent."""
    now = now or timezone.now()
    with transaction.atomic():
        shop_order = lock_shop_order(shop_order_id)
        if (
            shop_order.state != S.WAITING_DEBIT
            or shop_order.payment_due_at is None
            or now < shop_order.payment_due_at
        ):
            return False
        apply_transition(
            shop_order,
            action="payment_expire",
            role=Role.SYSTEM,
            channel=Channel.SYSTEM,
            note=system_text(shop_order, _("Not paid before the due date")),
        )
        return True
