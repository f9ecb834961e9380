import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from halles.core.errors import DomainError, InvalidState, NotAllowed
from halles.marketplaces.models import MarketplaceStatus, Membership, MembershipStatus
from halles.notifications.models import Email
from halles.shops import services
from halles.shops.models import (
    ApplicationStatus,
    KycDocument,
    KycKind,
    SellerApplication,
    Shop,
    ShopEvent,
    ShopStaff,
    ShopStatus,
    StaffRole,
)

from ..factories import (
    IBAN,
    MarketplaceFactory,
    MembershipFactory,
    OperatorFactory,
    PlanFactory,
    SellerApplicationFactory,
    ShopFactory,
    pdf_upload,
)

pytestmark = pytest.mark.django_db


def nothing_created():
    return (
        not Shop.objects.exists()
        and not SellerApplication.objects.exists()
        and not ShopStaff.objects.exists()
        and not KycDocument.objects.exists()
        and not Membership.objects.exists()
        and not Email.objects.exists()
    )


# --- Applying -------------------------------------------------------------------------------


def test_a_declared_business_applies_and_waits_for_review(
    application_data, applicant, marketplace, run_on_commit, outbox
):
    with run_on_commit():
        application = services.seller_apply(**application_data())

    shop = application.shop
    assert application.status == ApplicationStatus.PENDING
    assert application.applicant == applicant
    assert shop.status == ShopStatus.PENDING and shop.activated_at is None
    # Numbers are stored compact, the SIREN derived from the SIRET.
    assert (shop.siret, shop.siren) == ("73282932000074", "732829320")
    assert shop.vat_number == "FR44732829320"
    assert (shop.iban, shop.bic) == (IBAN, "BNPAFRPP")
    assert (shop.slug, shop.country, shop.contact_email) == (
        "epicerie-du-coin",
        "FR",
        "contact@epicerie.test",
    )
    assert ShopStaff.objects.get(shop=shop).user == applicant
    assert ShopStaff.objects.get(shop=shop).role == StaffRole.OWNER
    documents = {doc.kind: doc for doc in shop.kyc_documents.all()}
    assert set(documents) == set(KycKind.values)
    with documents[KycKind.REGISTRATION].file.open("rb") as stored:
        assert stored.read().startswith(b"%PDF-")
    membership = Membership.objects.get(user=applicant, marketplace=marketplace)
    assert (membership.role, membership.status) == ("seller", MembershipStatus.PENDING)

    # The applicant gets a confirmation in their language, the operator a notice with a link.
    assert sorted(message.to[0] for message in outbox) == [
        "contact@villeneuve.test",
        "epicerie@example.test",
    ]
    confirmation = next(m for m in outbox if m.to == ["epicerie@example.test"])
    assert "We received your application" in confirmation.subject
    notice = next(m for m in outbox if m.to == ["contact@villeneuve.test"])
    assert "L'Épicerie du Coin" in notice.subject
    assert f"/admin/shops/sellerapplication/{application.pk}/change/" in notice.body
    assert notice.reply_to == ["contact@epicerie.test"]


@pytest.mark.parametrize("siret", ["", "12345678901234", "7328293200007", "ABCDEFGHIJKLMN"])
def test_without_a_valid_siret_the_application_is_refused_and_nothing_is_created(
    application_data, siret
):
    with pytest.raises(DomainError) as error:
        services.seller_apply(**application_data(siret=siret))

    assert (error.value.code, error.value.field) == ("invalid_siret", "siret")
    assert "Only declared businesses can sell" in str(error.value.message) or (
        "Seules les entreprises déclarées" in str(error.value.message)
    )
    assert nothing_created()


def test_a_bad_iban_is_refused(application_data):
    with pytest.raises(DomainError) as error:
        services.seller_apply(**application_data(iban="FR1420041010050500013M02607"))
    assert (error.value.code, error.value.field) == ("invalid_iban", "iban")
    assert nothing_created()


