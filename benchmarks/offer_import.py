"""Offer import throughput against the raw insert rate of the same rows, same database, same run.

    .venv/bin/python benchmarks/offer_import.py                    # SQLite only
    .venv/bin/python scripts/throwaway_postgres.py -- .venv/bin/python benchmarks/offer_import.py
    DATABASE_URL=postgres://... .venv/bin/python benchmarks/offer_import.py   # SQLite + that server

Options: --rows N (default 100,000), --profile [import|re-import|products] (pyinstrument,
printed for that import; the first one by default), --database sqlite|postgres (only one),
--floor-rows N (default 20,000: rows of the "same into catalog_offer" reference, row by row;
on PostgreSQL each row's statement trigger refreshes the index, which gets slower as the
shop grows).

For each database (SQLite: a temporary file with the project's settings, WAL; PostgreSQL: a
fresh database created on the server of DATABASE_URL and dropped afterwards), in a child
process, after `migrate`:

1. setup (not timed): a marketplace, an active shop, N products with EAN-13 codes;
   a CSV of N offers naming those products by EAN (sku, product-id, product-id-type,
   description, price, quantity, state, vat-rate, a discount on one row in ten);
2. raw: executemany INSERT of the same N rows (already converted) into a bare table with
   the offer's columns and a unique index on (shop_id, sku), in one transaction; then the
   first --floor-rows of them into catalog_offer itself, for another shop (deleted after);
   and "the import's writes alone": the N rows written the way the import writes them
   (chunks, ids first, COPY or prepared INSERT, search index kept), without reading a file,
   parsing, checking or reading the database, into another shop (deleted after);
3. import: `offer_import_create` + `offer_import_run` (the real code path: reading the
   stored file, parsing, checking, writing) into the empty shop;
4. re-import: the same SKUs with changed prices and quantities (updates);
5. with products: N rows that create a shop product each (SHOP_SKU + product-title),
   into another empty shop;
6. raw again (the host is noisy); the ratio uses the faster raw run.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.40


# --- The child: one database ---------------------------------------------------------------


def gtin(n: int) -> str:
    from stdnum import ean

    body = f"3{n:011d}"
    return body + ean.calc_check_digit(body)


def offer_rows(n: int, *, changed: bool) -> list[dict]:
    rows = []
    for i in range(n):
        cents = 100 + (i * 37) % 50_000 + (10 if changed else 0)
        row = {
            "sku": f"SKU-{i:07d}",
            "product-id": gtin(i),
            "product-id-type": "EAN",
            "description": f"Offre {i}, expédiée sous 48 h",
            "price": f"{cents // 100}.{cents % 100:02d}",
            "quantity": str((i % 50) + (1 if changed else 0)),
            "state": "11",
            "vat-rate": "5.5" if i % 3 == 0 else "20",
            "discount-price": "",
            "discount-start-date": "",
            "discount-end-date": "",
        }
        if i % 10 == 0:
            row["discount-price"] = f"{(cents - 50) // 100}.{(cents - 50) % 100:02d}"
            row["discount-start-date"] = "01/06/2025"
            row["discount-end-date"] = "2025-06-30"
        rows.append(row)
    return rows


def write_csv(path: Path, rows: list[dict]) -> None:
    import csv

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)


def setup_shop(slug: str, marketplace=None):
    from halles.marketplaces.models import Marketplace
    from halles.shops.models import Plan, Shop, ShopStatus

    if marketplace is None:
        marketplace = Marketplace.objects.create(
            slug="bench", name="Bench", contact_email="bench@example.test"
        )
    plan, _created = Plan.objects.get_or_create(
        marketplace=marketplace, code="c", defaults={"name": "C", "kind": "commission"}
    )
    shop = Shop.objects.create(
        marketplace=marketplace,
        slug=slug,
        name=slug,
        status=ShopStatus.ACTIVE,
        plan=plan,
        legal_name=slug,
        legal_form="SAS",
        siren="732829320",
        siret="73282932000074",
        address_line1="1 rue",
        postcode="69000",
        city="Lyon",
        contact_name="A",
        contact_email="a@example.test",
        contact_phone="0600000000",
        activity="bench",
    )
    return shop


def raw_params(rows, shop, product_ids) -> list[tuple]:
    """The import's INSERT values for these rows, converted outside the timing."""
    from zoneinfo import ZoneInfo

    from django.db import connection
    from django.utils import timezone

    from halles.catalog.validation import clean_price, clean_vat_rate

    tz = ZoneInfo(shop.marketplace.time_zone)
    adapt = connection.ops.adapt_datetimefield_value
    now = adapt(timezone.now())
    starts, ends = adapt(datetime(2025, 6, 1, tzinfo=tz)), adapt(datetime(2025, 7, 1, tzinfo=tz))
    params = []
    for row in rows:
        discount = row["discount-price"]
        params.append(
            (
                shop.marketplace_id,
                shop.pk,
                product_ids[row["product-id"]],
                row["sku"],
                row["description"],
                clean_price(row["price"]),
                clean_vat_rate(row["vat-rate"]),
                int(row["quantity"]),
                True,
                1,
                None,
                clean_price(discount) if discount else None,
                starts if discount else None,
                ends if discount else None,
                3,
                False,
                now,
                now,
            )
        )
    return params


