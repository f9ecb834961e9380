"""Running an import: the file read chunk by chunk, each chunk applied in one transaction
(or row by row when the database refuses it), the progress saved after each chunk, and in
REPLACE mode the offers absent from the file deactivated at the end. A run continues from
the progress stored on the import: from the first row for a new import, from `done_rows`
for one resumed after its worker died (see the package's docstring)."""

from __future__ import annotations

import logging
import zoneinfo
from itertools import islice

from django.db import DatabaseError, DataError, IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..models import Category, ImportMode, ImportStatus, Offer, OfferImport, Product
from ..search.deferred import search_index_deferred
from .chunks import ChunkPlan
from .columns import Layout
from .files import count_rows
from .report import ErrorLog
from .rows import Row, RowParser
from .sql import Reader

logger = logging.getLogger(__name__)

CHUNK_ROWS = 1000


class ImportSuperseded(Exception):
    """Another run owns the import now (the sweep resumed it while this one was silent, or
    it was ended meanwhile): this run stops without writing anything more."""


def _batches(iterable, size: int):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class ImportRun:
    """One import while it runs: the file, the counters, the errors kept for the report."""

    def __init__(self, offer_import: OfferImport, source):
        self.offer_import = offer_import
        self.shop = offer_import.shop
        self.mode = offer_import.mode
        self.source = source
        self.layout = Layout(source.header)
        marketplace = self.shop.marketplace
        categories = {}
        if "product-category" in self.layout.index:
            categories = {
                slug.lower(): (pk, usable and active)
                for pk, slug, usable, active in Category.objects.filter(
                    marketplace=marketplace
                ).values_list("pk", "slug", "sellers_may_use", "is_active")
            }
        self.reader = Reader(with_products=self.layout.has_product_columns)
        self.adapted_datetimes: dict = {}
        self.empty_attributes = Product._meta.get_field("attributes").get_db_prep_save(
            {}, connection
        )
        self.parser = RowParser(
            self.layout, categories=categories, tz=zoneinfo.ZoneInfo(marketplace.time_zone)
        )
        # Counters and errors continue from what is stored (all zero for a new import).
        stored = offer_import.counters or {}
        self.attempt = offer_import.attempts  # the run that owns the import
        self.done, self.applied = offer_import.done_rows, offer_import.applied_rows
        self.created = stored.get("created", 0)
        self.updated = stored.get("updated", 0)
        self.deleted = stored.get("deleted", 0)
        self.deactivated = offer_import.deactivated_offers
        self.error_log = ErrorLog()
        self.error_log.rows = offer_import.error_rows
        self.error_log.kept = list(offer_import.errors)
        self.error_log.count = stored.get("errors", len(self.error_log.kept))
        self.errors_saved = len(self.error_log.kept)

    @property
    def error_rows(self) -> int:
        return self.error_log.rows

    @property
    def errors(self) -> list[dict]:
        """The errors kept for the report."""
        return self.error_log.kept

    def execute(self, on_progress=None) -> None:
        if not self.offer_import.total_rows:  # counted by the first run
            total = count_rows(self.source)
            self.offer_import.total_rows = total
            self._owned().update(total_rows=total)
        records = self.source.records()
        # Resumed: the rows done are not applied again, but parsed, so that the SKUs seen
        # (duplicates, REPLACE's absent offers) are those of the whole file.
        for line, cells in islice(records, self.done):
            self.parser.parse(line, cells)
        for batch in _batches(records, CHUNK_ROWS):
            self._apply_chunk([self.parser.parse(line, cells) for line, cells in batch])
            self._save_progress()
            if on_progress:
                on_progress(self.offer_import)
        if self.mode == ImportMode.REPLACE:
            self.deactivated += self._deactivate_absent()

    def _apply_chunk(self, rows: list[Row]) -> None:
        """Every row but those without a usable SKU is checked against the database; the
        valid ones are written in one transaction, or one by one if it fails."""
        checked, rejected = [], []
        for row in rows:
            if any(column == "sku" for column, _message in row.errors):
                rejected.append((row, row.errors))
            else:
                checked.append(row)
        try:
            with transaction.atomic():
                plans = [ChunkPlan(self).build(checked)]
                plans[0].write_indexed()
        except DatabaseError as exc:  # a constraint, a concurrent writer, a deadlock
            logger.info(
                "Offer import %s: chunk replayed row by row (%s)", self.offer_import.pk, exc
            )
            plans = [self._apply_alone(row) for row in checked]
        for plan in plans:
            rejected += plan.rejected
            self.applied += plan.applied
            self.created += plan.created
            self.updated += plan.updated
            self.deleted += plan.deleted
        for row, errors in sorted(rejected, key=lambda item: item[0].line):
            self.error_log.add(row.line, row.sku, errors)
        self.done += len(rows)

    def _apply_alone(self, row: Row) -> ChunkPlan:
        """One row in its own transaction; a row the database refuses gets an error (any
        other database failure, such as a lost connection, stops the import)."""
        try:
            with transaction.atomic():
                plan = ChunkPlan(self).build([row])
                plan.write_indexed()
        except (IntegrityError, DataError) as exc:
            logger.warning("Offer import %s, line %s: %s", self.offer_import.pk, row.line, exc)
            plan = ChunkPlan(self)
            plan.rejected.append((row, [("", _("This row could not be saved; try again."))]))
        return plan

    def _owned(self):
        """The import, as long as this run owns it (running, not resumed by another run)."""
        return OfferImport.objects.filter(
            pk=self.offer_import.pk, status=ImportStatus.RUNNING, attempts=self.attempt
        )

    def counters(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "errors": self.error_log.count,
        }

    def _save_progress(self) -> None:
        """One UPDATE: the counters, the errors when some were added, the heartbeat."""
        counts = {"done_rows": self.done, "applied_rows": self.applied}
        counts["error_rows"] = self.error_rows
        counts["counters"] = self.counters()
        counts["heartbeat_at"] = timezone.now()
        if len(self.error_log.kept) != self.errors_saved:
            counts["errors"] = self.error_log.kept
        if not self._owned().update(**counts):
            raise ImportSuperseded
        self.errors_saved = len(self.error_log.kept)
        for name, value in counts.items():
            setattr(self.offer_import, name, value)

    def _deactivate_absent(self) -> int:
        """REPLACE: the shop's active offers whose SKU is nowhere in the file. Their number
        is saved in the same transaction: a resumed run that finds the work done adds 0."""
        seen = self.parser.seen
        active = Offer.objects.filter(shop=self.shop, is_active=True).values_list("pk", "sku")
        absent = [pk for pk, sku in active.iterator(chunk_size=5000) if sku not in seen]
        count = 0
        with transaction.atomic(), search_index_deferred() as index:
            for ids in _batches(absent, 500):
                count += Offer.objects.filter(pk__in=ids, is_active=True).update(
                    is_active=False, updated_at=timezone.now()
                )
                index.offers_changed(ids, ["is_active"])
            if not self._owned().update(deactivated_offers=self.deactivated + count):
                raise ImportSuperseded
        return count

    def summary(self) -> str:
        parts = [
            ngettext("%(count)s row applied", "%(count)s rows applied", self.applied)
            % {"count": self.applied},
            ngettext("%(count)s row in error", "%(count)s rows in error", self.error_rows)
            % {"count": self.error_rows},
            _(
                "offers created: %(created)s, updated: %(updated)s, "
                "deactivated by “delete”: %(deleted)s"
            )
            % {"created": self.created, "updated": self.updated, "deleted": self.deleted},
        ]
        text = "; ".join(parts) + "."
        if self.mode == ImportMode.REPLACE:
            text += " " + ngettext(
                "%(count)s offer absent from the file was deactivated.",
                "%(count)s offers absent from the file were deactivated.",
                self.deactivated,
            ) % {"count": self.deactivated}
        if self.layout.ignored:
            text += " " + _("Columns ignored: %(columns)s.") % {
                "columns": ", ".join(self.layout.ignored)
            }
        if self.error_log.is_cut:
            text += " " + self.error_log.cut_notice()
        if self.attempt > 1:
            text += " " + _(
                "The import was interrupted and resumed where it had stopped; the counts of "
                "offers created, updated and deactivated by “delete” may miss up to %(rows)s "
                "rows."
            ) % {"rows": CHUNK_ROWS}
        return text
