"""Every write on shops: seller onboarding, KYC, staff, settings, delivery and pick-up slots.

Authorisation is checked here (`require_staff`, `require_owner`, `can_operate`), not only in
the views. The status changes of a shop go through `workflow.shop_transition`.
"""

import zoneinfo
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from itertools import pairwise

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email, validate_slug
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.eu import vat as stdnum_vat
from stdnum.exceptions import ValidationError as NumberError
from stdnum.fr import siret as stdnum_siret
from stdnum.fr import tva as stdnum_tva

from halles.core.errors import DomainError, InvalidState, InvalidToken, NotAllowed, NotFound
from halles.marketplaces import services as marketplace_services
from halles.marketplaces.models import (
    MarketplaceStatus,
    Membership,
    MembershipRole,
    MembershipStatus,
)
from halles.marketplaces.workflow import can_operate
from halles.notifications.services import email_queue

from .models import (
    ApplicationStatus,
    Closure,
    DeliveryKind,
    DeliveryMode,
    KycDocument,
    KycKind,
    KycStatus,
    LegalForm,
    OpeningHours,
    PickupSlot,
    Plan,
    ReturnShippingPayer,
    SellerApplication,
    Shop,
    ShopStaff,
    ShopStatus,
    StaffInvitation,
    StaffRole,
)
from .selectors import is_shop_owner, is_staff_of, shop_owners
from .workflow import shop_transition

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
# What a KYC document may be, recognised by its first bytes (not by its name or the
# Content-Type the browser claims).
DOCUMENT_SIGNATURES = {
    "PDF": (b"%PDF-",),
    "JPEG": (b"\xff\xd8\xff",),
    "PNG": (b"\x89PNG\r\n\x1a\n",),
}
INVITATION_VALIDITY = timedelta(days=7)
MAX_SLOT_DAYS = 92


# --- Rights ---------------------------------------------------------------------------------


def require_staff(user, shop: Shop) -> None:
    """NotAllowed unless `user` is staff (owner or staff member) of `shop`."""
    if not is_staff_of(user, shop):
        raise NotAllowed(_("You are not a member of this shop's staff."))


def require_owner(user, shop: Shop) -> None:
    if not is_shop_owner(user, shop):
        raise NotAllowed(_("Only an owner of the shop can do this."))


# --- Onboarding -----------------------------------------------------------------------------


