from django_tasks import task

from .imports import offer_import_run
from .models import OfferImport


@task()
def run_offer_import(import_id: int) -> str | None:
    """Runs a queued offer import; a replay (already running or finished) does nothing."""
    offer_import = OfferImport.objects.select_related("shop").filter(pk=import_id).first()
    if offer_import is None:
        return None
    return offer_import_run(offer_import=offer_import).status
