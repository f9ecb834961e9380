"""The catalog search index, maintained by the database itself (see halles.catalog.search).

SQLite: an FTS5 table `catalog_offer_fts` (rowid = offer id) fed by triggers. The triggers
read *shadow tables* (`catalog_search_*`, copies of the few columns the index needs) instead
of the Django tables: on SQLite Django alters a table by rebuilding it (create new__x, copy,
drop x, rename), and the rename fails ("error in trigger ...: no such table") when any view
or trigger of another table names x. So a trigger only ever names its own table, the shadow
tables and the FTS table; the triggers of a rebuilt table disappear with it instead, which
`search.search_index_problems()` detects and `search.repair_search_index()` repairs from
the SQL kept in `catalog_search_sql`.

PostgreSQL: a side table `catalog_offersearch` (the offer's id, marketplace, shop, category,
stock, delivery kinds, sectors, prices and discount, and a GIN-indexed tsvector), refreshed by
statement-level triggers (transition tables: one set-based refresh per statement, so bulk
inserts and QuerySet.update() stay fast; price and stock changes are copied without
re-indexing). Accents are folded by `halles_search_fold()` (normalize() and regexp_replace(),
no extension needed).

Both index only *visible* offers (offer active, shop active) and carry filter tags: shop,
category and every ancestor, has a discount price. SQLite also: "v<m>" (visible to every
buyer of marketplace m) or "rs v<m>s<n>" (restricted to sector n), and the price band of the
price and of the discount price (price sorts on large results walk the bands); PostgreSQL
keeps those as columns of the search row.

The SQL is frozen here on purpose: a later change to the index gets its own migration.
"""

from django.db import migrations

MAX_DEPTH = 32  # guard against a cycle in the category tree

# --- SQLite --------------------------------------------------------------------------------

FTS_COLUMNS = "title, brand, category, description, offer_description, tags"


def _fold_sqlite(expr: str) -> str:
    """FTS5's unicode61 folds case and diacritics; ligatures are not diacritics."""
    for ligature, plain in (("œ", "oe"), ("Œ", "OE"), ("æ", "ae"), ("Æ", "AE")):
        expr = f"replace({expr}, '{ligature}', '{plain}')"
    return expr


SQLITE_SHADOWS = [
    """CREATE TABLE catalog_search_category (
        id INTEGER PRIMARY KEY, parent_id INTEGER, name TEXT NOT NULL DEFAULT '',
        path_names TEXT NOT NULL DEFAULT '', path_tags TEXT NOT NULL DEFAULT '')""",
    "CREATE INDEX catalog_search_category_parent ON catalog_search_category (parent_id)",
    """CREATE TABLE catalog_search_product (
        id INTEGER PRIMARY KEY, category_id INTEGER, title TEXT, brand TEXT, description TEXT)""",
    "CREATE INDEX catalog_search_product_category ON catalog_search_product (category_id)",
    "CREATE TABLE catalog_search_shop (id INTEGER PRIMARY KEY, is_active INTEGER NOT NULL)",
    """CREATE TABLE catalog_search_offer (
        id INTEGER PRIMARY KEY, marketplace_id INTEGER, shop_id INTEGER, product_id INTEGER,
        description TEXT, is_active INTEGER, price_tag TEXT, discount_tag TEXT)""",
    "CREATE INDEX catalog_search_offer_product ON catalog_search_offer (product_id)",
    "CREATE INDEX catalog_search_offer_shop ON catalog_search_offer (shop_id)",
    """CREATE TABLE catalog_search_offer_sector (
        offer_id INTEGER NOT NULL, sector_id INTEGER NOT NULL,
        PRIMARY KEY (offer_id, sector_id)) WITHOUT ROWID""",
    "CREATE TABLE catalog_search_sql (position INTEGER PRIMARY KEY, kind TEXT, name TEXT, sql TEXT)",
]

SQLITE_FTS = (
    f"CREATE VIRTUAL TABLE catalog_offer_fts USING fts5({FTS_COLUMNS}, "
    "tokenize = 'unicode61 remove_diacritics 2')"
)

