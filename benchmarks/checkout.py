"""Checkout throughput: concurrent buyers placing 3-shop carts and paying with the sandbox card,
against the raw rate of an equivalent minimal transaction, same database, same run.

    .venv/bin/python benchmarks/checkout.py                        # SQLite only
    .venv/bin/python scripts/throwaway_postgres.py -- .venv/bin/python benchmarks/checkout.py
    DATABASE_URL=postgres://... .venv/bin/python benchmarks/checkout.py   # SQLite + that server

Options: --threads N (default 8; a 1-thread baseline always runs first), --orders N per run
(default 240), --profile (pyinstrument over single-threaded checkouts, printed to stderr),
--http (also drive the served pages through gunicorn), --only sqlite|postgres.

For each database (SQLite: a temporary file with the project's settings, WAL; PostgreSQL: a
fresh database created on the server of DATABASE_URL and dropped afterwards), in a child
process, after `migrate`, with the project's settings (database tasks backend: the tasks a
checkout queues are rows, no worker runs):

1. setup (not timed): an open marketplace with its default fraud rules, 3 active shops (an
   owner each, who gets the new-order e-mails), 20 offers per shop with a large stock, a
   home delivery mode per shop; one buyer per checkout (confirmed, approved, an address,
   an account a year old: one order each, so the fraud check lets every order through);
   each buyer's cart filled through the services (one random offer of each shop, 1 to 3
   units, home delivery) -- timed apart as "cart";
2. raw: in one transaction through the same Django connection, plain SQL: 3 guarded stock
   UPDATEs on catalog_offer (`WHERE stock >= n`), INSERT 1 orders_order, 3 orders_shoporder
   and 3 orders_orderline rows (values converted beforehand); 1 thread then N threads;
3. checkout, in process: `checkout_place` + `checkout_payment_start` + sandbox
   `intent_pay` (test card 4242...) + `checkout_payment_update` per buyer, timed as one
   latency; 1 thread (baseline) then N threads (each its own connection), started together;
   SQL statements counted per checkout (execute_wrapper: savepoints included, BEGIN/COMMIT
   not); every order must end placed with its shop orders waiting for acceptance;
4. raw again (the host is noisy); the ratio uses the faster raw run at the same threads;
5. --http: gunicorn (2 workers, like `halles serve`) on a free port with this database;
   N client threads drive the storefront pages: log in, add to cart from the product pages,
   choose delivery on the cart page, POST the checkout form, follow to the sandbox's page,
   POST the card, follow back.
"""

import argparse
import json
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager
from datetime import timedelta
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOPS = 3
OFFERS_PER_SHOP = 20
CARD = "4242424242424242"
PASSWORD = "benchmark-password"
WARMUP = 10


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def latency_figures(seconds: list[float], wall: float) -> dict:
    return {
        "count": len(seconds),
        "rate": len(seconds) / wall,
        "p50_ms": percentile(seconds, 0.5) * 1000,
        "p95_ms": percentile(seconds, 0.95) * 1000,
        "max_ms": max(seconds) * 1000,
    }


class StatementCounter:
    """Counts the statements one connection executes (installed per thread)."""

    def __init__(self):
        self.count = 0
        self.savepoints = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        if sql.lstrip()[:9].upper() in ("SAVEPOINT", "RELEASE S", "ROLLBACK "):
            self.savepoints += 1
        return execute(sql, params, many, context)


def run_threads(threads: int, jobs: list, work) -> tuple[list, float]:
    """Run `work(job)` for every job on `threads` threads (each its own connection), all
    started together. Returns the per-job results and the wall time."""
    from django.db import connection

    chunks = [jobs[i::threads] for i in range(threads)]
    barrier = threading.Barrier(threads + 1)
    results: list = []
    errors: list = []
    lock = threading.Lock()

    def run(chunk):
        try:
            connection.ensure_connection()
            barrier.wait()
            mine = [work(job) for job in chunk]
            with lock:
                results.extend(mine)
        except Exception as exc:  # shown after the run
            errors.append(repr(exc))
            barrier.abort()
        finally:
            connection.close()

    workers = [threading.Thread(target=run, args=(chunk,)) for chunk in chunks]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{len(errors)} thread(s) failed: {errors[0]}")
    return results, wall