def seller_apply(
    *,
    user,
    marketplace,
    plan: Plan,
    shop_name: str,
    slug: str,
    legal_name: str,
    legal_form: str,
    share_capital_cents: int | None,
    siret: str,
    vat_number: str,
    rcs: str,
    address_line1: str,
    address_line2: str,
    postcode: str,
    city: str,
    country: str,
    contact_name: str,
    contact_email: str,
    contact_phone: str,
    activity: str,
    iban: str,
    bic: str,
    documents: dict[str, UploadedFile],
) -> SellerApplication:
    """File a seller application: a pending shop, its application, its owner, its KYC
    documents and a seller membership request, then e-mail the applicant and the operator.

    Everything is checked before anything is written; a refused application creates nothing.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        raise NotAllowed(_("Log in to open a shop."))
    if marketplace.status != MarketplaceStatus.OPEN:
        raise DomainError(
            _("This marketplace does not accept new shops."), code="marketplace_not_open"
        )
    _require_fields(
        shop_name=shop_name,
        slug=slug,
        legal_name=legal_name,
        address_line1=address_line1,
        postcode=postcode,
        city=city,
        contact_name=contact_name,
        contact_email=contact_email,
        contact_phone=contact_phone,
        activity=activity,
    )
    if plan is None or plan.marketplace_id != marketplace.pk or not plan.is_active:
        raise DomainError(
            _("Choose one of the plans this marketplace offers."), code="invalid_plan", field="plan"
        )
    slug = slug.strip().lower()
    try:
        validate_slug(slug)
    except ValidationError as exc:
        raise DomainError(
            _("Use only lower-case letters, digits and hyphens in the shop's address."),
            code="invalid_slug",
            field="slug",
        ) from exc
    if legal_form not in LegalForm.values:
        raise DomainError(_("Choose a legal form."), code="invalid_legal_form", field="legal_form")
    if share_capital_cents is not None and share_capital_cents < 0:
        raise DomainError(
            _("The share capital cannot be negative."),
            code="invalid_share_capital",
            field="share_capital_cents",
        )
    country = (country or "").strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise DomainError(
            _("Use an ISO 3166 code such as FR."), code="invalid_country", field="country"
        )
    contact_email = contact_email.strip().lower()
    try:
        validate_email(contact_email)
    except ValidationError as exc:
        raise DomainError(
            _("Enter a valid e-mail address."), code="invalid_email", field="contact_email"
        ) from exc
    siret = _valid_siret(siret)
    siren = siret[:9]
    vat_number = _valid_vat_number(vat_number, siren)
    iban = _valid_iban(iban)
    bic = _valid_bic(bic)
    documents = documents or {}
    for kind, file in documents.items():
        if kind not in KycKind.values:
            raise DomainError(_("Unknown kind of document."), code="document_kind", field=kind)
        _check_document(file, field=kind)

    with transaction.atomic():
        if Shop.objects.filter(marketplace=marketplace, slug=slug).exists():
            raise _slug_taken()
        marketplace_services.membership_request(
            marketplace=marketplace, user=user, role=MembershipRole.SELLER
        )
        try:
            with transaction.atomic():
                shop = Shop.objects.create(
                    marketplace=marketplace,
                    plan=plan,
                    slug=slug,
                    name=shop_name.strip(),
                    status=ShopStatus.PENDING,
                    legal_name=legal_name.strip(),
                    legal_form=legal_form,
                    share_capital_cents=share_capital_cents,
                    siren=siren,
                    siret=siret,
                    vat_number=vat_number,
                    rcs=(rcs or "").strip(),
                    address_line1=address_line1.strip(),
                    address_line2=(address_line2 or "").strip(),
                    postcode=postcode.strip(),
                    city=city.strip(),
                    country=country,
                    contact_name=contact_name.strip(),
                    contact_email=contact_email,
                    contact_phone=contact_phone.strip(),
                    activity=activity.strip(),
                    iban=iban,
                    bic=bic,
                    public_email=contact_email,
                )
        except IntegrityError as exc:  # a concurrent application took the slug
            raise _slug_taken() from exc
        application = SellerApplication.objects.create(shop=shop, applicant=user)
        ShopStaff.objects.create(shop=shop, user=user, role=StaffRole.OWNER)
        for kind, file in documents.items():
            KycDocument.objects.create(shop=shop, kind=kind, file=file)
        _email_application_filed(application)
    return application


def application_decide(
    *, application_id: int, operator, approve: bool, reason: str = ""
) -> SellerApplication:
    """Approve (the shop becomes active, the seller membership is approved) or reject (the
    shop is closed with the reason) a pending application, once, under a row lock."""
    reason = (reason or "").strip()
    if not approve and not reason:
        raise DomainError(
            _("Give the reason for the refusal."), code="reason_required", field="reason"
        )
    with transaction.atomic():
        application = (
            SellerApplication.objects.select_for_update(of=("self",))
            .select_related("shop", "shop__marketplace", "applicant")
            .filter(pk=application_id)
            .first()
        )
        if application is None:
            raise NotFound(_("This application does not exist."))
        marketplace = application.shop.marketplace
        if not can_operate(operator, marketplace):
            raise NotAllowed()
        if application.status != ApplicationStatus.PENDING:
            raise InvalidState(
                _("This application was already decided (%(status)s).")
                % {"status": application.get_status_display()}
            )
        now = timezone.now()
        application.status = ApplicationStatus.APPROVED if approve else ApplicationStatus.REJECTED
        application.reason = reason
        application.decided_at = now
        application.decided_by = operator
        application.save(update_fields=["status", "reason", "decided_at", "decided_by"])
        application.shop = shop_transition(
            shop_id=application.shop_id,
            action="activate" if approve else "reject",
            actor=operator,
            reason=reason,
        )
        if approve:
            # Approved directly rather than through membership_decide, which would send a
            # second e-mail: the application's decision says it all.
            Membership.objects.filter(
                marketplace=marketplace,
                user=application.applicant,
                role=MembershipRole.SELLER,
                status=MembershipStatus.PENDING,
            ).update(status=MembershipStatus.APPROVED, decided_at=now, decided_by=operator)
        _email_application_decision(application)
    return application


# --- KYC ------------------------------------------------------------------------------------


def kyc_document_add(*, shop: Shop, user, kind: str, file: UploadedFile) -> KycDocument:
    """Add a document (staff only). Nothing is replaced: the newest of a kind counts."""
    require_staff(user, shop)
    if kind not in KycKind.values:
        raise DomainError(_("Unknown kind of document."), code="document_kind", field="kind")
    _check_document(file, field="file")
    if shop.status == ShopStatus.CLOSED:
        raise InvalidState(_("This shop is closed."))
    with transaction.atomic():
        return KycDocument.objects.create(shop=shop, kind=kind, file=file)


def kyc_document_review(
    *, document_id: int, operator, accept: bool, reason: str = ""
) -> KycDocument:
    """Accept or refuse (with a reason, e-mailed to the shop's owners) a document, once."""
    reason = (reason or "").strip()
    if not accept and not reason:
        raise DomainError(
            _("Give the reason for the refusal."), code="reason_required", field="reason"
        )
    with transaction.atomic():
        document = (
            KycDocument.objects.select_for_update(of=("self",))
            .select_related("shop", "shop__marketplace")
            .filter(pk=document_id)
            .first()
        )
        if document is None:
            raise NotFound(_("This document does not exist."))
        if not can_operate(operator, document.shop.marketplace):
            raise NotAllowed()
        if document.status != KycStatus.PENDING:
            raise InvalidState(
                _("This document was already reviewed (%(status)s).")
                % {"status": document.get_status_display()}
            )
        document.status = KycStatus.ACCEPTED if accept else KycStatus.REFUSED
        document.reason = reason
        document.reviewed_at = timezone.now()
        document.reviewed_by = operator
        document.save(update_fields=["status", "reason", "reviewed_at", "reviewed_by"])
        if not accept:
            for owner in shop_owners(document.shop):
                if owner.is_active:
                    email_queue(
                        to=owner.email,
                        template="shops/kyc_refused",
                        context={"user": owner, "shop": document.shop, "document": document},
                        language=owner.language,
                        marketplace=document.shop.marketplace,
                        recipient=owner,
                    )
    return document


# --- Staff ----------------------------------------------------------------------------------


def seller_portal_link(marketplace) -> str:
    """The seller portal of `marketplace` (built by hand: the portal is another app)."""
    return f"{settings.SITE_URL}/m/{marketplace.slug}/seller/"


def invitation_link(invitation: StaffInvitation) -> str:
    """The seller portal page that accepts an invitation (view "seller:invitation_accept")."""
    slug = invitation.shop.marketplace.slug
    return f"{settings.SITE_URL}/m/{slug}/seller/invitations/{invitation.token}/"


def staff_invite(*, shop: Shop, email: str, invited_by) -> StaffInvitation:
    """Invite someone to the shop's staff by e-mail (owners only); valid 7 days, once."""
    require_owner(invited_by, shop)
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise DomainError(
            _("Enter a valid e-mail address."), code="invalid_email", field="email"
        ) from exc
    if shop.status == ShopStatus.CLOSED:
        raise InvalidState(_("This shop is closed."))
    if ShopStaff.objects.filter(shop=shop, user__email__iexact=email).exists():
        raise DomainError(
            _("This person is already a member of the shop's staff."),
            code="already_staff",
            field="email",
        )
    invitee = get_user_model().objects.filter(email__iexact=email, is_active=True).first()
    with transaction.atomic():
        invitation = StaffInvitation.objects.create(shop=shop, email=email, invited_by=invited_by)
        email_queue(
            to=email,
            template="shops/staff_invitation",
            context={
                "shop": shop,
                "invited_by": invited_by,
                "invitee": invitee,
                "link": invitation_link(invitation),
                "valid_days": INVITATION_VALIDITY.days,
            },
            language=invitee.language if invitee else shop.marketplace.default_language,
            marketplace=shop.marketplace,
            recipient=invitee,
        )
    return invitation


def staff_invitation_accept(*, token: str, user) -> ShopStaff:
    """Join a shop's staff through an invitation sent to `user`'s e-mail address."""
    if user is None or not user.is_authenticated or not user.is_active:
        raise NotAllowed(_("Log in to accept the invitation."))
    with transaction.atomic():
        invitation = (
            StaffInvitation.objects.select_for_update(of=("self",))
            .select_related("shop", "shop__marketplace")
            .filter(token=token)
            .first()
            if token
            else None
        )
        if invitation is None:
            raise InvalidToken(_("This invitation does not exist."))
        if invitation.accepted_at is not None:
            raise InvalidToken(_("This invitation was already used."), code="invitation_used")
        if timezone.now() > invitation.created_at + INVITATION_VALIDITY:
            raise InvalidToken(
                _("This invitation has expired. Ask the shop's owner for a new one."),
                code="invitation_expired",
            )
        if user.email.strip().lower() != invitation.email.strip().lower():
            raise NotAllowed(
                _(
                    "This invitation was sent to another e-mail address: log in with the "
                    "address that received it."
                ),
                code="wrong_email",
            )
        if invitation.shop.status == ShopStatus.CLOSED:
            raise InvalidState(_("This shop is closed."))
        staff, _created = ShopStaff.objects.get_or_create(
            shop=invitation.shop, user=user, defaults={"role": StaffRole.STAFF}
        )
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
    return staff


def staff_remove(*, shop: Shop, user, by) -> None:
    """Remove `user` from the shop's staff (owners only); the last owner stays."""
    with transaction.atomic():
        # The shop's row lock serialises staff changes: two owners removing each other at
        # once cannot leave the shop without an owner.
        locked = Shop.objects.select_for_update().get(pk=shop.pk)
        require_owner(by, locked)
        member = ShopStaff.objects.filter(shop=locked, user=user).first()
        if member is None:
            raise NotFound(_("This person is not a member of the shop's staff."))
        if (
            member.role == StaffRole.OWNER
            and ShopStaff.objects.filter(shop=locked, role=StaffRole.OWNER).count() == 1
        ):
            raise DomainError(_("The last owner of a shop cannot be removed."), code="last_owner")
        member.delete()


# --- Settings -------------------------------------------------------------------------------

PROFILE_FIELDS = frozenset(
    {
        "description",
        "logo",
        "public_email",
        "public_phone",
        "return_policy",
        "return_shipping_paid_by",
        "accepts_card",
        "accepts_bank_transfer",
        "accepts_pay_in_store",
    }
)


def shop_profile_update(*, shop: Shop, by, **fields) -> Shop:
    """Update the public profile, the return policy and the payment methods (staff only).
    At least one payment method stays accepted."""
    unknown = set(fields) - PROFILE_FIELDS
    if unknown:
        raise TypeError(f"shop_profile_update() got unexpected fields: {sorted(unknown)}")
    with transaction.atomic():
        locked = Shop.objects.select_for_update().get(pk=shop.pk)
        require_staff(by, locked)
        if locked.status == ShopStatus.CLOSED:
            raise InvalidState(_("This shop is closed."))
        for name, value in fields.items():
            setattr(locked, name, value)
        if locked.public_email:
            locked.public_email = locked.public_email.strip().lower()
            try:
                validate_email(locked.public_email)
            except ValidationError as exc:
                raise DomainError(
                    _("Enter a valid e-mail address."), code="invalid_email", field="public_email"
                ) from exc
        if locked.return_shipping_paid_by not in ReturnShippingPayer.values:
            raise DomainError(
                _("Say who pays the return shipping."),
                code="invalid_choice",
                field="return_shipping_paid_by",
            )
        if not (locked.accepts_card or locked.accepts_bank_transfer or locked.accepts_pay_in_store):
            raise DomainError(
                _("Accept at least one payment method."),
                code="payment_method_required",
                field="accepts_card",
            )
        locked.save(update_fields=sorted(fields))
    for name in fields:
        setattr(shop, name, getattr(locked, name))
    return locked


def opening_hours_set(
    *, shop: Shop, by, periods: list[tuple[int, time, time]]
) -> list[OpeningHours]:
    """Replace the shop's opening hours. Several periods a day are fine (closed at lunch);
    overlapping ones are not."""
    require_staff(by, shop)
    cleaned = sorted((int(weekday), opens, closes) for weekday, opens, closes in periods)
    day_names = dict(OpeningHours._meta.get_field("weekday").choices)
    for weekday, opens, closes in cleaned:
        if weekday not in day_names:
            raise DomainError(_("Unknown day."), code="invalid_weekday", field="periods")
        if closes <= opens:
            raise DomainError(
                _("On %(day)s, the closing time must come after the opening time.")
                % {"day": day_names[weekday]},
                code="hours_order",
                field="periods",
            )
    for previous, current in pairwise(cleaned):
        if previous[0] == current[0] and current[1] < previous[2]:
            raise DomainError(
                _("On %(day)s, two opening periods overlap.") % {"day": day_names[current[0]]},
                code="hours_overlap",
                field="periods",
            )
    with transaction.atomic():
        Shop.objects.select_for_update().filter(pk=shop.pk).first()
        OpeningHours.objects.filter(shop=shop).delete()
        return OpeningHours.objects.bulk_create(
            OpeningHours(shop=shop, weekday=weekday, opens=opens, closes=closes)
            for weekday, opens, closes in cleaned
        )


def closure_add(*, shop: Shop, by, start_date: date, end_date: date, reason: str = "") -> Closure:
    """An exceptional closure, first and last day included."""
    require_staff(by, shop)
    if end_date < start_date:
        raise DomainError(
            _("The closure must end on or after its first day."),
            code="closure_dates",
            field="end_date",
        )
    reason = (reason or "").strip()
    if len(reason) > Closure._meta.get_field("reason").max_length:
        raise DomainError(_("The reason is too long."), code="too_long", field="reason")
    with transaction.atomic():
        return Closure.objects.create(
            shop=shop, start_date=start_date, end_date=end_date, reason=reason
        )


def delivery_mode_save(*, shop: Shop, by, mode: DeliveryMode) -> DeliveryMode:
    """Create or update one of the shop's delivery modes, with the rules of its kind."""
    require_staff(by, shop)
    if mode.pk is not None:
        if not DeliveryMode.objects.filter(pk=mode.pk, shop=shop).exists():
            raise NotFound(_("This delivery mode does not exist."))
    elif mode.shop_id is not None and mode.shop_id != shop.pk:
        raise NotAllowed()
    mode.shop = shop
    mode.name = (mode.name or "").strip()
    mode.carrier = (mode.carrier or "").strip()
    mode.pickup_address = (mode.pickup_address or "").strip()
    if mode.kind not in DeliveryKind.values:
        raise DomainError(_("Choose a kind of delivery."), code="invalid_kind", field="kind")
    if not mode.name:
        raise DomainError(_("This field is required."), code="required", field="name")
    if mode.kind == DeliveryKind.CLICK_COLLECT and not mode.pickup_address:
        raise DomainError(
            _("Click and collect needs the address where buyers pick up their orders."),
            code="pickup_address_required",
            field="pickup_address",
        )
    if mode.kind in (DeliveryKind.HOME, DeliveryKind.RELAY) and not mode.carrier:
        raise DomainError(
            _("Name the carrier that delivers."), code="carrier_required", field="carrier"
        )
    if mode.kind != DeliveryKind.RELAY:
        mode.relay_network = None
    elif mode.relay_network_id and not (
        mode.relay_network.marketplace_id == shop.marketplace_id
        and mode.relay_network.has_relay_points
    ):
        raise DomainError(
            _("Choose a relay network of this marketplace."),
            code="unknown_network",
            field="relay_network",
        )
    if mode.fee_cents is None or mode.fee_cents < 0:
        raise DomainError(_("The fee cannot be negative."), code="negative_fee", field="fee_cents")
    if mode.free_above_cents is not None and mode.free_above_cents < 0:
        raise DomainError(
            _("The amount cannot be negative."), code="negative_fee", field="free_above_cents"
        )
    if mode.uses_slots and mode.kind != DeliveryKind.CLICK_COLLECT:
        raise DomainError(
            _("Pick-up slots are for click and collect only."),
            code="slots_click_collect_only",
            field="uses_slots",
        )
    with transaction.atomic():
        mode.save()
    return mode


def pickup_slots_generate(
    *,
    mode: DeliveryMode,
    by,
    start_date: date,
    end_date: date,
    times: list[tuple[time, time]],
    capacity: int,
) -> list[PickupSlot]:
    """Create pick-up slots for each day from `start_date` to `end_date` (included) at
    `times`, in the marketplace's time zone. Days of an exceptional closure, days without
    opening hours, times outside the day's opening periods, slots already in the past and
    slots that already exist are skipped. Returns the slots created."""
    shop = mode.shop
    require_staff(by, shop)
    if mode.kind != DeliveryKind.CLICK_COLLECT or not mode.uses_slots:
        raise DomainError(
            _("Pick-up slots are for a click and collect mode that uses them."),
            code="slots_not_enabled",
        )
    if capacity is None or capacity < 1:
        raise DomainError(
            _("A slot takes at least one order."), code="invalid_capacity", field="capacity"
        )
    if end_date < start_date:
        raise DomainError(
            _("The last day must be on or after the first."), code="slot_dates", field="end_date"
        )
    if (end_date - start_date).days >= MAX_SLOT_DAYS:
        raise DomainError(
            _("Create slots for %(days)d days at most at once.") % {"days": MAX_SLOT_DAYS},
            code="slot_range_too_long",
            field="end_date",
        )
    for starts, ends in times:
        if ends <= starts:
            raise DomainError(
                _("A slot must end after it starts."), code="slot_times", field="times"
            )
    tz = zoneinfo.ZoneInfo(shop.marketplace.time_zone)
    hours = defaultdict(list)
    for period in shop.opening_hours.all():
        hours[period.weekday].append((period.opens, period.closes))
    closures = list(shop.closures.filter(start_date__lte=end_date, end_date__gte=start_date))
    existing = set(
        mode.slots.filter(
            starts_at__gte=datetime.combine(start_date, time.min, tzinfo=tz),
            starts_at__lt=datetime.combine(end_date + timedelta(days=1), time.min, tzinfo=tz),
        ).values_list("starts_at", flat=True)
    )
    now = timezone.now()
    new = []
    day = start_date
    while day <= end_date:
        periods = hours.get(day.weekday(), [])
        closed = any(c.start_date <= day <= c.end_date for c in closures)
        if periods and not closed:
            for starts, ends in sorted(times):
                if not any(opens <= starts and ends <= closes for opens, closes in periods):
                    continue
                starts_at = datetime.combine(day, starts, tzinfo=tz)
                if starts_at <= now or starts_at in existing:
                    continue
                new.append(
                    PickupSlot(
                        delivery_mode=mode,
                        starts_at=starts_at,
                        ends_at=datetime.combine(day, ends, tzinfo=tz),
                        capacity=capacity,
                    )
                )
        day += timedelta(days=1)
    with transaction.atomic():
        return PickupSlot.objects.bulk_create(new)


def pickup_slot_book(*, slot_id: int) -> bool:
    """Take one place in a pick-up slot, if one is left. One guarded UPDATE
    (`booked = booked + 1 WHERE id = … AND booked < capacity`): concurrent checkouts never
    overbook. Past slots are not bookable. Returns whether a place was taken."""
    with transaction.atomic():
        updated = PickupSlot.objects.filter(
            pk=slot_id, booked__lt=F("capacity"), starts_at__gt=timezone.now()
        ).update(booked=F("booked") + 1)
    return updated == 1


def pickup_slot_release(*, slot_id: int) -> bool:
    """Give a place back (an order cancelled or refused). Returns whether one was given."""
    with transaction.atomic():
        updated = PickupSlot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)
    return updated == 1


