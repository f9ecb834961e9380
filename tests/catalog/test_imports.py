"""Bulk offer import (CSV/XLSX, Mirakl columns): modes, bad input, rights, task, CLI."""

import csv
import io
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum import ean

from halles.catalog import imports
from halles.catalog.imports import (
    ImportRefused,
    columns,
    files,
    import_errors_csv,
    offer_import_create,
    offer_import_run,
    offer_import_start,
    report,
    sql,
)
from halles.catalog.imports import run as import_run
from halles.catalog.models import ImportMode, ImportStatus, Offer, OfferImport, Product
from halles.catalog.tasks import run_offer_import
from halles.catalog.validation import FieldError, clean_gtin, clean_price
from halles.core.errors import DomainError, NotAllowed
from halles.shops.models import ShopStatus

from ..factories import (
    CategoryFactory,
    OfferFactory,
    ProductFactory,
    ShopFactory,
    ShopStaffFactory,
    make_gtin,
)

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"
PARIS = ZoneInfo("Europe/Paris")
EAN1, EAN2, EAN3 = make_gtin(1), make_gtin(2), make_gtin(3)


@pytest.fixture
def shop(marketplace):
    return ShopFactory(marketplace=marketplace, slug="epicerie")


@pytest.fixture
def products(marketplace):
    return [ProductFactory(marketplace=marketplace, gtin=gtin) for gtin in (EAN1, EAN2, EAN3)]


def upload(content, name="offers.csv"):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return ContentFile(data, name=name)


def run_import(shop, content, mode=ImportMode.NORMAL, name="offers.csv", **kwargs):
    offer_import = offer_import_create(shop=shop, uploaded_file=upload(content, name), mode=mode)
    return offer_import_run(offer_import=offer_import, **kwargs)


def columns_in_error(offer_import):
    return [(error["line"], error["sku"], error["column"]) for error in offer_import.errors]


def offer(shop, sku):
    return Offer.objects.get(shop=shop, sku=sku)


# --- Creating and updating -----------------------------------------------------------------


def test_a_file_creates_offers_on_marketplace_products(shop, products):
    # Given a semicolon file (UTF-8 with BOM) naming two marketplace products by EAN
    content = (DATA / "offers_semicolon.csv").read_bytes()

    # When it is imported
    result = run_import(shop, content)

    # Then both offers exist with every column applied
    assert result.status == ImportStatus.DONE, result.message
    assert (result.total_rows, result.done_rows, result.applied_rows, result.error_rows) == (
        2,
        2,
        2,
        0,
    )
    jam = offer(shop, "CONF-ABR")
    assert jam.product == products[0]
    assert (jam.price_cents, jam.stock, jam.discount_price_cents) == (690, 12, 590)
    assert jam.vat_rate == Decimal("5.5")
    assert jam.is_active
    assert jam.discount_starts_at == datetime(2025, 6, 1, tzinfo=PARIS)
    assert jam.discount_ends_at == datetime(2025, 7, 1, tzinfo=PARIS)  # 30/06 included
    honey = offer(shop, "MIEL-ACA")
    assert honey.description == "Miel d'acacia; récolte 2025"
    assert (honey.price_cents, honey.stock, honey.discount_price_cents) == (1250, 4, None)
    assert result.message.startswith("2 ")  # "2 rows applied; ..." in the seller's language


def test_a_comma_file_creates_a_shop_product_and_ignores_unknown_columns(shop, products):
    result = run_import(shop, (DATA / "offers_comma.csv").read_bytes())

    assert result.status == ImportStatus.DONE
    assert result.error_rows == 0, result.errors
    table = offer(shop, "TAB-CHENE")
    assert (table.price_cents, table.stock) == (24900, 2)
    assert table.product.title == "Table basse en chêne massif"
    assert table.product.brand == "Atelier Dubois"
    assert table.product.created_by_shop == shop
    assert table.product.gtin is None
    assert "Colour" in result.message  # one warning for the ignored column


