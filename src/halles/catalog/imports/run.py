"""Running an import: the file read chunk by chunk, each chunk applied in one transaction
(or row by row when the database refuses it), the progress saved after each chunk, and in
REPLACE mode the offers absent from the file deactivated at the end."""

from __future__ import annotations

import logging
import zoneinfo

from django.db import DatabaseError, DataError, IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..models import Category, ImportMode, Offer, OfferImport, Product
from ..search.deferred import search_index_deferred
from .chunks import ChunkPlan
from .columns import Layout
from .files import count_rows
from .report import ErrorLog
from .rows import Row, RowParser
from .sql import Reader

logger = logging.getLogger(__name__)

CHUNK_ROWS = 1000


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
        self.done = self.applied = 0
        self.created = self.updated = self.deleted = self.deactivated = 0
        self.error_log = ErrorLog()

    @property
    def error_rows(self) -> int:
        return self.error_log.rows

    @property
    def errors(self) -> list[dict]:
        """The errors kept for the report."""
        return self.error_log.kept

    def execute(self, on_progress=None) -> None:
        total = count_rows(self.source)
        self.offer_import.total_rows = total
        OfferImport.objects.filter(pk=self.offer_import.pk).update(total_rows=total)
        for records in _batches(self.source.records(), CHUNK_ROWS):
            self._apply_chunk([self.parser.parse(line, cells) for line, cells in records])
            self._save_progress()
            if on_progress:
                on_progress(self.offer_import)
        if self.mode == ImportMode.REPLACE:
            self.deactivated = self._deactivate_absent()

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

    def _save_progress(self) -> None:
        counts = {"done_rows": self.done, "applied_rows": self.applied}
        counts["error_rows"] = self.error_rows
        OfferImport.objects.filter(pk=self.offer_import.pk).update(**counts)
        for name, value in counts.items():
            setattr(self.offer_import, name, value)

    def _deactivate_absent(self) -> int:
        """REPLACE: the shop's active offers whose SKU is nowhere in the file."""
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
        return text
