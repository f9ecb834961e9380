"""factory_boy factories for shops: plans, shops (with an owner), applications, KYC, delivery."""

from datetime import time, timedelta

import factory
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from halles.shops.models import (
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
    PlanKind,
    SellerApplication,
    Shop,
    ShopStaff,
    ShopStatus,
    StaffInvitation,
    StaffRole,
)

from .factories import MarketplaceFactory, UserFactory

# Real, valid identifiers (python-stdnum accepts them).
SIRET = "73282932000074"
SIREN = "732829320"
VAT_NUMBER = "FR44732829320"
IBAN = "FR1420041010050500013M02606"
BIC = "BNPAFRPP"

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    marketplace = factory.SubFactory(MarketplaceFactory)
    code = factory.Sequence(lambda n: f"plan-{n}")
    name = factory.Sequence(lambda n: f"Plan {n}")
    kind = PlanKind.SUBSCRIPTION_COMMISSION
    monthly_fee_cents = 500
    commission_rate = "1.40"
    commission_fixed_cents = 25


class ShopFactory(factory.django.DjangoModelFactory):
    """An active shop. `owner=user` makes `user` its owner."""

    class Meta:
        model = Shop
        skip_postgeneration_save = True

    marketplace = factory.SubFactory(MarketplaceFactory)
    plan = factory.SubFactory(PlanFactory, marketplace=factory.SelfAttribute("..marketplace"))
    slug = factory.Sequence(lambda n: f"shop-{n}")
    name = factory.Sequence(lambda n: f"Boutique {n}")
    status = ShopStatus.ACTIVE
    activated_at = factory.LazyFunction(timezone.now)
    legal_name = factory.LazyAttribute(lambda o: f"{o.name} SARL")
    legal_form = LegalForm.SARL
    share_capital_cents = 1_000_000
    siren = SIREN
    siret = SIRET
    vat_number = VAT_NUMBER
    rcs = "RCS Lyon 732 829 320"
    address_line1 = "1 place du Marché"
    postcode = "69000"
    city = "Lyon"
    contact_name = "Alice Martin"
    contact_email = factory.LazyAttribute(lambda o: f"contact@{o.slug}.test")
    contact_phone = "0102030405"
    activity = "Épicerie fine"
    iban = IBAN
    bic = BIC

    @factory.post_generation
    def owner(obj, create, extracted, **kwargs):
        if create and extracted is not None:
            ShopStaff.objects.create(shop=obj, user=extracted, role=StaffRole.OWNER)


class ShopStaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShopStaff

    shop = factory.SubFactory(ShopFactory)
    user = factory.SubFactory(UserFactory)
    role = StaffRole.STAFF


class SellerApplicationFactory(factory.django.DjangoModelFactory):
    """A pending application for a pending shop, whose applicant owns it."""

    class Meta:
        model = SellerApplication
        skip_postgeneration_save = True

    shop = factory.SubFactory(ShopFactory, status=ShopStatus.PENDING, activated_at=None)
    applicant = factory.SubFactory(UserFactory)
    status = ApplicationStatus.PENDING

    @factory.post_generation
    def owner(obj, create, extracted, **kwargs):
        if create:
            ShopStaff.objects.get_or_create(
                shop=obj.shop, user=obj.applicant, defaults={"role": StaffRole.OWNER}
            )


class KycDocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KycDocument

    shop = factory.SubFactory(ShopFactory)
    kind = KycKind.IDENTITY
    file = factory.LazyFunction(lambda: ContentFile(PDF_BYTES, name="document.pdf"))
    status = KycStatus.PENDING


class StaffInvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffInvitation

    shop = factory.SubFactory(ShopFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.test")


class OpeningHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpeningHours

    shop = factory.SubFactory(ShopFactory)
    weekday = 0
    opens = time(9)
    closes = time(18)


class ClosureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Closure

    shop = factory.SubFactory(ShopFactory)
    start_date = factory.LazyFunction(lambda: timezone.localdate())
    end_date = factory.LazyAttribute(lambda o: o.start_date)


class DeliveryModeFactory(factory.django.DjangoModelFactory):
    """Home delivery by default; `ClickCollectFactory` for a pick-up mode with slots."""

    class Meta:
        model = DeliveryMode

    shop = factory.SubFactory(ShopFactory)
    kind = DeliveryKind.HOME
    name = "Livraison à domicile"
    carrier = "Colissimo"
    fee_cents = 590


class ClickCollectFactory(DeliveryModeFactory):
    kind = DeliveryKind.CLICK_COLLECT
    name = "Retrait en boutique"
    carrier = ""
    fee_cents = 0
    pickup_address = "1 place du Marché, 69000 Lyon"
    uses_slots = True


class PickupSlotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PickupSlot

    delivery_mode = factory.SubFactory(ClickCollectFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=1))
    capacity = 3


def pdf_upload(name: str = "kbis.pdf", size: int | None = None):
    """An uploaded PDF (real magic bytes), padded to `size` bytes when given."""
    content = PDF_BYTES if size is None else PDF_BYTES.ljust(size, b"0")
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def png_upload(name: str = "id.png"):
    return SimpleUploadedFile(name, PNG_BYTES, content_type="image/png")