def test_an_update_changes_the_columns_given_and_keeps_the_others(shop, products):
    existing = OfferFactory(
        shop=shop,
        product=products[0],
        sku="CONF-ABR",
        description="Pot de 370 g",
        price_cents=690,
        stock=12,
        vat_rate=Decimal("5.5"),
        min_quantity=2,
    )

    result = run_import(shop, "sku;price;quantity\nCONF-ABR;7,10;0\n")

    assert result.applied_rows == 1
    existing.refresh_from_db()
    assert (existing.price_cents, existing.stock) == (710, 0)
    assert existing.description == "Pot de 370 g"  # no description column: kept
    assert (existing.vat_rate, existing.min_quantity) == (Decimal("5.5"), 2)
    assert existing.product == products[0]


def test_an_empty_cell_clears_what_may_be_empty_and_keeps_the_rest(shop, products):
    existing = OfferFactory(
        shop=shop, product=products[0], sku="A", price_cents=900, discount_price_cents=800
    )

    run_import(shop, "sku;price;discount-price;description\nA;;;\n")

    existing.refresh_from_db()
    assert (existing.price_cents, existing.discount_price_cents) == (900, None)


def test_re_importing_the_same_file_writes_nothing_new(shop, products):
    content = (DATA / "offers_semicolon.csv").read_bytes()
    run_import(shop, content)
    before = {o.sku: o.updated_at for o in Offer.objects.filter(shop=shop)}

    again = run_import(shop, content)

    assert again.applied_rows == 2
    assert {o.sku: o.updated_at for o in Offer.objects.filter(shop=shop)} == before


def test_header_names_ignore_case_spaces_and_underscores(shop, products):
    result = run_import(
        shop, f" SKU ;Product_Id;PRODUCT_ID_TYPE; Price;QUANTITY\nX;{EAN1};ean;3;1\n"
    )

    assert result.error_rows == 0, result.errors
    assert offer(shop, "X").product == products[0]


def test_a_product_id_without_type_is_read_as_a_gtin(shop, products):
    result = run_import(shop, f"sku;product-id;price;quantity\nX;{EAN2};3;1\n")

    assert result.error_rows == 0
    assert offer(shop, "X").product == products[1]


def test_a_shop_updates_its_own_products_but_never_a_shared_one(shop, products, marketplace):
    category = CategoryFactory(marketplace=marketplace, slug="epicerie-sucree")
    own = ProductFactory(marketplace=marketplace, gtin=None, created_by_shop=shop, title="Old")
    OfferFactory(shop=shop, product=own, sku="OWN")
    OfferFactory(shop=shop, product=products[0], sku="SHARED")
    shared_title = products[0].title

    result = run_import(
        shop,
        "sku;product-title;product-category\n"
        "OWN;Nougat de Montélimar;epicerie-sucree\n"
        "SHARED;Renamed;epicerie-sucree\n",
        mode=ImportMode.PARTIAL,
    )

    assert result.error_rows == 0, result.errors
    own.refresh_from_db()
    products[0].refresh_from_db()
    assert (own.title, own.category) == ("Nougat de Montélimar", category)
    assert (products[0].title, products[0].category) == (shared_title, None)


def test_a_new_offer_on_the_shops_own_gtin_product_updates_it(shop, marketplace):
    own = ProductFactory(
        marketplace=marketplace, gtin=make_gtin(60), created_by_shop=shop, title="Old"
    )

    result = run_import(
        shop, f"sku;product-id;product-title;price;quantity\nNEW;{own.gtin};New;5;1\n"
    )

    assert result.error_rows == 0, result.errors
    own.refresh_from_db()
    assert own.title == "New"
    assert offer(shop, "NEW").product == own


def test_a_new_gtin_product_is_created_when_the_row_describes_it(shop, marketplace):
    new_ean = make_gtin(77)

    result = run_import(
        shop,
        "sku;product-id;product-id-type;product-title;price;quantity\n"
        f"A;{new_ean};EAN;Calisson d'Aix;4;10\n"
        f"B;{new_ean};EAN;Calisson d'Aix (lot);7;3\n",
    )

    assert result.error_rows == 0, result.errors
    product = Product.objects.get(marketplace=marketplace, gtin=new_ean)
    assert product.created_by_shop == shop
    assert {o.sku for o in product.offers.all()} == {"A", "B"}