def raw_insert_rate(params) -> float:
    """Rows/s of executemany into a bare table shaped like catalog_offer, one transaction."""
    from django.db import connection, transaction

    from halles.catalog.imports import INSERT_FIELDS

    pk = (
        "id integer PRIMARY KEY AUTOINCREMENT"
        if connection.vendor == "sqlite"
        else "id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    )
    types = {
        "sku": "varchar(100) NOT NULL",
        "description": "text NOT NULL",
        "vat_rate": "numeric(4, 2) NOT NULL",
        "is_active": "boolean NOT NULL",
        "deactivate_when_sold_out": "boolean NOT NULL",
        "discount_starts_at": "timestamp with time zone NULL",
        "discount_ends_at": "timestamp with time zone NULL",
        "created_at": "timestamp with time zone NOT NULL",
        "updated_at": "timestamp with time zone NOT NULL",
        "max_quantity": "integer NULL",
        "discount_price_cents": "integer NULL",
    }
    columns = ", ".join(f"{name} {types.get(name, 'bigint NOT NULL')}" for name in INSERT_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bare_offer")
        cursor.execute(f"CREATE TABLE bench_bare_offer ({pk}, {columns})")
        cursor.execute(
            "CREATE UNIQUE INDEX bench_bare_offer_sku ON bench_bare_offer (shop_id, sku)"
        )
    sql = "INSERT INTO bench_bare_offer ({}) VALUES ({})".format(
        ", ".join(INSERT_FIELDS), ", ".join(["%s"] * len(INSERT_FIELDS))
    )
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, params)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_bare_offer")
    return len(params) / elapsed


def table_insert_rate(params, shop) -> float:
    """The same executemany into catalog_offer itself (its indexes, foreign keys and
    triggers), for another empty shop; the rows are deleted afterwards."""
    from django.db import connection, transaction

    from halles.catalog.imports import INSERT_FIELDS
    from halles.catalog.models import Offer

    rows = [(row[0], shop.pk, *row[2:]) for row in params]
    sql = "INSERT INTO catalog_offer ({}) VALUES ({})".format(
        ", ".join(INSERT_FIELDS), ", ".join(["%s"] * len(INSERT_FIELDS))
    )
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    elapsed = time.perf_counter() - started
    Offer.objects.filter(shop=shop).delete()
    return len(rows) / elapsed


def bulk_write_rate(params, shop) -> float:
    """The import's own writes alone: the same rows, already converted (no file, no parsing,
    no checks, no reads), in chunks of CHUNK_ROWS, each in its transaction, ids taken first,
    written by `imports.sql.insert` (COPY on PostgreSQL, a prepared INSERT on SQLite) with
    the search index kept right as the import keeps it (`search_index_deferred`: a set-based
    refresh per chunk on SQLite, the statement triggers on PostgreSQL). The ceiling of any
    importer that writes through these tables and this index; rows deleted after."""
    from django.db import transaction

    from halles.catalog.imports import CHUNK_ROWS, INSERT_FIELDS, sql
    from halles.catalog.models import Offer
    from halles.catalog.search.deferred import search_index_deferred

    rows = [(row[0], shop.pk, *row[2:]) for row in params]
    started = time.perf_counter()
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = rows[start : start + CHUNK_ROWS]
        with transaction.atomic(), search_index_deferred() as index:
            ids = sql.new_ids(Offer, len(chunk))
            sql.insert(
                Offer,
                ("id", *INSERT_FIELDS),
                [(pk, *row) for pk, row in zip(ids, chunk, strict=True)],
            )
            index.offers_created(ids)
    elapsed = time.perf_counter() - started
    Offer.objects.filter(shop=shop).delete()
    return len(rows) / elapsed


def timed_import(shop, path: Path, *, expect: int, profile: bool = False) -> float:
    from django.core.files import File

    from halles.catalog.imports import offer_import_create, offer_import_run
    from halles.catalog.models import ImportStatus

    started = time.perf_counter()
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
    with path.open("rb") as handle:
        offer_import = offer_import_create(
            shop=shop, uploaded_file=File(handle, name=path.name), mode="normal"
        )
    offer_import = offer_import_run(offer_import=offer_import)
    elapsed = time.perf_counter() - started
    if profiler:
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False), file=sys.stderr)
    if offer_import.status != ImportStatus.DONE or offer_import.applied_rows != expect:
        raise SystemExit(f"import went wrong: {offer_import.status} {offer_import.message}")
    return expect / elapsed