# The indexed document of the offers selected by {where}, built from the shadow tables.
SQLITE_DOC = f"""
INSERT INTO catalog_offer_fts (rowid, {FTS_COLUMNS})
SELECT o.id, {_fold_sqlite("coalesce(p.title, '')")}, {_fold_sqlite("coalesce(p.brand, '')")},
  coalesce(c.path_names, ''), {_fold_sqlite("coalesce(p.description, '')")},
  {_fold_sqlite("coalesce(o.description, '')")},
  coalesce((SELECT 'rs ' || group_concat('v' || o.marketplace_id || 's' || os.sector_id, ' ')
            FROM catalog_search_offer_sector os WHERE os.offer_id = o.id), 'v' || o.marketplace_id)
  || ' sh' || o.shop_id || ' ' || coalesce(c.path_tags, '') || ' ' || o.price_tag
  || coalesce(' pr ' || o.discount_tag, '')
FROM catalog_search_offer o
JOIN catalog_search_product p ON p.id = o.product_id
JOIN catalog_search_shop s ON s.id = o.shop_id AND s.is_active
LEFT JOIN catalog_search_category c ON c.id = p.category_id
WHERE o.is_active AND {{where}};"""


def _sqlite_refresh(ids: str) -> str:
    """Statements that re-index the offers whose ids the subquery `ids` returns."""
    return f"DELETE FROM catalog_offer_fts WHERE rowid IN ({ids});\n" + SQLITE_DOC.replace(
        "{where}", f"o.id IN ({ids})"
    )


def _sqlite_path(column: str, category_id: str) -> str:
    """Names or 'caN' tags of a category and its ancestors (recursive, cycle-safe)."""
    value = "name" if column == "names" else "'ca' || id"
    return f"""(WITH RECURSIVE a(id, parent_id, name, depth) AS (
        SELECT s.id, s.parent_id, s.name, 0 FROM catalog_search_category s
        WHERE s.id = {category_id}
        UNION ALL
        SELECT c.id, c.parent_id, c.name, a.depth + 1
        FROM catalog_search_category c JOIN a ON c.id = a.parent_id WHERE a.depth < {MAX_DEPTH})
      SELECT coalesce(group_concat({value}, ' '), '') FROM a)"""


def _sqlite_descendants(category_id: str) -> str:
    return f"""WITH RECURSIVE d(id, depth) AS (
        SELECT {category_id}, 0
        UNION ALL
        SELECT c.id, d.depth + 1 FROM catalog_search_category c JOIN d ON c.parent_id = d.id
        WHERE d.depth < {MAX_DEPTH})
      SELECT id FROM d"""


def _sqlite_category_upsert(row: str) -> str:
    subtree = _sqlite_descendants(f"{row}.id")
    return f"""
    DELETE FROM catalog_search_category WHERE id = {row}.id;
    INSERT INTO catalog_search_category (id, parent_id, name)
      VALUES ({row}.id, {row}.parent_id, {_fold_sqlite(f"{row}.name")});
    UPDATE catalog_search_category
      SET path_names = {_sqlite_path("names", "catalog_search_category.id")},
          path_tags = {_sqlite_path("tags", "catalog_search_category.id")}
      WHERE id IN ({subtree});
    {
        _sqlite_refresh(
            "SELECT o.id FROM catalog_search_offer o JOIN catalog_search_product p "
            f"ON p.id = o.product_id WHERE p.category_id IN ({subtree})"
        )
    }"""


def _price_bucket(price: str) -> str:
    """The price band of an amount in cents, a number growing with the amount: 20 bands under
    1 EUR, then 60 per power of ten (2.5 % to 7.5 % wide) by the first three digits. Same as
    search.price_band()."""
    lead = f"CAST(substr({price}, 1, 3) AS INTEGER)"
    return (
        f"(CASE WHEN {price} < 100 THEN {price} / 5 ELSE 20 + (length({price}) - 3) * 60 + "
        f"CASE WHEN {lead} < 200 THEN ({lead} - 100) / 5 WHEN {lead} < 500 "
        f"THEN 20 + ({lead} - 200) / 15 ELSE 40 + ({lead} - 500) / 25 END END)"
    )


