"""Shops, products and offers for the offer import tests (the shared factories have none yet)."""

import factory
from stdnum import ean

from halles.catalog.models import Category, Offer, Product
from halles.shops.models import Plan, PlanKind, Shop, ShopStaff, ShopStatus

from ..factories import MarketplaceFactory, UserFactory


def make_gtin(n: int) -> str:
    """A valid EAN-13 from a number (a private prefix, 200-299: never a real product)."""
    body = f"2{n:011d}"
    return body + ean.calc_check_digit(body)


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan
        django_get_or_create = ["marketplace", "code"]

    marketplace = factory.SubFactory(MarketplaceFactory)
    code = "commission"
    name = "Commission"
    kind = PlanKind.COMMISSION


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop

    marketplace = factory.SubFactory(MarketplaceFactory)
    slug = factory.Sequence(lambda n: f"shop-{n}")
    name = factory.Sequence(lambda n: f"Shop {n}")
    status = ShopStatus.ACTIVE
    plan = factory.LazyAttribute(lambda o: PlanFactory(marketplace=o.marketplace))
    legal_name = factory.LazyAttribute(lambda o: f"{o.name} SARL")
    legal_form = "SARL"
    siren = "732829320"
    siret = "73282932000074"
    address_line1 = "1 place du Marché"
    postcode = "69000"
    city = "Lyon"
    contact_name = "Alice Martin"
    contact_email = factory.LazyAttribute(lambda o: f"contact@{o.slug}.test")
    contact_phone = "0600000000"
    activity = "Épicerie fine"


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShopStaff

    shop = factory.SubFactory(ShopFactory)
    user = factory.SubFactory(UserFactory, account_type="seller")


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    marketplace = factory.SubFactory(MarketplaceFactory)
    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    marketplace = factory.SubFactory(MarketplaceFactory)
    title = factory.Sequence(lambda n: f"Product {n}")
    gtin = factory.Sequence(lambda n: make_gtin(100_000 + n))


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer

    shop = factory.SubFactory(ShopFactory)
    marketplace = factory.LazyAttribute(lambda o: o.shop.marketplace)
    product = factory.LazyAttribute(lambda o: ProductFactory(marketplace=o.shop.marketplace))
    sku = factory.Sequence(lambda n: f"SKU-{n}")
    price_cents = 1000
    stock = 5