def child(rows: int, profile: str | None, floor_rows: int) -> dict:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.db import connection

    from halles.catalog.models import Offer, Product

    work = Path(os.environ["BENCH_DIR"])
    shop = setup_shop("empty")
    Product.objects.bulk_create(
        (
            Product(marketplace=shop.marketplace, title=f"Produit {i}", gtin=gtin(i))
            for i in range(rows)
        ),
        batch_size=2000,
    )
    product_ids = dict(Product.objects.values_list("gtin", "pk"))
    first, second = offer_rows(rows, changed=False), offer_rows(rows, changed=True)
    write_csv(work / "offers.csv", first)
    write_csv(work / "offers-changed.csv", second)
    with_products = [
        {
            "sku": r["sku"],
            "product-id-type": "SHOP_SKU",
            "product-title": f"Produit {r['sku']}",
            "product-brand": "Maison",
            "price": r["price"],
            "quantity": r["quantity"],
        }
        for r in first
    ]
    write_csv(work / "offers-products.csv", with_products)
    params = raw_params(first, shop, product_ids)

    raw_first = raw_insert_rate(params)
    floor = table_insert_rate(params[:floor_rows], setup_shop("floor", shop.marketplace))
    bulk = bulk_write_rate(params, setup_shop("bulk", shop.marketplace))
    create = timed_import(shop, work / "offers.csv", expect=rows, profile=profile == "import")
    assert Offer.objects.filter(shop=shop).count() == rows
    update = timed_import(
        shop, work / "offers-changed.csv", expect=rows, profile=profile == "re-import"
    )
    sample = Offer.objects.get(shop=shop, sku="SKU-0000007")
    assert sample.price_cents == 100 + 7 * 37 + 10 and sample.stock == 8, sample.__dict__
    other = setup_shop("products", shop.marketplace)
    products = timed_import(
        other, work / "offers-products.csv", expect=rows, profile=profile == "products"
    )
    raw_second = raw_insert_rate(params)
    raw = max(raw_first, raw_second)
    return {
        "database": connection.vendor
        + (
            f" {connection.Database.sqlite_version}"
            if connection.vendor == "sqlite"
            else f" {connection.pg_version // 10000}"
        ),
        "rows": rows,
        "raw": [round(raw_first), round(raw_second)],
        "table": round(floor),
        "bulk": round(bulk),
        "import": round(create),
        "reimport": round(update),
        "with_products": round(products),
        "ratio_import": create / raw,
        "ratio_reimport": update / raw,
        "ratio_with_products": products / raw,
    }