# --- Setup -----------------------------------------------------------------------------------


def setup_world(buyers: int, rng: random.Random) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from halles.accounts.models import AccountType, Address, User
    from halles.catalog.models import Offer, Product
    from halles.marketplaces.models import Marketplace, MarketplaceStatus, Membership
    from halles.orders.fraud import rules_for
    from halles.shops.models import DeliveryMode, Plan, Shop, ShopStaff, ShopStatus

    now = timezone.now()
    marketplace = Marketplace.objects.create(
        slug="bench",
        name="Bench",
        contact_email="bench@example.test",
        is_default=True,
        status=MarketplaceStatus.OPEN,
        opened_at=now,
        opening_threshold=0,
    )
    rules_for(marketplace)  # the default fraud rules
    plan = Plan.objects.create(marketplace=marketplace, code="c", name="C", kind="commission")
    password = make_password(PASSWORD)  # hashed once, shared by the benchmark's accounts
    shops = []
    for index in range(SHOPS):
        owner = User.objects.create(
            email=f"seller{index}@example.test",
            password=password,
            account_type=AccountType.SELLER,
            email_verified_at=now,
        )
        shop = Shop.objects.create(
            marketplace=marketplace,
            slug=f"shop-{index}",
            name=f"Boutique {index}",
            status=ShopStatus.ACTIVE,
            plan=plan,
            legal_name=f"Boutique {index} SAS",
            legal_form="SAS",
            siren="732829320",
            siret="73282932000074",
            address_line1="1 rue du Marché",
            postcode="69000",
            city="Lyon",
            contact_name="Vendeur",
            contact_email=owner.email,
            contact_phone="0600000000",
            activity="bench",
            accepts_card=True,
            activated_at=now,
        )
        ShopStaff.objects.create(shop=shop, user=owner, role="owner")
        DeliveryMode.objects.create(
            shop=shop,
            kind="home",
            name="Colissimo",
            carrier="Colissimo",
            fee_cents=490,
            free_above_cents=5000,
        )
        for n in range(OFFERS_PER_SHOP):
            product = Product.objects.create(
                marketplace=marketplace, title=f"Article {index}-{n}", created_by_shop=shop
            )
            Offer.objects.create(
                marketplace=marketplace,
                shop=shop,
                product=product,
                sku=f"S{index}-{n:03d}",
                price_cents=150 + rng.randrange(6000),
                vat_rate=20,
                stock=10_000_000,
            )
        shops.append(shop)
    joined = now - timedelta(days=365)
    users = User.objects.bulk_create(
        User(
            email=f"buyer{i}@example.test",
            password=password,
            first_name="Camille",
            last_name=f"Acheteuse {i}",
            language="fr",
            email_verified_at=joined,
            date_joined=joined,
        )
        for i in range(buyers)
    )
    users = list(User.objects.filter(email__startswith="buyer").order_by("pk"))
    Address.objects.bulk_create(
        Address(
            user=user,
            full_name=f"{user.first_name} {user.last_name}",
            line1="12 rue des Tilleuls",
            postcode="75011",
            city="Paris",
            country="FR",
            phone="0612345678",
            is_default_billing=True,
            is_default_shipping=True,
        )
        for user in users
    )
    Membership.objects.bulk_create(
        Membership(marketplace=marketplace, user=user, role="buyer", status="approved")
        for user in users
    )
    offers = {
        shop.pk: list(Offer.objects.filter(shop=shop).order_by("pk").values_list("pk", flat=True))
        for shop in shops
    }
    return {"marketplace": marketplace, "shops": shops, "buyers": users, "offers": offers}


def fill_carts(world: dict, buyers: list, rng: random.Random) -> dict:
    """Each buyer's cart through the services: one offer of each shop, home delivery."""
    from django.db import connection

    from halles.checkout import cart as carts
    from halles.shops.models import DeliveryMode

    modes = {m.shop_id: m.pk for m in DeliveryMode.objects.filter(shop__in=world["shops"])}
    counter = StatementCounter()
    jobs = []
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        for buyer in buyers:
            cart = carts.cart_get(marketplace=world["marketplace"], user=buyer, create=True)
            for shop in world["shops"]:
                offer_id = rng.choice(world["offers"][shop.pk])
                carts.cart_add(cart=cart, offer_id=offer_id, quantity=rng.randint(1, 3), user=buyer)
                carts.cart_choose_delivery(
                    cart=cart, shop_id=shop.pk, delivery_mode_id=modes[shop.pk]
                )
            address_id = buyer.addresses.values_list("pk", flat=True).get()
            jobs.append((buyer, cart, address_id))
    elapsed = time.perf_counter() - started
    return {
        "jobs": jobs,
        "ms_per_cart": elapsed / len(buyers) * 1000,
        "queries_per_cart": counter.count / len(buyers),
    }


