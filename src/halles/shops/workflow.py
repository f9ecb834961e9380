"""A shop's status: pending -> active <-> suspended -> closed, as one transition table.

Same shape as `marketplaces.workflow`: a declarative table and one function,
`shop_transition`, which locks the row, checks the actor's right and the current state,
writes with a guarded UPDATE, records a `ShopEvent` and queues the e-mails.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from halles.core.errors import DomainError, InvalidState, NotAllowed, NotFound
from halles.marketplaces.workflow import can_operate
from halles.notifications.services import email_queue

from .models import ApplicationStatus, SellerApplication, Shop, ShopEvent, ShopStatus
from .selectors import is_shop_owner, shop_owners

S = ShopStatus

# Who may apply a transition.
OPERATOR = "operator"
OPERATOR_OR_OWNER = "operator_or_owner"
OPERATOR_OR_SYSTEM = "operator_or_system"


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    target: str
    label: str
    allowed: str = OPERATOR
    reason_required: bool = False
    notify_owner: bool = False


TRANSITIONS = {
    t.action: t
    for t in (
        # activate and reject are applied by services.application_decide, which decides the
        # seller application first (see _check_preconditions).
        Transition("activate", (S.PENDING,), S.ACTIVE, _("Activate the shop")),
        Transition(
            "reject", (S.PENDING,), S.CLOSED, _("Refuse the application"), reason_required=True
        ),
        Transition(
            "suspend",
            (S.ACTIVE,),
            S.SUSPENDED,
            _("Suspend the shop"),
            allowed=OPERATOR_OR_SYSTEM,
            reason_required=True,
            notify_owner=True,
        ),
        Transition(
            "reactivate", (S.SUSPENDED,), S.ACTIVE, _("Reactivate the shop"), notify_owner=True
        ),
        Transition(
            "close",
            (S.ACTIVE, S.SUSPENDED),
            S.CLOSED,
            _("Close the shop"),
            allowed=OPERATOR_OR_OWNER,
            notify_owner=True,
        ),
    )
}


def allowed_actions(shop: Shop) -> list[Transition]:
    return [t for t in TRANSITIONS.values() if shop.status in t.sources]


def shop_transition(
    *, shop_id: int, action: str, actor, reason: str = "", automatic: bool = False
) -> Shop:
    """Apply `action` to the shop under a row lock, once, if `actor` may.

    `automatic=True` (with `actor=None`) is the system acting on its own, e.g. suspending a
    shop that let an order expire; only `suspend` can be automatic.
    """
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise DomainError(_("Unknown action."), code="unknown_action")
    reason = (reason or "").strip()
    if automatic and (transition.allowed != OPERATOR_OR_SYSTEM or actor is not None):
        raise DomainError(
            _("Only a suspension can be automatic, and it has no author."), code="not_automatic"
        )
    if transition.reason_required and not reason:
        raise DomainError(
            _("Give the reason (it is sent to the seller)."),
            code="reason_required",
            field="reason",
        )
    with transaction.atomic():
        shop = (
            Shop.objects.select_for_update(of=("self",))
            .select_related("marketplace")
            .filter(pk=shop_id)
            .first()
        )
        if shop is None:
            raise NotFound(_("This shop does not exist."))
        by_owner = _check_right(shop, transition, actor, automatic)
        if shop.status not in transition.sources:
            raise InvalidState(
                _("Not possible while the shop is in the status “%(status)s” (%(action)s).")
                % {"status": shop.get_status_display(), "action": transition.label}
            )
        _check_preconditions(shop, transition)
        now = timezone.now()
        from_status = shop.status
        changes = {"status": transition.target, "status_reason": reason}
        if transition.action == "activate":
            changes["activated_at"] = now
        if transition.action == "suspend":
            changes["suspended_automatically"] = automatic
        elif transition.target != S.SUSPENDED:
            changes["suspended_automatically"] = False
        updated = Shop.objects.filter(pk=shop.pk, status=from_status).update(**changes)
        if updated != 1:  # pragma: no cover - the row lock makes this impossible
            raise InvalidState()
        ShopEvent.objects.create(
            shop=shop,
            action=transition.action,
            from_status=from_status,
            to_status=transition.target,
            actor=actor,
            reason=reason,
            automatic=automatic,
            at=now,
        )
        shop.refresh_from_db()
        if transition.notify_owner and not by_owner:
            _email_owners(shop, transition, automatic)
        return shop


def _check_right(shop: Shop, transition: Transition, actor, automatic: bool) -> bool:
    """Raise NotAllowed unless `actor` may apply `transition`; True when the owner acts."""
    if automatic:
        return False
    if can_operate(actor, shop.marketplace):
        return False
    if (
        transition.allowed == OPERATOR_OR_OWNER
        and actor is not None
        and actor.is_active
        and is_shop_owner(actor, shop)
    ):
        return True
    raise NotAllowed()


def _check_preconditions(shop: Shop, transition: Transition) -> None:
    if transition.action not in ("activate", "reject"):
        return
    expected = (
        ApplicationStatus.APPROVED
        if transition.action == "activate"
        else ApplicationStatus.REJECTED
    )
    application = SellerApplication.objects.filter(shop=shop).first()
    if application is not None and application.status != expected:
        raise DomainError(
            _("Decide the seller application from the review queue."),
            code="application_not_decided",
        )


def _email_owners(shop: Shop, transition: Transition, automatic: bool) -> None:
    for owner in shop_owners(shop):
        if not owner.is_active:
            continue
        email_queue(
            to=owner.email,
            template="shops/shop_status",
            context={
                "user": owner,
                "shop": shop,
                "action": transition.action,
                "automatic": automatic,
                "reason": shop.status_reason,
            },
            language=owner.language,
            marketplace=shop.marketplace,
            recipient=owner,
        )