# --- Removals -------------------------------------------------------------------------------
#
# Past closures stay: they are the shop's history. A delivery mode goes only when nothing holds
# on to it (orders placed with it, booked pick-up slots, offers delivered by it alone);
# otherwise deactivating it is the way out. Carts that chose what goes choose again: a cart is
# not a commitment. A pick-up slot goes only while nobody booked it.
#
# Each removal has a `*_check` twin that raises what the removal would raise and removes
# nothing: the seller portal asks for a confirmation only when the removal is possible.
# shops finds the references held by checkout and orders by model label (`apps.get_model`),
# not by import: those apps import shops, never the other way round.


def closure_remove_check(*, shop: Shop, by, closure_id: int) -> Closure:
    """The closure `closure_remove` would remove, or the DomainError it would raise."""
    require_staff(by, shop)
    closure = Closure.objects.filter(pk=closure_id, shop=shop).first()
    if closure is None:
        raise NotFound(_("This closure does not exist."))
    if closure.end_date < _shop_today(shop):
        raise InvalidState(
            _("This closure is over: past closures stay in the shop's history."),
            code="closure_past",
        )
    return closure


def closure_remove(*, shop: Shop, by, closure_id: int) -> Closure:
    """Remove a current or future exceptional closure (staff only); one that ended before the
    shop's today (in its marketplace's time zone) stays. Returns the removed closure.

    No ShopEvent: like `closure_add`, this is a setting, not a change of the shop's status."""
    with transaction.atomic():
        closure = closure_remove_check(shop=shop, by=by, closure_id=closure_id)
        closure.delete()
    return closure