# --- The checkout, in process ------------------------------------------------------------------

STEPS = ("checkout_place", "payment_start", "intent_pay", "payment_update")


def checkout(job) -> dict:
    """One buyer's checkout through the services, as the pages would call them."""
    from django.db import connection

    from halles.checkout import placement
    from halles.orders.models import OrderStatus
    from halles.payments.sandbox import bank

    buyer, cart, address_id = job
    counter = StatementCounter()
    steps = {}
    with connection.execute_wrapper(counter):
        started = mark = time.perf_counter()
        order = placement.checkout_place(
            cart=cart,
            buyer=buyer,
            checkout_token=uuid.uuid4().hex,
            billing_address_id=address_id,
            shipping_address_id=address_id,
        )
        steps["checkout_place"], mark = time.perf_counter() - mark, time.perf_counter()
        page = placement.checkout_payment_start(order=order, return_url="http://bench/return/")
        intent_id = page.rstrip("/").rsplit("/", 1)[1]  # the sandbox page: /sandbox/pay/<id>/
        steps["payment_start"], mark = time.perf_counter() - mark, time.perf_counter()
        bank.intent_pay(intent_id=intent_id, number=CARD, expiry="12/40", cvc="123")
        steps["intent_pay"], mark = time.perf_counter() - mark, time.perf_counter()
        order = placement.checkout_payment_update(order_id=order.pk)
        steps["payment_update"] = time.perf_counter() - mark
        total = time.perf_counter() - started
    if order.status != OrderStatus.PLACED:
        raise RuntimeError(f"order {order.reference} ended {order.status}")
    return {
        "seconds": total,
        "statements": counter.count,
        "savepoints": counter.savepoints,
        "steps": steps,
    }


def measure_checkouts(jobs: list, threads: int) -> dict:
    cpu = time.process_time()
    results, wall = run_threads(threads, jobs, checkout)
    cpu = time.process_time() - cpu
    figures = latency_figures([r["seconds"] for r in results], wall)
    figures["cpu_ms"] = cpu / len(results) * 1000  # this process only: less noisy than wall
    figures["threads"] = threads
    figures["statements"] = statistics.mean(r["statements"] for r in results)
    figures["savepoints"] = statistics.mean(r["savepoints"] for r in results)
    figures["steps_ms"] = {
        step: statistics.median(r["steps"][step] for r in results) * 1000 for step in STEPS
    }
    return figures


def profile_checkouts(jobs: list) -> None:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    for job in jobs:
        checkout(job)
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False, show_all=False), file=sys.stderr)


# --- The raw reference -------------------------------------------------------------------------


def row_values(model, given: dict) -> tuple[list[str], list]:
    """Column names and database values of a full row of `model` (defaults for the rest),
    converted as Django would, outside any timing."""
    from django.db import connection

    columns, values = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        value = given[field.attname] if field.attname in given else field.get_default()
        columns.append(field.column)
        values.append(field.get_db_prep_save(value, connection))
    return columns, values


