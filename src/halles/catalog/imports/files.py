"""Reading the file: CSV (UTF-8, `;` or `,`) or XLSX (first sheet), within the limits.

Nothing here knows what the columns mean: a source gives the header and the records
(line, cells), and counts the rows for the progress bar."""

from __future__ import annotations

import csv
import io
import os
from datetime import date, datetime, time
from itertools import islice

from django.utils.translation import gettext as _

from halles.core.errors import DomainError

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
CSV_EXTENSIONS = (".csv", ".txt")
XLSX_EXTENSIONS = (".xlsx",)


class ImportRefused(DomainError):
    """The file as a whole cannot be imported (size, type, encoding, header, rows)."""

    code = "import_refused"


def _decode(data: bytes) -> str:
    """UTF-8 with or without BOM, else refused naming the first bad line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        try:
            data.decode("cp1252")
        except UnicodeDecodeError:
            hint = _("Save it as UTF-8 and import it again.")
        else:
            hint = _(
                "It looks like Windows-1252 (Latin-1), as Excel saves “CSV”: save it as "
                "“CSV UTF-8” and import it again."
            )
        raise ImportRefused(
            _("The file is not in UTF-8 (first bad character on line %(line)s).") % {"line": line}
            + " "
            + hint,
            code="bad_encoding",
        ) from exc


def _delimiter(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    return "," if first_line.count(",") > first_line.count(";") else ";"


def _kind(data: bytes, name: str) -> str:
    extension = os.path.splitext(name.lower())[1]
    if data.startswith(b"PK\x03\x04") or extension in XLSX_EXTENSIONS:
        return "xlsx"
    if data.startswith(b"\xd0\xcf\x11\xe0") or extension == ".xls":
        raise ImportRefused(
            _("The old Excel format (.xls) is not read: save the file as .xlsx or CSV UTF-8."),
            code="file_type",
        )
    if extension in CSV_EXTENSIONS:
        return "csv"
    raise ImportRefused(
        _("Import a CSV (.csv) or Excel (.xlsx) file."),
        code="file_type",
    )


class CsvSource:
    def __init__(self, data: bytes):
        self.text = _decode(data)
        self.delimiter = _delimiter(self.text)
        try:
            self.header = next(self._reader(), [])
        except csv.Error as exc:
            raise ImportRefused(
                _("Line %(line)s cannot be read: %(error)s") % {"line": 1, "error": exc}
            ) from exc

    def _reader(self):
        return csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter)

    def records(self):
        """(line, cells) of every non-blank data row; line 1 is the header."""
        reader = self._reader()
        next(reader, None)
        line = reader.line_num
        try:
            for cells in reader:
                if any(cells):
                    yield line + 1, cells
                line = reader.line_num
        except csv.Error as exc:
            raise ImportRefused(
                _("Line %(line)s cannot be read: %(error)s") % {"line": line + 1, "error": exc}
            ) from exc

    def count(self) -> int:
        text = self.text
        if '"' not in text and text.count("\r") == text.count("\r\n"):
            # No quotes and plain line ends: a record is a line, blank when only separators.
            lines = text.split("\n")[1:]
            return sum(1 for line in lines if line.rstrip("\r").strip(self.delimiter))
        return sum(1 for _record in self.records())


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class XlsxSource:
    """The first sheet of a workbook, read once into strings (dates as ISO, numbers plain)."""

    def __init__(self, data: bytes):
        import zipfile

        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            rows = workbook.worksheets[0].iter_rows(values_only=True)
            self.header = [_cell_text(value) for value in next(rows, ())]
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, IndexError) as exc:
            raise ImportRefused(_("This Excel file cannot be read."), code="file_type") from exc
        self._rows = rows
        self._records = None

    def _read(self):
        width = len(self.header)
        for line, values in enumerate(self._rows, start=2):
            cells = [_cell_text(value) for value in values]
            if any(cells):
                yield line, cells + [""] * (width - len(cells))

    def _all(self) -> list:
        """Read once (a sheet cannot be read twice in read-only mode), at most MAX_ROWS + 1."""
        if self._records is None:
            self._records = list(islice(self._read(), MAX_ROWS + 1))
        return self._records

    def count(self) -> int:
        return len(self._all())

    def records(self):
        return iter(self._all())


def open_source(data: bytes, name: str):
    """The file's header and rows; ImportRefused when it cannot be read at all."""
    if len(data) > MAX_FILE_BYTES:
        raise too_large(len(data))
    source = CsvSource(data) if _kind(data, name) == "csv" else XlsxSource(data)
    if not any(source.header):
        raise ImportRefused(_("The file is empty: the first line must name the columns."))
    return source


def too_large(size: int) -> ImportRefused:
    return ImportRefused(
        _("The file is %(size)s MB; the limit is %(max)s MB. Split it into several files.")
        % {"size": round(size / 1024 / 1024, 1), "max": MAX_FILE_BYTES // 1024 // 1024},
        code="file_too_large",
    )


def read_upload(uploaded_file) -> bytes:
    size = getattr(uploaded_file, "size", None)
    if size is not None and size > MAX_FILE_BYTES:
        raise too_large(size)
    if hasattr(uploaded_file, "seek"):
        uploaded_file.seek(0)
    data = uploaded_file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise too_large(size or len(data))
    return data


def count_rows(source) -> int:
    """The number of data rows; ImportRefused when there are none or more than MAX_ROWS."""
    total = source.count()
    if total > MAX_ROWS:
        raise ImportRefused(
            _("The file has %(rows)s rows; the limit is %(max)s. Split it.")
            % {"rows": total, "max": MAX_ROWS},
            code="too_many_rows",
        )
    if total == 0:
        raise ImportRefused(_("The file has no offer rows."), code="empty_file")
    return total
