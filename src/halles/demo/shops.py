"""Demo shops, products, offers, promotions and coupons (French, realistic). Idempotent."""

from datetime import time, timedelta
from decimal import Decimal

from django.core.files.base import ContentFile
from django.utils import timezone
from stdnum import ean

from halles.accounts.models import AccountType, BusinessSector, User
from halles.catalog.models import Category, Coupon, Offer, Product, ProductImage
from halles.catalog.services import make_thumbnail
from halles.marketplaces.models import Marketplace, Membership, MembershipStatus
from halles.shops.models import (
    ApplicationStatus,
    Closure,
    DeliveryMode,
    KycDocument,
    KycStatus,
    OpeningHours,
    PickupSlot,
    Plan,
    SellerApplication,
    Shop,
    ShopStaff,
    ShopStatus,
)

from .images import picture

PASSWORD = "halles-demo"

PLANS = {
    "villeneuve": [
        (
            "vitrine",
            "Vitrine",
            "listing",
            0,
            "0",
            0,
            "Votre boutique visible, sans vente en ligne.",
        ),
        ("pro", "PRO", "subscription", 500, "0", 0, "Vente en ligne, 5 € par mois."),
        ("commission", "Commission", "commission", 0, "8", 0, "Aucun abonnement : 8 % des ventes."),
        (
            "artisan",
            "Artisan",
            "subscription_commission",
            900,
            "5",
            25,
            "9 € par mois et 5 % + 0,25 € par commande.",
        ),
    ],
    "sante-pro": [
        ("fournisseur", "Fournisseur", "commission", 0, "3", 0, "3 % des ventes."),
    ],
}

CATEGORIES = {
    "villeneuve": [
        ("boulangerie", "Boulangerie et pâtisserie", None),
        ("pains", "Pains", "boulangerie"),
        ("viennoiseries", "Viennoiseries", "boulangerie"),
        ("patisseries", "Pâtisseries", "boulangerie"),
        ("livres", "Livres", None),
        ("romans", "Romans", "livres"),
        ("jeunesse", "Jeunesse", "livres"),
        ("bijoux", "Bijoux", None),
        ("epicerie", "Épicerie fine", None),
    ],
    "sante-pro": [
        ("protection", "Protection individuelle", None),
        ("hygiene", "Hygiène et désinfection", None),
        ("materiel", "Matériel médical", None),
    ],
}


def isbn(stem: str) -> str:
    return stem + ean.calc_check_digit(stem)


