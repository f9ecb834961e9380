"""Offer imports whose worker died: the heartbeat, the sweep that resumes them from the rows
done (the end state is the one of an import that never stopped), and its limits."""

import threading
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.utils import timezone
from django.utils.html import escape

from halles.catalog.imports import chunks as import_chunks
from halles.catalog.imports import (
    offer_import_create,
    offer_import_run,
    offer_imports_sweep_stalled,
    report,
    services,
)
from halles.catalog.imports import run as import_run
from halles.catalog.models import ImportMode, ImportStatus, Offer, OfferImport, Product
from halles.catalog.tasks import sweep_stalled_imports

from ..factories import MarketplaceFactory, OfferFactory, ProductFactory, make_gtin, make_shop

pytestmark = pytest.mark.django_db

EAN1, EAN2, EAN3 = make_gtin(1), make_gtin(2), make_gtin(3)
# With chunks of 2 rows: [KEPT, NEWG] [OWN, BAD] [DEL, KEPT again] [NEWG2]
FILE = (
    "sku;product-id;product-title;price;quantity;update-delete\n"
    "KEPT;;;7;3;update\n"  # updates an offer
    f"NEWG;{EAN3};Calisson;4;10;\n"  # creates a GTIN product and its offer
    "OWN;;Nougat;5;2;\n"  # creates a shop product and its offer
    "BAD;;Truc;x;1;\n"  # an error
    "DEL;;;;;delete\n"  # deactivates an offer
    "KEPT;;;9;9;\n"  # a SKU seen before: an error
    f"NEWG2;{EAN3};;6;1;\n"  # another offer on the product created on line 3
)
PARTIAL_FILE = "sku;price;quantity;update-delete\nKEPT;7;3;\nNOPE;1;1;\nDEL;;;delete\nKEPT;8;8;\n"


class WorkerDied(BaseException):
    """What the import sees of a killed worker: it stops there, nothing is caught."""


def world(slug="villeneuve"):
    """A shop with three offers (two on marketplace products, one on its own product)."""
    marketplace = MarketplaceFactory(slug=slug)
    shop, owner = make_shop(marketplace, slug="epicerie")
    first, second = (
        ProductFactory(marketplace=marketplace, gtin=gtin, title=title)
        for gtin, title in ((EAN1, "Confiture"), (EAN2, "Miel"))
    )
    OfferFactory(shop=shop, product=first, sku="KEPT", price_cents=100, stock=1)
    OfferFactory(shop=shop, product=second, sku="GONE")  # absent from the file
    OfferFactory(shop=shop, product__title="Savon", product__created_by_shop=shop, sku="DEL")
    return shop, owner


def start(shop, content=FILE, mode=ImportMode.REPLACE, user=None):
    upload = ContentFile(content.encode(), name="offers.csv")
    return offer_import_create(shop=shop, uploaded_file=upload, mode=mode, user=user)


def crash_on_call(monkeypatch, owner, name, call, *, after=False):
    """`owner.name` raises WorkerDied on its `call`-th call (before or after doing its
    work); only once, so that the resumed run goes through."""
    real = getattr(owner, name)
    calls = []

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) == call and not after:
            raise WorkerDied
        result = real(*args, **kwargs)
        if len(calls) == call:
            raise WorkerDied
        return result

    monkeypatch.setattr(owner, name, dying)


def later(minutes=11):
    return timezone.now() + timedelta(minutes=minutes)


def offers_of(shop) -> dict:
    return {
        offer.sku: (
            offer.product.title,
            offer.product.gtin,
            offer.product.created_by_shop_id == shop.pk,
            offer.price_cents,
            offer.stock,
            offer.is_active,
        )
        for offer in Offer.objects.filter(shop=shop).select_related("product")
    }


def outcome(offer_import) -> tuple:
    return (
        offer_import.status,
        offer_import.total_rows,
        offer_import.done_rows,
        offer_import.applied_rows,
        offer_import.error_rows,
        offer_import.deactivated_offers,
        offer_import.errors,
    )


# --- Resuming gives the end state of an import that never stopped ----------------------------


