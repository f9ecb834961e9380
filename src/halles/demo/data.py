"""The demo marketplaces (French, like the first users). Idempotent: running it twice
changes nothing; later issues add shops, offers and orders here."""

from django.db import transaction
from django.utils import timezone

from halles.accounts.models import AccountType, Address, BusinessSector, Organisation, User
from halles.accounts.services import operator_group_ensure
from halles.marketplaces.models import (
    Marketplace,
    MarketplaceStatus,
    Membership,
    MembershipRole,
    MembershipStatus,
    RegistrationMode,
)

PASSWORD = "halles-demo"

SECTORS = [
    ("hopital", "Hôpital"),
    ("clinique", "Clinique"),
    ("ehpad", "EHPAD"),
    ("pharmacie", "Pharmacie"),
    ("cabinet-medical", "Cabinet médical"),
    ("laboratoire", "Laboratoire d'analyses"),
]

LOGINS = [
    ("operator@halles.test", "opérateur des deux marketplaces (back-office : /admin/)"),
    ("buyer@halles.test", "acheteuse, approuvée sur les deux marketplaces"),
    ("seller@halles.test", "vendeur en attente de validation sur Villeneuve"),
    ("pharmacie@halles.test", "acheteur B2B en attente d'approbation sur Santé Pro"),
    ("seller@boulangerie-martin.test", "Boulangerie Martin (Villeneuve, retrait avec créneaux)"),
    ("seller@librairie-du-parc.test", "Librairie du Parc (Villeneuve, livraison et point relais)"),
    ("seller@atelier-lune.test", "Atelier Lune (Villeneuve, bijoux, abonnement + commission)"),
    ("seller@medi-fournitures.test", "Médi Fournitures (Santé Pro, virement, secteur santé)"),
]


@transaction.atomic
def load_demo() -> None:
    operators = operator_group_ensure()
    sectors = {
        code: BusinessSector.objects.get_or_create(code=code, defaults={"name": name})[0]
        for code, name in SECTORS
    }
    villeneuve = _marketplace(
        "villeneuve",
        name="Marché de Villeneuve",
        tagline=(
            "Les commerces de Villeneuve, en ligne : commandez, retirez en boutique ou "
            "faites-vous livrer."
        ),
        description=(
            "Le marché en ligne des commerçants et artisans de Villeneuve. Un seul panier pour "
            "toutes les boutiques, un seul paiement, et chaque commerçant prépare votre commande."
        ),
        contact_email="contact@villeneuve.halles.test",
        is_default=True,
        registration_mode=RegistrationMode.OPEN,
        primary_color="#1f6f5c",
        opening_threshold=3,
    )
    sante = _marketplace(
        "sante-pro",
        name="Santé Pro",
        tagline="Fournitures sanitaires pour les professionnels de santé.",
        description=(
            "Marketplace B2B de fournitures sanitaires. Les comptes acheteurs sont vérifiés par "
            "l'opérateur ; le catalogue est réservé aux secteurs d'activité habilités."
        ),
        contact_email="contact@santepro.halles.test",
        is_default=False,
        registration_mode=RegistrationMode.APPROVAL,
        buyers_are_organisations=True,
        primary_color="#2b5797",
    )
    operator = _user(
        "operator@halles.test", "Odile", "Martin", is_staff=True, phone="01 23 45 67 89"
    )
    operator.groups.add(operators)
    villeneuve.operators.add(operator)
    sante.operators.add(operator)

    clinic = Organisation.objects.get_or_create(
        name="Clinique des Lilas",
        defaults={"sector": sectors["clinique"], "siret": "73282932000074"},
    )[0]
    buyer = _user(
        "buyer@halles.test", "Camille", "Durand", organisation=clinic, phone="06 12 34 56 78"
    )
    if not buyer.addresses.exists():
        Address.objects.create(
            user=buyer,
            label="Domicile",
            full_name="Camille Durand",
            line1="12 rue des Tilleuls",
            postcode="75011",
            city="Paris",
            country="FR",
            phone="06 12 34 56 78",
            is_default_billing=True,
            is_default_shipping=True,
        )
    _membership(villeneuve, buyer, MembershipRole.BUYER, MembershipStatus.APPROVED, operator)
    _membership(sante, buyer, MembershipRole.BUYER, MembershipStatus.APPROVED, operator)

    seller = _user("seller@halles.test", "Sébastien", "Leroy", account_type=AccountType.SELLER)
    _membership(villeneuve, seller, MembershipRole.SELLER, MembershipStatus.PENDING, None)

    pharmacy = Organisation.objects.get_or_create(
        name="Pharmacie du Centre", defaults={"sector": sectors["pharmacie"]}
    )[0]
    pharmacist = _user("pharmacie@halles.test", "Paul", "Bernard", organisation=pharmacy)
    _membership(sante, pharmacist, MembershipRole.BUYER, MembershipStatus.PENDING, None)

    from .shops import load_shops_demo

    load_shops_demo()

    from .fulfilment import load_fulfilment_demo
    from .orders import load_orders_demo

    load_orders_demo()
    load_fulfilment_demo()


def _marketplace(slug: str, **fields) -> Marketplace:
    marketplace, created = Marketplace.objects.get_or_create(slug=slug, defaults=fields)
    if created:
        marketplace.status = MarketplaceStatus.OPEN
        marketplace.opened_at = timezone.now()
        marketplace.save(update_fields=["status", "opened_at"])
    return marketplace


def _user(email: str, first_name: str, last_name: str, **fields) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email=email,
            password=PASSWORD,
            first_name=first_name,
            last_name=last_name,
            language="fr",
            email_verified_at=timezone.now(),
            **fields,
        )
    return user


def _membership(marketplace, user, role, status, operator) -> None:
    decided = status != MembershipStatus.PENDING
    Membership.objects.get_or_create(
        marketplace=marketplace,
        user=user,
        role=role,
        defaults={
            "status": status,
            "decided_by": operator if decided else None,
            "decided_at": timezone.now() if decided else None,
        },
    )