@pytest.mark.parametrize("chunk_rows", [1000, 1])
def test_the_last_row_describing_a_new_product_wins_in_one_chunk_or_several(
    shop, marketplace, monkeypatch, chunk_rows
):
    # Rows of one file are applied in order, whether they fall in one chunk or in several
    monkeypatch.setattr(import_run, "CHUNK_ROWS", chunk_rows)
    new_ean = make_gtin(78)

    result = run_import(
        shop,
        "sku;product-id;product-id-type;product-title;product-brand;price;quantity\n"
        f"A;{new_ean};EAN;Nougat;;4;10\n"
        f"B;{new_ean};EAN;Nougat de Montélimar;Maison Chabert;7;3\n",
    )

    assert result.error_rows == 0, result.errors
    product = Product.objects.get(marketplace=marketplace, gtin=new_ean)
    assert (product.title, product.brand) == ("Nougat de Montélimar", "Maison Chabert")
    assert {o.sku for o in product.offers.all()} == {"A", "B"}


def test_the_product_of_an_existing_offer_cannot_change(shop, products):
    existing = OfferFactory(shop=shop, product=products[0], sku="A")

    result = run_import(shop, f"sku;product-id;product-id-type;price\nA;{EAN2};EAN;3\n")

    assert columns_in_error(result) == [(2, "A", "product-id")]
    existing.refresh_from_db()
    assert existing.product == products[0]


def test_a_shop_that_deactivates_at_zero_stock(shop, products):
    existing = OfferFactory(
        shop=shop, product=products[0], sku="A", stock=3, deactivate_when_sold_out=True
    )

    run_import(shop, "sku;quantity\nA;0\n")
    existing.refresh_from_db()
    assert (existing.stock, existing.is_active) == (0, False)

    run_import(shop, "sku;quantity\nA;5\n", mode=ImportMode.PARTIAL)  # restocked
    existing.refresh_from_db()
    assert (existing.stock, existing.is_active) == (5, True)


# --- Modes ---------------------------------------------------------------------------------


def test_partial_only_updates_existing_offers(shop, products):
    existing = OfferFactory(shop=shop, product=products[0], sku="A", price_cents=500, stock=1)

    result = run_import(
        shop,
        f"sku;product-id;product-id-type;quantity\nA;;;9\nNEW;{EAN2};EAN;4\n",
        mode=ImportMode.PARTIAL,
    )

    assert columns_in_error(result) == [(3, "NEW", "sku")]
    existing.refresh_from_db()
    assert (existing.price_cents, existing.stock) == (500, 9)
    assert not Offer.objects.filter(sku="NEW").exists()


def test_partial_does_not_reactivate_a_deleted_offer(shop, products):
    existing = OfferFactory(shop=shop, product=products[0], sku="A", is_active=False)

    run_import(shop, "sku;quantity\nA;9\n", mode=ImportMode.PARTIAL)

    existing.refresh_from_db()
    assert (existing.stock, existing.is_active) == (9, False)


def test_replace_deactivates_the_offers_absent_from_the_file(shop, products):
    kept = OfferFactory(shop=shop, product=products[0], sku="KEPT")
    in_error = OfferFactory(shop=shop, product=products[1], sku="BAD", price_cents=800)
    absent = OfferFactory(shop=shop, product=products[2], sku="GONE")
    other_shop = OfferFactory(product=products[2], sku="GONE", shop__marketplace=shop.marketplace)

    result = run_import(shop, "sku;price;quantity\nKEPT;5;1\nBAD;-3;1\n", mode=ImportMode.REPLACE)

    assert result.deactivated_offers == 1
    for row in (kept, in_error, absent, other_shop):
        row.refresh_from_db()
    assert kept.is_active and in_error.is_active and other_shop.is_active
    assert not absent.is_active
    assert in_error.price_cents == 800  # the invalid row left its offer alone
    assert Offer.objects.filter(pk=absent.pk).exists()


def test_replace_reactivates_an_offer_that_comes_back(shop, products):
    existing = OfferFactory(shop=shop, product=products[0], sku="A", is_active=False)

    run_import(shop, "sku;quantity\nA;2\n", mode=ImportMode.REPLACE)

    existing.refresh_from_db()
    assert existing.is_active