def test_a_bad_bic_is_refused(application_data):
    with pytest.raises(DomainError) as error:
        services.seller_apply(**application_data(bic="XX"))
    assert error.value.code == "invalid_bic"


def test_a_french_vat_number_must_belong_to_the_siren(application_data):
    # FR83404833048 is a valid French VAT number, but of another company (SIREN 404833048).
    with pytest.raises(DomainError) as error:
        services.seller_apply(**application_data(vat_number="FR83404833048"))
    assert (error.value.code, error.value.field) == ("vat_siren_mismatch", "vat_number")
    assert nothing_created()

    with pytest.raises(DomainError) as error:
        services.seller_apply(**application_data(vat_number="FR00732829320"))
    assert error.value.code == "invalid_vat"


def test_the_vat_number_is_optional(application_data):
    application = services.seller_apply(**application_data(vat_number="", bic=""))
    assert application.shop.vat_number == "" and application.shop.bic == ""


def test_a_shop_address_is_unique_in_its_marketplace(application_data, marketplace):
    ShopFactory(marketplace=marketplace, slug="epicerie-du-coin")

    with pytest.raises(DomainError) as error:
        services.seller_apply(**application_data(slug="Epicerie-du-Coin"))

    assert (error.value.code, error.value.field) == ("slug_taken", "slug")
    assert SellerApplication.objects.count() == 0
    # The same address on another marketplace is fine.
    other = MarketplaceFactory()
    services.seller_apply(
        **application_data(marketplace=other, plan=PlanFactory(marketplace=other))
    )


def test_the_plan_must_be_an_active_plan_of_the_marketplace(application_data, plan):
    for wrong in (PlanFactory(), PlanFactory(marketplace=plan.marketplace, is_active=False)):
        with pytest.raises(DomainError) as error:
            services.seller_apply(**application_data(plan=wrong))
        assert (error.value.code, error.value.field) == ("invalid_plan", "plan")
    assert nothing_created()


@pytest.mark.parametrize(
    "status", [MarketplaceStatus.DRAFT, MarketplaceStatus.CLOSING, MarketplaceStatus.CLOSED]
)
def test_only_an_open_marketplace_takes_new_shops(application_data, marketplace, status):
    marketplace.status = status
    marketplace.save()
    with pytest.raises(DomainError) as error:
        services.seller_apply(**application_data())
    assert error.value.code == "marketplace_not_open"
    assert nothing_created()


def test_documents_over_10_mb_are_refused(application_data):
    too_large = pdf_upload(size=10 * 1024 * 1024 + 1)
    with pytest.raises(DomainError) as error:
        services.seller_apply(**application_data(documents={KycKind.BANK: too_large}))
    assert (error.value.code, error.value.field) == ("file_too_large", "bank")
    assert nothing_created()

    just_right = pdf_upload(size=10 * 1024 * 1024)
    services.seller_apply(**application_data(documents={KycKind.BANK: just_right}))


@pytest.mark.parametrize(
    "upload",
    [
        SimpleUploadedFile("virus.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf"),
        SimpleUploadedFile("notes.txt", b"hello", content_type="text/plain"),
        SimpleUploadedFile("page.png", b"<html>", content_type="image/png"),
    ],
)
def test_only_pdf_jpeg_and_png_documents_are_accepted(application_data, upload):
    with pytest.raises(DomainError) as error:
        services.seller_apply(**application_data(documents={KycKind.IDENTITY: upload}))
    assert error.value.code == "file_type"
    assert nothing_created()


def test_a_jpeg_document_is_accepted(application_data):
    jpeg = SimpleUploadedFile("id.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF", content_type="image/jpeg")
    application = services.seller_apply(**application_data(documents={KycKind.IDENTITY: jpeg}))
    assert application.shop.kyc_documents.get().kind == KycKind.IDENTITY


