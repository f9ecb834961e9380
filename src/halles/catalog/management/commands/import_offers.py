"""`halles import-offers --shop SLUG [--marketplace SLUG] [--mode MODE] FILE`.

Runs the same import as the seller portal, synchronously, and prints its progress and
summary. With row errors, the report is written next to the file (FILE.errors.csv). Exit
code 1 when the file is refused (or the import fails), 0 otherwise, even with row errors.
"""

from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from halles.catalog.imports import import_errors_csv, offer_import_create, offer_import_run
from halles.catalog.models import ImportMode, ImportStatus
from halles.core.errors import DomainError
from halles.shops.models import Shop


class Command(BaseCommand):
    help = "Import a shop's offers from a CSV or XLSX file (Mirakl offer columns)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV (UTF-8) or XLSX file")
        parser.add_argument("--shop", required=True, help="the shop's slug")
        parser.add_argument(
            "--marketplace", help="the marketplace's slug (needed when shops share a slug)"
        )
        parser.add_argument(
            "--mode", choices=ImportMode.values, default=ImportMode.NORMAL, help="import mode"
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        shop = self._shop(options["shop"], options["marketplace"])
        try:
            with path.open("rb") as handle:
                offer_import = offer_import_create(
                    shop=shop, uploaded_file=File(handle, name=path.name), mode=options["mode"]
                )
        except DomainError as refusal:
            raise CommandError(str(refusal.message)) from refusal
        offer_import = offer_import_run(offer_import=offer_import, on_progress=self._progress)
        self.stdout.write(offer_import.message)
        if offer_import.errors:
            report = path.with_name(path.name + ".errors.csv")
            report.write_text(import_errors_csv(offer_import), encoding="utf-8")
            self.stdout.write(f"Error report: {report}")
        if offer_import.status != ImportStatus.DONE:
            raise CommandError(offer_import.message)

    def _progress(self, offer_import):
        self.stdout.write(f"{offer_import.done_rows}/{offer_import.total_rows} rows")

    def _shop(self, slug: str, marketplace: str | None) -> Shop:
        shops = Shop.objects.select_related("marketplace").filter(slug=slug)
        if marketplace:
            shops = shops.filter(marketplace__slug=marketplace)
        found = list(shops[:2])
        if not found:
            raise CommandError(f"No shop with the slug {slug!r}.")
        if len(found) > 1:
            raise CommandError(f"Several marketplaces have a shop {slug!r}: add --marketplace.")
        return found[0]
