"""The shop-order state machine: one declarative table and one function that applies it.

`apply_transition` (on a row the caller has locked) and `shop_order_transition` (which
takes the lock itself) are the only code that changes `ShopOrder.state`. Each call:

1. finds the action in `TRANSITIONS` (an unknown action is an error);
2. checks the actor's right for the role it acts in (seller: staff of the shop; buyer: the
   order's buyer; operator: runs the marketplace; system: no actor);
3. re-checks the current state under the row lock and writes the new one with an UPDATE
   whose WHERE names the expected state, so a transition happens once;
4. moves the lines still live with the order (refused and cancelled lines stay so) and
   gives back their stock when they end;
5. writes an `OrderEvent` (who, what, when, through which interface);
6. runs the side effects of entering the new state (`effects.py`), which queue e-mails and
   tasks with `transaction.on_commit`: nothing leaves for a rolled-back change.

The transitions after SHIPPING are applied by the fulfilment services.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from halles.core.errors import DomainError, InvalidState, NotAllowed, NotFound
from halles.marketplaces.workflow import can_operate
from halles.shops.selectors import is_staff_of

from .models import Channel, OrderEvent, OrderLine, Role, ShopOrder, State

S = State
BUYER, SELLER, OPERATOR, SYSTEM = Role.BUYER, Role.SELLER, Role.OPERATOR, Role.SYSTEM


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    target: str
    roles: frozenset
    label: str
    reason_required: bool = False


def _t(action, sources, target, roles, label, **kw) -> Transition:
    return Transition(action, tuple(sources), target, frozenset(roles), label, **kw)


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        # Fraud check.
        _t("fraud_pass", [S.STAGING], S.WAITING_ACCEPTANCE, [SYSTEM, OPERATOR],
           _("Fraud check passed")),
        _t("fraud_reject", [S.STAGING], S.CANCELED, [OPERATOR], _("Rejected by the fraud check"),
           reason_required=True),
        _t("payment_fail", [S.STAGING], S.CANCELED, [SYSTEM], _("Payment not completed")),
        # Acceptance.
        _t("accept", [S.WAITING_ACCEPTANCE], S.WAITING_DEBIT, [SELLER],
           pgettext_lazy("order event", "Accepted")),
        _t("refuse", [S.WAITING_ACCEPTANCE], S.REFUSED, [SELLER],
           pgettext_lazy("order event", "Refused")),
        _t("expire", [S.WAITING_ACCEPTANCE], S.REFUSED, [SYSTEM],
           _("Not accepted in time: refused automatically")),
        # Cancellation before shipping.
        _t("buyer_cancel", [S.STAGING, S.WAITING_ACCEPTANCE], S.CANCELED, [BUYER],
           _("Cancelled by the buyer")),
        _t("operator_cancel", [S.STAGING, S.WAITING_ACCEPTANCE, S.WAITING_DEBIT], S.CANCELED,
           [OPERATOR], _("Cancelled by the marketplace"), reason_required=True),
        # Payment of the accepted lines.
        _t("debit_request", [S.WAITING_DEBIT], S.WAITING_DEBIT_PAYMENT, [SYSTEM],
           _("Payment requested")),
        _t("debit_confirm", [S.WAITING_DEBIT, S.WAITING_DEBIT_PAYMENT], S.SHIPPING, [SYSTEM],
           _("Payment received")),
        _t("debit_fail", [S.WAITING_DEBIT_PAYMENT], S.CANCELED, [SYSTEM], _("Payment failed")),
        _t("payment_expire", [S.WAITING_DEBIT], S.CANCELED, [SYSTEM],
           _("Not paid in time: cancelled")),
        # Fulfilment (built by the fulfilment services).
        _t("ship", [S.SHIPPING], S.SHIPPED, [SELLER], _("Shipped")),
        _t("ready_for_pickup", [S.SHIPPING], S.TO_COLLECT, [SELLER], _("Ready for pick-up")),
        _t("collect", [S.TO_COLLECT], S.RECEIVED, [SELLER], _("Collected")),
        _t("receive", [S.SHIPPED], S.RECEIVED, [BUYER, SYSTEM], _("Received")),
        _t("close", [S.RECEIVED], S.CLOSED, [SYSTEM], pgettext_lazy("order event", "Closed")),
    )
}  # fmt: skip

# Lines in these states no longer follow their order.
ENDED_LINE_STATES = (S.REFUSED, S.CANCELED)


def actions_for(state: str, role: str) -> list[Transition]:
    """The transitions a role could apply from `state` (rights on the object aside)."""
    return [t for t in TRANSITIONS.values() if state in t.sources and role in t.roles]


def lock_shop_order(shop_order_id: int) -> ShopOrder:
    """Lock one shop order (call inside a transaction). Several are locked by id order."""
    shop_order = (
        ShopOrder.objects.select_for_update(of=("self",))
        .select_related("order", "shop", "marketplace")
        .filter(pk=shop_order_id)
        .first()
    )
    if shop_order is None:
        raise NotFound(_("This order does not exist."))
    return shop_order


def shop_order_transition(
    *,
    shop_order_id: int,
    action: str,
    actor=None,
    role: str,
    channel: str = Channel.WEB,
    note: str = "",
    detail: dict | None = None,
) -> ShopOrder:
    """Lock the shop order and apply `action` to it, once, if `actor` may."""
    with transaction.atomic():
        shop_order = lock_shop_order(shop_order_id)
        return apply_transition(
            shop_order,
            action=action,
            actor=actor,
            role=role,
            channel=channel,
            note=note,
            detail=detail,
        )


def apply_transition(
    shop_order: ShopOrder,
    *,
    action: str,
    actor=None,
    role: str,
    channel: str = Channel.WEB,
    note: str = "",
    detail: dict | None = None,
) -> ShopOrder:
    """Apply `action` to a shop order the caller has locked (`lock_shop_order`)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("apply_transition runs inside the transaction holding the lock")
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise DomainError(_("Unknown action."), code="unknown_action")
    check_right(shop_order, transition, actor, role)
    note = (note or "").strip()
    if transition.reason_required and not note:
        raise DomainError(_("Give the reason."), code="reason_required", field="reason")
    from_state = shop_order.state
    if from_state not in transition.sources:
        raise InvalidState(
            _("Not possible while the order is “%(state)s” (%(action)s).")
            % {"state": shop_order.get_state_display(), "action": transition.label},
            code="invalid_state",
        )
    now = timezone.now()
    updated = ShopOrder.objects.filter(pk=shop_order.pk, state=from_state).update(
        state=transition.target, updated_at=now
    )
    if updated != 1:  # pragma: no cover - the row lock makes this impossible
        raise InvalidState()
    shop_order.state = transition.target
    _move_lines(shop_order, transition.target, reason=note)
    event = OrderEvent.objects.create(
        shop_order=shop_order,
        action=transition.action,
        from_state=from_state,
        to_state=transition.target,
        actor=actor,
        role=role,
        channel=channel,
        note=note,
        detail=detail or {},
        at=now,
    )
    from . import effects

    effects.on_enter(shop_order, transition=transition, from_state=from_state, event=event)
    return shop_order


def check_right(shop_order: ShopOrder, transition: Transition, actor, role: str) -> None:
    """Raise NotAllowed unless `actor`, acting as `role`, may apply `transition`."""
    if role not in transition.roles:
        raise NotAllowed()
    if role == SYSTEM:
        if actor is not None:
            raise NotAllowed()
        return
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise NotAllowed()
    if role == OPERATOR and can_operate(actor, shop_order.marketplace):
        return
    if role == SELLER and is_staff_of(actor, shop_order.shop):
        return
    if role == BUYER and shop_order.order.buyer_id == actor.pk:
        return
    raise NotAllowed()


def _move_lines(shop_order: ShopOrder, target: str, reason: str = "") -> None:
    """Live lines follow the order; when it ends (refused, cancelled) they end with it and
    their stock comes back."""
    live = OrderLine.objects.filter(shop_order=shop_order).exclude(state__in=ENDED_LINE_STATES)
    if target in ENDED_LINE_STATES:
        from .services import lines_end

        lines_end(list(live), state=target, reason=reason)
    else:
        live.update(state=target)
