"""factory_boy factories and small builders for every test: accounts and marketplaces, shops
(plans, staff, applications, KYC, opening hours, delivery), catalog (categories, products,
offers).

Rows that belong to a marketplace take it from their parent (`ShopFactory(marketplace=m)`
files its plan in `m`; an offer is in its shop's marketplace), so a test names the
marketplace once."""

from datetime import time, timedelta

import factory
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from factory.errors import CyclicDefinitionError
from stdnum import ean

from halles.accounts.models import AccountType, BusinessSector, Organisation, User
from halles.catalog.models import Category, Offer, Product
from halles.marketplaces.models import (
    Marketplace,
    MarketplaceStatus,
    Membership,
    MembershipRole,
    RegistrationMode,
)
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

PASSWORD = "correct horse battery staple"

# Real, valid identifiers (python-stdnum accepts them).
SIRET = "73282932000074"
SIREN = "732829320"
VAT_NUMBER = "FR44732829320"
IBAN = "FR1420041010050500013M02606"
BIC = "BNPAFRPP"

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32


def make_gtin(n: int) -> str:
    """A valid EAN-13 from a number (a private prefix, 200-299: never a real product)."""
    body = f"2{n:011d}"
    return body + ean.calc_check_digit(body)


# --- Accounts and marketplaces -------------------------------------------------------------


class MarketplaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Marketplace

    slug = factory.Sequence(lambda n: f"market-{n}")
    name = factory.Sequence(lambda n: f"Market {n}")
    contact_email = factory.LazyAttribute(lambda o: f"contact@{o.slug}.test")
    status = MarketplaceStatus.OPEN
    registration_mode = RegistrationMode.OPEN


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    first_name = "Alice"
    last_name = "Martin"
    language = "fr"
    email_verified_at = factory.LazyFunction(timezone.now)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OperatorFactory(UserFactory):
    is_staff = True

    @factory.post_generation
    def marketplaces(obj, create, extracted, **kwargs):
        from halles.accounts.services import operator_group_ensure

        if create:
            obj.groups.add(operator_group_ensure())
            for marketplace in extracted or []:
                marketplace.operators.add(obj)


class SectorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusinessSector
        django_get_or_create = ["code"]

    code = "hopital"
    name = "Hôpital"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Clinique {n}")
    sector = factory.SubFactory(SectorFactory)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    marketplace = factory.SubFactory(MarketplaceFactory)
    user = factory.SubFactory(UserFactory)
    role = MembershipRole.BUYER


# --- Shops ---------------------------------------------------------------------------------


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
    """An active shop with its declared business. `owner=user` makes `user` its owner."""

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
    """A member of a shop's staff (a seller account)."""

    class Meta:
        model = ShopStaff

    shop = factory.SubFactory(ShopFactory)
    user = factory.SubFactory(UserFactory, account_type=AccountType.SELLER)
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


# --- Catalog -------------------------------------------------------------------------------


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    marketplace = factory.SubFactory(MarketplaceFactory)
    name = factory.Sequence(lambda n: f"Rayon {n}")
    slug = factory.Sequence(lambda n: f"rayon-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    """A product without GTIN; `gtin=make_gtin(n)` for a shared one."""

    class Meta:
        model = Product

    marketplace = factory.SubFactory(MarketplaceFactory)
    title = factory.Sequence(lambda n: f"Article {n}")


def _marketplace_given_to_the_offer(shop):
    """The shop of an OfferFactory goes in the marketplace given to the offer, else in a new
    one. Without `marketplace=`, the offer's marketplace is read from its shop, which is
    being made: asking for it is a cycle, which here means "none was given"."""
    try:
        return shop.factory_parent.marketplace
    except CyclicDefinitionError:
        return MarketplaceFactory()


class OfferFactory(factory.django.DjangoModelFactory):
    """An active offer in stock, in its shop's marketplace. Give `shop=`, or `marketplace=`
    (a new shop there), or neither; `product__title=...` names it."""

    class Meta:
        model = Offer

    shop = factory.SubFactory(
        ShopFactory, marketplace=factory.LazyAttribute(_marketplace_given_to_the_offer)
    )
    marketplace = factory.LazyAttribute(lambda o: o.shop.marketplace)
    product = factory.SubFactory(ProductFactory, marketplace=factory.SelfAttribute("..marketplace"))
    sku = factory.Sequence(lambda n: f"SKU-{n}")
    price_cents = 1000
    stock = 5


def make_shop(marketplace, slug="boulangerie", status=ShopStatus.ACTIVE, owner=None):
    """A shop of `marketplace` named after its slug, and its owner (a new user unless
    given): `shop, owner = make_shop(marketplace)`."""
    owner = owner or UserFactory()
    shop = ShopFactory(
        marketplace=marketplace, slug=slug, name=slug.title(), status=status, owner=owner
    )
    return shop, owner


def make_offer(shop, sku="SKU-1", stock=5, price=1000, **fields):
    """An offer of `shop` on a new product (no GTIN) titled "Produit <sku>"."""
    return OfferFactory(
        shop=shop,
        product__title=f"Produit {sku}",
        sku=sku,
        stock=stock,
        price_cents=price,
        **fields,
    )
