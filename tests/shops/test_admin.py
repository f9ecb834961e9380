import pytest
from django.contrib.auth.models import Permission

from halles.shops.models import ApplicationStatus, KycStatus, ShopStatus

from ..factories import (
    IBAN,
    KycDocumentFactory,
    MarketplaceFactory,
    SellerApplicationFactory,
    ShopFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client, operator):
    # Until "shops" is in accounts.services.OPERATOR_APPS, grant the rights here.
    operator.user_permissions.add(*Permission.objects.filter(content_type__app_label="shops"))
    client.force_login(operator)
    return client


def test_the_review_queue_lists_pending_applications_of_the_operators_marketplaces(
    operator_client, marketplace
):
    mine = SellerApplicationFactory(shop__marketplace=marketplace)
    SellerApplicationFactory(
        shop__marketplace=marketplace, status=ApplicationStatus.APPROVED
    )  # decided
    SellerApplicationFactory(shop__marketplace=MarketplaceFactory())  # not theirs

    queue = operator_client.get("/admin/shops/sellerapplication/", follow=True)

    assert queue.redirect_chain[0][0].endswith("?status__exact=pending")
    assert list(queue.context["cl"].queryset) == [mine]


def test_an_application_shows_the_business_with_a_masked_iban_and_its_documents(
    operator_client, marketplace
):
    application = SellerApplicationFactory(shop__marketplace=marketplace)
    document = KycDocumentFactory(shop=application.shop)

    page = operator_client.get(
        f"/admin/shops/sellerapplication/{application.pk}/change/"
    ).content.decode()

    assert "73282932000074" in page and application.shop.legal_name in page
    assert IBAN not in page and "2606" in page
    assert document.file.url in page
    assert f"/admin/shops/kycdocument/{document.pk}/change/" in page


def test_approve_and_reject_from_the_queue(operator_client, marketplace, run_on_commit, outbox):
    to_approve = SellerApplicationFactory(shop__marketplace=marketplace)
    to_reject = SellerApplicationFactory(shop__marketplace=marketplace)
    url = "/admin/shops/sellerapplication/?status__exact=pending"

    with run_on_commit():
        operator_client.post(url, {"action": "approve", "_selected_action": [to_approve.pk]})
    to_approve.refresh_from_db()
    assert to_approve.status == ApplicationStatus.APPROVED
    assert to_approve.shop.status == ShopStatus.ACTIVE

    form = operator_client.post(url, {"action": "reject", "_selected_action": [to_reject.pk]})
    assert form.status_code == 200 and "reason" in form.context["form"].fields
    to_reject.refresh_from_db()
    assert to_reject.status == ApplicationStatus.PENDING  # nothing happens without a reason

    with run_on_commit():
        operator_client.post(
            url,
            {"action": "reject", "_selected_action": [to_reject.pk], "reason": "SIRET radié"},
        )
    to_reject.refresh_from_db()
    assert (to_reject.status, to_reject.reason) == (ApplicationStatus.REJECTED, "SIRET radié")
    assert len(outbox) == 2


def test_suspend_and_reactivate_a_shop_with_its_history(operator_client, marketplace, operator):
    shop = ShopFactory(marketplace=marketplace)
    url = "/admin/shops/shop/"

    form = operator_client.post(url, {"action": "suspend", "_selected_action": [shop.pk]})
    assert form.status_code == 200 and "reason" in form.context["form"].fields
    operator_client.post(
        url, {"action": "suspend", "_selected_action": [shop.pk], "reason": "Retards répétés"}
    )
    shop.refresh_from_db()
    assert (shop.status, shop.status_reason) == (ShopStatus.SUSPENDED, "Retards répétés")

    page = operator_client.get(f"/admin/shops/shop/{shop.pk}/change/").content.decode()
    assert "Retards répétés" in page and IBAN not in page

    operator_client.post(url, {"action": "reactivate", "_selected_action": [shop.pk]})
    shop.refresh_from_db()
    assert shop.status == ShopStatus.ACTIVE
    assert list(shop.events.values_list("action", "actor")) == [
        ("reactivate", operator.pk),
        ("suspend", operator.pk),
    ]


def test_refuse_a_kyc_document_with_a_reason(operator_client, marketplace):
    document = KycDocumentFactory(shop__marketplace=marketplace)
    url = "/admin/shops/kycdocument/?status__exact=pending"
    operator_client.post(
        url, {"action": "refuse", "_selected_action": [document.pk], "reason": "Expiré"}
    )
    document.refresh_from_db()
    assert (document.status, document.reason) == (KycStatus.REFUSED, "Expiré")

    other = KycDocumentFactory(shop__marketplace=marketplace)
    operator_client.post(url, {"action": "accept", "_selected_action": [other.pk]})
    other.refresh_from_db()
    assert other.status == KycStatus.ACCEPTED


def test_operators_do_not_see_other_marketplaces_shops(operator_client, marketplace):
    ShopFactory(marketplace=marketplace)
    theirs = ShopFactory(marketplace=MarketplaceFactory())
    assert operator_client.get(f"/admin/shops/shop/{theirs.pk}/change/").status_code in (
        302,
        404,
    )
    listing = operator_client.get("/admin/shops/shop/")
    assert theirs not in listing.context["cl"].queryset
