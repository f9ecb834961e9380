"""The entry points: a seller starts an import (or the CLI creates one), a task runs it."""

from __future__ import annotations

import logging
import os

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from halles.core.errors import DomainError, NotAllowed
from halles.core.tasks import enqueue_on_commit
from halles.shops.models import ShopStaff, ShopStatus

from ..models import ImportMode, ImportStatus, OfferImport
from .columns import Layout
from .files import open_source, read_upload
from .run import ImportRun

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
    claimed = OfferImport.objects.filter(pk=offer_import.pk, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=timezone.now()
    )
    offer_import.refresh_from_db()
    if not claimed:
        return offer_import
    with translation.override(_language(offer_import)):
        run = None
        try:
            _check_shop_may_import(offer_import.shop)
            with offer_import.file.open("rb") as handle:
                data = handle.read()
            run = ImportRun(offer_import, open_source(data, offer_import.original_name))
            run.execute(on_progress)
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
    return offer_import


def _finish(offer_import: OfferImport, status: str, message: str, run: ImportRun | None) -> None:
    offer_import.status = status
    offer_import.message = message
    offer_import.finished_at = timezone.now()
    fields = ["status", "message", "finished_at"]
    if run is not None:
        offer_import.done_rows, offer_import.applied_rows = run.done, run.applied
        offer_import.error_rows, offer_import.errors = run.error_rows, run.errors
        offer_import.deactivated_offers = run.deactivated
        fields += ["done_rows", "applied_rows", "error_rows", "errors", "deactivated_offers"]
    offer_import.save(update_fields=fields)