@pytest.mark.parametrize(
    ("mode", "content", "crash", "done_at_crash", "committed"),
    [
        # the chunk [OWN, BAD] committed, the worker died before saving its progress
        (ImportMode.REPLACE, FILE, ("_save_progress", 2, False), 2, {"KEPT", "NEWG", "OWN"}),
        (ImportMode.NORMAL, FILE, ("_save_progress", 2, False), 2, {"KEPT", "NEWG", "OWN"}),
        # died inside the transaction of the chunk [DEL, KEPT again]: rolled back
        (ImportMode.REPLACE, FILE, ("write_indexed", 3, True), 4, {"KEPT", "NEWG", "OWN"}),
        # every row done, died while deactivating the absent offers
        (
            ImportMode.REPLACE,
            FILE,
            ("_deactivate_absent", 1, False),
            7,
            {"KEPT", "NEWG", "OWN", "DEL", "NEWG2"},
        ),
        # every row done and the absent offers deactivated, died before ending the import
        (
            ImportMode.REPLACE,
            FILE,
            ("_finish", 1, False),
            7,
            {"KEPT", "NEWG", "OWN", "DEL", "NEWG2", "GONE"},
        ),
        (ImportMode.PARTIAL, PARTIAL_FILE, ("_save_progress", 2, False), 2, {"KEPT", "DEL"}),
    ],
)
def test_a_resumed_import_ends_as_if_it_had_never_stopped(
    monkeypatch, run_on_commit, mode, content, crash, done_at_crash, committed
):
    monkeypatch.setattr(import_run, "CHUNK_ROWS", 2)
    clean_shop, _owner = world("clean")
    clean = offer_import_run(offer_import=start(clean_shop, content, mode))
    assert clean.status == ImportStatus.DONE

    shop, _owner = world("crashed")
    name, call, after = crash
    owner = {"write_indexed": import_chunks.ChunkPlan, "_finish": services}.get(
        name, import_run.ImportRun
    )
    crash_on_call(monkeypatch, owner, name, call, after=after)
    interrupted = start(shop, content, mode)
    with pytest.raises(WorkerDied):
        offer_import_run(offer_import=interrupted)

    interrupted.refresh_from_db()
    assert (interrupted.status, interrupted.done_rows) == (ImportStatus.RUNNING, done_at_crash)
    written = {o.sku: o.updated_at for o in Offer.objects.filter(shop=shop, sku__in=committed)}

    with run_on_commit():
        assert offer_imports_sweep_stalled(now=later()) == {"resumed": 1, "failed": 0}

    interrupted.refresh_from_db()
    assert outcome(interrupted) == outcome(clean)
    assert interrupted.attempts == 2
    assert offers_of(shop) == offers_of(clean_shop)
    assert Product.objects.filter(marketplace=shop.marketplace).count() == (
        Product.objects.filter(marketplace=clean_shop.marketplace).count()
    )
    # Rows applied before the crash and replayed wrote nothing the second time
    assert {
        o.sku: o.updated_at for o in Offer.objects.filter(shop=shop, sku__in=committed)
    } == written
    # The counts of offers created and updated may miss the replayed chunk, no more
    for name in ("created", "updated", "deleted"):
        assert clean.counters[name] - 2 <= interrupted.counters[name] <= clean.counters[name]


def test_a_resumed_import_keeps_counting_errors_past_the_cap(monkeypatch, run_on_commit):
    monkeypatch.setattr(import_run, "CHUNK_ROWS", 1)
    monkeypatch.setattr(report, "MAX_STORED_ERRORS", 2)
    content = "sku;price;quantity\nA;x;1\nB;x;1\nC;x;1\nD;x;1\nE;x;1\n"
    clean = offer_import_run(offer_import=start(world("clean")[0], content, ImportMode.NORMAL))
    crash_on_call(monkeypatch, import_run.ImportRun, "_save_progress", 4)
    interrupted = start(world("crashed")[0], content, ImportMode.NORMAL)
    with pytest.raises(WorkerDied):
        offer_import_run(offer_import=interrupted)

    with run_on_commit():
        offer_imports_sweep_stalled(now=later())

    interrupted.refresh_from_db()
    assert outcome(interrupted) == outcome(clean)
    assert (interrupted.error_rows, len(interrupted.errors)) == (5, 2)
    assert interrupted.counters["errors"] == clean.counters["errors"] == 10  # price, product
    assert "10" in interrupted.message  # "There are 10 errors; the report lists the first 2"


# --- The heartbeat ---------------------------------------------------------------------------


def test_the_heartbeat_is_saved_at_the_claim_and_after_each_chunk(monkeypatch):
    monkeypatch.setattr(import_run, "CHUNK_ROWS", 2)
    shop, _owner = world()
    beats = []

    def on_progress(offer_import):
        beats.append(OfferImport.objects.get(pk=offer_import.pk).heartbeat_at)

    before = timezone.now()
    result = offer_import_run(offer_import=start(shop), on_progress=on_progress)

    assert result.status == ImportStatus.DONE and result.attempts == 1
    assert len(beats) == 4
    assert before <= beats[0] <= beats[1] <= beats[2] <= beats[3] <= result.heartbeat_at


