"""What keeps the index from silently falling behind the catalog after a schema change.

SQLite alters a table by re-creating it (create new__x, copy, drop x, rename), and the
triggers of x vanish with it: a later migration that alters catalog_offer, catalog_product,
catalog_category, shops_shop or catalog_offer_visible_to_sectors would leave the index to
go stale, row after row, without any error. Two safeguards, installed by `CatalogConfig`:

- after every `migrate` (the `post_migrate` signal), the index is checked, and if a trigger
  is missing (SQLite) or disabled (PostgreSQL) it is put back and the index rebuilt, with a
  warning in the log; a migration may still end with `repair_search_index_operation`, which
  does the same inside the migration;
- a system check (`halles check --database default`, and before `migrate`) reports the same
  problems as warning catalog.W001.
"""

from __future__ import annotations

import logging

from django.core import checks
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.signals import post_migrate

from .index import repair_search_index, search_index_problems

logger = logging.getLogger(__name__)

INDEX_TABLES = {"sqlite": "catalog_search_sql", "postgresql": "catalog_offersearch"}


def install(app_config) -> None:
    """Connect the repair to `post_migrate` (once per migrate, after the catalog's) and
    register the check."""
    post_migrate.connect(
        repair_after_migrate, sender=app_config, dispatch_uid="catalog.search.repair"
    )
    checks.register(check_search_index, checks.Tags.database)


def index_installed(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether the index exists on this database (migration catalog 0003 applied)."""
    connection = connections[using]
    table = INDEX_TABLES.get(connection.vendor)
    return table is not None and table in connection.introspection.table_names()


def ensure_search_index(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Repair the index when its triggers are missing or disabled; returns the problems
    found (none: nothing was done)."""
    if not index_installed(using):
        return []
    problems = search_index_problems(using)
    if problems:
        logger.warning(
            "Catalog search index on %r: %s; triggers put back, index rebuilt.",
            using,
            "; ".join(problems),
        )
        repair_search_index(using)
        remaining = search_index_problems(using)
        if remaining:  # e.g. PostgreSQL triggers dropped by hand: only a migration recreates them
            logger.error("Catalog search index on %r not repaired: %s", using, "; ".join(remaining))
    return problems


def repair_after_migrate(sender, *, using: str = DEFAULT_DB_ALIAS, verbosity: int = 1, **kwargs):
    """post_migrate receiver: `ensure_search_index` once the migrations have run."""
    problems = ensure_search_index(using)
    if problems and verbosity:
        print(f"Catalog search index repaired ({'; '.join(problems)}).")


def check_search_index(app_configs=None, databases=None, **kwargs) -> list[checks.CheckMessage]:
    """catalog.W001: the index does not follow the catalog on one of `databases`."""
    found = []
    for alias in databases or ():
        if not index_installed(alias):
            continue
        problems = search_index_problems(alias)
        if problems:
            found.append(
                checks.Warning(
                    f"The catalog search index on database {alias!r} does not follow the "
                    f"catalog: {'; '.join(problems)}.",
                    hint="Run `halles migrate` (it repairs the index after migrating) or "
                    "halles.catalog.search.repair_search_index().",
                    id="catalog.W001",
                )
            )
    return found