def _offer_values(row: str) -> str:
    return (
        f"({row}.id, {row}.marketplace_id, {row}.shop_id, {row}.product_id, {row}.description, "
        f"{row}.is_active, 'pb' || {_price_bucket(f'{row}.price_cents')}, "
        f"'db' || {_price_bucket(f'{row}.discount_price_cents')})"
    )


def _product_values(row: str) -> str:
    return f"({row}.id, {row}.category_id, {row}.title, {row}.brand, {row}.description)"


# (table, event, WHEN condition or None, body)
SQLITE_TRIGGERS = [
    (
        "catalog_offer",
        "INSERT",
        None,
        "DELETE FROM catalog_search_offer WHERE id = new.id;\n"
        f"INSERT INTO catalog_search_offer VALUES {_offer_values('new')};\n"
        + _sqlite_refresh("SELECT new.id"),
    ),
    (
        "catalog_offer",
        "UPDATE",
        "old.id IS NOT new.id OR old.description IS NOT new.description"
        " OR old.is_active IS NOT new.is_active"
        f" OR {_price_bucket('old.price_cents')} IS NOT {_price_bucket('new.price_cents')}"
        f" OR {_price_bucket('old.discount_price_cents')}"
        f" IS NOT {_price_bucket('new.discount_price_cents')}"
        " OR old.shop_id IS NOT new.shop_id OR old.product_id IS NOT new.product_id"
        " OR old.marketplace_id IS NOT new.marketplace_id",
        "DELETE FROM catalog_search_offer WHERE id = old.id;\n"
        "DELETE FROM catalog_offer_fts WHERE rowid = old.id;\n"
        f"INSERT INTO catalog_search_offer VALUES {_offer_values('new')};\n"
        + _sqlite_refresh("SELECT new.id"),
    ),
    (
        "catalog_offer",
        "DELETE",
        None,
        "DELETE FROM catalog_search_offer WHERE id = old.id;\n"
        "DELETE FROM catalog_search_offer_sector WHERE offer_id = old.id;\n"
        "DELETE FROM catalog_offer_fts WHERE rowid = old.id;",
    ),
    (
        "catalog_product",
        "INSERT",
        None,
        "DELETE FROM catalog_search_product WHERE id = new.id;\n"
        f"INSERT INTO catalog_search_product VALUES {_product_values('new')};\n"
        + _sqlite_refresh("SELECT id FROM catalog_search_offer WHERE product_id = new.id"),
    ),
    (
        "catalog_product",
        "UPDATE",
        "old.id IS NOT new.id OR old.title IS NOT new.title OR old.brand IS NOT new.brand"
        " OR old.description IS NOT new.description OR old.category_id IS NOT new.category_id",
        "DELETE FROM catalog_search_product WHERE id = old.id;\n"
        f"INSERT INTO catalog_search_product VALUES {_product_values('new')};\n"
        + _sqlite_refresh(
            "SELECT id FROM catalog_search_offer WHERE product_id IN (old.id, new.id)"
        ),
    ),
    (
        "catalog_product",
        "DELETE",
        None,
        "DELETE FROM catalog_search_product WHERE id = old.id;\n"
        + _sqlite_refresh("SELECT id FROM catalog_search_offer WHERE product_id = old.id"),
    ),
    ("catalog_category", "INSERT", None, _sqlite_category_upsert("new")),
    (
        "catalog_category",
        "UPDATE",
        "old.id IS NOT new.id OR old.name IS NOT new.name OR old.parent_id IS NOT new.parent_id",
        "DELETE FROM catalog_search_category WHERE id = old.id;\n" + _sqlite_category_upsert("new"),
    ),
    (
        "catalog_category",
        "DELETE",
        None,
        "DELETE FROM catalog_search_category WHERE id = old.id;",
    ),
    (
        "shops_shop",
        "INSERT",
        None,
        "DELETE FROM catalog_search_shop WHERE id = new.id;\n"
        "INSERT INTO catalog_search_shop VALUES (new.id, new.status = 'active');\n"
        + _sqlite_refresh("SELECT id FROM catalog_search_offer WHERE shop_id = new.id"),
    ),
    (
        "shops_shop",
        "UPDATE",
        "old.id IS NOT new.id OR (old.status = 'active') IS NOT (new.status = 'active')",
        "DELETE FROM catalog_search_shop WHERE id = old.id;\n"
        "INSERT INTO catalog_search_shop VALUES (new.id, new.status = 'active');\n"
        + _sqlite_refresh("SELECT id FROM catalog_search_offer WHERE shop_id IN (old.id, new.id)"),
    ),
    (
        "shops_shop",
        "DELETE",
        None,
        "DELETE FROM catalog_search_shop WHERE id = old.id;\n"
        + _sqlite_refresh("SELECT id FROM catalog_search_offer WHERE shop_id = old.id"),
    ),
]

