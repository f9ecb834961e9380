import pytest

from halles.shops.models import KycKind

from ..factories import PlanFactory, UserFactory, pdf_upload, png_upload


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploaded KYC files go to a temporary directory."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def plan(marketplace):
    return PlanFactory(marketplace=marketplace, code="pro", name="PRO")


@pytest.fixture
def applicant(db):
    return UserFactory(email="epicerie@example.test", first_name="Jeanne", language="en")


@pytest.fixture
def application_data(marketplace, plan, applicant):
    """What the seller sign-up form sends, valid."""

    def make(**overrides):
        data = {
            "user": applicant,
            "marketplace": marketplace,
            "plan": plan,
            "shop_name": "L'Épicerie du Coin",
            "slug": "epicerie-du-coin",
            "legal_name": "Épicerie du Coin SARL",
            "legal_form": "SARL",
            "share_capital_cents": 1_000_000,
            "siret": "732 829 320 00074",
            "vat_number": "FR 44 732829320",
            "rcs": "RCS Lyon 732 829 320",
            "address_line1": "1 place du Marché",
            "address_line2": "",
            "postcode": "69000",
            "city": "Lyon",
            "country": "fr",
            "contact_name": "Jeanne Martin",
            "contact_email": "Contact@Epicerie.test",
            "contact_phone": "04 72 00 00 00",
            "activity": "Épicerie fine et produits locaux",
            "iban": "FR14 2004 1010 0505 0001 3M02 606",
            "bic": "bnpafrpp",
            "documents": {
                KycKind.IDENTITY: png_upload(),
                KycKind.REGISTRATION: pdf_upload(),
                KycKind.BANK: pdf_upload("rib.pdf"),
            },
        }
        data.update(overrides)
        return data

    return make
