import pytest
from django.urls import reverse

from halles.accounts.models import User
from halles.marketplaces.models import MarketplaceStatus, RegistrationMode

from ..conftest import links_in
from ..factories import PASSWORD, MarketplaceFactory, OperatorFactory, SectorFactory, UserFactory

pytestmark = pytest.mark.django_db


def signup_data(**overrides):
    data = {
        "account_type": "buyer",
        "first_name": "Léa",
        "last_name": "Roux",
        "email": "lea@example.test",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "accept_terms": "on",
    }
    data.update(overrides)
    return data


def test_each_marketplace_has_its_home_and_the_default_one_is_at_the_root(client, marketplace):
    other = MarketplaceFactory(slug="sante-pro", name="Santé Pro")
    root = client.get("/")
    assert root.status_code == 200 and "Marché de Villeneuve" in root.content.decode()
    page = client.get("/m/sante-pro/").content.decode()
    assert "<h1>Santé Pro</h1>" in page
    # Links inside a marketplace stay inside it.
    assert 'href="/m/sante-pro/signup/"' in page
    assert other.name in root.content.decode()  # listed among the other marketplaces


def test_an_unknown_marketplace_is_a_404_page(client, marketplace):
    client.cookies["django_language"] = "en"
    response = client.get("/m/nowhere/")
    assert response.status_code == 404
    assert "This page or this marketplace does not exist." in response.content.decode()
    assert client.get("/m/nowhere/signup/").status_code == 404


def test_a_draft_marketplace_is_hidden_except_from_its_operators(client, marketplace):
    draft = MarketplaceFactory(slug="draft", status=MarketplaceStatus.DRAFT)
    assert client.get("/m/draft/").status_code == 404
    client.force_login(OperatorFactory(marketplaces=[draft]))
    assert client.get("/m/draft/").status_code == 200


def test_sign_up_then_confirm_then_log_in(client, marketplace, run_on_commit, outbox):
    with run_on_commit():
        response = client.post("/signup/", signup_data())
    assert response.status_code == 302 and response["Location"] == "/signup/done/"

    # Not confirmed yet: the login is refused with a precise message.
    response = client.post("/login/", {"username": "lea@example.test", "password": PASSWORD})
    assert response.status_code == 200
    assert "unverified" in [e.code for e in response.context["form"].non_field_errors().as_data()]

    link = links_in(outbox[0])[0]
    path = link.replace("http://127.0.0.1:8000", "")
    assert client.get(path).status_code == 302
    again = client.get(path)
    assert again.status_code == 400  # a used link is refused clearly

    response = client.post("/login/", {"username": "LEA@example.test", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/account/").status_code == 200


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"password1": "123", "password2": "123"}, "password1"),
        ({"password2": "something else"}, "password2"),
        ({"first_name": ""}, "first_name"),
        ({"accept_terms": ""}, "accept_terms"),
    ],
)
def test_invalid_sign_ups_show_field_errors_and_create_nothing(
    client, marketplace, overrides, field
):
    response = client.post("/signup/", signup_data(**overrides))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert 'class="errorlist"' in response.content.decode()
    assert not User.objects.filter(email="lea@example.test").exists()


def test_a_duplicate_email_is_refused_with_a_clear_message(client, marketplace):
    UserFactory(email="lea@example.test")
    response = client.post("/signup/", signup_data(email="Lea@Example.test"))
    assert response.status_code == 200
    assert (
        response.context["form"]
        .errors["email"][0]
        .startswith(("An account already exists", "Un compte existe déjà"))
    )


def test_b2b_sign_up_asks_for_the_organisation_and_checks_the_siret(client, db):
    MarketplaceFactory(
        slug="sante-pro", registration_mode=RegistrationMode.APPROVAL, buyers_are_organisations=True
    )
    sector = SectorFactory()
    data = signup_data(
        organisation_name="Clinique", sector=sector.pk, organisation_siret="12345678901234"
    )
    response = client.post("/m/sante-pro/signup/", data)
    assert "organisation_siret" in response.context["form"].errors

    data["organisation_siret"] = "732 829 320 00074"
    response = client.post("/m/sante-pro/signup/", data)
    assert response.status_code == 302
    user = User.objects.get(email="lea@example.test")
    assert user.organisation.siret == "73282932000074"
    assert user.memberships.get().status == "pending"