def raw_plans(world: dict, count: int, rng: random.Random) -> list:
    """The parameters of `count` raw transactions (3 stock updates, 1 + 3 + 3 rows)."""
    from django.utils import timezone

    from halles.orders.models import Order, OrderLine, ShopOrder

    marketplace, buyer = world["marketplace"], world["buyers"][0]
    plans = []
    for _n in range(count):
        reference = f"RAW-{uuid.uuid4().hex[:12]}"
        items = sorted(
            (rng.choice(world["offers"][shop.pk]), shop.pk, rng.randint(1, 3))
            for shop in world["shops"]
        )
        order = row_values(
            Order,
            {
                "marketplace_id": marketplace.pk,
                "reference": reference,
                "buyer_id": buyer.pk,
                "checkout_token": f"raw-{uuid.uuid4().hex}",
                "total_cents": 9000,
                "email": buyer.email,
                "billing_name": "Camille Acheteuse",
                "billing_line1": "12 rue des Tilleuls",
                "billing_postcode": "75011",
                "billing_city": "Paris",
                "billing_country": "FR",
                "created_at": timezone.now(),
            },
        )
        shop_orders = []
        for letter, (offer_id, shop_id, quantity) in zip("ABC", items, strict=True):
            shop_order = row_values(
                ShopOrder,
                {
                    "marketplace_id": marketplace.pk,
                    "shop_id": shop_id,
                    "reference": f"{reference}-{letter}",
                    "delivery_kind": "home",
                    "delivery_name": "Colissimo",
                    "lines_cents": 1000 * quantity,
                    "total_cents": 1000 * quantity + 490,
                    "created_at": timezone.now(),
                    "updated_at": timezone.now(),
                    "order_id": None,
                },
            )
            line = row_values(
                OrderLine,
                {
                    "offer_id": offer_id,
                    "title": "Article",
                    "sku": "SKU",
                    "quantity": quantity,
                    "unit_price_cents": 1000,
                    "vat_rate": 20,
                    "total_cents": 1000 * quantity,
                    "shop_order_id": None,
                },
            )
            shop_orders.append((shop_order, line))
        plans.append(([(o, q) for o, _s, q in items], order, shop_orders))
    return plans


def raw_transaction(plan, stock_table: str = "catalog_offer") -> dict:
    from django.db import connection, transaction

    from halles.orders.models import Order, OrderLine, ShopOrder

    stock, (order_columns, order_values), shop_orders = plan

    def insert(table, columns, values):
        names = ", ".join(columns)
        marks = ", ".join(["%s"] * len(values))
        cursor.execute(f"INSERT INTO {table} ({names}) VALUES ({marks}) RETURNING id", values)
        return cursor.fetchone()[0]

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for offer_id, quantity in stock:
            cursor.execute(
                f"UPDATE {stock_table} SET stock = stock - %s WHERE id = %s AND stock >= %s",
                [quantity, offer_id, quantity],
            )
            assert cursor.rowcount == 1
        order_id = insert(Order._meta.db_table, order_columns, order_values)
        for (so_columns, so_values), (line_columns, line_values) in shop_orders:
            so_values[so_columns.index("order_id")] = order_id
            shop_order_id = insert(ShopOrder._meta.db_table, so_columns, so_values)
            line_values[line_columns.index("shop_order_id")] = shop_order_id
            insert(OrderLine._meta.db_table, line_columns, line_values)
    return {"seconds": time.perf_counter() - started}


def bare_stock_table() -> str:
    """A copy of the offers' ids and stock without indexes, triggers or constraints: the
    same transaction against it shows what catalog_offer's own machinery costs."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_stock")
        cursor.execute("CREATE TABLE bench_stock (id bigint PRIMARY KEY, stock bigint NOT NULL)")
        cursor.execute("INSERT INTO bench_stock SELECT id, stock FROM catalog_offer")
    return "bench_stock"


def measure_raw(
    world: dict, count: int, threads: int, rng: random.Random, stock_table: str = "catalog_offer"
) -> dict:
    from halles.orders.models import Order, OrderLine, ShopOrder

    plans = raw_plans(world, count, rng)
    results, wall = run_threads(
        threads, plans, lambda plan: raw_transaction(plan, stock_table=stock_table)
    )
    figures = latency_figures([r["seconds"] for r in results], wall)
    raw = Order.objects.filter(reference__startswith="RAW-")
    OrderLine.objects.filter(shop_order__order__in=raw).delete()
    ShopOrder.objects.filter(order__in=raw).delete()
    raw.delete()
    return figures


# --- Over HTTP -------------------------------------------------------------------------------


class FormParser(HTMLParser):
    """The forms of a page: action, method and fields (inputs, selects, textareas)."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(
                {
                    "action": attrs.get("action") or "",
                    "method": (attrs.get("method") or "get").lower(),
                    "fields": [],
                    "radios": {},
                    "selects": {},
                }
            )
        if not self.forms:
            return
        form = self.forms[-1]
        name = attrs.get("name")
        if tag == "input" and name:
            kind = (attrs.get("type") or "text").lower()
            value = attrs.get("value", "on" if kind in ("checkbox", "radio") else "")
            if kind == "radio":
                form["radios"].setdefault(name, [])
                form["radios"][name].append((value, "checked" in attrs))
            elif kind == "checkbox":
                if "checked" in attrs:
                    form["fields"].append((name, value))
            elif kind not in ("submit", "button", "image", "reset", "file"):
                form["fields"].append((name, value))
        elif tag == "textarea" and name:
            form["fields"].append((name, ""))
        elif tag == "select" and name:
            self._select = name
            form["selects"][name] = []
        elif tag == "option" and self._select:
            value = attrs.get("value", "")
            form["selects"][self._select].append((value, "selected" in attrs, "disabled" in attrs))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def form_data(form: dict, **given) -> dict:
    """What a browser would send: the fields' values, the checked (else first) radio, the
    selected (else first non-empty) option; `given` overrides by name."""
    data = dict(form["fields"])
    for name, options in form["radios"].items():
        checked = [value for value, on in options if on]
        data[name] = checked[0] if checked else options[0][0]
    for name, options in form["selects"].items():
        usable = [(value, on) for value, on, disabled in options if not disabled]
        chosen = [value for value, on in usable if on] or [v for v, _on in usable if v]
        data[name] = chosen[0] if chosen else ""
    data.update(given)
    return data