# The sectors of an offer: (Django table, shadow table, shadow column, Django column).
SQLITE_LINKS = [
    (
        "catalog_offer_visible_to_sectors",
        "catalog_search_offer_sector",
        "sector_id",
        "businesssector_id",
    ),
]
for _table, _shadow, _column, _source in SQLITE_LINKS:
    _insert = (
        f"DELETE FROM {_shadow} WHERE offer_id = new.offer_id AND {_column} = new.{_source};\n"
        f"INSERT INTO {_shadow} (offer_id, {_column}) VALUES (new.offer_id, new.{_source});\n"
    )
    _delete = (
        f"DELETE FROM {_shadow} WHERE offer_id = old.offer_id AND {_column} = old.{_source};\n"
    )
    SQLITE_TRIGGERS += [
        (_table, "INSERT", None, _insert + _sqlite_refresh("SELECT new.offer_id")),
        (_table, "DELETE", None, _delete + _sqlite_refresh("SELECT old.offer_id")),
        (
            _table,
            "UPDATE",
            None,
            _delete + _insert + _sqlite_refresh("SELECT old.offer_id UNION SELECT new.offer_id"),
        ),
    ]


def _sqlite_trigger_sql(table: str, event: str, when: str | None, body: str) -> tuple[str, str]:
    name = f"catalog_search_{table}_{event.lower()}"
    condition = f"\nWHEN {when}" if when else ""
    return name, (
        f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {event} ON {table}{condition}\nBEGIN\n"
        f"{body}\nEND"
    )


# A full rebuild: shadows copied from the Django tables, then the FTS table rebuilt.
SQLITE_REBUILD = [
    "DELETE FROM catalog_search_offer_sector",
    "DELETE FROM catalog_search_offer",
    "DELETE FROM catalog_search_shop",
    "DELETE FROM catalog_search_product",
    "DELETE FROM catalog_search_category",
    f"""INSERT INTO catalog_search_category (id, parent_id, name)
        SELECT id, parent_id, {_fold_sqlite("name")} FROM catalog_category""",
    f"""UPDATE catalog_search_category
        SET path_names = {_sqlite_path("names", "catalog_search_category.id")},
            path_tags = {_sqlite_path("tags", "catalog_search_category.id")}""",
    f"INSERT INTO catalog_search_product SELECT {_product_values('p')[1:-1]} FROM catalog_product p",
    "INSERT INTO catalog_search_shop SELECT id, status = 'active' FROM shops_shop",
    f"INSERT INTO catalog_search_offer SELECT {_offer_values('o')[1:-1]} FROM catalog_offer o",
    """INSERT INTO catalog_search_offer_sector (offer_id, sector_id)
        SELECT offer_id, businesssector_id FROM catalog_offer_visible_to_sectors""",
    "DROP TABLE IF EXISTS catalog_offer_fts",
    SQLITE_FTS,
    # Every statement with triggers runs in a savepoint, at which FTS5 writes its pending
    # terms as a new segment: with the default automerge (4), merging those tiny segments
    # cost ~600 us per offer written on a million offers; 16 brings it to ~120 us.
    "INSERT INTO catalog_offer_fts (catalog_offer_fts, rank) VALUES ('automerge', 16)",
    SQLITE_DOC.replace("{where}", "1").strip().rstrip(";"),
]


