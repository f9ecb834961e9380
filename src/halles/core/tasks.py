"""Helpers around Django's tasks API: side effects are queued once the transaction commits."""

from functools import partial

from django.db import transaction


def enqueue_on_commit(task, /, *args, **kwargs) -> None:
    """Queue `task` after the current transaction commits; never for a rolled-back change."""
    transaction.on_commit(partial(task.enqueue, *args, **kwargs))