def test_delete_deactivates_and_never_deletes(shop, products):
    existing = OfferFactory(shop=shop, product=products[0], sku="A")

    result = run_import(
        shop,
        "sku;product-title;price;quantity;update-delete\n"
        "A;;not read;;delete\nNONE;;;;DELETE\nB;Nougat;3;1;remove\n",
    )

    existing.refresh_from_db()
    assert not existing.is_active
    assert columns_in_error(result) == [(3, "NONE", "sku"), (4, "B", "update-delete")]


# --- Bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "row", "column"),
    [
        ("price;quantity", "abc;1", "price"),
        ("price;quantity", "0;1", "price"),
        ("price;quantity", "12.345;1", "price"),
        ("price;quantity", "5;-2", "quantity"),
        ("price;quantity", "5;1.5", "quantity"),
        ("quantity", "1", "price"),  # a new offer needs a price
        ("price", "5", "quantity"),
        ("price;quantity;vat-rate", "5;1;19.6", "vat-rate"),
        ("price;quantity;state", "5;1;1", "state"),
        ("price;quantity;discount-price", "5;1;5", "discount-price"),
        ("price;quantity;discount-start-date", "5;1;31/02/2025", "discount-start-date"),
        (
            "price;quantity;discount-start-date;discount-end-date",
            "5;1;2025-06-30;2025-06-01",
            "discount-end-date",
        ),
        ("price;quantity;min-quantity;max-quantity", "5;1;3;2", "max-quantity"),
        ("price;quantity;min-quantity", "5;1;0", "min-quantity"),
        ("price;quantity;product-id-type;product-id", "5;1;ASIN;B00X", "product-id-type"),
        ("price;quantity;product-id-type;product-id", f"5;1;EAN;{EAN1[:-1]}9", "product-id"),
        ("price;quantity;product-id-type;product-id", "5;1;EAN;", "product-id"),
        ("price;quantity;product-id-type;product-id", f"5;1;EAN;{make_gtin(99)}", "product-id"),
        ("price;quantity;product-id-type", "5;1;SHOP_SKU", "product-title"),
        ("price;quantity;product-title;product-category", "5;1;Nougat;nope", "product-category"),
        ("price;quantity;product-title", "5;1;" + "x" * 256, "product-title"),
        ("price;quantity;description", "5", "quantity"),  # the line stops early
    ],
)
def test_a_bad_value_is_a_row_error_naming_its_column(shop, products, header, row, column):
    result = run_import(shop, f"sku;{header}\nX;{row}\n")

    assert result.status == ImportStatus.DONE
    assert column in [error["column"] for error in result.errors], result.errors
    assert {error["line"] for error in result.errors} == {2}
    assert result.error_rows == 1 and result.applied_rows == 0
    assert not Offer.objects.filter(shop=shop).exists()
    assert all(error["message"] for error in result.errors)


def test_every_error_of_a_row_is_reported(shop, products):
    result = run_import(shop, f"sku;product-id;price;quantity;state\nX;{EAN1};abc;-1;2\n")

    assert sorted(error["column"] for error in result.errors) == ["price", "quantity", "state"]
    assert result.error_rows == 1


def test_a_bad_product_id_is_not_also_reported_as_a_missing_title(shop, products):
    wrong_check_digit = EAN1[:-1] + str((int(EAN1[-1]) + 1) % 10)

    result = run_import(shop, f"sku;product-id;price;quantity\nX;{wrong_check_digit};5;1\n")

    assert columns_in_error(result) == [(2, "X", "product-id")]


def test_a_category_sellers_may_not_use_is_refused(shop, marketplace):
    CategoryFactory(marketplace=marketplace, slug="reserved", sellers_may_use=False)

    result = run_import(
        shop, "sku;price;quantity;product-title;product-category\nX;5;1;Nougat;reserved\n"
    )

    assert columns_in_error(result) == [(2, "X", "product-category")]


def test_duplicate_skus_are_errors_after_the_first(shop, products):
    result = run_import(
        shop, "sku;product-title;price;quantity\nA;a;5;1\nB;b;6;1\nA;a;7;1\nA;a;8;1\n"
    )

    assert columns_in_error(result) == [(4, "A", "sku"), (5, "A", "sku")]
    assert "line 2" in result.errors[0]["message"] or "ligne 2" in result.errors[0]["message"]
    assert offer(shop, "A").price_cents == 500