def sqlite_install(cursor) -> None:
    for statement in SQLITE_SHADOWS:
        cursor.execute(statement)
    position = 0
    for table, event, when, body in SQLITE_TRIGGERS:
        name, statement = _sqlite_trigger_sql(table, event, when, body)
        position += 1
        cursor.execute(
            "INSERT INTO catalog_search_sql VALUES (%s, 'trigger', %s, %s)",
            [position, name, statement],
        )
    for statement in SQLITE_REBUILD:
        position += 1
        cursor.execute(
            "INSERT INTO catalog_search_sql VALUES (%s, 'rebuild', NULL, %s)", [position, statement]
        )
    cursor.execute("SELECT kind, sql FROM catalog_search_sql ORDER BY position")
    stored = cursor.fetchall()
    for kind, statement in stored:
        if kind != "trigger":
            cursor.execute(statement)
    for kind, statement in stored:
        if kind == "trigger":
            cursor.execute(statement)


def sqlite_uninstall(cursor) -> None:
    cursor.execute("SELECT name FROM catalog_search_sql WHERE kind = 'trigger'")
    for (name,) in cursor.fetchall():
        cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
    cursor.execute("DROP TABLE IF EXISTS catalog_offer_fts")
    for table in (
        "catalog_search_sql",
        "catalog_search_offer_sector",
        "catalog_search_offer",
        "catalog_search_shop",
        "catalog_search_product",
        "catalog_search_category",
    ):
        cursor.execute(f"DROP TABLE IF EXISTS {table}")


# --- PostgreSQL ----------------------------------------------------------------------------


# Accents are folded by decomposing (NFKD) and dropping the combining marks; letters that do
# not decompose are translated; punctuation becomes spaces, so that PostgreSQL's parser cuts
# words where the query parser (search.parse_terms) does. (A translate() over every accented
# letter costs ~0.5 ms a row: it searches its whole "from" string for each character.)
_COMBINING = "\\u0300-\\u036f\\u1ab0-\\u1aff\\u1dc0-\\u1dff\\u20d0-\\u20ff\\ufe20-\\ufe2f"
_PUNCTUATION = "!-/:-@\\[-`{-~\\u00a0-\\u00bf\\u2000-\\u206f\\u3000-\\u303f"

PG_FOLD = f"""
CREATE OR REPLACE FUNCTION halles_search_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fold$
  SELECT lower(regexp_replace(regexp_replace(
    translate(
      replace(replace(replace(replace(replace(replace(replace(
        normalize(coalesce(value, ''), NFKD),
        'œ', 'oe'), 'Œ', 'oe'), 'æ', 'ae'), 'Æ', 'ae'), 'ß', 'ss'), 'þ', 'th'), 'Þ', 'th'),
      'øØđĐłŁðÐħĦı', 'ooddllddhhi'),
    '[{_COMBINING}]+', '', 'g'),
    '[{_PUNCTUATION}]+', ' ', 'g'))
$fold$"""