SHOPS = [
    {
        "marketplace": "villeneuve",
        "slug": "boulangerie-martin",
        "name": "Boulangerie Martin",
        "plan": "pro",
        "legal_name": "Boulangerie Martin SARL",
        "legal_form": "SARL",
        "siret": "73282932000074",
        "vat": "FR44732829320",
        "rcs": "RCS Villeneuve 732 829 320",
        "address": ("8 place du Marché", "94290", "Villeneuve-le-Roi"),
        "city_phone": "01 45 97 12 34",
        "description": "Boulangerie artisanale depuis 1987 : pains au levain, viennoiseries pur "
        "beurre et pâtisseries de saison. Commandez la veille, retirez le matin.",
        "payments": {"accepts_card": True, "accepts_pay_in_store": True},
        "return_policy": "Produits frais : ni reprise ni échange, sauf produit non conforme.",
        "category_products": [
            ("pains", "Baguette de tradition", "", "420", "1,20", None, 60),
            (
                "pains",
                "Pain de campagne au levain",
                "Farine bio de la ferme du Bosc.",
                "550",
                "3,80",
                None,
                25,
            ),
            ("pains", "Fougasse aux olives", "", "550", "3,50", "2,90", 12),
            ("viennoiseries", "Croissant pur beurre", "", "550", "1,10", None, 80),
            ("viennoiseries", "Pain au chocolat", "", "550", "1,30", None, 70),
            ("viennoiseries", "Brioche tressée", "", "550", "6,50", None, 2),
            (
                "patisseries",
                "Tarte aux pommes (6 parts)",
                "Pommes du verger de Limeil.",
                "550",
                "14,50",
                "12,00",
                6,
            ),
            ("patisseries", "Éclair au café", "", "550", "2,90", None, 20),
        ],
    },
    {
        "marketplace": "villeneuve",
        "slug": "librairie-du-parc",
        "name": "Librairie du Parc",
        "plan": "commission",
        "legal_name": "Librairie du Parc SAS",
        "legal_form": "SAS",
        "siret": "55208131766522",
        "vat": "",
        "rcs": "RCS Créteil 552 081 317",
        "address": ("21 avenue du Parc", "94290", "Villeneuve-le-Roi"),
        "city_phone": "01 45 97 56 78",
        "description": "Librairie indépendante : romans, jeunesse, BD. Conseils et commandes.",
        "payments": {"accepts_card": True},
        "return_policy": "Retour sous 14 jours, livre en parfait état ; frais de retour à la "
        "charge de l'acheteur.",
        "category_products": [
            (
                "romans",
                "Le Rouge et le Noir — Stendhal",
                "Édition de poche.",
                "550",
                "6,90",
                None,
                8,
                isbn("978207041122"),
            ),
            (
                "romans",
                "Madame Bovary — Flaubert",
                "Édition de poche.",
                "550",
                "5,50",
                None,
                5,
                isbn("978207041323"),
            ),
            (
                "romans",
                "Les Misérables, tome 1 — Victor Hugo",
                "",
                "550",
                "9,20",
                "7,90",
                3,
                isbn("978225301067"),
            ),
            (
                "jeunesse",
                "Le Petit Prince — Saint-Exupéry",
                "Avec les aquarelles de l'auteur.",
                "550",
                "8,70",
                None,
                15,
                isbn("978207061275"),
            ),
            (
                "jeunesse",
                "Contes de Perrault illustrés",
                "",
                "550",
                "14,90",
                None,
                4,
                isbn("978209256780"),
            ),
        ],
    },
    {
        "marketplace": "villeneuve",
        "slug": "atelier-lune",
        "name": "Atelier Lune",
        "plan": "artisan",
        "legal_name": "Léa Morel (Atelier Lune)",
        "legal_form": "MICRO",
        "siret": "40483304800022",
        "vat": "",
        "rcs": "",
        "address": ("3 rue des Artisans", "94290", "Villeneuve-le-Roi"),
        "city_phone": "06 11 22 33 44",
        "description": "Bijoux en argent recyclé, faits main à Villeneuve. Pièces uniques.",
        "payments": {"accepts_card": True},
        "return_policy": "Retour sous 14 jours ; l'atelier rembourse les frais de retour.",
        "return_paid_by": "shop",
        "category_products": [
            (
                "bijoux",
                "Boucles d'oreilles Croissant de lune",
                "Argent 925 recyclé.",
                "2000",
                "45,00",
                None,
                6,
            ),
            (
                "bijoux",
                "Collier Pleine lune",
                "Chaîne 45 cm, pendentif martelé.",
                "2000",
                "65,00",
                "55,00",
                3,
            ),
            (
                "bijoux",
                "Bague Pierre de lune",
                "Pierre de lune naturelle, taille ajustable.",
                "2000",
                "80,00",
                None,
                2,
            ),
            ("bijoux", "Bracelet jonc Marée", "", "2000", "58,00", None, 0),
        ],
    },
    {
        "marketplace": "sante-pro",
        "slug": "medi-fournitures",
        "name": "Médi Fournitures",
        "plan": "fournisseur",
        "legal_name": "Médi Fournitures SAS",
        "legal_form": "SAS",
        "siret": "44306184100047",
        "vat": "",
        "rcs": "RCS Lyon 443 061 841",
        "address": ("140 avenue Jean Jaurès", "69007", "Lyon"),
        "city_phone": "04 72 00 11 22",
        "description": "Fournitures sanitaires pour établissements de santé : protection, "
        "hygiène, petit matériel. Livraison sous 3 jours ouvrés.",
        "payments": {"accepts_card": False, "accepts_bank_transfer": True},
        "return_policy": "Produits d'hygiène : pas de retour une fois l'emballage ouvert.",
        "health_only": True,
        "category_products": [
            (
                "protection",
                "Masques FFP2 (boîte de 20)",
                "Norme EN 149:2001+A1:2009.",
                "550",
                "12,00",
                "9,90",
                500,
                "3401560218735",
            ),
            (
                "protection",
                "Gants nitrile non poudrés (boîte de 100)",
                "Taille M.",
                "2000",
                "8,40",
                None,
                800,
            ),
            ("protection", "Surblouses jetables (lot de 50)", "", "2000", "39,00", None, 60),
            (
                "hygiene",
                "Gel hydroalcoolique 500 ml",
                "Norme EN 14476.",
                "2000",
                "4,90",
                None,
                1200,
            ),
            ("hygiene", "Lingettes désinfectantes (200)", "", "2000", "11,50", None, 300),
            ("materiel", "Thermomètre frontal sans contact", "", "2000", "29,00", None, 40),
        ],
    },
]


