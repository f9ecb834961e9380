import pytest
import time_machine
from django.contrib.auth import authenticate
from django.utils import timezone

from halles.accounts import services
from halles.accounts.models import Address, User
from halles.core.errors import DomainError, InvalidToken
from halles.marketplaces.models import Membership, MembershipStatus, RegistrationMode
from halles.notifications.models import Email, EmailStatus

from ..conftest import links_in
from ..factories import PASSWORD, MarketplaceFactory, SectorFactory, UserFactory

pytestmark = pytest.mark.django_db


def sign_up(marketplace, email="new@example.test", **overrides):
    data = dict(
        marketplace=marketplace,
        email=email,
        password=PASSWORD,
        first_name="Noé",
        last_name="Petit",
        account_type="buyer",
        language="fr",
    )
    data.update(overrides)
    return services.user_sign_up(**data)


def test_sign_up_creates_an_unconfirmed_buyer_approved_on_an_open_marketplace(
    marketplace, run_on_commit, outbox
):
    with run_on_commit():
        user = sign_up(marketplace, email="  New@Example.TEST ")

    assert user.email == "new@example.test"
    assert not user.email_verified
    membership = Membership.objects.get(user=user, marketplace=marketplace)
    assert membership.status == MembershipStatus.APPROVED
    assert len(outbox) == 1
    assert outbox[0].to == ["new@example.test"]
    assert "Confirmez votre adresse e-mail" in outbox[0].subject
    assert Email.objects.get().status == EmailStatus.SENT


def test_sign_up_on_an_approval_marketplace_waits_for_the_operator(db):
    b2b = MarketplaceFactory(
        registration_mode=RegistrationMode.APPROVAL, buyers_are_organisations=True
    )
    user = sign_up(b2b, organisation_name="Clinique du Parc", sector=SectorFactory())

    assert user.organisation.name == "Clinique du Parc"
    assert user.organisation.sector.code == "hopital"
    assert Membership.objects.get(user=user).status == MembershipStatus.PENDING


def test_a_seller_always_waits_for_the_operator(marketplace):
    user = sign_up(marketplace, account_type="seller")
    membership = Membership.objects.get(user=user)
    assert (membership.role, membership.status) == ("seller", MembershipStatus.PENDING)


def test_sign_up_refuses_an_address_already_used_whatever_its_case(marketplace):
    UserFactory(email="taken@example.test")
    with pytest.raises(DomainError) as error:
        sign_up(marketplace, email="TAKEN@example.test")
    assert error.value.code == "email_taken"
    assert User.objects.filter(email__iexact="taken@example.test").count() == 1


def test_nothing_is_sent_when_the_sign_up_rolls_back(
    marketplace, run_on_commit, outbox, monkeypatch
):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services.marketplace_services, "membership_request", broken)
    with run_on_commit(), pytest.raises(RuntimeError):
        sign_up(marketplace)
    assert outbox == []
    assert not User.objects.filter(email="new@example.test").exists()
    assert not Email.objects.exists()


def confirmation_link(outbox):
    link = links_in(outbox[-1])[0]
    uidb64, token = link.rstrip("/").split("/")[-2:]
    return link, uidb64, token


def test_the_confirmation_link_confirms_once(marketplace, run_on_commit, outbox):
    with run_on_commit():
        user = sign_up(marketplace)
    link, uidb64, token = confirmation_link(outbox)
    assert link.startswith("http://127.0.0.1:8000/m/villeneuve/verify/")

    services.email_verify(uidb64=uidb64, token=token)
    user.refresh_from_db()
    assert user.email_verified

    with pytest.raises(InvalidToken) as error:
        services.email_verify(uidb64=uidb64, token=token)
    assert error.value.code == "already_verified"


def test_an_altered_or_expired_confirmation_link_is_refused(marketplace, run_on_commit, outbox):
    with run_on_commit():
        sign_up(marketplace)
    _link, uidb64, token = confirmation_link(outbox)

    with pytest.raises(InvalidToken) as error:
        services.email_verify(uidb64=uidb64, token=token[:-1] + ("0" if token[-1] != "0" else "1"))
    assert error.value.code == "expired_token"
    with pytest.raises(InvalidToken):
        services.email_verify(uidb64="garbage!", token=token)

    later = timezone.now() + timezone.timedelta(days=4)
    with time_machine.travel(later), pytest.raises(InvalidToken) as error:
        services.email_verify(uidb64=uidb64, token=token)
    assert error.value.code == "expired_token"


def test_password_reset_mails_only_existing_active_accounts(marketplace, run_on_commit, outbox):
    UserFactory(email="known@example.test", language="en")
    with run_on_commit():
        services.password_reset_send(email="KNOWN@example.test", marketplace=marketplace)
        services.password_reset_send(email="unknown@example.test", marketplace=marketplace)
    assert [m.to for m in outbox] == [["known@example.test"]]
    assert "Reset your password" in outbox[0].subject  # in the account's language
    assert "/m/villeneuve/password/reset/" in links_in(outbox[0])[0]


def address(**fields):
    base = dict(full_name="A", line1="1 rue", postcode="75001", city="Paris", country="FR")
    return Address(**{**base, **fields})


def test_first_address_is_the_default_and_a_new_default_replaces_the_old(db):
    user = UserFactory()
    first = services.address_save(user=user, address=address())
    assert first.is_default_billing and first.is_default_shipping

    second = services.address_save(user=user, address=address(is_default_billing=True))
    first.refresh_from_db()
    assert second.is_default_billing and not first.is_default_billing
    assert first.is_default_shipping

    services.address_delete(user=user, address_id=second.pk)
    first.refresh_from_db()
    assert first.is_default_billing


def test_a_user_cannot_touch_someone_elses_address(db):
    owner, intruder = UserFactory(), UserFactory()
    theirs = services.address_save(user=owner, address=address())
    with pytest.raises(DomainError):
        services.address_save(user=intruder, address=theirs)
    with pytest.raises(DomainError):
        services.address_delete(user=intruder, address_id=theirs.pk)
    assert Address.objects.filter(pk=theirs.pk, user=owner).exists()


def test_deleting_an_account_pseudonymises_it(db):
    user = UserFactory(email="gone@example.test", first_name="Zoé", phone="0600000000")
    services.address_save(user=user, address=address())

    with pytest.raises(DomainError) as error:
        services.user_delete(user=user, password="wrong")
    assert error.value.field == "password"

    services.user_delete(user=user, password=PASSWORD)
    user.refresh_from_db()
    assert user.email.endswith("@deleted.invalid")
    assert (user.first_name, user.last_name, user.phone) == ("", "", "")
    assert not user.is_active and user.deleted_at is not None
    assert not user.addresses.exists()
    assert authenticate(username="gone@example.test", password=PASSWORD) is None
    # The address can be used again for a new account.
    assert not User.objects.filter(email="gone@example.test").exists()
