"""Bulk offer import: a seller's CSV or XLSX file, with Mirakl's offer import columns (OF01).

Entry points
------------
- `offer_import_start(*, shop, user, uploaded_file, mode)`: the seller portal's service. The
  user must be on the shop's staff (NotAllowed), the shop active (suspended: DomainError
  `shop_suspended`), the file acceptable (`ImportRefused`). Creates the `OfferImport` and
  queues `tasks.run_offer_import` once the transaction commits.
- `offer_import_create(...)`: the same without the staff check or the queueing (the CLI).
- `offer_import_run(*, offer_import, on_progress=None)`: does the work; claims the import
  (QUEUED -> RUNNING) or does nothing, ends DONE or FAILED with a message.
- `offer_imports_sweep_stalled(*, now=None)` (the periodic task `sweep_stalled_imports`) and
  `offer_import_resume(*, offer_import, attempt)` (the task `resume_offer_import`): imports
  whose worker died, see "When the worker dies" below.
- `import_errors_csv(offer_import)`: the per-row error report (`line;sku;column;message`,
  UTF-8 with a BOM so that Excel reads it).

The file
--------
CSV (`;` or `,`, chosen by counting them in the header line; `"` quotes) in UTF-8, with or
without BOM; a file that is not UTF-8 is refused as a whole, naming the first bad line (and
saying "save it as UTF-8" when it decodes as Windows-1252). Or XLSX (first sheet). At most
20 MB and 200,000 rows; an empty file is refused (in REPLACE mode it would deactivate
everything). Header matching ignores case, surrounding spaces and `_` vs `-`. Unknown
columns are ignored, with one warning in the import's message. Blank rows are skipped.

Columns (Mirakl names; only `sku` is required in the header)
------------------------------------------------------------
`sku`; `product-id` + `product-id-type`: EAN, GTIN or UPC match the marketplace's product
with that GTIN; SHOP_SKU or no type means the shop's own product (product-id is then not
used: a shop product is reached through its offer's SKU). A product-id without a type is
read as a GTIN. A GTIN is 8 to 14 digits with a valid check digit, read in its canonical
form (`validation.canonical_gtin`: the 14-digit form, without its first digit when that is
0), the form products are stored in: the UPC-A 036000291452, the GTIN-14 00036000291452 and
the number 36000291452 (what Excel makes of 0036000291452, in an XLSX cell or a re-saved
CSV) all reach the product 0036000291452. `description` (offer details), `price`, `quantity`
(sets the stock), `vat-rate` (Halles), `min-quantity`/`max-quantity` (or Mirakl's
`min-order-quantity`/`max-order-quantity`), `min-quantity-alert` (low-stock threshold),
`discount-price`, `discount-start-date`, `discount-end-date` (2025-01-31, 31/01/2025, or
with a time; in the marketplace's time zone unless an offset is given; an end date without a
time includes that whole day), `state` (Mirakl's offer condition: only 11, new, is accepted;
any other code is a row error, since nothing else can be sold as described here; nothing is
stored), `update-delete` (`update`, the default, or `delete`: the offer is deactivated,
never deleted, since orders reference offers; the other columns of a delete row are not
read).
Product columns, for products the shop creates: `product-title` (required for a new one),
`product-description`, `product-brand`, `product-category` (the slug of an active category
that sellers may use). On a product the shop did not create (a shared GTIN product), they
are ignored: a shop never edits another's product.

Modes
-----
NORMAL creates and updates: on an update a missing column keeps the old value; a new offer
takes the model's defaults and needs `price` and `quantity` (and a product). PARTIAL only
updates existing offers (an unknown SKU is a row error), only the columns present. REPLACE
is NORMAL, then deactivates the shop's active offers whose SKU is nowhere in the file (rows
in error count as present: an invalid row never touches its offer). In a present column an
empty cell clears what can be empty (texts, discount, max-quantity, category) and keeps the
old value of the rest. Activity: a delete row deactivates; in NORMAL and REPLACE an update
row (re)activates; with `deactivate_when_sold_out` a stock of 0 deactivates and a restock
in PARTIAL reactivates. The product of an existing offer cannot be changed (row error).

Errors and atomicity
--------------------
Every error of a row is collected as {line, sku, column, message} (line = the physical line
of the file where the row starts, the header being line 1): a row with a readable SKU is
also checked against the database even when a value is wrong, so the seller sees all its
problems at once. A row with any error is not applied. A SKU seen again in the file is an
error on `sku` for every occurrence after the first. At most 10,000 errors are stored (the
message and the report say so). A row's product and offer are written in the same
transaction: a row is applied whole or not at all.

How it runs (and why)
---------------------
Rows go by chunks of 1,000: each row is parsed and checked alone (the cleaners of
`validation.py`; for GTINs and prices a fast path that gives the same result in the usual
case, tested against them; the values of a column already seen are cached); then, in one
transaction per chunk, the chunk's existing offers are read (locked FOR UPDATE in
primary-key order on PostgreSQL; SQLite's write transaction already excludes writers) and
its GTIN products, one query each; the database checks run on the merged values; the
writes follow: new products and new offers, their ids taken first (the sequence on
PostgreSQL, past SQLite's counter), with COPY (PostgreSQL) or a prepared INSERT run per
row (SQLite), changed offers with one statement per set of changed columns (UPDATE ...
FROM (VALUES ...) on PostgreSQL, a prepared UPDATE per row on SQLite); an unchanged row
writes nothing. Reads and writes are SQL built from the models' metadata rather than
QuerySets and model instances, whose per-chunk Python cost was as large as the database's
work (benchmarks/offer_import.py, docs/performance.md); values go through Django's adapters
and converters, and the database's constraints apply as for any write (no model signal is
sent: nothing listens to offer saves today). The chunk runs inside
`search.search_index_deferred()`: every write is reported, and the search index is brought
up to date once, set-based, before the chunk commits (on SQLite the per-row index triggers
are off inside the chunk's transaction; PostgreSQL's per-statement triggers stay on). If a
chunk's transaction fails (a concurrent writer took a new SKU, a constraint), the chunk is
replayed one row per transaction and the failing row gets an error. Progress is saved by
one UPDATE after each chunk, once the chunk has committed, for the seller portal to poll and
for a resumed run to continue from: the done, applied and error rows, the other counters
(`counters`), the errors kept when the chunk added some, and the heartbeat.

When the worker dies
--------------------
A worker killed during an import (deploy, out of memory, restart) leaves it RUNNING. Its
`heartbeat_at` is saved when it is claimed and after each chunk; `sweep_stalled_imports`
(every minute) takes a running import whose heartbeat is older than
HALLES_IMPORT_STALL_MINUTES (10; the start time for imports begun before heartbeats existed)
for dead and resumes it: one UPDATE claims it back only if it is still running, still silent
and its `attempts` unchanged, so two sweeps cannot both resume it; it raises `attempts` (the
runs started: 1 for the first), sets the heartbeat and the message ("Resumed after an
interruption", shown by the seller portal, which keeps polling a running import), and
queues `resume_offer_import(id, attempt)`. That task runs only if the import is still that
run's. The resumed run reads the file again, parses (without applying) its first
`done_rows` rows, so that duplicate SKUs and REPLACE's absent offers are judged on the whole
file, keeps the stored errors and continues every counter from the stored values, then
applies the rest as usual. Every write of a run (progress, total, the end) is conditional
on `status` RUNNING and its own `attempts`: a run found taken over (the worker was only
slow) stops at its next progress save, without ending the import.

The progress is saved after the chunk's transaction commits, not in it: after a crash the
stored `done_rows` may be one chunk behind what was written, and the resumed run applies
that chunk again. That is harmless because a row is an upsert decided against the
database: an offer the chunk created is found and the row becomes an update with identical
values, which writes nothing (as for an unchanged row); an offer the chunk deactivated by
`delete` is found inactive; a product the chunk created is found by its GTIN, or through
its offer, with the row's values. So the offers, products, applied and error rows and the
error report end as if the run had never stopped. What may differ: the counts of offers
created, updated and deactivated by "delete" in the summary miss the rows of the replayed
chunk (the summary says so when a run was resumed); and one rare case of a row that depends
on a later row of the same chunk: a row naming a GTIN product that only a later row of the
chunk creates is an error the first time (rows apply in file order) and applied on the
replay. (Rows describing one new GTIN product give it the last row's values, in one chunk
as across several.) REPLACE's deactivation
of absent offers runs in one transaction that also saves their number: a crash there or
before the end is resumed with every row done, the deactivation finding nothing more.
A crash inside a chunk's transaction rolls it back: it is simply applied by the resumed run.
Offers the seller edited between the crash and the resumption are written again by the
replayed chunk, as the file says.

After three resumptions (`attempts` above 3: the file probably makes the worker crash),
and for an import silent for more than a day (the seller has likely moved on; this is also
what happens to imports left running before this sweep existed), the sweep marks the import
FAILED instead, with a message saying how far it went. An import that ends on an ordinary
exception is FAILED at once, as before; only what stops the process (SystemExit,
KeyboardInterrupt, a kill), or a database too far gone to record the failure, leaves it to
the sweep.

The modules, in the order a row meets them
------------------------------------------
`files` (reading CSV/XLSX, limits), `columns` (what each column sets, the fast cleaners,
`Layout`), `rows` (parsing a row, no database), `sql` (the reads and writes built from the
models' metadata), `chunks` (deciding and writing a chunk), `run` (the chunk loop, progress,
REPLACE), `report` (errors kept and the CSV report), `services` (the entry points).
"""

from .files import MAX_FILE_BYTES, MAX_ROWS, ImportRefused
from .report import MAX_STORED_ERRORS, import_errors_csv
from .run import CHUNK_ROWS
from .services import (
    offer_import_create,
    offer_import_resume,
    offer_import_run,
    offer_import_start,
    offer_imports_sweep_stalled,
)
from .sql import INSERT_FIELDS

__all__ = [
    "CHUNK_ROWS",
    "INSERT_FIELDS",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "MAX_STORED_ERRORS",
    "ImportRefused",
    "import_errors_csv",
    "offer_import_create",
    "offer_import_resume",
    "offer_import_run",
    "offer_import_start",
    "offer_imports_sweep_stalled",
]