def delivery_mode_delete_check(*, shop: Shop, by, mode_id: int) -> DeliveryMode:
    """The mode `delivery_mode_delete` would delete, or the DomainError it would raise."""
    require_staff(by, shop)
    return _deletable_mode(DeliveryMode.objects.filter(pk=mode_id, shop=shop).first())


def delivery_mode_delete(*, shop: Shop, by, mode_id: int) -> DeliveryMode:
    """Delete one of the shop's delivery modes (staff only) that no order was placed with, none
    of whose pick-up slots is booked and that is not the only mode of an offer (an offer
    without modes accepts all of its shop's: deleting would widen it). Its unbooked slots and
    its offers' links to it go with it; carts that chose it choose again. Returns the deleted
    mode.

    ShopOrder.delivery_mode is declared SET_NULL (an order keeps a copy of its delivery): the
    database would let the mode go, so the orders are checked here. An order placed in the
    instant between that check and the deletion loses only the link, as declared."""
    require_staff(by, shop)
    with transaction.atomic():
        # FOR NO KEY UPDATE serialises the changes of the mode without blocking a checkout's
        # foreign-key check on it: that checkout may hold a slot our DELETE waits for.
        mode = _deletable_mode(
            DeliveryMode.objects.select_for_update(no_key=True)
            .filter(pk=mode_id, shop=shop)
            .first()
        )
        _cart_choices_reset(Q(delivery_mode=mode))
        _unbooked_slots_delete(field="delivery_mode", value=mode.pk)
        if mode.slots.exists():  # booked since the check: the booking wins, nothing changes
            raise _mode_slots_booked(mode)
        mode.delete()
    return mode


