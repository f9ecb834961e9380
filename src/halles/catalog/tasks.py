"""Catalog tasks: thin, they take ids and call idempotent services. `sweep_stalled_imports`
runs every minute (HALLES_PERIODIC_TASKS) and resumes the imports whose worker died."""

from django.utils import timezone
from django_tasks import task

from .imports import offer_import_resume, offer_import_run, offer_imports_sweep_stalled
from .models import OfferImport


def _offer_import(import_id: int) -> OfferImport | None:
    return OfferImport.objects.select_related("shop").filter(pk=import_id).first()


@task()
def run_offer_import(import_id: int) -> str | None:
    """Runs a queued offer import; a replay (already running or finished) does nothing."""
    offer_import = _offer_import(import_id)
    if offer_import is None:
        return None
    return offer_import_run(offer_import=offer_import).status


@task()
def resume_offer_import(import_id: int, attempt: int) -> str | None:
    """Continues an import the sweep claimed back for run `attempt`; otherwise nothing."""
    offer_import = _offer_import(import_id)
    if offer_import is None:
        return None
    return offer_import_resume(offer_import=offer_import, attempt=attempt).status


@task()
def sweep_stalled_imports() -> dict:
    return offer_imports_sweep_stalled(now=timezone.now())
