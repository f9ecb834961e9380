"""The entry points: a seller starts an import (or the CLI creates one), a task runs it."""

from __future__ import annotations

import logging
import os
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from halles.core.errors import DomainError, NotAllowed
from halles.core.tasks import enqueue_on_commit
from halles.shops.models import ShopStaff, ShopStatus

from ..models import ImportMode, ImportStatus, OfferImport
from .columns import Layout
from .files import open_source, read_upload
from .run import ImportRun, ImportSuperseded

logger = logging.getLogger(__name__)


def _check_shop_may_import(shop) -> None:
    if shop.status == ShopStatus.SUSPENDED:
        raise DomainError(
            _("The shop is suspended: it cannot import offers."), code="shop_suspended"
        )
    if shop.status != ShopStatus.ACTIVE:
        raise DomainError(
            _("The shop is not active yet: it cannot import offers."), code="shop_not_active"
        )


def offer_import_create(*, shop, uploaded_file, mode: str, user=None) -> OfferImport:
    """Checks the shop and the file (size, type, encoding, header), then records the import.
    No right is checked here: `offer_import_start` does it for sellers; the CLI is trusted."""
    _check_shop_may_import(shop)
    if mode not in ImportMode.values:
        raise DomainError(_("Unknown import mode."), code="invalid_mode", field="mode")
    name = os.path.basename(str(getattr(uploaded_file, "name", "") or "offers.csv"))
    data = read_upload(uploaded_file)
    Layout(open_source(data, name).header)
    return OfferImport.objects.create(
        shop=shop,
        file=ContentFile(data, name=name),
        original_name=name[:255],
        mode=mode,
        created_by=user,
    )


def offer_import_start(*, shop, user, uploaded_file, mode: str) -> OfferImport:
    """A seller's import: staff of the shop only; runs as a task once this transaction commits."""
    from ..tasks import run_offer_import

    is_staff = ShopStaff.objects.filter(shop=shop, user_id=user.pk).exists()
    if not (user.is_authenticated and user.is_active and is_staff):
        raise NotAllowed(_("Only the shop's staff can import its offers."))
    with transaction.atomic():
        offer_import = offer_import_create(
            shop=shop, uploaded_file=uploaded_file, mode=mode, user=user
        )
        enqueue_on_commit(run_offer_import, offer_import.pk)
    return offer_import


def _language(offer_import: OfferImport) -> str:
    user = offer_import.created_by
    return user.language if user else offer_import.shop.marketplace.default_language


def offer_import_run(*, offer_import: OfferImport, on_progress=None) -> OfferImport:
    """Runs a queued import to the end (DONE or FAILED). Does nothing unless it is queued, so
    a replayed task is harmless. `on_progress(offer_import)` is called after each chunk."""
    now = timezone.now()
    claimed = OfferImport.objects.filter(pk=offer_import.pk, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1
    )
    offer_import.refresh_from_db()
    if claimed:
        _run(offer_import, on_progress)
    return offer_import


def offer_import_resume(*, offer_import: OfferImport, attempt: int, on_progress=None):
    """Continues, from the rows already done, a running import that the sweep claimed back
    for run number `attempt`. Does nothing if the import is no longer that run's (finished,
    or claimed again by a later sweep), so a replayed task is harmless."""
    claimed = OfferImport.objects.filter(
        pk=offer_import.pk, status=ImportStatus.RUNNING, attempts=attempt
    ).update(heartbeat_at=timezone.now())
    offer_import.refresh_from_db()
    if claimed:
        _run(offer_import, on_progress)
    return offer_import


def _run(offer_import: OfferImport, on_progress) -> None:
    with translation.override(_language(offer_import)):
        run = None
        try:
            _check_shop_may_import(offer_import.shop)
            with offer_import.file.open("rb") as handle:
                data = handle.read()
            run = ImportRun(offer_import, open_source(data, offer_import.original_name))
            run.execute(on_progress)
        except ImportSuperseded:
            logger.warning("Offer import %s: taken over by another run, stopped", offer_import.pk)
            offer_import.refresh_from_db()
        except DomainError as refusal:
            _finish(offer_import, ImportStatus.FAILED, str(refusal.message), run)
        except Exception:
            logger.exception("Offer import %s failed", offer_import.pk)
            message = _(
                "The import stopped on an unexpected error; the rows before line %(line)s "
                "may have been applied. Import the file again."
            ) % {"line": (run.done + 2) if run else 2}
            _finish(offer_import, ImportStatus.FAILED, message, run)
            raise
        else:
            _finish(offer_import, ImportStatus.DONE, run.summary(), run)
        # Anything else (SystemExit, KeyboardInterrupt: the worker is stopping) leaves the
        # import running: the sweep resumes it once its heartbeat is old.