def page_kind(url: str) -> str:
    """A URL's path with its ids and references replaced: what the timings group by."""
    path = urllib.parse.urlsplit(url).path
    return re.sub(r"/(\d+|[A-Z]{2,4}-[A-Z0-9-]+|sbx_\w+)(?=/)", "/<id>", path)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Journey:
    """One buyer in a browser: a cookie jar, redirects followed by hand (and counted)."""

    def __init__(self, base_url: str, email: str):
        self.base = base_url
        self.email = email
        self.requests = 0
        self.timings: list[tuple[str, float]] = []
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect()
        )

    def open(self, url: str, data: dict | None = None, follow: bool = True):
        """GET (or POST `data`) and follow redirects; returns (final URL, status, HTML)."""
        url = urllib.parse.urljoin(self.base + "/", url)
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        while True:
            self.requests += 1
            request = urllib.request.Request(url, data=body, headers={"Referer": url})
            kind = ("POST " if body is not None else "GET ") + page_kind(url)
            started = time.perf_counter()
            try:
                with self.opener.open(request, timeout=60) as response:
                    answer = response.url, response.status, response.read().decode()
                    self.timings.append((kind, time.perf_counter() - started))
                    return answer
            except urllib.error.HTTPError as error:
                self.timings.append((kind, time.perf_counter() - started))
                location = error.headers.get("Location")
                if error.code in (301, 302, 303) and location and follow:
                    url, body = urllib.parse.urljoin(url, location), None
                    continue
                return url, error.code, error.read().decode(errors="replace")

    def form(self, html: str, where) -> dict | None:
        parser = FormParser()
        parser.feed(html)
        return next((f for f in parser.forms if where(f)), None)

    def post_form(self, page_url: str, html: str, form: dict, **given):
        action = urllib.parse.urljoin(page_url, form["action"] or page_url)
        return self.open(action, form_data(form, **given))

    def login(self) -> None:
        url, status, html = self.open("login/")
        form = self.form(html, lambda f: any(n == "password" for n, _v in f["fields"]))
        if form is None:
            raise RuntimeError(f"no login form at {url} ({status})")
        names = [n for n, _v in form["fields"]]
        login_field = "username" if "username" in names else "email"
        url, status, _html = self.post_form(
            url, html, form, **{login_field: self.email, "password": PASSWORD}
        )
        if "login" in url.rsplit("/", 2)[-2:]:
            raise RuntimeError(f"login refused for {self.email}")

    def missing_pages(self) -> list[str]:
        self.login()
        missing = []
        for path in ("cart/", "checkout/"):
            _url, status, _html = self.open(path)
            if status == 404:
                missing.append(f"/{path} (404)")
        return missing

    def add_to_cart(self, product_id: int, offer_id: int) -> None:
        url, status, html = self.open(f"p/{product_id}/")
        form = self.form(
            html,
            lambda f: (
                f["action"].rstrip("/").endswith("cart/add")
                and str(offer_id) in [v for _n, v in f["fields"]]
            ),
        )
        if form is None:
            raise RuntimeError(f"no add-to-cart form for offer {offer_id} at {url} ({status})")
        _url, status, _html = self.post_form(url, html, form)
        if status >= 400:
            raise RuntimeError(f"add to cart answered {status}")

    def choose_deliveries(self) -> None:
        url, status, html = self.open("cart/")
        parser = FormParser()
        parser.feed(html)
        for form in parser.forms:
            if "/delivery" in form["action"]:
                _url, status, _html = self.post_form(url, html, form)
                if status >= 400:
                    raise RuntimeError(f"delivery choice answered {status}")

    def checkout(self) -> str:
        """POST the checkout form, pay on the sandbox's page, come back; the final URL."""
        url, status, html = self.open("checkout/")
        form = self.form(
            html, lambda f: f["method"] == "post" and "checkout" in (f["action"] or url)
        )
        if form is None:
            raise RuntimeError(f"no checkout form at {url} ({status})")
        url, status, html = self.post_form(url, html, form)
        if "/sandbox/pay/" not in url:
            raise RuntimeError(f"checkout did not lead to the payment page: {url} ({status})")
        form = self.form(html, lambda f: any(n == "number" for n, _v in f["fields"]))
        url, status, html = self.post_form(url, html, form, number=CARD, expiry="12/40", cvc="123")
        if status != 200 or "/sandbox/" in url:
            raise RuntimeError(f"payment did not come back: {url} ({status})")
        return url

    @classmethod
    def run(cls, base_url: str, job) -> dict:
        email, items = job
        journey = cls(base_url, email)
        started = time.perf_counter()
        journey.login()
        shopping = time.perf_counter()
        for product_id, offer_id in items:
            journey.add_to_cart(product_id, offer_id)
        journey.choose_deliveries()
        paying = time.perf_counter()
        journey.checkout()
        done = time.perf_counter()
        return {
            "seconds": done - started,
            "login": shopping - started,
            "shopping": paying - shopping,
            "checkout": done - paying,
            "requests": journey.requests,
            "timings": journey.timings,
        }