def pickup_slot_delete_check(*, shop: Shop, by, slot_id: int) -> PickupSlot:
    """The slot `pickup_slot_delete` would delete, or the DomainError it would raise."""
    require_staff(by, shop)
    slot = (
        PickupSlot.objects.select_related("delivery_mode")
        .filter(pk=slot_id, delivery_mode__shop=shop)
        .first()
    )
    if slot is None:
        raise NotFound(_("This pick-up slot does not exist."))
    if slot.booked:
        raise _slot_booked()
    return slot


def pickup_slot_delete(*, shop: Shop, by, slot_id: int) -> PickupSlot:
    """Delete a pick-up slot nobody booked (staff only). The DELETE itself says `booked = 0`,
    so a booking racing with it is never lost: whichever commits first wins. Returns the
    deleted slot."""
    with transaction.atomic():
        slot = pickup_slot_delete_check(shop=shop, by=by, slot_id=slot_id)
        if not _unbooked_slots_delete(field="id", value=slot.pk):
            raise _slot_booked()  # booked since the check: the booking wins, nothing changes
    return slot


def _deletable_mode(mode: DeliveryMode | None) -> DeliveryMode:
    if mode is None:
        raise NotFound(_("This delivery mode does not exist."))
    if apps.get_model("orders", "ShopOrder").objects.filter(delivery_mode=mode).exists():
        raise InvalidState(
            _(
                "“%(name)s” cannot be deleted: orders were placed with it. Deactivate it "
                "instead: buyers will no longer see it, and its orders stay as they are."
            )
            % {"name": mode.name},
            code="delivery_mode_used",
        )
    if mode.slots.filter(booked__gt=0).exists():
        raise _mode_slots_booked(mode)
    only_by_it = _offers_delivered_only_by(mode)
    if only_by_it:
        raise InvalidState(
            ngettext(
                "“%(name)s” cannot be deleted: %(count)d offer is delivered by this mode "
                "only, and an offer without a delivery mode accepts them all. Choose another "
                "delivery mode for that offer first, or deactivate this one.",
                "“%(name)s” cannot be deleted: %(count)d offers are delivered by this mode "
                "only, and an offer without a delivery mode accepts them all. Choose another "
                "delivery mode for these offers first, or deactivate this one.",
                only_by_it,
            )
            % {"name": mode.name, "count": only_by_it},
            code="delivery_mode_only_one",
        )
    return mode