# --- The parent: one child per database ----------------------------------------------------


def run_child(database_url: str, rows: int, profile: str | None, work: str, floor: int) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        HALLES_VAR_DIR=work,
        BENCH_DIR=work,
        DJANGO_SETTINGS_MODULE="halles.config.settings",
        HALLES_LOG_LEVEL="WARNING",
    )
    command = [sys.executable, __file__, "--child", "--rows", str(rows), "--floor-rows", str(floor)]
    if profile:
        command += ["--profile", profile]
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def postgres_database(url: str):
    """A fresh database on the server of `url`: (its URL, a function that drops it)."""
    import psycopg
    from dj_database_url import parse

    settings = parse(url)
    name = f"halles_bench_{os.getpid()}"
    admin = dict(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        dbname="postgres",  # the maintenance database: the URL's may not exist yet
        autocommit=True,
    )
    with psycopg.connect(**admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')

    base, _sep, _old = url.rpartition("/")
    return f"{base}/{name}", drop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--profile", nargs="?", const="import", choices=("import", "re-import", "products")
    )
    parser.add_argument("--database", choices=("sqlite", "postgres"), help="only this one")
    parser.add_argument(
        "--floor-rows",
        type=int,
        default=20_000,
        help="rows of the row-by-row insert into catalog_offer (PostgreSQL's per-statement"
        " index refresh makes it slow)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    if args.child:
        print(json.dumps(child(args.rows, args.profile, args.floor_rows)))
        return 0

    results = []
    with tempfile.TemporaryDirectory(prefix="halles-bench-") as work:
        if args.database != "postgres":
            sqlite_url = f"sqlite:///{work}/bench.sqlite3"
            results.append(run_child(sqlite_url, args.rows, args.profile, work, args.floor_rows))
        url = os.environ.get("DATABASE_URL", "")
        on_postgres = url.startswith(("postgres://", "postgresql://"))
        if on_postgres and args.database != "sqlite":
            bench_url, drop = postgres_database(url)
            try:
                results.append(run_child(bench_url, args.rows, args.profile, work, args.floor_rows))
            finally:
                drop()
        elif args.database != "sqlite":
            print(
                "PostgreSQL skipped: no postgres DATABASE_URL (use scripts/throwaway_postgres.py)"
            )

    print(
        f"\nOffer import, {args.rows:,} rows; {datetime.now():%Y-%m-%d %H:%M}; "
        f"{sys.executable} (Python {platform.python_version()}, {platform.python_compiler()})"
    )
    header = (
        "database",
        "raw insert (bare table)",
        "same into catalog_offer",
        "the import's writes alone",
        "import",
        "ratio",
        "re-import",
        "ratio",
        "import with products",
        "ratio",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    worst = 1.0
    for r in results:
        raw = max(r["raw"])
        print(
            f"| {r['database']} | {raw:,} rows/s ({r['raw'][0]:,}, {r['raw'][1]:,}) "
            f"| {r['table']:,} rows/s ({r['table'] / raw:.0%}) "
            f"| {r['bulk']:,} rows/s ({r['bulk'] / raw:.0%}) "
            f"| {r['import']:,} rows/s | {r['ratio_import']:.0%} "
            f"| {r['reimport']:,} rows/s | {r['ratio_reimport']:.0%} "
            f"| {r['with_products']:,} rows/s | {r['ratio_with_products']:.0%} |"
        )
        worst = min(worst, r["ratio_import"], r["ratio_reimport"])
    print(
        f"\nTarget: import and re-import at least {TARGET:.0%} of the raw rate: "
        + ("met" if worst >= TARGET else f"NOT met (worst {worst:.0%})")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
