"""PostgreSQL: a chunk of the offer import reads the rows it names, not the shop's or the
marketplace's, whatever the planner's statistics say (docs/performance.md, "Offer import").

The statistics are taken while another marketplace has offers and products and this shop and
marketplace have none, as when a new shop's first import is under way (autovacuum has not
analysed the tables since): planned from them as lists (`= ANY`), the chunk's reads scanned
every offer of the shop and every product of the marketplace; and the re-import's UPDATE
hashed the whole offer table."""

import pytest
from django.core.files.base import ContentFile
from django.db import connection

from halles.catalog.imports import offer_import_create, offer_import_run
from halles.catalog.models import ImportStatus, Offer, Product

from ..factories import MarketplaceFactory, ShopFactory, make_gtin

pytestmark = [pytest.mark.django_db, pytest.mark.postgres_only]

ROWS = 3_000  # offers of the shop and products of the marketplace before the import
NAMED = 10  # rows of the file


def add_offers(shop, first: int, count: int) -> None:
    """`count` products of the shop's marketplace (GTINs from `first`), an offer on each."""
    products = Product.objects.bulk_create(
        Product(marketplace=shop.marketplace, title=f"Produit {n}", gtin=make_gtin(n))
        for n in range(first, first + count)
    )
    Offer.objects.bulk_create(
        Offer(
            marketplace=shop.marketplace,
            shop=shop,
            product=product,
            sku=f"SKU-{n}",
            price_cents=1000,
            stock=5,
        )
        for n, product in enumerate(products)
    )


def rows_read() -> dict[str, int]:
    """Rows read from the offer and product tables so far in this transaction, by scans of
    the table and through indexes."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)"
            " FROM pg_stat_xact_user_tables WHERE relname IN ('catalog_offer', 'catalog_product')"
        )
        return dict(cursor.fetchall())


@pytest.fixture
def shop(marketplace):
    add_offers(ShopFactory(marketplace=MarketplaceFactory(), slug="ailleurs"), 10 * ROWS, ROWS)
    shop = ShopFactory(marketplace=marketplace, slug="grossiste")
    with connection.cursor() as cursor:  # statistics without this shop and marketplace
        cursor.execute("ANALYZE catalog_offer")
        cursor.execute("ANALYZE catalog_product")
    add_offers(shop, 0, ROWS)
    return shop


def test_a_chunk_reads_only_the_offers_and_products_it_names(shop):
    # Half the rows update existing offers (new prices), half create offers on existing
    # products named by EAN: the chunk reads offers by SKU, products by GTIN, and updates.
    lines = ["sku;product-id;product-id-type;price;quantity"]
    lines += [f"SKU-{n};{make_gtin(n)};EAN;12.50;7" for n in range(NAMED // 2)]
    lines += [f"NEW-{n};{make_gtin(n)};EAN;9.90;3" for n in range(NAMED // 2)]
    before = rows_read()

    offer_import = offer_import_create(
        shop=shop, uploaded_file=ContentFile("\n".join(lines).encode(), name="o.csv"), mode="normal"
    )
    offer_import = offer_import_run(offer_import=offer_import)

    assert offer_import.status == ImportStatus.DONE, offer_import.message
    counters = offer_import.counters
    assert (counters["created"], counters["updated"], counters["errors"]) == (5, 5, 0)
    assert Offer.objects.get(shop=shop, sku="SKU-3").price_cents == 1250
    after = rows_read()
    read = {table: after[table] - before.get(table, 0) for table in after}
    # A few reads per row named (the chunk's reads, the update, the search index's refresh,
    # the foreign keys' checks); a scan of the shop or the marketplace reads thousands.
    assert read["catalog_offer"] < 10 * NAMED, read
    assert read["catalog_product"] < 10 * NAMED, read