def _offers_delivered_only_by(mode: DeliveryMode) -> int:
    """How many offers list `mode` as their only delivery mode."""
    links = DeliveryMode.offers.through.objects
    offers = links.filter(deliverymode_id=mode.pk).values("offer_id")
    with_another = links.filter(offer_id__in=offers).exclude(deliverymode_id=mode.pk)
    return offers.exclude(offer_id__in=with_another.values("offer_id")).count()


def _mode_slots_booked(mode: DeliveryMode) -> InvalidState:
    return InvalidState(
        _(
            "“%(name)s” cannot be deleted: some of its pick-up slots are booked. Deactivate "
            "it instead: buyers will no longer see it."
        )
        % {"name": mode.name},
        code="delivery_mode_slots_booked",
    )


def _slot_booked() -> InvalidState:
    return InvalidState(
        _(
            "This pick-up slot is booked, so it cannot be deleted: buyers are coming to "
            "collect their orders then."
        ),
        code="slot_booked",
    )


def _cart_choices_reset(condition: Q) -> None:
    """Carts whose delivery choice matches `condition` choose again: the whole choice goes
    (mode, slot, relay point), so that no cart is left with a slot mode and no slot; checkout
    asks for a delivery mode when none is chosen."""
    apps.get_model("checkout", "CartShop").objects.filter(condition).update(
        delivery_mode=None, pickup_slot=None, relay_point="", relay_point_ref=None
    )