def test_a_good_row_is_applied_and_a_bad_row_leaves_its_offer_untouched(shop, products):
    bad = OfferFactory(shop=shop, product=products[1], sku="BAD", price_cents=800, stock=8)

    result = run_import(
        shop,
        f"sku;product-id;product-id-type;price;quantity\nGOOD;{EAN1};EAN;5;1\nBAD;;;9;-4\n",
    )

    assert (result.applied_rows, result.error_rows) == (1, 1)
    assert columns_in_error(result) == [(3, "BAD", "quantity")]
    assert offer(shop, "GOOD").price_cents == 500
    bad.refresh_from_db()
    assert (bad.price_cents, bad.stock) == (800, 8)  # not even the valid price was applied


def test_a_row_is_never_half_applied(shop, monkeypatch):
    """A new product and its offer go together: when the offer cannot be written, the
    product is not left behind, and the other rows of the chunk still go in."""
    real_insert = sql.insert

    def failing_insert(model, fields, rows):
        if any("BOOM" in row for row in rows):
            raise IntegrityError("simulated failure")
        return real_insert(model, fields, rows)

    monkeypatch.setattr(sql, "insert", failing_insert)

    result = run_import(
        shop,
        "sku;product-title;price;quantity\nOK;Nougat;5;1\nBOOM;Calisson;5;1\n",
    )

    assert (result.applied_rows, result.error_rows) == (1, 1)
    assert columns_in_error(result) == [(3, "BOOM", "")]
    assert offer(shop, "OK").product.title == "Nougat"
    assert not Product.objects.filter(title="Calisson").exists()
    assert not Offer.objects.filter(sku="BOOM").exists()


def test_a_new_product_row_with_a_bad_offer_creates_no_product(shop):
    result = run_import(shop, "sku;product-title;price;quantity\nX;Nougat;5;-1\n")

    assert result.error_rows == 1
    assert not Product.objects.exists()


def test_a_file_without_a_sku_column_is_refused(shop):
    with pytest.raises(ImportRefused) as refused:
        offer_import_create(
            shop=shop, uploaded_file=upload("ref;price\nA;5\n"), mode=ImportMode.NORMAL
        )
    assert "sku" in str(refused.value.message)
    assert not OfferImport.objects.exists()


def test_a_latin1_file_is_refused_naming_the_line(shop):
    with pytest.raises(ImportRefused) as refused:
        offer_import_create(
            shop=shop,
            uploaded_file=upload((DATA / "offers_latin1.csv").read_bytes()),
            mode=ImportMode.NORMAL,
        )
    assert refused.value.code == "bad_encoding"
    message = str(refused.value.message)
    assert "3" in message and "Windows-1252" in message and "UTF-8" in message


