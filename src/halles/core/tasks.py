"""Helpers around Django's tasks API: side effects are queued once the transaction commits."""

from functools import partial

from django.db import transaction


def enqueue_on_commit(task, /, *args, **kwargs) -> None:
    """Queue `task` after the current transaction commits; never for a rolled-back change."""
    transaction.on_commit(partial(task.enqueue, *args, **kwargs))


def enqueue_at_on_commit(task, run_after, /, *args, **kwargs) -> bool:
    """Queue `task` to run at `run_after` once the transaction commits, when the backend can
    defer tasks (the database backend can). Backends that cannot (the immediate one used by
    tests) get nothing: deadlines are also enforced by the periodic sweep, which calls the
    same idempotent service. Returns whether the task was scheduled."""
    if not task.get_backend().supports_defer:
        return False
    transaction.on_commit(partial(task.using(run_after=run_after).enqueue, *args, **kwargs))
    return True