def _unbooked_slots_delete(*, field: str, value: int) -> int:
    """Delete the pick-up slots whose `field` is `value` and that nobody booked, in one guarded
    statement (`DELETE ... WHERE <field> = value AND booked = 0`); returns how many went.

    `pickup_slot_book` is a guarded UPDATE of the same row: on PostgreSQL the second of the two
    waits for the first, then re-reads the row (a slot booked first stays; a booking after
    finds no slot); SQLite runs one writer at a time. Django's delete() would re-read the
    slots and delete them by id, dropping the guard: hence SQL, which also skips Django's
    on_delete handling, so the references to these slots are cleared first, as their
    on_delete=SET_NULL declares (an order keeps its slot's label). When fewer slots go than
    were cleared, the caller raises and the transaction undoes the clearing."""
    unbooked = PickupSlot.objects.filter(**{field: value, "booked": 0})
    _cart_choices_reset(Q(pickup_slot__in=unbooked))
    apps.get_model("orders", "ShopOrder").objects.filter(pickup_slot__in=unbooked).update(
        pickup_slot=None
    )
    meta, quote = PickupSlot._meta, connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {quote(meta.db_table)}"
            f" WHERE {quote(meta.get_field(field).column)} = %s"
            f" AND {quote(meta.get_field('booked').column)} = 0",
            [value],
        )
        return cursor.rowcount