def test_the_progress_saves_the_errors_found_so_far(monkeypatch):
    monkeypatch.setattr(import_run, "CHUNK_ROWS", 2)
    saved = []

    def on_progress(offer_import):
        stored = OfferImport.objects.get(pk=offer_import.pk)
        saved.append([(error["line"], error["column"]) for error in stored.errors])

    offer_import_run(offer_import=start(world()[0]), on_progress=on_progress)

    assert saved == [
        [],
        [(5, "price")],
        [(5, "price"), (7, "sku")],
        [(5, "price"), (7, "sku")],
    ]


# --- The sweep -------------------------------------------------------------------------------


def stalled(shop, *, minutes=11, attempts=1, done=0, **fields):
    """An import left running by a dead worker, its last heartbeat `minutes` ago."""
    offer_import = start(shop)
    beat = timezone.now() - timedelta(minutes=minutes)
    values = {"status": ImportStatus.RUNNING, "started_at": beat, "heartbeat_at": beat}
    values.update(attempts=attempts, done_rows=done, **fields)
    OfferImport.objects.filter(pk=offer_import.pk).update(**values)
    offer_import.refresh_from_db()
    return offer_import


def test_a_recent_heartbeat_is_left_alone(django_capture_on_commit_callbacks):
    running = stalled(world()[0], minutes=5)

    with django_capture_on_commit_callbacks() as queued:
        assert offer_imports_sweep_stalled() == {"resumed": 0, "failed": 0}

    after = OfferImport.objects.get(pk=running.pk)
    assert queued == []
    assert (after.status, after.attempts, after.heartbeat_at, after.message) == (
        ImportStatus.RUNNING,
        1,
        running.heartbeat_at,
        "",
    )


def test_the_stall_delay_is_a_setting(settings):
    settings.HALLES_IMPORT_STALL_MINUTES = 3
    running = stalled(world()[0], minutes=5)

    offer_imports_sweep_stalled()

    assert OfferImport.objects.get(pk=running.pk).attempts == 2


def test_two_sweeps_resume_an_import_once(django_capture_on_commit_callbacks):
    running = stalled(world()[0])

    with django_capture_on_commit_callbacks() as queued:
        first = offer_imports_sweep_stalled()
        second = offer_imports_sweep_stalled()

    assert (first["resumed"], second["resumed"]) == (1, 0)
    assert len(queued) == 1
    resumed = OfferImport.objects.get(pk=running.pk)
    assert (resumed.status, resumed.attempts) == (ImportStatus.RUNNING, 2)
    assert resumed.heartbeat_at > running.heartbeat_at
    assert resumed.message  # "Resumed after an interruption..."


def test_a_resumed_import_shows_as_running_in_the_seller_portal(
    client, django_capture_on_commit_callbacks
):
    shop, owner = world()
    running = stalled(shop, done=2, total_rows=7)
    with django_capture_on_commit_callbacks():
        offer_imports_sweep_stalled()
    client.force_login(owner)

    page = client.get(f"/seller/{shop.slug}/imports/{running.pk}/")

    assert page.context["offer_import"].status == ImportStatus.RUNNING
    content = page.content.decode()
    assert 'hx-trigger="every 1s"' in content  # still polled
    assert escape(page.context["offer_import"].message) in content


def test_the_resume_message_speaks_the_sellers_language(django_capture_on_commit_callbacks):
    shop, owner = world()
    owner.language = "en"
    owner.save()
    running = stalled(shop, done=1000, created_by=owner)

    with django_capture_on_commit_callbacks():
        offer_imports_sweep_stalled()

    message = OfferImport.objects.get(pk=running.pk).message
    assert message.startswith("Resumed after an interruption") and "1001" in message


def test_after_three_resumptions_the_import_fails(monkeypatch, run_on_commit):
    """A file that kills the worker every time: the first run and three resumptions."""
    shop, _owner = world()

    def dies(self, rows):
        raise WorkerDied

    monkeypatch.setattr(import_run.ImportRun, "_apply_chunk", dies)
    offer_import = start(shop)
    with pytest.raises(WorkerDied):
        offer_import_run(offer_import=offer_import)

    for attempt in (2, 3, 4):
        with run_on_commit():
            assert offer_imports_sweep_stalled(now=later()) == {"resumed": 1, "failed": 0}
        offer_import.refresh_from_db()
        assert (offer_import.status, offer_import.attempts) == (ImportStatus.RUNNING, attempt)

    with run_on_commit() as queued:
        assert offer_imports_sweep_stalled(now=later()) == {"resumed": 0, "failed": 1}
    assert queued == []
    offer_import.refresh_from_db()
    assert (offer_import.status, offer_import.attempts) == (ImportStatus.FAILED, 4)
    assert offer_import.finished_at is not None
    assert "4" in offer_import.message  # "interrupted 4 times and is not resumed again"


