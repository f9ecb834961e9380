from django_tasks import task

from .placement import checkout_abandon_stale


@task()
def sweep_abandoned_checkouts() -> int:
    """Orders left on the payment page too long give their stock back."""
    return checkout_abandon_stale()
