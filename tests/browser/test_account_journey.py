"""A newcomer signs up, confirms the address from the e-mail, logs in, changes the password
and switches the language, in a real Chromium."""

import re

import pytest
from django.core import mail

from halles.accounts.models import User

from ..factories import MarketplaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIRST_PASSWORD = "premier-mot-de-passe-2026"
NEW_PASSWORD = "second-mot-de-passe-2026"


def test_sign_up_confirm_log_in_change_password_switch_language(page, live_server):
    MarketplaceFactory(slug="villeneuve", name="Marché de Villeneuve", is_default=True)

    # Sign up, in French (the marketplace's language).
    page.goto("/m/villeneuve/signup/")
    assert page.locator("html").get_attribute("lang") == "fr"
    page.get_by_label("un acheteur").check()
    page.get_by_label("Prénom").fill("Inès")
    page.get_by_label("Nom", exact=True).fill("Moreau")
    page.get_by_label("Adresse e-mail").fill("ines@example.test")
    page.get_by_label("Mot de passe", exact=True).fill("court")
    page.get_by_label("Confirmez le mot de passe").fill("court")
    page.locator("#id_accept_terms").check()
    page.get_by_role("button", name="Créer mon compte").click()
    # A weak password is refused with the field's error; nothing is created.
    assert page.locator("#id_password1_errors").is_visible()
    assert not User.objects.filter(email="ines@example.test").exists()

    page.get_by_label("Mot de passe", exact=True).fill(FIRST_PASSWORD)
    page.get_by_label("Confirmez le mot de passe").fill(FIRST_PASSWORD)
    page.get_by_role("button", name="Créer mon compte").click()
    page.wait_for_url("**/signup/done/")

    # Follow the confirmation link from the e-mail that was sent.
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/verify/\S+", mail.outbox[0].body).group(0)
    assert link.startswith(live_server.url + "/m/villeneuve/")
    page.goto(link)
    page.wait_for_url("**/login/")
    assert page.get_by_role("status").is_visible()

    # Log in.
    page.get_by_label("Adresse e-mail").fill("ines@example.test")
    page.get_by_label("Mot de passe").fill(FIRST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/account/")
    assert page.get_by_test_id("account-link").inner_text() == "Inès"

    # Change the password.
    page.get_by_role("link", name="Mot de passe").click()
    page.get_by_label("Ancien mot de passe").fill(FIRST_PASSWORD)
    page.get_by_label("Nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirmation du nouveau mot de passe").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Modifier mon mot de passe").click()
    page.wait_for_url("**/account/")
    assert User.objects.get(email="ines@example.test").check_password(NEW_PASSWORD)

    # Switch to English: the same page now speaks English, and the account remembers it.
    page.get_by_test_id("language-en").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="My account").is_visible()
    assert User.objects.get(email="ines@example.test").language == "en"