def test_password_reset_by_email(client, marketplace, run_on_commit, outbox):
    UserFactory(email="bob@example.test")
    with run_on_commit():
        response = client.post("/password/reset/", {"email": "bob@example.test"})
    assert response["Location"] == "/password/reset/sent/"
    path = links_in(outbox[0])[0].replace("http://127.0.0.1:8000/m/villeneuve", "")
    form_page = client.get(path, follow=True)
    assert form_page.context["validlink"]
    new = "an0ther-long-passphrase"
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    assert User.objects.get(email="bob@example.test").check_password(new)
    # The link cannot be used twice.
    assert client.get(path, follow=True).context["validlink"] is False


def test_account_pages_require_login_and_show_only_ones_own_addresses(client, marketplace):
    assert client.get("/account/addresses/")["Location"].startswith("/login/")
    owner, other = UserFactory(), UserFactory()
    client.force_login(owner)
    response = client.post(
        "/account/addresses/new/",
        {"full_name": "A B", "line1": "1 rue", "postcode": "750", "city": "Paris", "country": "fr"},
    )
    assert response.context["form"].errors["postcode"]
    response = client.post(
        "/account/addresses/new/",
        {
            "full_name": "A B",
            "line1": "1 rue",
            "postcode": "75 001",
            "city": "Paris",
            "country": "fr",
        },
    )
    assert response.status_code == 302
    theirs = other.addresses.create(full_name="X", line1="y", postcode="75002", city="Paris")
    assert client.get(f"/account/addresses/{theirs.pk}/").status_code == 404
    assert client.post(f"/account/addresses/{theirs.pk}/delete/").status_code == 302
    assert other.addresses.filter(pk=theirs.pk).exists()


def test_the_profile_is_saved_and_its_language_becomes_the_sites(client, marketplace):
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        "/account/",
        {"first_name": "Jo", "last_name": "Doe", "phone": "0102030405", "language": "en"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.first_name, user.language) == ("Jo", "en")
    assert client.get("/account/")["Content-Language"] == "en"


def test_the_language_switch_sets_the_language_and_stays_on_the_page(client, marketplace):
    assert client.get("/m/villeneuve/login/")["Content-Language"] == "fr"  # marketplace default
    response = client.post(
        "/m/villeneuve/language/", {"language": "en", "next": "/m/villeneuve/login/"}
    )
    assert response["Location"] == "/m/villeneuve/login/"
    assert client.get("/m/villeneuve/login/")["Content-Language"] == "en"
    evil = client.post("/language/", {"language": "fr", "next": "https://evil.example/"})
    assert evil["Location"] == "/"


def test_deleting_the_account_needs_the_password_and_logs_out(client, marketplace):
    user = UserFactory()
    client.force_login(user)
    response = client.post("/account/delete/", {"password": "wrong", "confirm": "on"})
    assert response.context["form"].errors["password"]
    response = client.post("/account/delete/", {"password": PASSWORD, "confirm": "on"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.is_active
    assert client.get("/account/").status_code == 302


def test_a_logged_in_visitor_can_ask_to_buy_on_another_marketplace(client, marketplace):
    b2b = MarketplaceFactory(slug="sante-pro", registration_mode=RegistrationMode.APPROVAL)
    user = UserFactory()
    client.force_login(user)
    client.post("/m/sante-pro/join/", {"role": "buyer"})
    assert user.memberships.get(marketplace=b2b).status == "pending"
    assert client.post("/m/sante-pro/join/", {"role": "admin"}).status_code == 302
    assert user.memberships.count() == 1


def test_reverse_outside_a_request_is_unprefixed(marketplace, client):
    client.get("/m/villeneuve/")
    assert reverse("storefront:home") == "/"


def test_a_draft_default_marketplace_is_not_served_at_the_root(client, db):
    MarketplaceFactory(slug="draft", status=MarketplaceStatus.DRAFT, is_default=True)
    public = MarketplaceFactory(slug="public", name="Public Market")
    response = client.get("/")
    assert response.status_code == 200
    assert response.context["marketplace"] == public


def test_the_home_page_says_when_the_opening_threshold_is_not_reached(client, marketplace):
    from ..factories import ShopFactory

    marketplace.opening_threshold = 2
    marketplace.save()
    ShopFactory(marketplace=marketplace, status="active")
    page = client.get("/")
    assert page.context["selling_shops"] == 1
    assert 'data-testid="opening-threshold"' in page.content.decode()
    ShopFactory(marketplace=marketplace, status="active")
    assert 'data-testid="opening-threshold"' not in client.get("/").content.decode()