def _finish(offer_import: OfferImport, status: str, message: str, run: ImportRun | None) -> None:
    """Ends the import, unless another run has taken it over meanwhile."""
    values = {"status": status, "message": message, "finished_at": timezone.now()}
    if run is not None:
        values.update(
            done_rows=run.done,
            applied_rows=run.applied,
            error_rows=run.error_rows,
            errors=run.errors,
            deactivated_offers=run.deactivated,
            counters=run.counters(),
        )
    owned = OfferImport.objects.filter(
        pk=offer_import.pk, status=ImportStatus.RUNNING, attempts=offer_import.attempts
    )
    if owned.update(**values):
        for name, value in values.items():
            setattr(offer_import, name, value)
    else:
        logger.warning("Offer import %s: taken over by another run, not ended", offer_import.pk)
        offer_import.refresh_from_db()


# --- Imports whose worker died ---------------------------------------------------------------

MAX_RESUMPTIONS = 3  # then the import is failed: it probably makes the worker crash
RESUME_WITHIN = timedelta(days=1)  # older, the file may no longer be what the seller wants


def offer_imports_sweep_stalled(*, now=None) -> dict:
    """The running imports whose heartbeat is older than HALLES_IMPORT_STALL_MINUTES (their
    worker died: deploy, out of memory, restart) are resumed from the rows done, in a new
    task; failed after MAX_RESUMPTIONS resumptions, or when silent for over RESUME_WITHIN.
    Idempotent: an import is claimed back by one conditional UPDATE, so that two sweeps
    cannot both resume it."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.HALLES_IMPORT_STALL_MINUTES)
    stalled = OfferImport.objects.filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff),
        status=ImportStatus.RUNNING,
    )
    done = {"resumed": 0, "failed": 0}
    for offer_import in stalled.select_related("created_by", "shop__marketplace"):
        # Claimed only if unchanged since it was read: still running, still silent, and no
        # other sweep has resumed it (which would have raised its attempts).
        unchanged = stalled.filter(pk=offer_import.pk, attempts=offer_import.attempts)
        with translation.override(_language(offer_import)):
            failure = _not_resumed(offer_import, now)
            if failure:
                done["failed"] += unchanged.update(
                    status=ImportStatus.FAILED, message=failure, finished_at=now
                )
                continue
            attempt = offer_import.attempts + 1
            message = _(
                "Resumed after an interruption (the server running it stopped), from row %(row)s."
            ) % {"row": offer_import.done_rows + 1}
            if unchanged.update(attempts=attempt, heartbeat_at=now, message=message):
                from ..tasks import resume_offer_import

                logger.warning("Offer import %s: resumed (run %s)", offer_import.pk, attempt)
                enqueue_on_commit(resume_offer_import, offer_import.pk, attempt)
                done["resumed"] += 1
    return done


def _not_resumed(offer_import: OfferImport, now) -> str:
    """Why a stalled import is failed rather than resumed ('' when it is resumed)."""
    counts = {"done": offer_import.done_rows, "total": offer_import.total_rows}
    if offer_import.attempts > MAX_RESUMPTIONS:
        return _(
            "The import was interrupted %(count)s times and is not resumed again: something "
            "in the file probably stops the server running it. %(done)s of %(total)s rows "
            "had been read (and applied, but for those in error). Split the file, or "
            "contact the marketplace's team."
        ) % {"count": offer_import.attempts, **counts}
    last_sign = offer_import.heartbeat_at or offer_import.started_at
    if last_sign < now - RESUME_WITHIN:
        return (
            _(
                "The import was interrupted and could not be resumed in time: the file may no "
                "longer reflect your offers. %(done)s of %(total)s rows had been read (and "
                "applied, but for those in error). Import the file again."
            )
            % counts
        )
    return ""
