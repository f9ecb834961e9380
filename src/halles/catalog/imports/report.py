"""The errors of an import's rows, and the report a seller downloads."""

from __future__ import annotations

import csv
import io

from django.utils.translation import gettext as _

from ..models import OfferImport

MAX_STORED_ERRORS = 10_000


class ErrorLog:
    """Every rejected row counted; its errors kept as {line, sku, column, message} up to
    MAX_STORED_ERRORS in all (stored on the import, listed in the report)."""

    def __init__(self):
        self.rows = 0
        self.count = 0
        self.kept: list[dict] = []

    def add(self, line: int, sku: str, errors: list[tuple[str, str]]) -> None:
        self.rows += 1
        self.count += len(errors)
        room = max(MAX_STORED_ERRORS - len(self.kept), 0)
        self.kept.extend(
            {"line": line, "sku": sku, "column": column, "message": str(message)}
            for column, message in errors[:room]
        )

    @property
    def is_cut(self) -> bool:
        return self.count > len(self.kept)

    def cut_notice(self) -> str:
        return _("There are %(count)s errors; the report lists the first %(max)s.") % {
            "count": self.count,
            "max": MAX_STORED_ERRORS,
        }


def import_errors_csv(offer_import: OfferImport) -> str:
    """The error report: `line;sku;column;message`, with a BOM so that Excel reads UTF-8."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["line", "sku", "column", "message"])
    for error in offer_import.errors:
        writer.writerow([error["line"], error["sku"], error["column"], error["message"]])
    if len(offer_import.errors) >= MAX_STORED_ERRORS:
        writer.writerow(
            [
                "",
                "",
                "",
                _("Only the first %(max)s errors are listed.") % {"max": MAX_STORED_ERRORS},
            ]
        )
    return out.getvalue()
