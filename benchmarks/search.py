#!/usr/bin/env python3
"""Catalog search benchmark: a throwaway catalog of N offers, then search_offers timed.

    .venv/bin/python benchmarks/search.py [--offers 1000000] [--database sqlite|postgres]
                                          [--queries 40] [--seed 7] [--json FILE]

SQLite: a database file in a temporary directory. PostgreSQL: the script re-runs itself
under scripts/throwaway_postgres.py, with shared_buffers 2GB (--shared-buffers: a server
sized for its data, which a million offers make 1.5 GB; the server's default is 128MB), or
uses DATABASE_URL when it points at PostgreSQL (the database named in it is created when
missing and must be disposable).

The catalog: about 0.6 product per offer, 2,000 shops (3 % suspended), 615 categories on
three levels, 1 to 3 delivery modes per shop, 3 B2B sectors (2 % of offers restricted).
Titles, brands and descriptions draw words from a vocabulary of 20,000 French-looking
words with a Zipf distribution (s = 1): the most frequent word is in about 9 offers out of
10, a word of rank 10,000 in about 200. The load bypasses the ORM (executemany on SQLite,
COPY on PostgreSQL) into the real tables, with the index triggers suspended
(search.search_index_suspended), then rebuilds the index in one statement: what a real bulk
load does. ANALYZE runs after the load.

Query classes (each --queries different queries, after one warm-up pass):
  rare     one word of Zipf rank 8,000-20,000 (roughly 100-300 matching offers)
  common   one word of rank 1-40 (roughly 5 % to 90 % of the offers)
  multi    two words, ranks 1-200 and 1-1,000 (both must match)
each without and with filters (a top-level category + price 10-50 EUR + in stock), sorted by
relevance and by price. The last word of a query is a prefix (as a search box sends it).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THROWAWAY = "HALLES_BENCH_THROWAWAY"  # set when the script re-runs itself under the cluster
SYLLABLES_ON = "b c d f g l m n p r s t v ch gr tr pl br cr fl j qu".split()  # noqa: SIM905
SYLLABLES_VOWEL = "a e i o u é è ou ai au eu on an in oi".split()  # noqa: SIM905
SYLLABLES_CODA = ["", "", "", "r", "s", "t", "l", "n", "x", "que", "ette", "ier", "eau", "ois"]


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--offers", type=int, default=1_000_000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--queries", type=int, default=40, help="queries per class")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--db-file", help="SQLite: keep the database in this file; reuse it when it exists"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="skip the load when the database has offers"
    )
    parser.add_argument(
        "--shared-buffers",
        default="2GB",
        help="PostgreSQL: shared_buffers of the throwaway cluster (the server's default is 128MB)",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    if args.database == "postgres" and not url.startswith("postgres"):
        os.environ[THROWAWAY] = "1"
        os.environ["HALLES_PG_OPTIONS"] = f"-c shared_buffers={args.shared_buffers}"
        return subprocess.call(
            [
                sys.executable,
                str(ROOT / "scripts" / "throwaway_postgres.py"),
                "--",
                sys.executable,
                str(Path(__file__).resolve()),
                *argv,
            ]
        )
    with tempfile.TemporaryDirectory(prefix="halles-search-bench-") as tmp:
        if args.database == "sqlite":
            path = Path(args.db_file).resolve() if args.db_file else Path(tmp) / "bench.sqlite3"
            args.reuse = args.reuse or path.exists()
            os.environ["DATABASE_URL"] = f"sqlite:///{path}"
        else:
            create_database(url)
        os.environ["HALLES_VAR_DIR"] = tmp
        os.environ["HALLES_SECRET_KEY"] = "benchmark"
        os.environ["DJANGO_SETTINGS_MODULE"] = "halles.config.settings"
        sys.path.insert(0, str(ROOT / "src"))
        import django

        django.setup()
        return Benchmark(args, tmp).run()


def create_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


class Vocabulary:
    def __init__(self, rng: random.Random, size: int, exponent: float = 1.0):
        words: set[str] = set()
        while len(words) < size:
            syllables = rng.choice([1, 2, 2, 3, 3, 3])
            word = "".join(
                rng.choice(SYLLABLES_ON) + rng.choice(SYLLABLES_VOWEL) for _ in range(syllables)
            )
            words.add(word + rng.choice(SYLLABLES_CODA))
        self.words = sorted(words)
        rng.shuffle(self.words)  # self.words[rank]: rank 0 is the most frequent
        self.cumulative = list(itertools.accumulate(1 / (r + 1) ** exponent for r in range(size)))
        self.rng = rng

    def sample(self, count: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self.cumulative, k=count)


class Benchmark:
    def __init__(self, args, tmp: str):
        from django.db import connection

        self.args = args
        self.tmp = tmp
        self.connection = connection
        self.vendor = connection.vendor
        self.rng = random.Random(args.seed)
        self.figures: dict = {"facts": self.facts()}
        self.write_seconds = 0.0
        self.timings: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))

    # --- set-up ----------------------------------------------------------------------------

    def facts(self) -> dict:
        import sqlite3

        facts = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "command": " ".join([sys.executable, *sys.argv]),
            "python": f"{sys.executable} ({platform.python_version()})",
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
            f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM",
            "offers": self.args.offers,
            "seed": self.args.seed,
        }
        if self.vendor == "sqlite":
            facts["database"] = f"SQLite {sqlite3.sqlite_version} (WAL, file)"
        else:
            with self.connection.cursor() as cursor:
                cursor.execute("SHOW server_version")
                version = cursor.fetchone()[0]
                cursor.execute("SHOW shared_buffers")
                buffers = cursor.fetchone()[0]
                cursor.execute("SHOW work_mem")
                work_mem = cursor.fetchone()[0]
                cursor.execute("SHOW jit")
                jit = cursor.fetchone()[0]
            where = "throwaway cluster, fsync off" if os.environ.get(THROWAWAY) else "DATABASE_URL"
            facts["database"] = (
                f"PostgreSQL {version} ({where}; shared_buffers {buffers}, work_mem {work_mem},"
                f" jit {jit})"
            )
        return facts

    def run(self) -> int:
        from django.core.management import call_command

        print(f"# {self.figures['facts']['database']}, {self.args.offers:,} offers", flush=True)
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        self.figures["migrate_s"] = time.perf_counter() - started
        if self.args.reuse and self.has_offers():
            self.restore()
        else:
            self.load()
            self.references()
            self.write_rates()
        if self.args.queries:
            self.measure_queries()
            self.report()
        return 0

    def load(self) -> None:
        from django.db import transaction

        from halles.catalog.search import search_index_suspended

        rng = self.rng
        self.vocabulary = Vocabulary(rng, 20_000)
        started = time.perf_counter()
        counts = {}
        with search_index_suspended():
            with transaction.atomic():
                self.marketplaces = self.make_marketplaces()
                self.categories, self.roots = self.make_categories()
                self.shops, self.modes = self.make_shops()
                self.sectors = self.make_sectors()
            counts = self.load_products_and_offers()
            loaded = time.perf_counter()
        rebuilt = time.perf_counter()
        self.analyze()
        analyzed = time.perf_counter()
        rows = sum(counts.values())
        self.figures["load"] = {
            **counts,
            "rows": rows,
            "load_s": loaded - started,
            "rows_per_s": rows / (loaded - started),
            "write_s": self.write_seconds,
            "write_rows_per_s": rows / self.write_seconds,
            "index_rebuild_s": rebuilt - loaded,
            "analyze_s": analyzed - rebuilt,
            "size": self.database_size(),
        }
        print(
            f"loaded {rows:,} rows in {loaded - started:.1f} s ({rows / (loaded - started):,.0f}"
            f" rows/s; writing alone {self.write_seconds:.1f} s,"
            f" {rows / self.write_seconds:,.0f} rows/s); index rebuilt in {rebuilt - loaded:.1f}"
            f" s; analyze {analyzed - rebuilt:.1f} s; {self.figures['load']['size']}",
            flush=True,
        )

    def has_offers(self) -> bool:
        from halles.catalog.models import Offer

        return Offer.objects.exists()

    def restore(self) -> None:
        """The state load() keeps, read back from a database loaded by an earlier run."""
        from halles.catalog.models import Category
        from halles.marketplaces.models import Marketplace

        self.vocabulary = Vocabulary(self.rng, 20_000)
        self.marketplaces = [Marketplace.objects.get(slug=s) for s in ("bench", "other")]
        self.roots = list(
            Category.objects.filter(marketplace=self.marketplaces[0], parent=None).values_list(
                "pk", flat=True
            )
        )
        print("reusing the loaded database", flush=True)

    def make_marketplaces(self):
        from halles.marketplaces.models import Marketplace

        return [
            Marketplace.objects.create(slug="bench", name="Bench", contact_email="b@bench.test"),
            Marketplace.objects.create(slug="other", name="Other", contact_email="o@bench.test"),
        ]

    def make_categories(self):
        from halles.catalog.models import Category

        names = iter(Vocabulary(random.Random(self.args.seed + 1), 700).words)
        main = self.marketplaces[0]
        roots = Category.objects.bulk_create(
            [Category(marketplace=main, name=next(names).title(), slug=f"r{i}") for i in range(15)]
        )
        middles = Category.objects.bulk_create(
            [
                Category(marketplace=main, parent=root, name=next(names).title(), slug=f"m{i}-{j}")
                for i, root in enumerate(roots)
                for j in range(8)
            ]
        )
        leaves = Category.objects.bulk_create(
            [
                Category(marketplace=main, parent=mid, name=next(names).title(), slug=f"l{i}-{j}")
                for i, mid in enumerate(middles)
                for j in range(4)
            ]
        )
        other = Category.objects.create(marketplace=self.marketplaces[1], name="Divers", slug="d")
        return [leaf.pk for leaf in leaves] + [other.pk], [root.pk for root in roots]

    def make_shops(self):
        from halles.shops.models import DeliveryKind, DeliveryMode, Plan, Shop, ShopStatus

        rng = self.rng
        shops, modes = [], {}
        for marketplace, count in ((self.marketplaces[0], 2000), (self.marketplaces[1], 40)):
            plan = Plan.objects.create(
                marketplace=marketplace, code="std", name="Standard", kind="commission"
            )
            created = Shop.objects.bulk_create(
                [
                    Shop(
                        marketplace=marketplace,
                        slug=f"shop-{i}",
                        name=f"Boutique {i}",
                        status=ShopStatus.SUSPENDED if rng.random() < 0.03 else ShopStatus.ACTIVE,
                        plan=plan,
                        legal_name=f"Boutique {i} SARL",
                        legal_form="SARL",
                        siren="732829320",
                        siret="73282932000074",
                        address_line1="1 rue",
                        postcode="69000",
                        city="Lyon",
                        contact_name="A",
                        contact_email="a@bench.test",
                        contact_phone="0102030405",
                        activity="Commerce",
                    )
                    for i in range(count)
                ]
            )
            shops.append([shop.pk for shop in created])
            kinds = [
                (DeliveryKind.HOME, 0.8),
                (DeliveryKind.RELAY, 0.5),
                (DeliveryKind.CLICK_COLLECT, 0.3),
            ]
            made = DeliveryMode.objects.bulk_create(
                [
                    DeliveryMode(
                        shop=shop, kind=kind, name=str(kind.label), is_active=rng.random() < 0.95
                    )
                    for shop in created
                    for kind, share in kinds
                    if rng.random() < share
                ]
            )
            for mode in made:
                modes.setdefault(mode.shop_id, []).append(mode.pk)
        return shops, modes

    def make_sectors(self):
        from halles.accounts.models import BusinessSector

        return [
            BusinessSector.objects.create(code=code, name=code).pk
            for code in ("hopital", "pharmacie", "ehpad")
        ]

    def load_products_and_offers(self) -> dict[str, int]:
        from django.db import transaction

        from halles.catalog.models import Offer, Product

        rng, vocabulary = self.rng, self.vocabulary
        offers_total = self.args.offers
        products_total = max(1, int(offers_total * 0.6))
        brands = [w.title() for w in Vocabulary(random.Random(self.args.seed + 2), 3000).words]
        brand_weights = list(itertools.accumulate(1 / (r + 1) for r in range(len(brands))))
        leaf_weights = list(
            itertools.accumulate(1 / (r + 1) ** 0.6 for r in range(len(self.categories) - 1))
        )
        shop_weights = list(itertools.accumulate(1 / (r + 1) ** 0.8 for r in range(2000)))
        now = datetime.now(UTC)
        start = now - timedelta(days=720)
        product_writer = self.timed_writer(self.writer(Product))
        offer_writer = self.timed_writer(self.writer(Offer))
        link_writer = self.timed_writer(self.link_writer())
        counts = {"products": 0, "offers": 0, "links": 0}
        chunk = 50_000
        product_market: list[int] = []  # marketplace index of each product
        for first in range(0, products_total, chunk):
            size = min(chunk, products_total - first)
            title_words = vocabulary.sample(size * 6)
            description_words = vocabulary.sample(size * 25)
            leafs = rng.choices(self.categories[:-1], cum_weights=leaf_weights, k=size)
            product_brands = rng.choices(brands, cum_weights=brand_weights, k=size)
            rows = []
            for i in range(size):
                pk = first + i + 1
                other = rng.random() < 0.02
                product_market.append(1 if other else 0)
                title_length = rng.randint(3, 6)
                description_length = rng.randint(10, 25)
                rows.append(
                    {
                        "id": pk,
                        "marketplace_id": self.marketplaces[1 if other else 0].pk,
                        "title": " ".join(title_words[i * 6 : i * 6 + title_length]).capitalize(),
                        "description": " ".join(
                            description_words[i * 25 : i * 25 + description_length]
                        ),
                        "brand": product_brands[i],
                        "category_id": self.categories[-1] if other else leafs[i],
                        "created_at": start + timedelta(seconds=pk),
                        "updated_at": now,
                    }
                )
            with transaction.atomic():
                product_writer(rows)
            counts["products"] += size
        for first in range(0, offers_total, chunk):
            size = min(chunk, offers_total - first)
            detail_words = vocabulary.sample(size * 6)
            shop_ranks = rng.choices(range(2000), cum_weights=shop_weights, k=size)
            rows, links, sector_links = [], [], []
            for i in range(size):
                pk = first + i + 1
                product_id = rng.randint(1, products_total)
                other = product_market[product_id - 1] == 1
                shop_id = rng.choice(self.shops[1]) if other else self.shops[0][shop_ranks[i]]
                price = int(min(200_000, max(50, rng.lognormvariate(8.0, 1.1))))
                row = {
                    "id": pk,
                    "marketplace_id": self.marketplaces[1 if other else 0].pk,
                    "shop_id": shop_id,
                    "product_id": product_id,
                    "sku": f"S{pk}",
                    "description": " ".join(detail_words[i * 6 : i * 6 + rng.randint(0, 6)]),
                    "price_cents": price,
                    "stock": 0 if rng.random() < 0.15 else rng.randint(1, 200),
                    "is_active": rng.random() < 0.95,
                    "created_at": start + timedelta(seconds=pk * 40),
                    "updated_at": now,
                }
                promotion = rng.random()
                if promotion < 0.10 and price > 100:
                    row["discount_price_cents"] = int(price * rng.uniform(0.5, 0.95))
                    if promotion < 0.05:  # in force
                        row["discount_starts_at"] = now - timedelta(days=3)
                        row["discount_ends_at"] = now + timedelta(days=30)
                    elif promotion < 0.075:  # ended
                        row["discount_ends_at"] = now - timedelta(days=3)
                    else:  # not started
                        row["discount_starts_at"] = now + timedelta(days=3)
                rows.append(row)
                links += [(pk, mode) for mode in self.modes.get(shop_id, [])]
                if rng.random() < 0.02:
                    sector_links.append((pk, rng.choice(self.sectors)))
            with transaction.atomic():
                offer_writer(rows)
                link_writer("catalog_offer_delivery_modes", "deliverymode_id", links)
                link_writer("catalog_offer_visible_to_sectors", "businesssector_id", sector_links)
            counts["offers"] += size
            counts["links"] += len(links) + len(sector_links)
            print(f"  {counts['offers']:,} offers", end="\r", flush=True)
        self.reset_sequences()
        return counts

    def timed_writer(self, write):
        """Count the time spent writing, apart from generating the rows."""

        def timed(*args):
            begin = time.perf_counter()
            write(*args)
            self.write_seconds += time.perf_counter() - begin

        return timed

    def writer(self, model):
        """A function writing dict rows into the model's table: every concrete column, the
        field default where the row has no value, bypassing the ORM."""
        fields = [f for f in model._meta.local_concrete_fields]
        columns = [f.column for f in fields]
        defaults = {}
        for f in fields:
            if f.has_default():
                defaults[f.attname] = f.get_db_prep_save(f.get_default(), self.connection)
            else:
                defaults[f.attname] = None
        prep = {f.attname: f for f in fields if f.get_internal_type() == "DateTimeField"}

        def to_db(attname, value):
            if attname in prep and value is not None:
                return prep[attname].get_db_prep_save(value, self.connection)
            return value

        names = [f.attname for f in fields]
        table = model._meta.db_table
        if self.vendor == "sqlite":
            sql = (
                f"INSERT INTO {table} ({', '.join(columns)})"
                f" VALUES ({', '.join('?' * len(columns))})"
            )

            def write(rows):
                raw = self.connection.connection
                raw.executemany(
                    sql,
                    [tuple(to_db(n, row.get(n, defaults[n])) for n in names) for row in rows],
                )

            return write

        copy_sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"

        def write_pg(rows):
            with self.connection.connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row(
                        [
                            json.dumps(v) if isinstance(v, dict) else v
                            for v in (to_db(n, row.get(n, defaults[n])) for n in names)
                        ]
                    )

        return write_pg

    def link_writer(self):
        def write(table, column, pairs):
            if not pairs:
                return
            if self.vendor == "sqlite":
                self.connection.connection.executemany(
                    f"INSERT INTO {table} (offer_id, {column}) VALUES (?, ?)", pairs
                )
                return
            with (
                self.connection.connection.cursor() as cursor,
                cursor.copy(f"COPY {table} (offer_id, {column}) FROM STDIN") as copy,
            ):
                for pair in pairs:
                    copy.write_row(pair)

        return write

    def reset_sequences(self) -> None:
        if self.vendor != "postgresql":
            return
        with self.connection.cursor() as cursor:
            for table in ("catalog_product", "catalog_offer"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
                )

    def analyze(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    def database_size(self) -> str:
        with self.connection.cursor() as cursor:
            if self.vendor == "sqlite":
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                size = os.path.getsize(self.connection.settings_dict["NAME"])
                cursor.execute(
                    "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'catalog_offer_fts%%'"
                    " OR name LIKE 'catalog_search_%%'"
                )
                index = cursor.fetchone()[0] or 0
            else:
                cursor.execute("SELECT pg_database_size(current_database())")
                size = cursor.fetchone()[0]
                cursor.execute("SELECT pg_total_relation_size('catalog_offersearch')")
                index = cursor.fetchone()[0]
        return f"database {size / 2**20:,.0f} MiB, of which search index {index / 2**20:,.0f} MiB"

    # --- measurements ----------------------------------------------------------------------

    def time_sql(self, sql: str, params=(), repeat: int = 5) -> float:
        samples = []
        with self.connection.cursor() as cursor:
            for _ in range(repeat):
                begin = time.perf_counter()
                cursor.execute(sql, params)
                cursor.fetchall()
                samples.append((time.perf_counter() - begin) * 1000)
        return statistics.median(samples)

    def references(self) -> None:
        count = self.time_sql("SELECT count(*) FROM catalog_offer WHERE price_cents < %s", [5000])
        self.figures["reference_count_ms"] = count
        print(
            "reference: SELECT count(*) FROM catalog_offer WHERE price_cents < 5000:",
            f"{count:.1f} ms",
        )

    def write_rates(self) -> None:
        """Writes with the triggers on: what maintaining the index costs per row."""
        from django.db import transaction

        from halles.catalog.models import Offer

        main = self.marketplaces[0]
        shop_id = self.shops[0][0]
        product_ids = list(range(1, 5001))
        rows = [
            Offer(
                marketplace=main,
                shop_id=shop_id,
                product_id=pk,
                sku=f"W{pk}",
                price_cents=1000,
                stock=3,
            )
            for pk in product_ids
        ]
        begin = time.perf_counter()
        with transaction.atomic():
            created = Offer.objects.bulk_create(rows, batch_size=500)
        inserted = time.perf_counter() - begin
        ids = [offer.pk for offer in created]
        begin = time.perf_counter()
        with transaction.atomic():
            Offer.objects.filter(pk__in=ids).update(description="nouvelle description")
        updated = time.perf_counter() - begin
        begin = time.perf_counter()
        with transaction.atomic():
            Offer.objects.filter(pk__in=ids).update(price_cents=1100)
        price_only = time.perf_counter() - begin
        begin = time.perf_counter()
        with transaction.atomic():
            Offer.objects.filter(pk__in=ids).delete()
        deleted = time.perf_counter() - begin
        self.figures["writes"] = {
            "insert_rows_per_s": len(ids) / inserted,
            "update_indexed_rows_per_s": len(ids) / updated,
            "update_price_rows_per_s": len(ids) / price_only,
            "delete_rows_per_s": len(ids) / deleted,
        }
        print("writes with the triggers on (rows/s):", self.figures["writes"], flush=True)

    def query_classes(self) -> list[tuple[str, list[str]]]:
        rng = random.Random(self.args.seed + 3)
        words = self.vocabulary.words
        n = self.args.queries
        rare = [words[r] for r in rng.sample(range(8000, 20_000), n)]
        common = [words[r] for r in rng.sample(range(0, 40), min(n, 40))]
        multi = []
        while len(multi) < n:
            first, second = words[rng.randrange(200)], words[rng.randrange(1000)]
            if first != second:
                multi.append(f"{first} {second}")
        return [("rare", rare), ("common", common), ("multi", multi)]

    def measure_queries(self) -> None:
        from halles.catalog import search

        self.instrument(search)
        marketplace = self.marketplaces[0]
        rng = random.Random(self.args.seed + 4)
        plans = []
        for name, queries in self.query_classes():
            for filtered in (False, True):
                for sort in ("relevance", "price_asc"):
                    label = f"{name}{' +filters' if filtered else ''} / {sort}"
                    runs = []
                    for query in queries:
                        filters = search.SearchFilters()
                        if filtered:
                            filters = search.SearchFilters(
                                category_id=rng.choice(self.roots),
                                min_price_cents=1000,
                                max_price_cents=5000,
                                in_stock=True,
                            )
                        runs.append((query, filters))
                    plans.append((label, sort, runs))
        for _label, sort, runs in plans:  # warm-up: caches, statistics
            for query, filters in runs:
                search.search_offers(
                    marketplace=marketplace, query=query, filters=filters, sort=sort
                )
        results = {}
        for label, sort, runs in plans:
            samples, totals, capped = [], [], 0
            self.current = label
            for query, filters in runs:
                begin = time.perf_counter()
                result = search.search_offers(
                    marketplace=marketplace, query=query, filters=filters, sort=sort
                )
                samples.append((time.perf_counter() - begin) * 1000)
                totals.append(result.total)
                capped += not result.total_is_exact
            results[label] = {
                "n": len(samples),
                "p50_ms": statistics.median(samples),
                "p95_ms": percentile(samples, 0.95),
                "max_ms": max(samples),
                "median_total": statistics.median(totals),
                "capped": capped,
                "phases_ms": {
                    phase: statistics.median(values)
                    for phase, values in self.timings[label].items()
                },
            }
            print(self.row(label, results[label]), flush=True)
        self.figures["queries"] = results
        self.figures["match_counts"] = self.match_counts()

    def instrument(self, search) -> None:
        """Time the phases of search_offers (window, rank, price walk, facets, page)."""
        self.current = "warm-up"

        def timed(phase, function):
            def wrapper(*args, **kwargs):
                begin = time.perf_counter()
                try:
                    return function(*args, **kwargs)
                finally:
                    self.timings[self.current][phase].append((time.perf_counter() - begin) * 1000)

            return wrapper

        for backend in search.BACKENDS.values():
            backend.window = timed("window", backend.window)
            backend.price_order = timed("price walk", backend.price_order)
            backend.delivery_counts = timed("delivery", backend.delivery_counts)
            backend.relevance = timed("rank", backend.relevance)
        search.offers._facets = timed("facets", search.offers._facets)
        search.offers._load_offers = timed("page", search.offers._load_offers)

    def match_counts(self) -> dict:
        """How many offers the words of each class match (exact, untimed)."""
        from halles.catalog.search import parse_terms

        counts = {}
        for name, queries in self.query_classes():
            totals = []
            for query in queries[:10]:
                words = parse_terms(query).words
                totals.append(self.count_matches(words))
            counts[name] = {
                "min": min(totals),
                "median": statistics.median(totals),
                "max": max(totals),
            }
        return counts

    def count_matches(self, words: list[str]) -> int:
        with self.connection.cursor() as cursor:
            if self.vendor == "sqlite":
                expression = " AND ".join(f'"{w}"' for w in words[:-1]) + (
                    (" AND " if len(words) > 1 else "") + f'"{words[-1]}" *'
                )
                cursor.execute(
                    "SELECT count(*) FROM catalog_offer_fts WHERE catalog_offer_fts MATCH %s",
                    [expression],
                )
            else:
                cursor.execute(
                    "SELECT array_agg(halles_search_fold(w)) FROM unnest(%s::text[]) w", [words]
                )
                query = " & ".join(f"'{w}'" for w in cursor.fetchone()[0]) + ":*"
                cursor.execute(
                    "SELECT count(*) FROM catalog_offersearch"
                    " WHERE vector @@ to_tsquery('simple', %s)",
                    [query],
                )
            return cursor.fetchone()[0]

    # --- report ----------------------------------------------------------------------------

    @staticmethod
    def row(label: str, figures: dict) -> str:
        phases = ", ".join(f"{k} {v:.1f}" for k, v in figures["phases_ms"].items())
        return (
            f"{label:<32} p50 {figures['p50_ms']:7.1f}  p95 {figures['p95_ms']:7.1f}  max "
            f"{figures['max_ms']:7.1f} ms  total~{figures['median_total']:>7,.0f}"
            f" capped {figures['capped']:>2}/{figures['n']}  [{phases}]"
        )

    def report(self) -> None:
        facts = self.figures["facts"]
        print()
        for key in ("date", "command", "python", "machine", "database"):
            print(f"{key}: {facts[key]}")
        print("matches per class (first 10 queries):", self.figures["match_counts"])
        worst = max(q["p95_ms"] for q in self.figures["queries"].values())
        print(f"worst p95: {worst:.1f} ms (target 50 ms): {'met' if worst <= 50 else 'NOT met'}")
        if self.args.json:
            Path(self.args.json).write_text(json.dumps(self.figures, indent=2, default=str))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