@contextmanager
def served(database_url: str, workers: int = 2):
    """gunicorn on a free port with this database, as `halles serve` starts it (no worker:
    queued tasks stay queued)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": database_url, "HALLES_SITE_URL": base}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "halles.config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/login/", timeout=5).close()
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def http_jobs(world: dict, buyers: list, rng: random.Random) -> list:
    from halles.catalog.models import Offer

    products = dict(
        Offer.objects.filter(marketplace=world["marketplace"]).values_list("pk", "product_id")
    )
    jobs = []
    for buyer in buyers:
        offers = [rng.choice(world["offers"][shop.pk]) for shop in world["shops"]]
        jobs.append((buyer.email, [(products[pk], pk) for pk in offers]))
    return jobs


def http_figures(results: list, wall: float, threads: int) -> dict:
    figures = latency_figures([r["seconds"] for r in results], wall)
    figures["threads"] = threads
    for part in ("login", "shopping", "checkout"):
        times = [r[part] for r in results]
        figures[f"{part}_p50_ms"] = percentile(times, 0.5) * 1000
        figures[f"{part}_p95_ms"] = percentile(times, 0.95) * 1000
    figures["requests"] = statistics.mean(r["requests"] for r in results)
    pages: dict[str, list[float]] = {}
    for result in results:
        for kind, seconds in result["timings"]:
            pages.setdefault(kind, []).append(seconds)
    figures["pages_ms"] = {
        kind: [len(times) / len(results), statistics.median(times) * 1000]
        for kind, times in pages.items()
    }
    return figures


def measure_http(jobs: list, threads: int) -> dict:
    """A quarter of the journeys by one client (the baseline), the rest by `threads`."""
    single = max(2, len(jobs) // 4)
    with served(os.environ["DATABASE_URL"]) as base_url:
        missing = Journey(base_url, jobs[0][0]).missing_pages()
        if missing:
            return {"skipped": "storefront pages not there yet: " + ", ".join(missing)}
        figures = {}
        for count, batch in ((1, jobs[:single]), (threads, jobs[single:])):
            results, wall = run_threads(count, batch, lambda job: Journey.run(base_url, job))
            figures[str(count)] = http_figures(results, wall, count)
    return figures


# --- The child: one database -----------------------------------------------------------------


def child(args) -> dict:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.db import connection

    from halles.orders.models import Order, OrderStatus, ShopOrder, State

    rng = random.Random(7)
    profiled = 40 if args.profile else 0
    by_http = args.http_orders if args.http else 0
    in_process = WARMUP + 2 * args.orders + profiled
    world = setup_world(in_process + by_http, rng)
    carts = fill_carts(world, world["buyers"][:in_process], rng)
    jobs = carts["jobs"]
    warmup, jobs = jobs[:WARMUP], jobs[WARMUP:]
    for job in warmup:
        checkout(job)
    bare_table = bare_stock_table()
    raw: dict = {1: [], args.threads: [], "bare": []}

    def raw_runs():
        raw[1].append(measure_raw(world, args.orders, 1, rng))
        raw[args.threads].append(measure_raw(world, args.orders, args.threads, rng))
        raw["bare"].append(measure_raw(world, args.orders, 1, rng, stock_table=bare_table))

    raw_runs()
    baseline = measure_checkouts(jobs[: args.orders], 1)
    concurrent = measure_checkouts(jobs[args.orders : 2 * args.orders], args.threads)
    raw_runs()  # the host is noisy: the faster of the two runs is the reference
    if args.profile:
        profile_checkouts(jobs[2 * args.orders :])
    http = None
    if args.http:
        buyers = world["buyers"][in_process:]
        http = measure_http(http_jobs(world, buyers, rng), args.threads)

    placed = Order.objects.filter(status=OrderStatus.PLACED).count()
    waiting = ShopOrder.objects.filter(state=State.WAITING_ACCEPTANCE).count()
    done = in_process
    if http and "skipped" not in http:
        done += sum(figures["count"] for figures in http.values())
    assert placed == done and waiting == SHOPS * done, (placed, waiting, done)
    from django_tasks_db.models import DBTaskResult

    from halles.notifications.models import Email

    return {
        "database": connection.vendor
        + (
            f" {connection.Database.sqlite_version}"
            if connection.vendor == "sqlite"
            else f" {connection.pg_version // 10000}"
        ),
        "cart": {k: v for k, v in carts.items() if k != "jobs"},
        "raw": {
            str(threads): max(runs_, key=lambda r: r["rate"]) for threads, runs_ in raw.items()
        },
        "raw_rates": {str(t): [round(r["rate"]) for r in runs_] for t, runs_ in raw.items()},
        "baseline": baseline,
        "concurrent": concurrent,
        "http": http,
        "per_order": {
            "emails": Email.objects.count() / placed,
            "tasks": DBTaskResult.objects.count() / placed,
        },
    }


# --- The parent: one child per database ------------------------------------------------------


def run_child(database_url: str, args, work: str) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        HALLES_VAR_DIR=work,
        HALLES_SECRET_KEY="benchmark",
        DJANGO_SETTINGS_MODULE="halles.config.settings",
        HALLES_LOG_LEVEL="WARNING",
        HALLES_SANDBOX_WEBHOOK_URL="",
        PYTHONPATH=os.pathsep.join(
            [str(ROOT / "src"), str(ROOT / "benchmarks"), os.environ.get("PYTHONPATH", "")]
        ).rstrip(os.pathsep),
    )
    command = [
        sys.executable,
        __file__,
        "--child",
        "--threads",
        str(args.threads),
        "--orders",
        str(args.orders),
    ]
    command += ["--profile"] if args.profile else []
    command += ["--http", "--http-orders", str(args.http_orders)] if args.http else []
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def postgres_database(url: str):
    """A fresh database on the server of `url`: (its URL, a function that drops it)."""
    import psycopg
    from dj_database_url import parse

    settings = parse(url)
    name = f"halles_bench_checkout_{os.getpid()}"
    admin = dict(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    with psycopg.connect(**admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')

    base, _sep, _old = url.rpartition("/")
    return f"{base}/{name}", drop


def threads_label(count: int, noun: str = "thread") -> str:
    return f"{count} {noun}" + ("s" if count > 1 else "")


def report(results: list, args, load: tuple) -> None:
    print(
        f"\nCheckout, 3-shop carts, {args.orders} orders per run; "
        f"{time.strftime('%Y-%m-%d %H:%M')}; "
        f"{sys.executable} (Python {platform.python_version()}, {platform.python_compiler()}); "
        f"{os.cpu_count()} CPUs; load average before/after "
        f"{load[0]:.1f}/{os.getloadavg()[0]:.1f}"
    )
    n = args.threads
    header = ("database", "run", "orders/s", "p50 ms", "p95 ms", "max ms", "SQL per order")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in results:
        rows = [
            ("raw transaction, 1 thread", r["raw"]["1"], 10),
            (f"raw transaction, {threads_label(n)}", r["raw"][str(n)], 10),
            ("raw, stock in a bare table, 1 thread", r["raw"]["bare"], 10),
            ("checkout (services), 1 thread", r["baseline"], r["baseline"]["statements"]),
            (
                f"checkout (services), {threads_label(n)}",
                r["concurrent"],
                r["concurrent"]["statements"],
            ),
        ]
        http = r.get("http") or {}
        for key, figures in http.items() if "skipped" not in http else ():
            label = f"HTTP journey, {threads_label(int(key), 'client')}"
            rows.append((label, figures, None))
        for label, figures, statements in rows:
            extra = f"{statements:.0f}" if statements is not None else "-"
            print(
                f"| {r['database']} | {label} | {figures['rate']:,.1f} "
                f"| {figures['p50_ms']:.1f} | {figures['p95_ms']:.1f} "
                f"| {figures['max_ms']:.0f} | {extra} |"
            )
    print()
    for r in results:
        base, conc = r["baseline"], r["concurrent"]
        steps = ", ".join(f"{k} {v:.1f}" for k, v in base["steps_ms"].items())
        print(
            f"{r['database']}: checkout/raw {base['rate'] / r['raw']['1']['rate']:.1%} "
            f"(1 thread), {conc['rate'] / r['raw'][str(n)]['rate']:.1%} ({threads_label(n)}); "
            f"raw runs (orders/s) {r['raw_rates']}; per order {base['savepoints']:.0f} "
            f"savepoints among the statements, {r['per_order']['emails']:.1f} e-mails and "
            f"{r['per_order']['tasks']:.1f} task rows; CPU ms per order in the benchmark's "
            f"process {base['cpu_ms']:.1f} (1 thread), {conc['cpu_ms']:.1f} ({threads_label(n)}); "
            f"median ms per step (1 thread): {steps}; "
            f"cart filling (not in the figures above): {r['cart']['ms_per_cart']:.1f} ms and "
            f"{r['cart']['queries_per_cart']:.0f} statements per 3-shop cart"
        )
        http = r.get("http")
        if http and "skipped" in http:
            print(f"  HTTP: skipped, {http['skipped']}")
        elif http:
            for key, figures in http.items():
                parts = ", ".join(
                    f"{part} {figures[f'{part}_p50_ms']:.0f}/{figures[f'{part}_p95_ms']:.0f}"
                    for part in ("login", "shopping", "checkout")
                )
                print(
                    f"  HTTP, {threads_label(int(key), 'client')}: p50/p95 ms per part of the "
                    f"journey: {parts}; {figures['requests']:.0f} requests per journey; median "
                    f"ms per request (requests per journey):"
                )
                pages = sorted(figures["pages_ms"].items(), key=lambda item: item[0].split()[1])
                print(
                    "    "
                    + "; ".join(
                        f"{kind} {median:.1f} ({count:g})" for kind, (count, median) in pages
                    )
                )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--orders", type=int, default=240)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--http-orders", type=int, default=48, help="journeys over HTTP")
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return 0

    results = []
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="halles-bench-checkout-") as work:
        if args.only != "postgres":
            results.append(run_child(f"sqlite:///{work}/bench.sqlite3", args, work))
        url = os.environ.get("DATABASE_URL", "")
        if args.only != "sqlite" and url.startswith(("postgres://", "postgresql://")):
            bench_url, drop = postgres_database(url)
            try:
                results.append(run_child(bench_url, args, work))
            finally:
                drop()
        elif args.only != "sqlite":
            print(
                "PostgreSQL skipped: no postgres DATABASE_URL (use scripts/throwaway_postgres.py)"
            )
    report(results, args, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
