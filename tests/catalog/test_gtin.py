"""GTINs have one key: the UPC-A, EAN-13 and GTIN-14 forms of a code, and the number Excel
leaves of it (leading zeros lost), are the same product."""

import importlib
import io

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from stdnum import ean

from halles.catalog import services
from halles.catalog.imports import columns, offer_import_create, offer_import_run
from halles.catalog.models import Category, ImportMode, ImportStatus, Offer, Product
from halles.catalog.validation import FieldError, canonical_gtin, clean_gtin
from halles.core.errors import DomainError
from halles.seller.forms import ProductForm

from ..factories import MarketplaceFactory, ProductFactory, make_shop

pytestmark = pytest.mark.django_db

UPC = "036000291452"  # a UPC-A
CANONICAL = "0036000291452"  # its EAN-13 form, the key Halles stores


def gtin(body: str) -> str:
    """`body` followed by its GS1 check digit."""
    return body + ean.calc_check_digit(body)


# --- The canonical form ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (UPC, CANONICAL),  # UPC-A
        (CANONICAL, CANONICAL),  # EAN-13
        ("00036000291452", CANONICAL),  # GTIN-14 of a product without packaging level
        ("36000291452", CANONICAL),  # the number Excel makes of it: 11 digits
        ("10036000291459", "10036000291459"),  # GTIN-14 of a case: kept whole
        ("12345670", "0000012345670"),  # EAN-8
        ("012345670", "0000012345670"),  # the EAN-8 with one zero of its 14-digit form
        (gtin("000001234567")[3:], gtin("000001234567")),  # 10 digits
        (gtin("000012345678")[4:], gtin("000012345678")),  # 9 digits
        ("4006381333931", "4006381333931"),  # an ordinary EAN-13
        (" 0 3600-0291452 ", CANONICAL),  # spaces and dashes go
        ("", None),
    ],
)
def test_every_form_of_a_gtin_gives_one_key(given, stored):
    assert clean_gtin(given) == stored
    assert columns.fast_gtin(given.strip()) == stored


@pytest.mark.parametrize(
    "bad",
    [
        "1234565",  # 7 digits (a valid check digit, but too short)
        "123456789012349",  # 15 digits
        "0036000291453",  # wrong check digit
        "36000291453",  # wrong check digit, leading zeros lost
        "4006381333abc",
        "３６０００２９１４５２",  # full-width digits
        "3,60003E+10",  # what Excel writes in a narrow column: digits lost
        "3.6E10",
    ],
)
def test_what_is_not_a_gtin_is_refused(bad):
    for clean in (clean_gtin, columns.fast_gtin):
        with pytest.raises(FieldError) as refused:
            clean(bad)
        assert refused.value.message


def test_a_number_in_scientific_notation_gets_its_own_explanation():
    with pytest.raises(FieldError) as scientific:
        clean_gtin("3,60003E+10")
    with pytest.raises(FieldError) as too_short:
        clean_gtin("1234565")
    assert scientific.value.message != too_short.value.message
    assert "3,60003E+10" in scientific.value.message


def test_the_canonical_form_is_the_14_digit_form_without_a_leading_zero():
    for code in (UPC, CANONICAL, "12345670", "10036000291459", "36000291452"):
        padded = code.zfill(14)
        assert canonical_gtin(code) == (padded[1:] if padded[0] == "0" else padded)


# --- The offer import ------------------------------------------------------------------------


@pytest.fixture
def shop(marketplace):
    return make_shop(marketplace, slug="epicerie")[0]


@pytest.fixture
def cola(marketplace):
    return ProductFactory(marketplace=marketplace, gtin=CANONICAL, title="Cola")


def run_import(shop, data, name="offers.csv"):
    data = data.encode() if isinstance(data, str) else data
    offer_import = offer_import_create(
        shop=shop, uploaded_file=ContentFile(data, name=name), mode=ImportMode.NORMAL
    )
    return offer_import_run(offer_import=offer_import)


def test_a_csv_reaches_one_product_through_every_form_of_its_gtin(shop, cola):
    result = run_import(
        shop,
        "sku;product-id;product-id-type;price;quantity\n"
        "A;36000291452;;2;1\n"  # re-saved by Excel: leading zeros lost, no type
        f"B;{UPC};UPC;2;1\n"
        "C;00036000291452;GTIN;2;1\n"
        f"D;{CANONICAL};EAN;2;1\n",
    )

    assert (result.status, result.error_rows) == (ImportStatus.DONE, 0), result.errors
    assert {o.sku: o.product_id for o in Offer.objects.filter(shop=shop)} == dict.fromkeys(
        "ABCD", cola.pk
    )


def test_an_xlsx_number_cell_without_its_leading_zeros_is_the_gtin(shop, cola):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["sku", "product-id", "product-id-type", "price", "quantity"])
    sheet.append(["INT", 36000291452, "EAN", 2, 1])  # what Excel stores for 0036000291452
    sheet.append(["FLOAT", 36000291452.0, "UPC", 2, 1])
    sheet.append(["WRONG", 36000291453, "EAN", 2, 1])
    buffer = io.BytesIO()
    workbook.save(buffer)

    result = run_import(shop, buffer.getvalue(), name="offres.xlsx")

    assert result.error_rows == 1
    assert (4, "product-id") in [(e["line"], e["column"]) for e in result.errors]
    assert Offer.objects.get(shop=shop, sku="INT").product == cola
    assert Offer.objects.get(shop=shop, sku="FLOAT").product == cola