def _shop_today(shop: Shop) -> date:
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(shop.marketplace.time_zone))


# --- Helpers --------------------------------------------------------------------------------


def _require_fields(**values) -> None:
    for field, value in values.items():
        if not str(value or "").strip():
            raise DomainError(_("This field is required."), code="required", field=field)


def _slug_taken() -> DomainError:
    return DomainError(
        _("Another shop of this marketplace already uses this address. Choose another one."),
        code="slug_taken",
        field="slug",
    )


def _valid_siret(value: str) -> str:
    try:
        return stdnum_siret.validate(value or "")
    except NumberError as exc:
        raise DomainError(
            _(
                "Only declared businesses can sell: enter the 14-digit SIRET number of your "
                "business (it is on your Kbis extract or your INSEE notice)."
            ),
            code="invalid_siret",
            field="siret",
        ) from exc


def _valid_vat_number(value: str, siren: str) -> str:
    if not (value or "").strip():
        return ""
    try:
        number = stdnum_vat.validate(value)
    except NumberError as exc:
        raise DomainError(
            _("This VAT number is not valid."), code="invalid_vat", field="vat_number"
        ) from exc
    if number.startswith("FR"):
        try:
            matches = stdnum_tva.to_siren(number) == siren
        except NumberError:
            matches = False
        if not matches:
            raise DomainError(
                _("This French VAT number does not belong to the SIREN of this SIRET."),
                code="vat_siren_mismatch",
                field="vat_number",
            )
    return number


def _valid_iban(value: str) -> str:
    if not (value or "").strip():
        return ""
    try:
        return stdnum_iban.validate(value)
    except NumberError as exc:
        raise DomainError(_("This IBAN is not valid."), code="invalid_iban", field="iban") from exc


def _valid_bic(value: str) -> str:
    if not (value or "").strip():
        return ""
    try:
        return stdnum_bic.validate(value)
    except NumberError as exc:
        raise DomainError(_("This BIC is not valid."), code="invalid_bic", field="bic") from exc


def _check_document(file, *, field: str) -> None:
    """10 MB at most, and a real PDF, JPEG or PNG (checked on its first bytes)."""
    if file is None:
        raise DomainError(_("Choose a file."), code="required", field=field)
    if file.size > MAX_DOCUMENT_BYTES:
        raise DomainError(
            _("“%(name)s” is too large: 10 MB at most.") % {"name": file.name},
            code="file_too_large",
            field=field,
        )
    file.seek(0)
    head = file.read(16)
    file.seek(0)
    if not any(
        head.startswith(signature)
        for signatures in DOCUMENT_SIGNATURES.values()
        for signature in signatures
    ):
        raise DomainError(
            _("“%(name)s” is not a PDF, JPEG or PNG file.") % {"name": file.name},
            code="file_type",
            field=field,
        )


def _backoffice_link(viewname: str, *args) -> str:
    """An absolute link to a back-office page (outside any marketplace prefix)."""
    path = reverse(viewname, args=args)
    prefix = get_script_prefix()
    if prefix != "/" and path.startswith(prefix):
        path = "/" + path[len(prefix) :]
    return f"{settings.SITE_URL}{path}"


def _email_application_filed(application: SellerApplication) -> None:
    shop, user = application.shop, application.applicant
    marketplace = shop.marketplace
    context = {"user": user, "shop": shop, "application": application}
    email_queue(
        to=user.email,
        template="shops/application_received",
        context=context,
        language=user.language,
        marketplace=marketplace,
        recipient=user,
    )
    email_queue(
        to=marketplace.contact_email,
        template="shops/application_notice",
        context={
            **context,
            "link": _backoffice_link("admin:shops_sellerapplication_change", application.pk),
        },
        language=marketplace.default_language,
        marketplace=marketplace,
        reply_to=shop.contact_email,
    )


def _email_application_decision(application: SellerApplication) -> None:
    user, shop = application.applicant, application.shop
    if not user.is_active:
        return
    email_queue(
        to=user.email,
        template="shops/application_decision",
        context={
            "user": user,
            "shop": shop,
            "application": application,
            "approved": application.status == ApplicationStatus.APPROVED,
            "link": seller_portal_link(shop.marketplace),
        },
        language=user.language,
        marketplace=shop.marketplace,
        recipient=user,
    )
