from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from halles.core.errors import DomainError, InvalidToken, NotAllowed, NotFound
from halles.notifications.models import Email
from halles.shops import services
from halles.shops.models import ShopStaff, StaffInvitation, StaffRole

from ..conftest import links_in
from ..factories import ShopFactory, ShopStaffFactory, StaffInvitationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(db):
    return UserFactory(email="owner@example.test", first_name="Olga", last_name="Martin")


@pytest.fixture
def shop(marketplace, owner):
    return ShopFactory(marketplace=marketplace, owner=owner, name="La Fromagerie")


def test_an_owner_invites_and_the_invitee_joins_the_staff(shop, owner, run_on_commit, outbox):
    invitee = UserFactory(email="bob@example.test", language="en")

    with run_on_commit():
        invitation = services.staff_invite(shop=shop, email=" Bob@Example.test ", invited_by=owner)

    assert invitation.email == "bob@example.test"
    assert [m.to for m in outbox] == [["bob@example.test"]]
    assert "Join the staff of La Fromagerie" in outbox[0].subject
    link = f"http://127.0.0.1:8000/m/villeneuve/seller/invitations/{invitation.token}/"
    assert link in links_in(outbox[0])
    assert services.invitation_link(invitation) == link

    staff = services.staff_invitation_accept(token=invitation.token, user=invitee)

    assert (staff.shop, staff.user, staff.role) == (shop, invitee, StaffRole.STAFF)
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None


def test_only_owners_invite(shop):
    staff = ShopStaffFactory(shop=shop).user
    for user in (staff, UserFactory()):
        with pytest.raises(NotAllowed):
            services.staff_invite(shop=shop, email="x@example.test", invited_by=user)
    assert not StaffInvitation.objects.exists()


def test_inviting_a_member_of_the_staff_again_is_refused(shop, owner):
    ShopStaffFactory(shop=shop, user=UserFactory(email="bob@example.test"))
    with pytest.raises(DomainError) as error:
        services.staff_invite(shop=shop, email="BOB@example.test", invited_by=owner)
    assert (error.value.code, error.value.field) == ("already_staff", "email")
    assert not StaffInvitation.objects.exists()


def test_the_invitation_is_for_its_address_only_whatever_the_case(shop):
    invitation = StaffInvitationFactory(shop=shop, email="Bob@Example.test")
    with pytest.raises(NotAllowed) as error:
        services.staff_invitation_accept(token=invitation.token, user=UserFactory())
    assert error.value.code == "wrong_email"
    assert not ShopStaff.objects.filter(role=StaffRole.STAFF).exists()

    bob = UserFactory(email="bob@example.test")
    services.staff_invitation_accept(token=invitation.token, user=bob)
    assert ShopStaff.objects.filter(shop=shop, user=bob).exists()


def test_an_invitation_expires_after_7_days(shop):
    bob = UserFactory(email="bob@example.test")
    invitation = StaffInvitationFactory(shop=shop, email=bob.email)

    with (
        time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)),
        pytest.raises(InvalidToken) as error,
    ):
        services.staff_invitation_accept(token=invitation.token, user=bob)
    assert error.value.code == "invitation_expired"
    assert not ShopStaff.objects.filter(user=bob).exists()

    with time_machine.travel(timezone.now() + timedelta(days=6, hours=23)):
        services.staff_invitation_accept(token=invitation.token, user=bob)
    assert ShopStaff.objects.filter(user=bob).exists()


def test_an_invitation_is_used_once(shop):
    bob, eve = UserFactory(email="bob@example.test"), UserFactory(email="eve@example.test")
    invitation = StaffInvitationFactory(shop=shop, email=bob.email)
    services.staff_invitation_accept(token=invitation.token, user=bob)
    ShopStaff.objects.filter(user=bob).delete()  # removed since

    with pytest.raises(InvalidToken) as error:
        services.staff_invitation_accept(token=invitation.token, user=bob)
    assert error.value.code == "invitation_used"
    with pytest.raises(InvalidToken):
        services.staff_invitation_accept(token=invitation.token, user=eve)
    with pytest.raises(InvalidToken):
        services.staff_invitation_accept(token="not-a-token", user=bob)
    assert not ShopStaff.objects.filter(user__in=[bob, eve]).exists()


def test_the_last_owner_cannot_be_removed(shop, owner):
    with pytest.raises(DomainError) as error:
        services.staff_remove(shop=shop, user=owner, by=owner)
    assert error.value.code == "last_owner"
    assert ShopStaff.objects.filter(shop=shop, user=owner, role=StaffRole.OWNER).exists()

    second = ShopStaffFactory(shop=shop, role=StaffRole.OWNER).user
    services.staff_remove(shop=shop, user=owner, by=second)
    assert not ShopStaff.objects.filter(shop=shop, user=owner).exists()
    with pytest.raises(DomainError):
        services.staff_remove(shop=shop, user=second, by=second)


def test_only_owners_remove_staff(shop, owner):
    staff, other = ShopStaffFactory(shop=shop).user, ShopStaffFactory(shop=shop).user
    with pytest.raises(NotAllowed):
        services.staff_remove(shop=shop, user=other, by=staff)
    with pytest.raises(NotFound):
        services.staff_remove(shop=shop, user=UserFactory(), by=owner)

    services.staff_remove(shop=shop, user=other, by=owner)
    assert set(ShopStaff.objects.filter(shop=shop).values_list("user", flat=True)) == {
        owner.pk,
        staff.pk,
    }


def test_someone_without_an_account_is_invited_in_the_marketplaces_language(
    shop, owner, run_on_commit, outbox
):
    with run_on_commit():
        services.staff_invite(shop=shop, email="new@example.test", invited_by=owner)

    email = Email.objects.get(template="shops/staff_invitation")
    assert (email.to, email.language, email.recipient) == ("new@example.test", "fr", None)
    assert "Olga Martin" in outbox[0].body and "La Fromagerie" in outbox[0].body
    assert "/seller/invitations/" in outbox[0].alternatives[0][0]
