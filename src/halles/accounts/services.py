"""Every write on accounts: sign-up, confirmation, profile, addresses, deletion."""

import secrets

from django.contrib.auth.tokens import default_token_generator
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from halles.core.errors import DomainError, InvalidToken
from halles.core.urls import marketplace_url
from halles.marketplaces import services as marketplace_services
from halles.marketplaces.models import MembershipRole
from halles.notifications.services import email_queue

from .models import AccountType, Address, BusinessSector, Organisation, User, normalize_email
from .tokens import decode_uid, email_verification_token, encode_uid


class EmailTaken(DomainError):
    code = "email_taken"
    default_message = _("An account already exists with this e-mail address.")


def user_sign_up(
    *,
    marketplace,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    account_type: str,
    language: str,
    phone: str = "",
    organisation_name: str = "",
    sector: BusinessSector | None = None,
    organisation_siret: str = "",
) -> User:
    """Create an unconfirmed account, ask for access to `marketplace`, send the confirmation."""
    email = normalize_email(email)
    with transaction.atomic():
        if User.objects.filter(email__iexact=email).exists():
            raise EmailTaken(field="email")
        organisation = None
        if organisation_name:
            organisation = Organisation.objects.create(
                name=organisation_name, sector=sector, siret=organisation_siret
            )
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    email=email,
                    password=password,
                    first_name=first_name,
                    last_name=last_name,
                    phone=phone,
                    account_type=account_type,
                    language=language,
                    organisation=organisation,
                )
        except IntegrityError as exc:  # a concurrent sign-up with the same address
            raise EmailTaken(field="email") from exc
        role = MembershipRole.SELLER if account_type == AccountType.SELLER else MembershipRole.BUYER
        if marketplace is not None:
            marketplace_services.membership_request(marketplace=marketplace, user=user, role=role)
        email_verification_send(user=user, marketplace=marketplace)
    return user


def email_verification_send(*, user: User, marketplace) -> None:
    """(Re)send the link that confirms the address. Does nothing once it is confirmed."""
    if user.email_verified:
        return
    link = marketplace_url(
        marketplace,
        "storefront:verify_email",
        kwargs={"uidb64": encode_uid(user), "token": email_verification_token.make_token(user)},
    )
    email_queue(
        to=user.email,
        template="accounts/verify_email",
        context={"user": user, "link": link},
        language=user.language,
        marketplace=marketplace,
        recipient=user,
    )


def email_verify(*, uidb64: str, token: str) -> User:
    """Confirm the address behind a link. A used, altered or expired link is refused."""
    uid = decode_uid(uidb64)
    with transaction.atomic():
        user = (
            User.objects.select_for_update().filter(pk=uid, is_active=True).first() if uid else None
        )
        if user is None:
            raise InvalidToken()
        if user.email_verified:
            raise InvalidToken(
                _("This address is already confirmed: you can log in."), code="already_verified"
            )
        if not email_verification_token.check_token(user, token):
            raise InvalidToken(
                _("This confirmation link is invalid or has expired. Ask for a new one below."),
                code="expired_token",
            )
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    return user


def password_reset_send(*, email: str, marketplace) -> None:
    """Send a reset link if an active account has this address; say nothing otherwise."""
    user = User.objects.filter(email__iexact=normalize_email(email), is_active=True).first()
    if user is None or not user.has_usable_password():
        return
    link = marketplace_url(
        marketplace,
        "storefront:password_reset_confirm",
        kwargs={"uidb64": encode_uid(user), "token": default_token_generator.make_token(user)},
    )
    email_queue(
        to=user.email,
        template="accounts/password_reset",
        context={"user": user, "link": link},
        language=user.language,
        marketplace=marketplace,
        recipient=user,
    )


def user_update_profile(*, user: User, first_name: str, last_name: str, phone: str, language: str):
    user.first_name, user.last_name, user.phone, user.language = (
        first_name,
        last_name,
        phone,
        language,
    )
    user.save(update_fields=["first_name", "last_name", "phone", "language"])
    return user


