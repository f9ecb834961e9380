import pytest

from halles.marketplaces.models import MembershipStatus
from halles.notifications.models import Email

from ..factories import MarketplaceFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def test_operators_see_only_their_marketplaces_pending_requests(client, marketplace, operator):
    mine = MembershipFactory(marketplace=marketplace)
    theirs = MembershipFactory(marketplace=MarketplaceFactory())
    client.force_login(operator)

    home = client.get("/admin/")
    assert home.status_code == 200
    assert home.context["pending_approvals"] == 1

    queue = client.get("/admin/marketplaces/membership/", follow=True)
    listed = list(queue.context["cl"].queryset)
    assert listed == [mine] and theirs not in listed


def test_approve_and_reject_actions_decide_and_email(
    client, marketplace, operator, run_on_commit, outbox
):
    to_approve, to_reject = (
        MembershipFactory(marketplace=marketplace),
        MembershipFactory(marketplace=marketplace),
    )
    client.force_login(operator)
    url = "/admin/marketplaces/membership/?status__exact=pending"

    with run_on_commit():
        client.post(url, {"action": "approve", "_selected_action": [to_approve.pk]})
    to_approve.refresh_from_db()
    assert to_approve.status == MembershipStatus.APPROVED

    form = client.post(url, {"action": "reject", "_selected_action": [to_reject.pk]})
    assert form.status_code == 200 and "reason" in form.context["form"].fields  # asks the reason
    with run_on_commit():
        client.post(
            url, {"action": "reject", "_selected_action": [to_reject.pk], "reason": "Pas de SIRET"}
        )
    to_reject.refresh_from_db()
    assert (to_reject.status, to_reject.reason) == (MembershipStatus.REJECTED, "Pas de SIRET")
    assert len(outbox) == 2


def test_the_sent_emails_are_listed_with_their_links(client, marketplace, operator, run_on_commit):
    from halles.accounts.services import password_reset_send

    with run_on_commit():
        password_reset_send(email=operator.email, marketplace=marketplace)
    client.force_login(operator)
    email = Email.objects.get()
    page = client.get(f"/admin/notifications/email/{email.pk}/change/").content.decode()
    assert '<a href="http://127.0.0.1:8000/m/villeneuve/password/reset/' in page


def test_an_operator_can_open_a_marketplace_from_the_back_office(client, operator):
    draft = MarketplaceFactory(status="draft")
    draft.operators.add(operator)
    client.force_login(operator)
    client.post(
        "/admin/marketplaces/marketplace/",
        {"action": "open_marketplaces", "_selected_action": [draft.pk]},
    )
    draft.refresh_from_db()
    assert draft.status == "open"


def test_an_operator_sees_only_their_marketplaces_users_and_cannot_grant_rights(
    client, marketplace, operator
):
    member = MembershipFactory(marketplace=marketplace).user
    stranger = MembershipFactory(marketplace=MarketplaceFactory()).user
    client.force_login(operator)

    listed = set(client.get("/admin/accounts/user/").context["cl"].queryset)
    assert member in listed and operator in listed and stranger not in listed
    assert client.get(f"/admin/accounts/user/{stranger.pk}/change/").status_code == 302

    page = client.get(f"/admin/accounts/user/{operator.pk}/change/")
    assert "is_superuser" not in page.context["adminform"].form.fields


def test_createoperator_appoints_an_operator_who_can_then_use_the_back_office(client, marketplace):
    from django.core.management import call_command

    from halles.accounts.models import User

    call_command(
        "createoperator",
        "Ops@Example.test",
        "--marketplace",
        marketplace.slug,
        "--password",
        "a-long-enough-password",
    )
    ops = User.objects.get(email="ops@example.test")
    assert ops.is_staff and ops.email_verified and not ops.is_superuser
    assert list(ops.operated_marketplaces.all()) == [marketplace]
    client.force_login(ops)
    assert client.get("/admin/marketplaces/membership/?status__exact=pending").status_code == 200