def load_shops_demo() -> None:
    now = timezone.now()
    markets = {m.slug: m for m in Marketplace.objects.filter(slug__in=PLANS)}
    for slug, plans in PLANS.items():
        for position, (code, name, kind, fee, rate, fixed, text) in enumerate(plans):
            Plan.objects.get_or_create(
                marketplace=markets[slug],
                code=code,
                defaults=dict(
                    name=name,
                    kind=kind,
                    monthly_fee_cents=fee,
                    commission_rate=Decimal(rate),
                    commission_fixed_cents=fixed,
                    description=text,
                    position=position,
                ),
            )
    categories = {}
    for slug, rows in CATEGORIES.items():
        for position, (code, name, parent) in enumerate(rows):
            categories[(slug, code)] = Category.objects.get_or_create(
                marketplace=markets[slug],
                slug=code,
                defaults=dict(
                    name=name,
                    position=position,
                    parent=categories.get((slug, parent)) if parent else None,
                ),
            )[0]
    general = BusinessSector.objects.get_or_create(
        code="entreprise", defaults={"name": "Entreprise (hors santé)"}
    )[0]
    health = list(BusinessSector.objects.exclude(pk=general.pk))
    for seed, spec in enumerate(SHOPS):
        _shop(spec, markets[spec["marketplace"]], categories, health, now, seed)
    villeneuve = markets["villeneuve"]
    Coupon.objects.get_or_create(
        marketplace=villeneuve,
        code="BIENVENUE10",
        defaults=dict(
            kind="percent",
            percent=Decimal("10"),
            minimum_basket_cents=2000,
            max_uses_per_buyer=1,
            ends_at=now + timedelta(days=90),
        ),
    )
    Coupon.objects.get_or_create(
        marketplace=villeneuve,
        code="LIRE5",
        defaults=dict(
            shop=Shop.objects.get(marketplace=villeneuve, slug="librairie-du-parc"),
            kind="fixed",
            amount_cents=500,
            minimum_basket_cents=3000,
            max_uses=100,
            ends_at=now + timedelta(days=30),
        ),
    )


def _shop(spec, marketplace, categories, health, now, seed):
    shop = Shop.objects.filter(marketplace=marketplace, slug=spec["slug"]).first()
    if shop is not None:
        return shop
    line1, postcode, city = spec["address"]
    owner_email = f"seller@{spec['slug']}.test"
    owner = User.objects.filter(email=owner_email).first() or User.objects.create_user(
        email=owner_email,
        password=PASSWORD,
        first_name="Vendeur",
        last_name=spec["name"],
        account_type=AccountType.SELLER,
        language="fr",
        email_verified_at=now,
    )
    shop = Shop.objects.create(
        marketplace=marketplace,
        slug=spec["slug"],
        name=spec["name"],
        status=ShopStatus.ACTIVE,
        plan=Plan.objects.get(marketplace=marketplace, code=spec["plan"]),
        legal_name=spec["legal_name"],
        legal_form=spec["legal_form"],
        siret=spec["siret"],
        siren=spec["siret"][:9],
        vat_number=spec["vat"],
        rcs=spec["rcs"],
        share_capital_cents=1_000_000 if spec["legal_form"] in ("SARL", "SAS") else None,
        address_line1=line1,
        postcode=postcode,
        city=city,
        contact_name=f"{owner.first_name} {owner.last_name}",
        contact_email=owner_email,
        contact_phone=spec["city_phone"],
        public_phone=spec["city_phone"],
        public_email=f"contact@{spec['slug']}.test",
        activity=spec["description"],
        description=spec["description"],
        return_policy=spec["return_policy"],
        return_shipping_paid_by=spec.get("return_paid_by", "buyer"),
        iban="FR1420041010050500013M02606",
        bic="PSSTFRPPPAR",
        activated_at=now,
        **{"accepts_card": False, **spec["payments"]},
    )
    ShopStaff.objects.create(shop=shop, user=owner, role="owner")
    SellerApplication.objects.create(
        shop=shop, applicant=owner, status=ApplicationStatus.APPROVED, decided_at=now
    )
    Membership.objects.get_or_create(
        marketplace=marketplace,
        user=owner,
        role="seller",
        defaults={"status": MembershipStatus.APPROVED, "decided_at": now},
    )
    for kind in ("identity", "registration", "bank"):
        document = KycDocument(shop=shop, kind=kind, status=KycStatus.ACCEPTED, reviewed_at=now)
        document.file.save(
            f"{spec['slug']}-{kind}.jpg", picture(f"{kind} {spec['name']}", seed, 300), save=False
        )
        document.save()
    modes = _delivery_modes(shop, spec, now)
    for index, row in enumerate(spec["category_products"]):
        _offer(
            shop,
            categories,
            modes,
            health if spec.get("health_only") else None,
            now,
            seed * 100 + index,
            *row,
        )
    return shop