def user_set_language(*, user: User, language: str) -> None:
    if user.is_authenticated and user.language != language:
        User.objects.filter(pk=user.pk).update(language=language)


def address_save(*, user: User, address: Address) -> Address:
    """Create or update one of `user`'s addresses; a new default replaces the previous one."""
    if address.pk and address.user_id != user.pk:
        raise DomainError(_("This address is not yours."), code="not_owner")
    address.user = user
    with transaction.atomic():
        others = user.addresses.exclude(pk=address.pk)
        if not others.exists():  # the first address is the default for both
            address.is_default_billing = address.is_default_shipping = True
        if address.is_default_billing:
            others.filter(is_default_billing=True).update(is_default_billing=False)
        if address.is_default_shipping:
            others.filter(is_default_shipping=True).update(is_default_shipping=False)
        address.save()
    return address


def address_delete(*, user: User, address_id: int) -> None:
    with transaction.atomic():
        address = user.addresses.filter(pk=address_id).first()
        if address is None:
            raise DomainError(_("This address does not exist."), code="not_found")
        address.delete()
        remaining = user.addresses.order_by("id")
        first = remaining.first()
        if first is not None:
            if not remaining.filter(is_default_billing=True).exists():
                remaining.filter(pk=first.pk).update(is_default_billing=True)
            if not remaining.filter(is_default_shipping=True).exists():
                remaining.filter(pk=first.pk).update(is_default_shipping=True)


def user_delete(*, user: User, password: str) -> None:
    """Erase the account: personal data is pseudonymised; records the law requires stay.

    Orders and invoices (later) keep their own frozen copy of names and addresses, so they
    survive this; the account itself can no longer log in and holds no personal data.
    """
    if not user.check_password(password):
        raise DomainError(_("The password is incorrect."), code="wrong_password", field="password")
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        user.addresses.all().delete()
        user.email = f"deleted-{user.pk}-{secrets.token_hex(4)}@deleted.invalid"
        user.first_name = user.last_name = user.phone = ""
        user.organisation = None
        user.is_active = False
        user.is_staff = False
        user.is_superuser = False
        user.deleted_at = timezone.now()
        user.set_unusable_password()
        user.save()
        user.groups.clear()
        user.user_permissions.clear()
        user.operated_marketplaces.clear()


OPERATOR_GROUP = "Operators"
OPERATOR_APPS = [
    "marketplaces",
    "shops",
    "catalog",
    "accounts",
    "notifications",
    "orders",
    "shipping",
]
# Read-only for operators: money records and the task queue.
OPERATOR_VIEW_APPS = ["django_tasks_database", "payments"]


def operator_group_ensure():
    """The group that gives operator staff their back-office rights (idempotent)."""
    from django.contrib.auth.models import Group, Permission
    from django.db.models import Q

    group, _created = Group.objects.get_or_create(name=OPERATOR_GROUP)
    permissions = Permission.objects.filter(
        Q(content_type__app_label__in=OPERATOR_APPS)
        | Q(content_type__app_label__in=OPERATOR_VIEW_APPS, codename__startswith="view_")
    )
    group.permissions.set(permissions)
    return group


def operator_appoint(*, email: str, marketplaces, password: str | None = None) -> User:
    """Make `email` operator staff of `marketplaces`, creating a confirmed account if needed."""
    from django.contrib.auth.password_validation import validate_password

    email = normalize_email(email)
    with transaction.atomic():
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            if not password:
                raise DomainError(_("A new account needs a password."), code="password_required")
            validate_password(password)
            user = User.objects.create_user(
                email=email, password=password, email_verified_at=timezone.now()
            )
        if not user.is_active:
            raise DomainError(_("This account is disabled."), code="inactive")
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        user.groups.add(operator_group_ensure())
        for marketplace in marketplaces:
            marketplace.operators.add(user)
    return user
