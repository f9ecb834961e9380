import factory
from django.utils import timezone

from halles.accounts.models import BusinessSector, Organisation, User
from halles.marketplaces.models import (
    Marketplace,
    MarketplaceStatus,
    Membership,
    MembershipRole,
    RegistrationMode,
)

PASSWORD = "correct horse battery staple"


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
