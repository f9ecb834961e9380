"""Tracking links, the relay-point directory import and its search."""

import csv
import io
import re
from dataclasses import dataclass, field
from urllib.parse import quote

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from halles.core.errors import DomainError

from .models import Carrier, RelayPoint

MAX_TRACKING_LENGTH = 60
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_tracking_number(value: str) -> str:
    """A tracking number as carriers print them: refused when empty, too long or holding
    control characters; anything else is kept and encoded when put in a link."""
    value = (value or "").strip()
    if not value:
        raise DomainError(
            _("Give the tracking number."), code="tracking_required", field="tracking"
        )
    if len(value) > MAX_TRACKING_LENGTH or _CONTROL.search(value):
        raise DomainError(
            _("This tracking number is not valid."), code="tracking_invalid", field="tracking"
        )
    return value


def tracking_url(template: str, tracking: str, postcode: str = "") -> str:
    """Fill a carrier's template; the values are percent-encoded, so a tracking number can
    never add a path, a query parameter or a script to the link."""
    return template.replace("{tracking}", quote(tracking, safe="")).replace(
        "{postcode}", quote(postcode or "", safe="")
    )


def check_url(url: str) -> str:
    """An "other carrier" tracking link typed by a seller: http(s) only."""
    url = (url or "").strip()
    if url and (not re.match(r"^https?://[^\s<>\"']+$", url) or len(url) > 500):
        raise DomainError(
            _("Give a tracking address starting with https://."),
            code="tracking_url_invalid",
            field="tracking_url",
        )
    return url


def active_carriers(marketplace) -> QuerySet[Carrier]:
    return Carrier.objects.filter(marketplace=marketplace, is_active=True)


def carrier_by_code(marketplace, code: str) -> Carrier:
    carrier = active_carriers(marketplace).filter(code=(code or "").strip().lower()).first()
    if carrier is None:
        raise DomainError(
            _("Unknown carrier “%(code)s”.") % {"code": code},
            code="unknown_carrier",
            field="carrier",
        )
    return carrier


# --- Relay points ----------------------------------------------------------------------------

RELAY_COLUMNS = ["id", "name", "address", "postcode", "city", "country", "opening_hours"]
REQUIRED_COLUMNS = ["id", "name", "address", "postcode", "city"]


@dataclass
class RelayImportReport:
    created: int = 0
    updated: int = 0
    closed: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # line, column, message


def relay_points_import(*, carrier: Carrier, data: bytes) -> RelayImportReport:
    """Import a carrier's relay points from CSV (`,` or `;`, UTF-8, header row). Each row is
    checked on its own: valid rows are created or updated (by the carrier's id), invalid
    rows are reported with their line and column and change nothing. The file is the
    carrier's whole directory: points it no longer lists are closed (kept for the orders
    that name them)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError(_("The file must be UTF-8 text."), code="bad_encoding") from None
    sample = text[:2048]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise DomainError(
            _("Missing columns: %(columns)s.") % {"columns": ", ".join(missing)},
            code="missing_columns",
        )
    report = RelayImportReport()
    seen: set[str] = set()
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        error = _relay_row_error(row, seen)
        if error:
            report.errors.append((number, *error))
            continue
        seen.add(row["id"])
        with transaction.atomic():
            _point, created = RelayPoint.objects.update_or_create(
                carrier=carrier,
                external_id=row["id"],
                defaults={
                    "name": row["name"][:200],
                    "address": row["address"][:255],
                    "postcode": row["postcode"],
                    "city": row["city"][:100],
                    "country": (row.get("country") or "FR").upper(),
                    "opening_hours": row.get("opening_hours", ""),
                    "is_active": True,
                },
            )
        if created:
            report.created += 1
        else:
            report.updated += 1
    if seen:  # the file is the carrier's whole directory: points no longer in it close
        report.closed = (
            RelayPoint.objects.filter(carrier=carrier, is_active=True)
            .exclude(external_id__in=seen)
            .update(is_active=False)
        )
    return report


def _relay_row_error(row: dict, seen: set) -> tuple[str, str] | None:
    for column in REQUIRED_COLUMNS:
        if not row.get(column):
            return column, str(_("This field is required."))
    if len(row["id"]) > 40:
        return "id", str(_("At most 40 characters."))
    if row["id"] in seen:
        return "id", str(_("This id appears twice in the file."))
    if not re.fullmatch(r"[0-9A-Za-z \-]{3,10}", row["postcode"]):
        return "postcode", str(_("Not a postcode."))
    country = row.get("country") or "FR"
    if not re.fullmatch(r"[A-Za-z]{2}", country):
        return "country", str(_("Use a two-letter country code such as FR."))
    return None


def relay_point_search(*, carrier: Carrier, query: str, limit: int = 20) -> QuerySet[RelayPoint]:
    """Open relay points of a carrier by postcode (prefix) or city."""
    query = (query or "").strip()
    points = RelayPoint.objects.filter(carrier=carrier, is_active=True, carrier__is_active=True)
    if not query:
        return points.none()
    return points.filter(Q(postcode__startswith=query) | Q(city__icontains=query))[:limit]
