"""Who may buy or sell on a marketplace: access requests and the operator's decision."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from halles.core.errors import DomainError, InvalidState, NotAllowed
from halles.core.urls import marketplace_url
from halles.notifications.services import email_queue

from .models import Marketplace, Membership, MembershipRole, MembershipStatus, RegistrationMode
from .workflow import can_operate


def membership_request(*, marketplace: Marketplace, user, role: str) -> Membership:
    """Ask for access. Buyers of an open marketplace are approved at once; buyers of an
    approval marketplace and every seller wait for an operator (sellers are declared
    businesses an operator checks first)."""
    auto = role == MembershipRole.BUYER and marketplace.registration_mode == RegistrationMode.OPEN
    membership, created = Membership.objects.get_or_create(
        marketplace=marketplace,
        user=user,
        role=role,
        defaults={
            "status": MembershipStatus.APPROVED if auto else MembershipStatus.PENDING,
            "decided_at": timezone.now() if auto else None,
        },
    )
    if not created and membership.status == MembershipStatus.REJECTED:
        raise DomainError(
            _("Your request was refused. Contact the marketplace if you think this is a mistake."),
            code="membership_rejected",
        )
    return membership


def membership_decide(
    *, membership_id: int, operator, approve: bool, reason: str = ""
) -> Membership:
    """Approve or reject a pending request, once, and e-mail the decision to the user."""
    reason = reason.strip()
    if not approve and not reason:
        raise DomainError(
            _("Give the reason for the refusal."), code="reason_required", field="reason"
        )
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update()
            .select_related("marketplace", "user")
            .get(pk=membership_id)
        )
        if not can_operate(operator, membership.marketplace):
            raise NotAllowed()
        if membership.status != MembershipStatus.PENDING:
            raise InvalidState(
                _("This request was already decided (%(status)s).")
                % {"status": membership.get_status_display()}
            )
        membership.status = MembershipStatus.APPROVED if approve else MembershipStatus.REJECTED
        membership.reason = reason
        membership.decided_at = timezone.now()
        membership.decided_by = operator
        membership.save(update_fields=["status", "reason", "decided_at", "decided_by"])
        _email_decision(membership)
    return membership


def _email_decision(membership: Membership) -> None:
    user, marketplace = membership.user, membership.marketplace
    if not user.is_active:
        return
    email_queue(
        to=user.email,
        template="marketplaces/membership_decision",
        context={
            "user": user,
            "membership": membership,
            "approved": membership.status == MembershipStatus.APPROVED,
            "link": marketplace_url(marketplace, "storefront:home"),
        },
        language=user.language,
        marketplace=marketplace,
        recipient=user,
    )