def test_a_product_created_by_the_import_is_stored_under_its_canonical_gtin(shop, marketplace):
    result = run_import(
        shop,
        "sku;product-id;product-id-type;product-title;price;quantity\n"
        f"A;{UPC};UPC;Cola;2;1\n"
        "B;36000291452;EAN;;3;1\n",
    )

    assert result.error_rows == 0, result.errors
    product = Product.objects.get(marketplace=marketplace)
    assert product.gtin == CANONICAL
    assert {o.product_id for o in Offer.objects.filter(shop=shop)} == {product.pk}


def test_a_product_created_in_one_import_is_found_by_another_form_in_the_next(shop, marketplace):
    run_import(shop, f"sku;product-id;product-title;price;quantity\nA;{UPC};Cola;2;1\n")

    result = run_import(shop, "sku;product-id;price;quantity\nB;00036000291452;3;1\n")

    assert result.error_rows == 0, result.errors
    assert Product.objects.filter(marketplace=marketplace).count() == 1


# --- Products made by hand -------------------------------------------------------------------


def test_the_product_form_stores_the_canonical_gtin(marketplace):
    form = ProductForm(
        data={"title": "Cola", "brand": "", "gtin": UPC, "description": ""},
        categories=Category.objects.none(),
    )

    assert form.is_valid(), form.errors
    assert form.cleaned_data["gtin"] == CANONICAL
    assert form.instance.gtin == CANONICAL


def test_the_product_form_refuses_a_bad_gtin(marketplace):
    form = ProductForm(
        data={"title": "Cola", "brand": "", "gtin": "36000291453", "description": ""},
        categories=Category.objects.none(),
    )

    assert not form.is_valid()
    assert form.errors["gtin"]


def test_a_product_saved_under_one_form_is_known_under_the_others(marketplace):
    shop, owner = make_shop(marketplace, slug="epicerie")
    other, other_owner = make_shop(marketplace, slug="autre")

    product = services.product_save(shop=shop, user=owner, title="Cola", gtin=UPC)

    assert product.gtin == CANONICAL
    for form in ("36000291452", "00036000291452", CANONICAL):
        with pytest.raises(DomainError) as refused:
            services.product_save(shop=other, user=other_owner, title="Cola", gtin=form)
        assert refused.value.code == "gtin_exists"


def test_the_seller_portal_sells_the_existing_product_for_any_form_of_its_gtin(
    client, marketplace, cola
):
    shop, owner = make_shop(marketplace, slug="epicerie")
    client.force_login(owner)
    data = {
        "product-title": "Cola (again)",
        "product-brand": "",
        "product-gtin": "36000291452",
        "product-description": "",
        "offer-sku": "COLA",
        "offer-price": "2",
        "offer-vat": "5,5",
        "offer-stock": "12",
        "offer-is_active": "on",
        "offer-min_quantity": "1",
        "offer-low_stock_threshold": "3",
    }

    response = client.post(f"/seller/{shop.slug}/offers/new/", data)

    assert response.status_code == 302
    assert Offer.objects.get(shop=shop, sku="COLA").product == cola
    assert Product.objects.filter(marketplace=marketplace).count() == 1


def test_the_back_office_form_validation_stores_the_canonical_gtin(marketplace):
    product = Product(marketplace=marketplace, title="Cola", gtin=UPC)
    product.full_clean()
    assert product.gtin == CANONICAL

    product.gtin = "36000291453"
    with pytest.raises(ValidationError) as refused:
        product.full_clean()
    assert "gtin" in refused.value.message_dict


# --- The data migration ----------------------------------------------------------------------


def test_the_migration_makes_stored_gtins_canonical_and_leaves_collisions(marketplace):
    normalise = importlib.import_module(
        "halles.catalog.migrations.0007_product_gtin_canonical"
    ).normalise
    elsewhere = MarketplaceFactory()

    def product(gtin, where=marketplace):
        # As typed in before this change: stored as given, no clean()
        return Product.objects.create(marketplace=where, title=gtin or "-", gtin=gtin)

    upc = product(UPC)
    ean8 = product("12345670")
    case = product("10036000291459")
    ean13 = product("4006381333931")
    invalid = product("12345")
    without = product(None)
    # The same GTIN twice on one marketplace: both are left alone
    twin = gtin("000000012345")
    twin_a, twin_b = product(twin[1:]), product("0" + twin)
    held = gtin("001234567890")
    taken, holder = product("0" + held), product(held)
    # The same code on another marketplace is no collision
    far = product(UPC, where=elsewhere)

    normalise(apps, None)

    def stored(row):
        return Product.objects.get(pk=row.pk).gtin

    assert stored(upc) == CANONICAL
    assert stored(far) == CANONICAL
    assert stored(ean8) == "0000012345670"
    assert (stored(case), stored(ean13)) == ("10036000291459", "4006381333931")
    assert (stored(invalid), stored(without)) == ("12345", None)
    assert (stored(twin_a), stored(twin_b)) == (twin[1:], "0" + twin)
    assert (stored(taken), stored(holder)) == ("0" + held, held)

    normalise(apps, None)  # again: nothing more changes
    assert (stored(upc), stored(twin_a)) == (CANONICAL, twin[1:])