def test_an_oversized_file_is_refused(shop):
    too_big = ContentFile(b"sku\n" + b"A\n" * (imports.MAX_FILE_BYTES // 2), name="big.csv")

    with pytest.raises(ImportRefused) as refused:
        offer_import_create(shop=shop, uploaded_file=too_big, mode=ImportMode.NORMAL)
    assert refused.value.code == "file_too_large"
    assert "20" in str(refused.value.message)


def test_other_file_types_are_refused(shop):
    for name, data in [("offers.pdf", b"%PDF-1.4"), ("offers.xls", b"\xd0\xcf\x11\xe0....")]:
        with pytest.raises(ImportRefused) as refused:
            offer_import_create(shop=shop, uploaded_file=upload(data, name), mode="normal")
        assert refused.value.code == "file_type"
    with pytest.raises(ImportRefused):
        offer_import_create(
            shop=shop, uploaded_file=upload(b"PK\x03\x04x", "o.xlsx"), mode="normal"
        )


def test_too_many_rows_fail_the_import_before_any_change(shop, products, monkeypatch):
    monkeypatch.setattr(files, "MAX_ROWS", 2)

    result = run_import(shop, "sku;price;quantity\nA;5;1\nB;5;1\nC;5;1\n")

    assert result.status == ImportStatus.FAILED
    assert "3" in result.message and "2" in result.message
    assert not Offer.objects.exists()


def test_a_file_with_no_rows_fails(shop):
    result = run_import(shop, "sku;price;quantity\n\n;;\n")

    assert result.status == ImportStatus.FAILED
    assert not Offer.objects.exists()


def test_the_stored_errors_are_capped(shop, monkeypatch):
    monkeypatch.setattr(report, "MAX_STORED_ERRORS", 2)

    result = run_import(shop, "sku;price;quantity\nA;x;1\nB;x;1\nC;x;1\n")

    assert result.error_rows == 3
    assert len(result.errors) == 2
    assert "3" in result.message  # rows in error, in the seller's language
    last = list(csv.reader(io.StringIO(import_errors_csv(result)), delimiter=";"))[-1]
    assert last[:3] == ["", "", ""] and "2" in last[3]  # the report says it is cut


# --- Formats -------------------------------------------------------------------------------


def test_an_xlsx_file_is_imported(shop, products):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["sku", "product-id", "product-id-type", "price", "quantity", "discount-end-date"])
    sheet.append(["X1", int(EAN1), "EAN", 12.5, 3, datetime(2025, 6, 30)])
    sheet.append(["X2", EAN2, "EAN", "7,00", 0, None])
    sheet.append([None, None, None, None, None, None])  # blank row: skipped
    sheet.append(["X3", EAN3, "EAN", -1, 1, None])
    buffer = io.BytesIO()
    workbook.save(buffer)

    result = run_import(shop, buffer.getvalue(), name="offres.xlsx")

    assert result.total_rows == 3
    assert columns_in_error(result) == [(5, "X3", "price")]
    first = offer(shop, "X1")
    assert (first.product, first.price_cents, first.stock) == (products[0], 1250, 3)
    assert first.discount_ends_at == datetime(2025, 7, 1, tzinfo=PARIS)
    assert offer(shop, "X2").price_cents == 700


@pytest.mark.parametrize("delimiter", [";", ","])
@pytest.mark.parametrize("bom", ["", "\ufeff"])
def test_both_delimiters_with_or_without_bom(shop, products, delimiter, bom):
    lines = [["sku", "product-id", "price", "quantity"], ["A", EAN1, "5", "1"]]
    content = bom + "\r\n".join(delimiter.join(line) for line in lines) + "\r\n"

    result = run_import(shop, content)

    assert result.error_rows == 0, result.errors
    assert offer(shop, "A").price_cents == 500


def test_dates_with_times_and_offsets(shop, products):
    run_import(
        shop,
        "sku;product-id;price;quantity;discount-price;discount-start-date;discount-end-date\n"
        f"A;{EAN1};5;1;4;2025-06-01T10:45:53+01;15/06/2025 18:30\n",
    )

    a = offer(shop, "A")
    assert a.discount_starts_at == datetime(2025, 6, 1, 9, 45, 53, tzinfo=ZoneInfo("UTC"))
    assert a.discount_ends_at == datetime(2025, 6, 15, 18, 30, tzinfo=PARIS)


# --- Tenancy and rights --------------------------------------------------------------------


def test_another_shops_offers_are_never_touched(shop, products, marketplace):
    other = ShopFactory(marketplace=marketplace)
    theirs = OfferFactory(shop=other, product=products[0], sku="SAME", price_cents=999)
    mine = OfferFactory(shop=shop, product=products[0], sku="SAME", price_cents=100)

    run_import(shop, "sku;price;quantity;update-delete\nSAME;2;1;update\n")
    run_import(shop, "sku;update-delete\nSAME;delete\n")

    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert (theirs.price_cents, theirs.is_active) == (999, True)
    assert (mine.price_cents, mine.is_active) == (200, False)


def test_a_product_of_another_marketplace_is_unknown(shop, products):
    far_away = ProductFactory(gtin=make_gtin(55))

    result = run_import(shop, f"sku;product-id;price;quantity\nX;{far_away.gtin};5;1\n")

    assert columns_in_error(result) == [(2, "X", "product-id")]


def test_only_the_shops_staff_may_import(shop):
    outsider = ShopStaffFactory(shop__marketplace=shop.marketplace).user  # staff of another shop
    with pytest.raises(NotAllowed):
        offer_import_start(
            shop=shop, user=outsider, uploaded_file=upload("sku\nA\n"), mode="normal"
        )
    assert not OfferImport.objects.exists()


def test_a_suspended_shop_cannot_import(shop):
    staff = ShopStaffFactory(shop=shop).user
    shop.status = ShopStatus.SUSPENDED
    shop.save()

    with pytest.raises(DomainError) as refused:
        offer_import_start(shop=shop, user=staff, uploaded_file=upload("sku\nA\n"), mode="normal")
    assert refused.value.code == "shop_suspended"


def test_a_shop_suspended_after_the_upload_has_its_import_fail(shop, products):
    queued = offer_import_create(
        shop=shop, uploaded_file=upload("sku;price;quantity\nA;5;1\n"), mode="normal"
    )
    shop.status = ShopStatus.SUSPENDED
    shop.save()

    result = offer_import_run(offer_import=queued)

    assert result.status == ImportStatus.FAILED
    assert not Offer.objects.exists()


# --- Task, progress, report, CLI -----------------------------------------------------------


def test_the_portal_import_runs_as_a_task_once_and_only_once(shop, products, run_on_commit):
    staff = ShopStaffFactory(shop=shop).user
    content = f"sku;product-id;price;quantity\nA;{EAN1};5;3\n"

    with run_on_commit():
        started = offer_import_start(
            shop=shop, user=staff, uploaded_file=upload(content), mode=ImportMode.NORMAL
        )
        assert started.status == ImportStatus.QUEUED
        assert not Offer.objects.exists()  # nothing before the commit

    started.refresh_from_db()
    assert started.status == ImportStatus.DONE
    assert started.created_by == staff
    Offer.objects.filter(sku="A").update(stock=1)  # an order sold two

    assert run_offer_import.call(started.pk) == ImportStatus.DONE  # a replayed task
    started.refresh_from_db()
    assert (started.status, started.applied_rows) == (ImportStatus.DONE, 1)
    assert offer(shop, "A").stock == 1  # not re-applied
    assert run_offer_import.call(123456) is None


def test_progress_is_saved_after_each_chunk(shop, products, monkeypatch):
    monkeypatch.setattr(import_run, "CHUNK_ROWS", 2)
    seen = []

    def on_progress(offer_import):
        saved = OfferImport.objects.get(pk=offer_import.pk)
        seen.append((saved.total_rows, saved.done_rows, saved.applied_rows, saved.error_rows))

    run_import(
        shop,
        "sku;product-title;price;quantity\nA;a;5;1\nB;b;x;1\nC;c;5;1\nD;d;5;1\nE;e;5;1\n",
        on_progress=on_progress,
    )

    assert seen == [(5, 2, 1, 1), (5, 4, 3, 1), (5, 5, 4, 1)]


def test_the_error_report_is_a_semicolon_csv_for_excel(shop, products):
    result = run_import(shop, f'sku;product-id;price;quantity\nA;{EAN1};"1;5";1\nB;{EAN2};5;-1\n')

    report = import_errors_csv(result)

    assert report.startswith("\ufeffline;sku;column;message\r\n")
    rows = list(csv.reader(io.StringIO(report.lstrip("\ufeff")), delimiter=";"))
    assert [row[:3] for row in rows[1:]] == [["2", "A", "price"], ["3", "B", "quantity"]]
    assert all(row[3] for row in rows[1:])


def test_the_messages_speak_the_sellers_language(shop, products, run_on_commit):
    staff = ShopStaffFactory(shop=shop, user__language="en").user

    with run_on_commit():
        started = offer_import_start(
            shop=shop,
            user=staff,
            uploaded_file=upload("sku;price;quantity\nA;5;-1\n"),
            mode="normal",
        )

    started.refresh_from_db()
    assert started.errors[0]["message"] == "Cannot be negative."
    assert started.message.startswith("0 rows applied; 1 row in error")


def test_the_command_imports_a_file_and_writes_the_error_report(shop, products, tmp_path):
    source = tmp_path / "offers.csv"
    source.write_text(f"sku;product-id;price;quantity\nA;{EAN1};5;1\nB;{EAN2};x;1\n")
    out = io.StringIO()

    call_command("import_offers", str(source), shop="epicerie", stdout=out)

    assert offer(shop, "A").price_cents == 500
    report = tmp_path / "offers.csv.errors.csv"
    assert "2/2 rows" in out.getvalue()
    assert str(report) in out.getvalue()
    assert report.read_text(encoding="utf-8-sig").splitlines()[1].startswith("3;B;price;")
    assert OfferImport.objects.get().status == ImportStatus.DONE


def test_the_command_fails_on_a_refused_file_or_an_unknown_shop(shop, tmp_path):
    source = tmp_path / "offers.csv"
    source.write_bytes("sku;description\nA;Pâte de fruits\n".encode("cp1252"))

    with pytest.raises(CommandError, match="UTF-8"):
        call_command("import_offers", str(source), shop="epicerie", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No shop"):
        call_command("import_offers", str(source), shop="nowhere", stdout=io.StringIO())
    ShopFactory(slug="epicerie")  # the same slug on another marketplace
    with pytest.raises(CommandError, match="--marketplace"):
        call_command("import_offers", str(source), shop="epicerie", stdout=io.StringIO())


def test_halles_import_offers_is_the_command(monkeypatch):
    """`halles import-offers` reaches the `import_offers` command (names cannot hold "-")."""
    import django.core.management

    from halles import cli

    called = []
    monkeypatch.setattr(django.core.management, "execute_from_command_line", called.append)
    monkeypatch.setattr(sys, "argv", ["halles", "import-offers", "--shop", "s", "offers.csv"])

    cli.main()

    assert called == [["halles", "import_offers", "--shop", "s", "offers.csv"]]


# --- Fast paths ----------------------------------------------------------------------------


def outcome(clean, value):
    try:
        return clean(value)
    except FieldError as error:
        return error.message


def gtin14(body: int) -> str:
    """A valid GTIN-14 from a 13-digit body (leading zeros: the shorter GTINs padded)."""
    digits = f"{body:013d}"
    return digits + ean.calc_check_digit(digits)


@settings(max_examples=500, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.text(alphabet="0123456789", min_size=7, max_size=15)
    | st.builds(make_gtin, st.integers(0, 10**11 - 1))
    | st.text(max_size=16)
    # valid codes of 1 to 14 digits, with some of their leading zeros or all of them lost
    | st.builds(
        lambda body, cut: gtin14(body)[cut:], st.integers(0, 10**13 - 1), st.integers(0, 13)
    )
    | st.builds(lambda body: str(int(gtin14(body))), st.integers(0, 10**13 - 1))
    | st.builds(lambda body: gtin14(body)[-12:], st.integers(0, 10**11 - 1))  # UPC-A
)
def test_the_gtin_fast_path_agrees_with_clean_gtin(value):
    assert outcome(columns.fast_gtin, value) == outcome(clean_gtin, value)
    if value.isascii() and value.isdigit() and 8 <= len(value) <= 14:
        # A valid code has one key whatever its length: its 14-digit form decides it
        padded = value.zfill(14)
        if ean.is_valid(padded):
            assert clean_gtin(value) == (padded[1:] if padded[0] == "0" else padded)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.from_regex(r"\A[0-9]{0,11}([.,][0-9]{0,3})?\Z") | st.text(max_size=12))
def test_the_price_fast_path_agrees_with_clean_price(value):
    assert outcome(columns.fast_price, value) == outcome(clean_price, value)


def test_quoted_values_may_hold_separators_and_line_breaks(shop, products):
    content = (
        "sku;product-id;description;price;quantity\n"
        f'A;{EAN1};"Pot de 370 g;\nrécolte ""2025""";5;1\n'
        f"B;{EAN2};Sans guillemets;6;2\n"
        "\n"
        ";;;;\n"
        f"C;{EAN3};x;abc;3\n"
    )

    result = run_import(shop, content)

    assert (result.total_rows, result.applied_rows) == (3, 2)
    assert offer(shop, "A").description == 'Pot de 370 g;\nrécolte "2025"'
    assert columns_in_error(result) == [(7, "C", "price")]  # physical line of the file