# Offers selected by {where}, as rows of catalog_offersearch. The category paths are
# computed from the categories of these offers up to their roots (cycle-safe).
PG_DOC = f"""
WITH RECURSIVE up (leaf, id, parent_id, name, depth) AS (
  SELECT c.id, c.id, c.parent_id, c.name, 0
  FROM catalog_category c
  WHERE c.id IN (SELECT p.category_id FROM catalog_offer o
                 JOIN catalog_product p ON p.id = o.product_id WHERE {{where}})
  UNION ALL
  SELECT up.leaf, c.id, c.parent_id, c.name, up.depth + 1
  FROM catalog_category c JOIN up ON c.id = up.parent_id WHERE up.depth < {MAX_DEPTH}
),
tree AS (
  SELECT leaf AS id, array_agg('#ca' || id) AS tags,
         string_agg(halles_search_fold(name), ' ' ORDER BY depth DESC) AS names
  FROM up GROUP BY leaf
)
SELECT o.id, o.marketplace_id, o.shop_id, p.category_id, o.stock > 0,
  coalesce((SELECT array_agg(DISTINCT dm.kind::text)
            FROM catalog_offer_delivery_modes od
            JOIN shops_deliverymode dm ON dm.id = od.deliverymode_id
            WHERE od.offer_id = o.id AND dm.is_active), '{{}}'::text[]),
  (SELECT array_agg(vs.businesssector_id ORDER BY vs.businesssector_id)
   FROM catalog_offer_visible_to_sectors vs WHERE vs.offer_id = o.id),
  o.price_cents, o.discount_price_cents, o.discount_starts_at, o.discount_ends_at,
  setweight(to_tsvector('simple', halles_search_fold(p.title)), 'A')
  || setweight(to_tsvector('simple', halles_search_fold(p.brand)), 'B')
  || setweight(to_tsvector('simple', coalesce(t.names, '')), 'C')
  || setweight(to_tsvector('simple', halles_search_fold(p.description || ' ' || o.description)), 'D')
  || array_to_tsvector(
       ARRAY['#sh' || o.shop_id]
       || coalesce(t.tags, '{{}}'::text[])
       || CASE WHEN o.discount_price_cents IS NOT NULL THEN ARRAY['#pr'] ELSE '{{}}'::text[] END)
FROM catalog_offer o
JOIN catalog_product p ON p.id = o.product_id
JOIN shops_shop s ON s.id = o.shop_id
LEFT JOIN tree t ON t.id = p.category_id
WHERE o.is_active AND s.status = 'active' AND {{where}}"""

# The offer's search row: what the searches filter, sort and count on, without the offer.
PG_COLUMNS = [
    ("offer_id", "bigint PRIMARY KEY"),
    ("marketplace_id", "bigint NOT NULL"),
    ("shop_id", "bigint NOT NULL"),
    ("category_id", "bigint"),
    ("in_stock", "boolean NOT NULL"),
    ("delivery_kinds", "text[] NOT NULL"),  # kinds of its active delivery modes
    ("sectors", "bigint[]"),  # NULL: visible to every buyer
    ("price_cents", "integer NOT NULL"),
    ("discount_price_cents", "integer"),
    ("discount_starts_at", "timestamp with time zone"),
    ("discount_ends_at", "timestamp with time zone"),
    ("vector", "tsvector NOT NULL"),
]
PG_COLUMNS_DDL = ", ".join(f"{name} {kind}" for name, kind in PG_COLUMNS)
PG_COLUMN_NAMES = ", ".join(name for name, _kind in PG_COLUMNS)
PG_UPSERT = ", ".join(f"{name} = excluded.{name}" for name, _kind in PG_COLUMNS[1:])

PG_TABLE = [
    f"""CREATE TABLE catalog_offersearch ({PG_COLUMNS_DDL})""",
    "CREATE INDEX catalog_offersearch_vector ON catalog_offersearch USING gin (vector)",
    "CREATE INDEX catalog_offersearch_market ON catalog_offersearch (marketplace_id, offer_id)",
    """CREATE INDEX catalog_offersearch_price
        ON catalog_offersearch (marketplace_id, price_cents, offer_id)""",
    """CREATE INDEX catalog_offersearch_discount
        ON catalog_offersearch (marketplace_id, discount_price_cents, offer_id)
        WHERE discount_price_cents IS NOT NULL""",
]

