import re

import pytest
from django.core import mail

from .factories import MarketplaceFactory, OperatorFactory


def pytest_collection_modifyitems(config, items):
    """Tests marked postgres_only belong to the PostgreSQL pass (real row locks and
    concurrent connections); the SQLite pass deselects them rather than skipping them."""
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    kept, dropped = [], []
    for item in items:
        if (item.get_closest_marker("postgres_only") and not on_postgres) or (
            item.get_closest_marker("sqlite_only") and on_postgres
        ):
            dropped.append(item)
            continue
        if item.get_closest_marker("browser"):
            # Browser tests share one xdist worker: one Chromium at a time on 2 cores.
            item.add_marker(pytest.mark.xdist_group("browser"))
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def marketplace(db):
    return MarketplaceFactory(slug="villeneuve", name="Marché de Villeneuve", is_default=True)


@pytest.fixture
def operator(marketplace):
    return OperatorFactory(email="operator@example.test", marketplaces=[marketplace])


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run the on-commit callbacks (queued tasks, e-mails) of what the test does inside."""

    def runner():
        return django_capture_on_commit_callbacks(execute=True)

    return runner


def links_in(message) -> list[str]:
    return re.findall(r"https?://\S+", message.body)


@pytest.fixture
def outbox():
    return mail.outbox
