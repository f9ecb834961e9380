"""Index maintenance: rebuild, repair, checks, and suspending the triggers for full loads.

The index is built by the database (triggers, migration catalog 0003), so bulk inserts,
QuerySet.update() and raw SQL keep it right. Bulk writers that report what they write use
`deferred.search_index_deferred` instead (one refresh per chunk).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, transaction


def rebuild_search_index(using: str = DEFAULT_DB_ALIAS) -> None:
    """Rebuild the whole index from the catalog tables, in one transaction."""
    connection = connections[using]
    with transaction.atomic(using), connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT sql FROM catalog_search_sql WHERE kind = 'rebuild' ORDER BY position"
            )
            for (statement,) in cursor.fetchall():
                cursor.execute(statement)
        else:
            cursor.execute("SELECT catalog_offersearch_rebuild()")


def repair_search_index(using: str = DEFAULT_DB_ALIAS) -> None:
    """Put back what a table rebuild removed, then rebuild the index.

    On SQLite, Django alters a table by re-creating it, which drops its triggers and the
    indexes it does not know about. After every `migrate` the `post_migrate` safeguard
    (`safeguards.py`) calls this when a trigger is missing; a migration that alters
    catalog_offer, catalog_product, catalog_category, shops_shop or shops_deliverymode may
    also end with `migrations.RunPython(search.repair_search_index_operation,
    migrations.RunPython.noop)`, for the index to be right as soon as it is applied.
    """
    connection = connections[using]
    with transaction.atomic(using), connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT sql FROM catalog_search_sql WHERE kind = 'trigger' ORDER BY position"
            )
            for (statement,) in cursor.fetchall():
                cursor.execute(statement)
        else:
            cursor.execute("RESET halles.search_suspended")
            for table, name in _pg_triggers(cursor, disabled=True):
                cursor.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER "{name}"')
        rebuild_search_index(using)


def repair_search_index_operation(apps, schema_editor) -> None:
    """repair_search_index for migrations.RunPython."""
    repair_search_index(schema_editor.connection.alias)


def search_index_problems(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """What keeps the index from following the catalog (missing or disabled triggers)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT s.name FROM catalog_search_sql s WHERE s.kind = 'trigger' AND NOT EXISTS"
                " (SELECT 1 FROM sqlite_master m WHERE m.type = 'trigger' AND m.name = s.name)"
            )
            return [f"missing trigger {name}" for (name,) in cursor.fetchall()]
        problems = [f"disabled trigger {name}" for _table, name in _pg_triggers(cursor, True)]
        if not _pg_triggers(cursor):
            problems.append("no search triggers")
        cursor.execute("SELECT current_setting('halles.search_suspended', true)")
        if cursor.fetchone()[0] == "on":
            problems.append("suspended in this session")
        return problems


@contextmanager
def search_index_suspended(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """For bulk loads: the index is not maintained inside; on the way out the index is
    rebuilt in one pass (much faster than row by row for a big load).

    SQLite drops the triggers (SQLite has one writer at a time); PostgreSQL only switches
    them off for this session (`SET halles.search_suspended`), other sessions keep
    maintaining the index. The rebuild locks the index table until it commits: searches
    wait for it.
    """
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM catalog_search_sql WHERE kind = 'trigger'")
            for (name,) in cursor.fetchall():
                cursor.execute(f'DROP TRIGGER IF EXISTS "{name}"')
        else:
            cursor.execute("SET halles.search_suspended = 'on'")
    try:
        yield
    finally:
        repair_search_index(using)


def _pg_triggers(cursor, disabled: bool = False) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        " WHERE t.tgname LIKE %s AND NOT t.tgisinternal AND (NOT %s OR t.tgenabled = 'D')",
        ["catalog\\_search\\_%", disabled],
    )
    return cursor.fetchall()