PG_FUNCTIONS = [
    PG_FOLD,
    f"""
CREATE OR REPLACE FUNCTION catalog_offersearch_refresh(ids bigint[]) RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $body$
BEGIN
  IF ids IS NULL OR cardinality(ids) = 0 THEN
    RETURN;
  END IF;
  -- Upsert the visible offers, delete the others: safe against concurrent refreshes.
  WITH docs AS ({PG_DOC.replace("{where}", "o.id = ANY(ids)")}),
  upserted AS (
    INSERT INTO catalog_offersearch AS s ({PG_COLUMN_NAMES})
    SELECT * FROM docs
    ON CONFLICT (offer_id) DO UPDATE SET {PG_UPSERT}
    RETURNING s.offer_id
  )
  DELETE FROM catalog_offersearch
  WHERE offer_id = ANY(ids) AND offer_id NOT IN (SELECT offer_id FROM upserted);
END
$body$""",
    f"""
CREATE OR REPLACE FUNCTION catalog_offersearch_rebuild() RETURNS void
LANGUAGE plpgsql AS $body$
BEGIN
  TRUNCATE catalog_offersearch;
  INSERT INTO catalog_offersearch ({PG_COLUMN_NAMES})
  {PG_DOC.replace("{where}", "true")};
END
$body$""",
]

# (table, event, body computing `ids` (offers to refresh) from old_rows / new_rows)
_OFFER_CHANGED = """
  -- Prices, discount dates and stock: copied to the search row, no need to re-index.
  UPDATE catalog_offersearch s
  SET price_cents = n.price_cents, discount_price_cents = n.discount_price_cents,
      discount_starts_at = n.discount_starts_at, discount_ends_at = n.discount_ends_at,
      in_stock = n.stock > 0
  FROM new_rows n JOIN old_rows o ON o.id = n.id
  WHERE s.offer_id = n.id
    AND (n.price_cents, n.discount_price_cents, n.discount_starts_at, n.discount_ends_at,
         n.stock > 0)
        IS DISTINCT FROM
        (o.price_cents, o.discount_price_cents, o.discount_starts_at, o.discount_ends_at,
         o.stock > 0);
  ids := ARRAY(
    SELECT n.id FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id
    WHERE o.id IS NULL
       OR (n.description, n.is_active, n.discount_price_cents IS NULL,
           n.shop_id, n.product_id, n.marketplace_id)
          IS DISTINCT FROM
          (o.description, o.is_active, o.discount_price_cents IS NULL,
           o.shop_id, o.product_id, o.marketplace_id));
  DELETE FROM catalog_offersearch
  WHERE offer_id IN (SELECT id FROM old_rows EXCEPT SELECT id FROM new_rows);"""

PG_TRIGGERS = [
    ("catalog_offer", "INSERT", "ids := ARRAY(SELECT id FROM new_rows);"),
    ("catalog_offer", "UPDATE", _OFFER_CHANGED),
    (
        "catalog_offer",
        "DELETE",
        "DELETE FROM catalog_offersearch WHERE offer_id IN (SELECT id FROM old_rows);",
    ),
    (
        "catalog_product",
        "UPDATE",
        """
  ids := ARRAY(
    SELECT f.id FROM catalog_offer f WHERE f.product_id IN (
      SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
      WHERE (n.title, n.brand, n.description, n.category_id)
            IS DISTINCT FROM (o.title, o.brand, o.description, o.category_id)));""",
    ),
    (
        "catalog_category",
        "UPDATE",
        f"""
  ids := ARRAY(
    WITH RECURSIVE changed AS (
      SELECT n.id, 0 AS depth FROM new_rows n JOIN old_rows o ON o.id = n.id
      WHERE (n.name, n.parent_id) IS DISTINCT FROM (o.name, o.parent_id)
      UNION
      SELECT c.id, changed.depth + 1 FROM catalog_category c JOIN changed ON c.parent_id = changed.id
      WHERE changed.depth < {MAX_DEPTH}
    )
    SELECT f.id FROM catalog_offer f JOIN catalog_product p ON p.id = f.product_id
    WHERE p.category_id IN (SELECT id FROM changed));""",
    ),
    (
        "shops_shop",
        "UPDATE",
        """
  ids := ARRAY(
    SELECT f.id FROM catalog_offer f WHERE f.shop_id IN (
      SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
      WHERE (n.status = 'active') IS DISTINCT FROM (o.status = 'active')));""",
    ),
    (
        "shops_deliverymode",
        "UPDATE",
        """
  ids := ARRAY(
    SELECT od.offer_id FROM catalog_offer_delivery_modes od WHERE od.deliverymode_id IN (
      SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
      WHERE (n.kind, n.is_active) IS DISTINCT FROM (o.kind, o.is_active)));""",
    ),
    (
        "shops_deliverymode",
        "DELETE",
        """
  ids := ARRAY(
    SELECT od.offer_id FROM catalog_offer_delivery_modes od
    WHERE od.deliverymode_id IN (SELECT id FROM old_rows));""",
    ),
]
for _table in ("catalog_offer_delivery_modes", "catalog_offer_visible_to_sectors"):
    PG_TRIGGERS += [
        (_table, "INSERT", "ids := ARRAY(SELECT offer_id FROM new_rows);"),
        (_table, "DELETE", "ids := ARRAY(SELECT offer_id FROM old_rows);"),
        (
            _table,
            "UPDATE",
            "ids := ARRAY(SELECT offer_id FROM old_rows UNION SELECT offer_id FROM new_rows);",
        ),
    ]