def _delivery_modes(shop, spec, now):
    if spec["slug"] == "boulangerie-martin":
        for weekday in range(1, 6):
            OpeningHours.objects.create(shop=shop, weekday=weekday, opens=time(7), closes=time(13))
            OpeningHours.objects.create(
                shop=shop, weekday=weekday, opens=time(15, 30), closes=time(19, 30)
            )
        OpeningHours.objects.create(shop=shop, weekday=6, opens=time(7, 30), closes=time(12, 30))
        start = timezone.localdate() + timedelta(days=60)
        Closure.objects.create(
            shop=shop, start_date=start, end_date=start + timedelta(days=6), reason="Congés annuels"
        )
        collect = DeliveryMode.objects.create(
            shop=shop,
            kind="click_collect",
            name="Retrait à la boutique",
            pickup_address="8 place du Marché, 94290 Villeneuve-le-Roi",
            uses_slots=True,
            lead_time_days=0,
        )
        tz = timezone.get_current_timezone()
        for day in range(1, 8):
            date = timezone.localdate() + timedelta(days=day)
            if date.weekday() == 0:
                continue
            for hour in (8, 10, 17):
                starts = timezone.datetime(date.year, date.month, date.day, hour, tzinfo=tz)
                PickupSlot.objects.create(
                    delivery_mode=collect,
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=1),
                    capacity=6,
                )
        return [collect]
    if spec["slug"] == "librairie-du-parc":
        return [
            DeliveryMode.objects.create(
                shop=shop,
                kind="home",
                name="Colissimo à domicile",
                carrier="Colissimo",
                fee_cents=490,
                free_above_cents=3500,
                lead_time_days=2,
            ),
            DeliveryMode.objects.create(
                shop=shop,
                kind="relay",
                name="Point relais",
                carrier="Mondial Relay",
                fee_cents=350,
                lead_time_days=3,
            ),
            DeliveryMode.objects.create(
                shop=shop,
                kind="click_collect",
                name="Retrait en librairie",
                pickup_address="21 avenue du Parc, 94290 Villeneuve-le-Roi",
                lead_time_days=1,
            ),
        ]
    if spec["slug"] == "atelier-lune":
        return [
            DeliveryMode.objects.create(
                shop=shop,
                kind="home",
                name="Colissimo suivi",
                carrier="Colissimo",
                fee_cents=590,
                free_above_cents=6000,
                lead_time_days=3,
            )
        ]
    return [
        DeliveryMode.objects.create(
            shop=shop,
            kind="home",
            name="Livraison DPD",
            carrier="DPD",
            fee_cents=1200,
            free_above_cents=30000,
            lead_time_days=3,
        )
    ]


def _offer(
    shop,
    categories,
    modes,
    sectors,
    now,
    seed,
    category,
    title,
    description,
    vat,
    price,
    discount,
    stock,
    gtin=None,
):
    from halles.core.money import parse_amount

    marketplace = shop.marketplace
    product = Product.objects.filter(marketplace=marketplace, gtin=gtin).first() if gtin else None
    if product is None:
        product = Product.objects.create(
            marketplace=marketplace,
            title=title,
            description=description,
            brand=shop.name if not gtin else "",
            gtin=gtin,
            category=categories[(marketplace.slug, category)],
            created_by_shop=shop,
        )
        data = picture(title, seed).read()
        image = ProductImage(product=product, alt=title)
        image.image.save(f"{shop.slug}-{seed}.jpg", ContentFile(data), save=False)
        image.thumbnail.save(f"{shop.slug}-{seed}-thumb.webp", make_thumbnail(data), save=False)
        image.save()
    offer = Offer.objects.create(
        marketplace=marketplace,
        shop=shop,
        product=product,
        sku=f"{shop.slug[:4].upper()}-{seed:04d}",
        price_cents=parse_amount(price),
        vat_rate=Decimal(vat) / 100,
        stock=stock,
        discount_price_cents=parse_amount(discount) if discount else None,
        discount_starts_at=now - timedelta(days=1) if discount else None,
        discount_ends_at=now + timedelta(days=14) if discount else None,
        low_stock_threshold=3,
    )
    offer.delivery_modes.set(modes)
    if sectors:
        offer.visible_to_sectors.set(sectors)
    return offer
