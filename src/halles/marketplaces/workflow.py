"""The marketplace lifecycle: draft -> open -> closing -> closed, as one transition table."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from halles.core.errors import DomainError, InvalidState, NotAllowed

from .models import Marketplace, MarketplaceEvent, MarketplaceStatus

S = MarketplaceStatus


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    target: str
    label: str


TRANSITIONS = {
    t.action: t
    for t in (
        Transition("open", (S.DRAFT,), S.OPEN, _("Open the marketplace")),
        Transition("start_closing", (S.OPEN,), S.CLOSING, _("Start closing")),
        Transition("cancel_closing", (S.CLOSING,), S.OPEN, _("Cancel closing")),
        Transition("close", (S.CLOSING,), S.CLOSED, _("Close the marketplace")),
    )
}


def allowed_actions(marketplace: Marketplace) -> list[Transition]:
    return [t for t in TRANSITIONS.values() if marketplace.status in t.sources]


def marketplace_transition(*, marketplace_id: int, action: str, actor) -> Marketplace:
    """Apply `action` to the marketplace under a row lock, once, if `actor` may."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise DomainError(_("Unknown action."), code="unknown_action")
    with transaction.atomic():
        marketplace = Marketplace.objects.select_for_update().get(pk=marketplace_id)
        if not can_operate(actor, marketplace):
            raise NotAllowed()
        if marketplace.status not in transition.sources:
            raise InvalidState(
                _("Not possible while the marketplace is in the status “%(status)s” (%(action)s).")
                % {"status": marketplace.get_status_display(), "action": transition.label}
            )
        _check_preconditions(marketplace, transition)
        now = timezone.now()
        changes = {"status": transition.target}
        if transition.target == S.OPEN and marketplace.opened_at is None:
            changes["opened_at"] = now
        if transition.action == "cancel_closing":
            changes.update(order_cutoff_at=None, service_end_at=None)
        if transition.target == S.CLOSED:
            changes["closed_at"] = now
        updated = Marketplace.objects.filter(pk=marketplace.pk, status=marketplace.status).update(
            **changes
        )
        if updated != 1:  # pragma: no cover - the row lock makes this impossible
            raise InvalidState()
        MarketplaceEvent.objects.create(
            marketplace=marketplace,
            action=transition.action,
            from_status=marketplace.status,
            to_status=transition.target,
            actor=actor,
            at=now,
        )
        marketplace.refresh_from_db()
        return marketplace


def _check_preconditions(marketplace: Marketplace, transition: Transition) -> None:
    if transition.action == "start_closing" and not (
        marketplace.order_cutoff_at and marketplace.service_end_at
    ):
        raise DomainError(
            _("Set the last order date and the service end date before closing."),
            code="closing_dates_missing",
        )
    if transition.action == "close" and (
        marketplace.service_end_at is None or marketplace.service_end_at > timezone.now()
    ):
        raise DomainError(
            _("The marketplace can be closed once its service end date has passed."),
            code="service_not_ended",
        )


def can_operate(user, marketplace: Marketplace) -> bool:
    """Operator staff of this marketplace (or a superuser)."""
    if user is None or not user.is_active or not user.is_staff:
        return False
    return user.is_superuser or marketplace.operators.filter(pk=user.pk).exists()