_TRANSITIONS = {
    "INSERT": "REFERENCING NEW TABLE AS new_rows",
    "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "REFERENCING OLD TABLE AS old_rows",
}


def _pg_trigger_sql(table: str, event: str, body: str) -> list[str]:
    name = f"catalog_search_{table}_{event.lower()}"
    return [
        f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
  ids bigint[];
BEGIN
  IF current_setting('halles.search_suspended', true) = 'on' THEN
    RETURN NULL;  -- a bulk load (search.search_index_suspended) rebuilds the index after
  END IF;
  {body.strip()}
  PERFORM catalog_offersearch_refresh(ids);
  RETURN NULL;
END
$body$""",
        f"""CREATE TRIGGER {name} AFTER {event} ON {table} {_TRANSITIONS[event]}
            FOR EACH STATEMENT EXECUTE FUNCTION {name}()""",
    ]


PG_TRUNCATE = [
    """
CREATE OR REPLACE FUNCTION catalog_search_catalog_offer_truncate() RETURNS trigger
LANGUAGE plpgsql AS $body$
BEGIN
  TRUNCATE catalog_offersearch;
  RETURN NULL;
END
$body$""",
    """CREATE TRIGGER catalog_search_catalog_offer_truncate AFTER TRUNCATE ON catalog_offer
        FOR EACH STATEMENT EXECUTE FUNCTION catalog_search_catalog_offer_truncate()""",
]


def pg_install(cursor) -> None:
    for statement in PG_TABLE + PG_FUNCTIONS:
        cursor.execute(statement)
    for table, event, body in PG_TRIGGERS:
        for statement in _pg_trigger_sql(table, event, body):
            cursor.execute(statement)
    for statement in PG_TRUNCATE:
        cursor.execute(statement)
    cursor.execute("SELECT catalog_offersearch_rebuild()")


def pg_uninstall(cursor) -> None:
    for table, event, _body in [*PG_TRIGGERS, ("catalog_offer", "TRUNCATE", "")]:
        name = f"catalog_search_{table}_{event.lower()}"
        cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        cursor.execute(f"DROP FUNCTION IF EXISTS {name}()")
    cursor.execute("DROP FUNCTION IF EXISTS catalog_offersearch_rebuild()")
    cursor.execute("DROP FUNCTION IF EXISTS catalog_offersearch_refresh(bigint[])")
    cursor.execute("DROP TABLE IF EXISTS catalog_offersearch")
    cursor.execute("DROP FUNCTION IF EXISTS halles_search_fold(text)")


# --- Migration -----------------------------------------------------------------------------


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        if vendor == "sqlite":
            sqlite_install(cursor)
        elif vendor == "postgresql":
            pg_install(cursor)


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        if vendor == "sqlite":
            sqlite_uninstall(cursor)
        elif vendor == "postgresql":
            pg_uninstall(cursor)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_initial"),
        ("shops", "0001_initial"),
        ("accounts", "0001_initial"),
    ]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
