from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from halles.core.errors import DomainError, InvalidState, NotAllowed
from halles.shops import services
from halles.shops.models import KycKind, KycStatus
from halles.shops.selectors import shop_kyc_complete

from ..factories import (
    KycDocumentFactory,
    MarketplaceFactory,
    OperatorFactory,
    ShopFactory,
    ShopStaffFactory,
    UserFactory,
    pdf_upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(db):
    return UserFactory(email="owner@example.test", language="en")


@pytest.fixture
def shop(marketplace, owner):
    return ShopFactory(marketplace=marketplace, owner=owner)


def accept_all(shop, operator):
    for kind in KycKind.values:
        document = services.kyc_document_add(
            shop=shop, user=shop.staff.first().user, kind=kind, file=pdf_upload()
        )
        services.kyc_document_review(document_id=document.pk, operator=operator, accept=True)


def test_kyc_is_complete_when_the_newest_document_of_each_kind_is_accepted(shop, operator):
    assert not shop_kyc_complete(shop)

    accept_all(shop, operator)
    assert shop_kyc_complete(shop)

    # A newer bank document replaces nothing but counts: until it is accepted, KYC is not
    # complete any more (payouts wait).
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        newer = services.kyc_document_add(
            shop=shop, user=shop.staff.first().user, kind=KycKind.BANK, file=pdf_upload("rib2.pdf")
        )
    assert shop.kyc_documents.filter(kind=KycKind.BANK).count() == 2
    assert not shop_kyc_complete(shop)
    services.kyc_document_review(document_id=newer.pk, operator=operator, accept=True)
    assert shop_kyc_complete(shop)


def test_a_refused_newest_document_makes_kyc_incomplete(shop, operator):
    accept_all(shop, operator)
    later = timezone.now() + timedelta(minutes=5)
    KycDocumentFactory(
        shop=shop, kind=KycKind.IDENTITY, status=KycStatus.REFUSED, uploaded_at=later
    )
    assert not shop_kyc_complete(shop)


def test_only_the_shops_staff_add_documents(shop):
    staff = ShopStaffFactory(shop=shop).user
    services.kyc_document_add(shop=shop, user=staff, kind=KycKind.IDENTITY, file=pdf_upload())

    for outsider in (UserFactory(), ShopStaffFactory().user):
        with pytest.raises(NotAllowed):
            services.kyc_document_add(
                shop=shop, user=outsider, kind=KycKind.IDENTITY, file=pdf_upload()
            )
    assert shop.kyc_documents.count() == 1


def test_added_documents_are_checked_like_at_application(shop, owner):
    with pytest.raises(DomainError) as error:
        services.kyc_document_add(
            shop=shop, user=owner, kind=KycKind.BANK, file=pdf_upload(size=11 * 1024 * 1024)
        )
    assert error.value.code == "file_too_large"
    with pytest.raises(DomainError) as error:
        services.kyc_document_add(shop=shop, user=owner, kind="passport", file=pdf_upload())
    assert error.value.code == "document_kind"


def test_a_refusal_needs_a_reason_is_emailed_to_the_owner_and_happens_once(
    shop, operator, run_on_commit, outbox
):
    document = KycDocumentFactory(shop=shop, kind=KycKind.REGISTRATION)
    with pytest.raises(DomainError) as error:
        services.kyc_document_review(document_id=document.pk, operator=operator, accept=False)
    assert error.value.code == "reason_required"

    with run_on_commit():
        services.kyc_document_review(
            document_id=document.pk, operator=operator, accept=False, reason="Illisible"
        )
    document.refresh_from_db()
    assert (document.status, document.reason, document.reviewed_by) == (
        KycStatus.REFUSED,
        "Illisible",
        operator,
    )
    assert [m.to for m in outbox] == [["owner@example.test"]]
    assert "was refused" in outbox[0].subject and "Illisible" in outbox[0].body

    with pytest.raises(InvalidState):
        services.kyc_document_review(document_id=document.pk, operator=operator, accept=True)
    document.refresh_from_db()
    assert document.status == KycStatus.REFUSED


def test_an_acceptance_sends_nothing(shop, operator, run_on_commit, outbox):
    document = KycDocumentFactory(shop=shop)
    with run_on_commit():
        services.kyc_document_review(document_id=document.pk, operator=operator, accept=True)
    assert outbox == []


def test_only_the_marketplaces_operators_review(shop):
    document = KycDocumentFactory(shop=shop)
    stranger = OperatorFactory(marketplaces=[MarketplaceFactory()])
    with pytest.raises(NotAllowed):
        services.kyc_document_review(document_id=document.pk, operator=stranger, accept=True)
    document.refresh_from_db()
    assert document.status == KycStatus.PENDING
