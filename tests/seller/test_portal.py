import pytest

from halles.catalog.models import Category, Offer, Product

from ..factories import UserFactory, make_offer, make_shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop_and_owner(marketplace):
    return make_shop(marketplace)


def test_the_portal_is_for_the_shops_staff_only(client, marketplace, shop_and_owner):
    shop, owner = shop_and_owner
    assert client.get(f"/seller/{shop.slug}/")["Location"].startswith("/login/")
    client.force_login(UserFactory())
    assert client.get(f"/seller/{shop.slug}/").status_code == 404
    assert client.get(f"/seller/{shop.slug}/offers/").status_code == 404
    client.force_login(owner)
    assert client.get("/seller/")["Location"] == f"/seller/{shop.slug}/"
    page = client.get(f"/seller/{shop.slug}/")
    assert page.status_code == 200 and page.context["counts"]["total"] == 0


def test_dashboard_counts_and_low_stock(client, marketplace, shop_and_owner):
    shop, owner = shop_and_owner
    make_offer(shop, sku="A", stock=0)
    make_offer(shop, sku="B", stock=50)
    make_offer(shop, sku="C", stock=2, is_active=False)
    client.force_login(owner)
    context = client.get(f"/seller/{shop.slug}/").context
    assert context["counts"] == {"total": 3, "active": 2, "inactive": 1, "out_of_stock": 1}
    assert [o.sku for o in context["low_stock"]] == ["A"]


def test_inline_edit_saves_or_explains(client, marketplace, shop_and_owner):
    shop, owner = shop_and_owner
    offer = make_offer(shop, sku="A", stock=1)
    client.force_login(owner)
    url = f"/seller/{shop.slug}/offers/{offer.pk}/quick/"
    ok = client.post(url, {"price": "12,90", "stock": "4"}, HTTP_HX_REQUEST="true")
    assert ok.status_code == 200 and b"offer-%d" % offer.pk in ok.content
    offer.refresh_from_db()
    assert (offer.price_cents, offer.stock) == (1290, 4)
    bad = client.post(url, {"price": "douze", "stock": "-2"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 422 and b'role="alert"' in bad.content
    offer.refresh_from_db()
    assert (offer.price_cents, offer.stock) == (1290, 4)


def test_another_shops_offer_cannot_be_edited_through_my_portal(
    client, marketplace, shop_and_owner
):
    shop, owner = shop_and_owner
    other, _ = make_shop(marketplace, slug="autre")
    theirs = make_offer(other, sku="T")
    client.force_login(owner)
    response = client.post(
        f"/seller/{shop.slug}/offers/{theirs.pk}/quick/", {"price": "1", "stock": "0"}
    )
    assert response.status_code == 404
    assert client.get(f"/seller/{shop.slug}/offers/{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.price_cents == 1000


def test_create_a_product_and_its_offer(client, marketplace, shop_and_owner, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    shop, owner = shop_and_owner
    category = Category.objects.create(marketplace=marketplace, name="Pains", slug="pains")
    client.force_login(owner)
    data = {
        "product-title": "Pain de campagne",
        "product-brand": "",
        "product-gtin": "",
        "product-category": category.pk,
        "product-description": "Au levain.",
        "offer-sku": "PAIN-1",
        "offer-price": "4,20",
        "offer-vat": "5,5",
        "offer-stock": "12",
        "offer-is_active": "on",
        "offer-min_quantity": "1",
        "offer-low_stock_threshold": "3",
    }
    response = client.post(f"/seller/{shop.slug}/offers/new/", data)
    assert response.status_code == 302, response.context["offer_form"].errors
    offer = Offer.objects.get(shop=shop, sku="PAIN-1")
    assert (offer.price_cents, str(offer.vat_rate), offer.product.title) == (
        420,
        "5.50",
        "Pain de campagne",
    )
    assert offer.product.created_by_shop == shop

    # The same SKU twice is refused on the field, nothing is created.
    again = client.post(f"/seller/{shop.slug}/offers/new/", {**data, "product-title": "Autre"})
    assert again.status_code == 200
    assert again.context["offer_form"].errors["sku"]
    assert Product.objects.filter(title="Autre").count() == 0
