"""factory_boy factories for the catalog search tests: categories, products, offers, and the
shops, plans and delivery modes they need."""

import factory

from halles.catalog.models import Category, Offer, Product
from halles.shops.models import DeliveryKind, DeliveryMode, Plan, PlanKind, Shop, ShopStatus

from .factories import MarketplaceFactory


class SearchPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan
        django_get_or_create = ["marketplace", "code"]

    marketplace = factory.SubFactory(MarketplaceFactory)
    code = "commission"
    name = "Commission"
    kind = PlanKind.COMMISSION


class SearchShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop

    marketplace = factory.SubFactory(MarketplaceFactory)
    plan = factory.SubFactory(SearchPlanFactory, marketplace=factory.SelfAttribute("..marketplace"))
    slug = factory.Sequence(lambda n: f"boutique-{n}")
    name = factory.Sequence(lambda n: f"Boutique {n}")
    status = ShopStatus.ACTIVE
    legal_name = factory.LazyAttribute(lambda o: f"{o.name} SARL")
    legal_form = "SARL"
    siren = "732829320"
    siret = "73282932000074"
    address_line1 = "1 place du Marché"
    postcode = "69000"
    city = "Lyon"
    contact_name = "Alice Martin"
    contact_email = factory.LazyAttribute(lambda o: f"contact@{o.slug}.test")
    contact_phone = "0102030405"
    activity = "Épicerie fine"


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    marketplace = factory.SubFactory(MarketplaceFactory)
    name = factory.Sequence(lambda n: f"Rayon {n}")
    slug = factory.Sequence(lambda n: f"rayon-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    marketplace = factory.SubFactory(MarketplaceFactory)
    title = factory.Sequence(lambda n: f"Article {n}")


class OfferFactory(factory.django.DjangoModelFactory):
    """An active offer in stock; `product__title=...` names it."""

    class Meta:
        model = Offer

    marketplace = factory.SubFactory(MarketplaceFactory)
    shop = factory.SubFactory(SearchShopFactory, marketplace=factory.SelfAttribute("..marketplace"))
    product = factory.SubFactory(ProductFactory, marketplace=factory.SelfAttribute("..marketplace"))
    sku = factory.Sequence(lambda n: f"SKU-{n}")
    price_cents = 1000
    stock = 5


class DeliveryModeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryMode

    shop = factory.SubFactory(SearchShopFactory)
    kind = DeliveryKind.HOME
    name = "Colissimo"
