"""A seller applies, an operator approves, the seller imports a CSV with some bad rows,
downloads the error report, and the good offers appear in the storefront search; in a real
Chromium, through the pages only (the ORM sets the scene and checks what the pages said)."""

import csv
import io
import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import expect
from stdnum import bic, iban, luhn
from stdnum.fr import siret, tva

from halles.accounts.models import AccountType
from halles.catalog.models import Category, Offer
from halles.marketplaces.models import Membership, MembershipRole, MembershipStatus
from halles.shops.models import (
    ApplicationStatus,
    KycDocument,
    Plan,
    PlanKind,
    SellerApplication,
)

from ..factories import (
    PASSWORD,
    MarketplaceFactory,
    MembershipFactory,
    OperatorFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOP_NAME = "Les Délices de Léa"
SHOP_SLUG = "delices-de-lea"


def company_numbers(siren_body: str = "88262143", nic_body: str = "0001"):
    """A SIREN, its SIRET and its French VAT number, with their check digits computed."""
    siren = siren_body + luhn.calc_check_digit(siren_body)
    number = siren + nic_body
    number += luhn.calc_check_digit(number)
    vat_number = f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"
    return siren, number, vat_number


SIREN, SIRET, VAT_NUMBER = company_numbers()
IBAN = "FR7630006000011234567890189"
BIC = "AGRIFRPP"
# KYC files are recognised by their first bytes.
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32

# Mirakl's offer columns plus the product columns of the shop's own products. Header = line
# 1; lines 3 (negative quantity) and 5 (unreadable price) are wrong.
OFFERS_CSV = (
    "sku;product-id;product-id-type;product-title;product-brand;product-category;"
    "price;quantity;state\n"
    "CONF-ABR-250;;SHOP_SKU;Confiture d'abricot de Provence;Délices de Léa;epicerie-fine;"
    "6,50;40;11\n"
    "HUILE-OLIVE-1L;;SHOP_SKU;Huile d'olive de Provence;Délices de Léa;epicerie-fine;"
    "18,00;-3;11\n"
    "MIEL-LAV-500;;SHOP_SKU;Miel de lavande de Provence;Délices de Léa;epicerie-fine;"
    "12.90;15;11\n"
    "NOUGAT-200;;SHOP_SKU;Nougat blanc de Provence;Délices de Léa;epicerie-fine;"
    "douze euros;30;11\n"
    "TAPENADE-180;;SHOP_SKU;Tapenade noire de Provence;Délices de Léa;epicerie-fine;"
    "7,20;25;11\n"
)
GOOD_TITLES = {
    "Confiture d'abricot de Provence",
    "Miel de lavande de Provence",
    "Tapenade noire de Provence",
}


@contextmanager
def another_browser_page(browser, live_server):
    """A second person at another computer: their own cookies."""
    context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
    finally:
        context.close()


def log_in(page, email):
    """The storefront's and the back-office's login forms have the same labels."""
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


def test_seller_applies_is_approved_imports_offers_and_buyers_find_them(
    page, browser, live_server, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"  # KYC documents and import files
    assert siret.is_valid(SIRET) and tva.is_valid(VAT_NUMBER) and tva.to_siren(VAT_NUMBER) == SIREN
    assert iban.is_valid(IBAN) and bic.is_valid(BIC)
    marketplace = MarketplaceFactory(
        slug="villeneuve", name="Marché de Villeneuve", is_default=True
    )
    Plan.objects.create(
        marketplace=marketplace,
        code="commission",
        name="Commission",
        kind=PlanKind.COMMISSION,
        commission_rate=12,
    )
    Category.objects.create(marketplace=marketplace, name="Épicerie fine", slug="epicerie-fine")
    # A seller who signed up and confirmed the address: the sign-up asked for seller access.
    seller = UserFactory(
        email="lea@example.test",
        first_name="Léa",
        last_name="Garnier",
        account_type=AccountType.SELLER,
    )
    MembershipFactory(
        marketplace=marketplace,
        user=seller,
        role=MembershipRole.SELLER,
        status=MembershipStatus.PENDING,
    )
    OperatorFactory(email="operator@example.test", marketplaces=[marketplace])

    # 1. The seller logs in and applies, with the company's numbers and the KYC documents.
    page.goto("/seller/apply/")
    page.wait_for_url(re.compile(r"/login/\?next="))
    log_in(page, seller.email)
    page.wait_for_url("**/seller/apply/")
    expect(page.get_by_role("heading", name="Ouvrir une boutique")).to_be_visible()
    page.get_by_label("Nom de la boutique").fill(SHOP_NAME)
    page.get_by_label("Adresse web de la boutique").fill(SHOP_SLUG)
    page.get_by_label("Commission", exact=True).check()
    page.get_by_label("Que vendez-vous ?").fill("Confitures, miels et tapenades de Provence.")
    page.get_by_label("Raison sociale").fill("Les Délices de Léa SARL")
    page.get_by_label("Forme juridique").select_option("SARL")
    page.get_by_label("Capital social (€)").fill("5000")
    page.get_by_label("SIRET").fill(SIRET)
    page.get_by_label("Numéro de TVA intracommunautaire").fill(VAT_NUMBER)
    page.get_by_label("Immatriculation RCS").fill(f"RCS Avignon {SIREN}")
    page.get_by_label("Adresse du siège").fill("12 rue des Teinturiers")
    page.get_by_label("Code postal").fill("84000")
    page.get_by_label("Ville").fill("Avignon")
    page.get_by_label("Personne à contacter").fill("Léa Garnier")
    page.get_by_label("E-mail de contact").fill("contact@delices-de-lea.test")
    page.get_by_label("Téléphone de contact").fill("04 90 00 00 00")
    page.get_by_label("IBAN").fill(IBAN)
    page.get_by_label("BIC").fill(BIC)
    page.get_by_label("Pièce d'identité du représentant légal").set_input_files(
        {"name": "identite.png", "mimeType": "image/png", "buffer": PNG}
    )
    page.get_by_label("Extrait Kbis").set_input_files(
        {"name": "kbis.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_label("Relevé d'identité bancaire (RIB)").set_input_files(
        {"name": "rib.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_role("button", name="Envoyer ma candidature").click()

    # The seller lands on the pending shop's dashboard.
    page.wait_for_url(f"**/seller/{SHOP_SLUG}/")
    expect(page.get_by_role("status")).to_contain_text("Votre candidature a été envoyée")
    expect(page.get_by_role("heading", level=1)).to_contain_text("En attente de validation")
    application_card = page.locator("section").filter(
        has=page.get_by_role("heading", name="Votre candidature")
    )
    expect(application_card).to_contain_text("En attente de vérification")
    documents = (
        page.locator("section")
        .filter(has=page.get_by_role("heading", name="Justificatifs d'identité et bancaires"))
        .get_by_role("listitem")
    )
    expect(documents).to_have_count(3)
    for kind in ("Pièce d'identité", "Extrait Kbis", "Relevé d'identité bancaire"):
        expect(documents.filter(has_text=kind)).to_contain_text("En attente de vérification")
    application = SellerApplication.objects.get(shop__slug=SHOP_SLUG)
    assert application.status == ApplicationStatus.PENDING
    assert (application.shop.siret, application.shop.vat_number) == (SIRET, VAT_NUMBER)
    assert sorted(KycDocument.objects.values_list("kind", flat=True)) == [
        "bank",
        "identity",
        "registration",
    ]
    # The seller is told the application arrived; the operator's contact address is told too.
    assert sorted(message.to[0] for message in mail.outbox) == [
        "contact@villeneuve.test",
        "lea@example.test",
    ]
    mail.outbox.clear()

    # 2. The operator opens the review queue from the back-office home and approves.
    with another_browser_page(browser, live_server) as back_office:
        back_office.goto("/admin/")
        back_office.wait_for_url(re.compile(r"/admin/login/\?next="))
        log_in(back_office, "operator@example.test")
        back_office.get_by_role("link", name="1 candidature vendeur à examiner").click()
        back_office.wait_for_url(
            re.compile(r"/admin/shops/sellerapplication/\?status__exact=pending$")
        )
        row = back_office.get_by_role("row").filter(has_text=SHOP_NAME)
        expect(row).to_contain_text(SIRET)
        expect(row).to_contain_text("lea@example.test")
        row.get_by_role("checkbox").check()
        back_office.locator("select[name=action]").select_option(
            label="Valider les candidatures sélectionnées"
        )
        back_office.get_by_role("button", name="Envoyer").click()
        expect(back_office.locator(".messagelist")).to_contain_text(
            "1 candidature validée ; le candidat en est informé par e-mail."
        )
        expect(back_office.get_by_role("row").filter(has_text=SHOP_NAME)).to_have_count(0)
        # Approving the shop also granted the seller access: nothing is left to approve.
        back_office.goto("/admin/")
        expect(back_office.locator("#operator-tasks")).to_contain_text(
            "Aucune demande de compte en attente."
        )
        expect(back_office.locator("#operator-tasks")).to_contain_text(
            "0 candidature vendeur à examiner"
        )
    assert Membership.objects.get(user=seller, role=MembershipRole.SELLER).status == (
        MembershipStatus.APPROVED
    )

    # The seller gets the decision by e-mail and follows its link to the portal.
    assert len(mail.outbox) == 1
    decision = mail.outbox[0]
    assert decision.to == ["lea@example.test"]
    assert decision.subject == f"[Marché de Villeneuve] Votre boutique {SHOP_NAME} a été validée"
    link = re.search(r"https?://\S+/seller/", decision.body).group(0)
    assert link == f"{live_server.url}/m/villeneuve/seller/"
    page.goto(link)
    page.wait_for_url(f"**/m/villeneuve/seller/{SHOP_SLUG}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Active")

    # 3. The seller imports the offer file: 3 good rows, 2 bad ones.
    page.get_by_role("link", name="Import", exact=True).click()
    page.wait_for_url(f"**/seller/{SHOP_SLUG}/imports/")
    expect(page.get_by_label("Normal : création et mise à jour des offres")).to_be_checked()
    page.get_by_label("Fichier d'offres (CSV ou XLSX)").set_input_files(
        {"name": "offres.csv", "mimeType": "text/csv", "buffer": OFFERS_CSV.encode()}
    )
    page.get_by_role("button", name="Import", exact=True).click()
    page.wait_for_url(re.compile(rf"/seller/{SHOP_SLUG}/imports/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Import de offres.csv")
    expect(page.get_by_test_id("import-status")).to_have_text("Terminé")
    expect(page.get_by_test_id("import-counts")).to_contain_text(
        "5 lignes lues sur 5 : 3 intégrées, 2 en erreur."
    )
    errors_table = page.locator("#import-progress table tbody tr")
    expect(errors_table).to_have_count(2)
    expect(errors_table.nth(0)).to_contain_text("HUILE-OLIVE-1L")
    expect(errors_table.nth(1)).to_contain_text("NOUGAT-200")

    # The error report names each bad row, its line and the column at fault.
    with page.expect_download() as download_info:
        page.get_by_test_id("error-report").click()
    download = download_info.value
    assert re.fullmatch(r"import-\d+-errors\.csv", download.suggested_filename)
    report = Path(download.path()).read_bytes()
    assert report.startswith("\ufeff".encode())  # Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(report.decode("utf-8-sig")), delimiter=";"))
    assert rows == [
        ["line", "sku", "column", "message"],
        ["3", "HUILE-OLIVE-1L", "quantity", "Ne peut pas être négatif."],
        [
            "5",
            "NOUGAT-200",
            "price",
            "Prix non valide : saisissez un nombre, par exemple 12,50.",
        ],
    ]
    assert set(Offer.objects.values_list("sku", flat=True)) == {
        "CONF-ABR-250",
        "MIEL-LAV-500",
        "TAPENADE-180",
    }

    # 4. A visitor searches the storefront: the good offers are there, the bad ones are not.
    with another_browser_page(browser, live_server) as visitor:
        visitor.goto("/")
        visitor.get_by_label("Rechercher sur la marketplace").fill("provence")
        visitor.get_by_role("button", name="Rechercher").click()
        visitor.wait_for_url(re.compile(r"/search/\?q=provence$"))
        expect(visitor.get_by_test_id("result-count")).to_have_text("3 offres")
        cards = visitor.get_by_test_id("offer-card")
        expect(cards).to_have_count(3)
        titles = cards.get_by_role("heading")
        assert set(titles.all_inner_texts()) == GOOD_TITLES
        confiture = cards.filter(has_text="Confiture d'abricot de Provence")
        expect(confiture).to_contain_text("6,50")
        expect(confiture).to_contain_text(SHOP_NAME)
        expect(cards.filter(has_text="Huile d'olive")).to_have_count(0)
        expect(cards.filter(has_text="Nougat")).to_have_count(0)

        visitor.get_by_label("Rechercher sur la marketplace").fill("nougat")
        visitor.get_by_role("button", name="Rechercher").click()
        visitor.wait_for_url(re.compile(r"/search/\?q=nougat$"))
        expect(visitor.get_by_test_id("result-count")).to_have_text("0 offre")
        expect(visitor.get_by_test_id("offer-card")).to_have_count(0)