def test_a_user_refused_as_seller_cannot_apply(application_data, applicant, marketplace):
    MembershipFactory(
        marketplace=marketplace, user=applicant, role="seller", status=MembershipStatus.REJECTED
    )
    with pytest.raises(DomainError) as error:
        services.seller_apply(**application_data())
    assert error.value.code == "membership_rejected"
    assert not Shop.objects.exists()


@pytest.mark.parametrize("field", ["shop_name", "legal_name", "contact_phone", "activity"])
def test_required_details_are_required(application_data, field):
    with pytest.raises(DomainError) as error:
        services.seller_apply(**application_data(**{field: "  "}))
    assert (error.value.code, error.value.field) == ("required", field)


# --- Deciding -------------------------------------------------------------------------------


def test_an_approval_activates_the_shop_and_the_seller(
    application_data, applicant, operator, run_on_commit, outbox
):
    application = services.seller_apply(**application_data())

    with run_on_commit():
        services.application_decide(application_id=application.pk, operator=operator, approve=True)

    application.refresh_from_db()
    shop = Shop.objects.get(pk=application.shop_id)
    assert application.status == ApplicationStatus.APPROVED
    assert application.decided_by == operator and application.decided_at is not None
    assert shop.status == ShopStatus.ACTIVE and shop.activated_at is not None
    membership = Membership.objects.get(user=applicant, role="seller")
    assert membership.status == MembershipStatus.APPROVED and membership.decided_by == operator
    event = ShopEvent.objects.get(shop=shop)
    assert (event.action, event.from_status, event.to_status, event.actor) == (
        "activate",
        "pending",
        "active",
        operator,
    )
    # One e-mail, in the applicant's language (English), with the seller space link.
    assert [m.to for m in outbox] == [["epicerie@example.test"]]
    assert "is approved" in outbox[0].subject
    assert "http://127.0.0.1:8000/m/villeneuve/seller/" in outbox[0].body
    assert Email.objects.get(template="shops/application_decision").language == "en"


def test_a_rejection_needs_a_reason_closes_the_shop_and_sends_the_reason(
    application_data, operator, run_on_commit, outbox
):
    application = services.seller_apply(**application_data())
    with pytest.raises(DomainError) as error:
        services.application_decide(
            application_id=application.pk, operator=operator, approve=False, reason="  "
        )
    assert error.value.code == "reason_required"

    with run_on_commit():
        services.application_decide(
            application_id=application.pk,
            operator=operator,
            approve=False,
            reason="Kbis de plus de 3 mois",
        )

    application.refresh_from_db()
    shop = Shop.objects.get(pk=application.shop_id)
    assert application.status == ApplicationStatus.REJECTED
    assert (shop.status, shop.status_reason) == (ShopStatus.CLOSED, "Kbis de plus de 3 mois")
    assert outbox[0].to == ["epicerie@example.test"]
    assert "refused" in outbox[0].subject
    assert "Kbis de plus de 3 mois" in outbox[0].body


def test_an_application_is_decided_once(operator):
    application = SellerApplicationFactory(shop__marketplace=operator.operated_marketplaces.get())
    services.application_decide(application_id=application.pk, operator=operator, approve=True)

    with pytest.raises(InvalidState):
        services.application_decide(
            application_id=application.pk, operator=operator, approve=False, reason="non"
        )
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    assert Shop.objects.get().status == ShopStatus.ACTIVE
    assert Email.objects.filter(template="shops/application_decision").count() == 1


def test_only_an_operator_of_the_shops_marketplace_decides(marketplace):
    application = SellerApplicationFactory(shop__marketplace=marketplace)
    stranger = OperatorFactory(marketplaces=[MarketplaceFactory()])

    for actor in (stranger, application.applicant):
        with pytest.raises(NotAllowed):
            services.application_decide(application_id=application.pk, operator=actor, approve=True)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.PENDING
    assert Shop.objects.get().status == ShopStatus.PENDING