def test_an_import_silent_for_more_than_a_day_fails_instead(django_capture_on_commit_callbacks):
    old = stalled(world()[0], minutes=25 * 60, done=1000, total_rows=5000)

    with django_capture_on_commit_callbacks() as queued:
        assert offer_imports_sweep_stalled() == {"resumed": 0, "failed": 1}

    assert queued == []
    old.refresh_from_db()
    assert (old.status, old.attempts) == (ImportStatus.FAILED, 1)
    assert "1000" in old.message and "5000" in old.message


def test_an_import_started_before_heartbeats_existed_is_resumed(django_capture_on_commit_callbacks):
    running = stalled(world()[0], heartbeat_at=None, attempts=0)

    with django_capture_on_commit_callbacks():
        assert offer_imports_sweep_stalled()["resumed"] == 1

    assert OfferImport.objects.get(pk=running.pk).attempts == 1


def test_queued_and_finished_imports_are_not_swept(django_capture_on_commit_callbacks):
    shop = world()[0]
    for status in (ImportStatus.QUEUED, ImportStatus.DONE, ImportStatus.FAILED):
        stalled(shop, minutes=30, status=status)

    with django_capture_on_commit_callbacks() as queued:
        assert offer_imports_sweep_stalled() == {"resumed": 0, "failed": 0}
    assert queued == []


def test_the_periodic_task_resumes_and_the_import_finishes(run_on_commit):
    shop = world()[0]
    running = stalled(shop)

    with run_on_commit():
        assert sweep_stalled_imports.call() == {"resumed": 1, "failed": 0}

    running.refresh_from_db()
    assert running.status == ImportStatus.DONE
    assert Offer.objects.get(shop=shop, sku="NEWG").price_cents == 400


def test_the_sweep_runs_every_minute(settings):
    assert ("halles.catalog.tasks.sweep_stalled_imports", 60) in settings.HALLES_PERIODIC_TASKS


# --- A run that was taken over ----------------------------------------------------------------


def test_a_run_taken_over_by_a_resumption_stops_without_ending_the_import(monkeypatch):
    """The worker was only slow: the sweep resumed the import meanwhile. The first run stops
    at its next progress save (the chunk before it is written, and harmless to replay) and
    leaves the import to the new run."""
    monkeypatch.setattr(import_run, "CHUNK_ROWS", 2)
    shop = world()[0]
    offer_import = start(shop)

    def resumed_meanwhile(offer_import):
        OfferImport.objects.filter(pk=offer_import.pk).update(attempts=2)

    result = offer_import_run(offer_import=offer_import, on_progress=resumed_meanwhile)

    assert (result.status, result.attempts, result.done_rows) == (ImportStatus.RUNNING, 2, 2)
    assert result.finished_at is None
    assert set(Offer.objects.filter(shop=shop).values_list("sku", flat=True)) == {
        "KEPT",
        "GONE",
        "DEL",
        "NEWG",
        "OWN",
    }


def test_a_replayed_resume_task_does_nothing(run_on_commit):
    from halles.catalog.tasks import resume_offer_import

    running = stalled(world()[0])
    with run_on_commit():
        offer_imports_sweep_stalled()
    running.refresh_from_db()
    assert running.status == ImportStatus.DONE

    assert resume_offer_import.call(running.pk, 2) == ImportStatus.DONE  # finished: nothing
    assert resume_offer_import.call(123456, 2) is None
    again = stalled(world("other")[0])
    assert resume_offer_import.call(again.pk, 5) == ImportStatus.RUNNING  # not its run
    assert OfferImport.objects.get(pk=again.pk).done_rows == 0


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_resume_an_import_once(monkeypatch):
    """Both sweeps read the stalled import before either claims it: one claim wins."""
    running = stalled(world()[0])
    both_read = threading.Barrier(2, timeout=10)
    real_check = services._not_resumed
    queued, results = [], []

    def check_when_both_have_read(offer_import, now):
        both_read.wait()
        return real_check(offer_import, now)

    monkeypatch.setattr(services, "_not_resumed", check_when_both_have_read)
    monkeypatch.setattr(services, "enqueue_on_commit", lambda *args: queued.append(args))

    def sweep():
        try:
            results.append(offer_imports_sweep_stalled())
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert sorted(result["resumed"] for result in results) == [0, 1]
    assert len(queued) == 1
    assert OfferImport.objects.get(pk=running.pk).attempts == 2
