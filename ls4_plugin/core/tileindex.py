"""The tile index: one PostGIS table per collection, one row per published COG.

Adding a COG is one upsert in its own transaction (never a rebuild of the table), so two
processes adding frames to one collection at the same time lose nothing. Identifiers are quoted
by psycopg2 (``sql.Identifier``) and values are passed as parameters, never formatted into SQL.
"""

import re
from contextlib import contextmanager, suppress

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

from .errors import InputError, Ls4Error

FIELDS = ("location", "src_srs", "date", "roll", "frame_num", "dl_orig", "dl_georef", "dl_index")
INDEX_COLUMNS = ("id",) + FIELDS + ("geom",)
TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Serializes CREATE TABLE between processes: a transaction-scoped advisory lock in this class.
LOCK_CLASS = 0x4C5334  # "LS4"
# Serializes the writers of what is derived from a table (its mapfile): a session lock.
DERIVED_LOCK_CLASS = LOCK_CLASS + 1


def check_table_name(table):
    """Return ``table`` if it is a plain lowercase PostgreSQL name, else raise ``InputError``."""
    if not isinstance(table, str) or not TABLE_NAME.match(table):
        raise InputError(
            f"Table name {table!r} is not usable: it must start with a lowercase letter and hold "
            "only lowercase letters, digits and '_' (at most 63 characters)"
        )
    return table


class Connection(psycopg2.extensions.connection):
    """A psycopg2 connection that ``with`` also closes (plain psycopg2 leaves it open)."""

    def __exit__(self, exc_type, exc_value, traceback):
        try:
            # A connection the server dropped has nothing to commit or roll back, and its
            # "connection already closed" must not replace the error that ended the block.
            if not self.closed:
                return super().__exit__(exc_type, exc_value, traceback)
            return None
        finally:
            self.close()


def connect(dsn_or_service):
    """A connection from ``"service=ls4"``, a bare service name, a DSN or a URI.

    Use it as ``with connect(...) as conn:`` to have it closed at the end. Every function below
    runs in its own transaction, committed before it returns.
    """
    dsn = dsn_or_service.strip()
    if "=" not in dsn and "://" not in dsn:
        dsn = f"service={dsn}"
    try:
        return psycopg2.connect(dsn, connection_factory=Connection)
    except psycopg2.Error as error:
        raise Ls4Error(
            f"Cannot connect to PostgreSQL ({_without_password(dsn)}): {error}".strip()
        ) from error


@contextmanager
def _transaction(conn):
    """A cursor in a transaction that is committed on success and rolled back on error."""
    try:
        with conn.cursor() as cur:
            yield cur
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def _without_password(dsn):
    dsn = re.sub(r"password\s*=\s*('[^']*'|\S+)", "password=***", dsn, flags=re.IGNORECASE)
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", dsn)


def ensure_table(conn, table):
    """Create the index table with its unique ``location`` and spatial index, if it is missing.

    Safe when several processes do it at once (an advisory lock serializes the creation). An
    existing table that lacks the index columns is refused with ``Ls4Error``.
    """
    check_table_name(table)
    with _transaction(conn) as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOCK_CLASS, table))
        if not _exists(cur, table):
            _create(cur, table)
    missing = set(INDEX_COLUMNS) - set(_columns(conn, table))
    if missing:
        raise Ls4Error(
            f"Table {table} exists but is not an LS4 tile index: it has no column "
            + ", ".join(sorted(missing))
        )


@contextmanager
def derived_lock(conn, table):
    """Hold, for the ``with`` block, the lock on what is derived from ``table``.

    Two runs that add frames to one collection at once each write the mapfile after their rows
    are committed; taking turns means the one that writes last reads every row of both, so the
    mapfile never ends with an extent older than the index.
    """
    check_table_name(table)
    with _transaction(conn) as cur:
        cur.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (DERIVED_LOCK_CLASS, table))
    try:
        yield
    finally:
        # A lost connection has released the lock already; its error must not hide the first.
        with suppress(psycopg2.Error), _transaction(conn) as cur:
            cur.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (DERIVED_LOCK_CLASS, table))


def _create(cur, table):
    cur.execute("SELECT to_regtype('geometry')")
    if cur.fetchone()[0] is None:
        raise Ls4Error(
            f"Cannot create the tile index {table}: PostGIS is not installed in database "
            f"{cur.connection.info.dbname} (CREATE EXTENSION postgis)"
        )
    text_columns = sql.SQL(", ").join(
        sql.SQL("{} text").format(sql.Identifier(name)) for name in FIELDS[1:]
    )
    cur.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (id serial PRIMARY KEY, location text UNIQUE NOT NULL, "
            "{}, geom geometry(MultiPolygon, 3857) NOT NULL)"
        ).format(sql.Identifier(table), text_columns)
    )
    # No index name: PostgreSQL picks one that cannot clash with another table's.
    cur.execute(sql.SQL("CREATE INDEX ON {} USING gist (geom)").format(sql.Identifier(table)))


def _columns(conn, table):
    with _transaction(conn) as cur:
        cur.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s",
            (table,),
        )
        return [name for (name,) in cur.fetchall()]


def _row_values(table, row):
    unknown = set(row) - set(FIELDS)
    if unknown:
        raise InputError(
            f"Tile index {table}: unknown field(s) {', '.join(sorted(unknown))}; "
            f"the fields are {', '.join(FIELDS)}"
        )
    if not row.get("location"):
        raise InputError(f"Tile index {table}: a row needs a location (the COG's path)")
    return [None if row.get(name) is None else str(row[name]) for name in FIELDS]


def upsert_frame(conn, table, row, footprint_wkt):
    """Insert or update one frame, in its own transaction: ``"inserted"``, ``"updated"`` or
    ``"unchanged"``.

    ``row`` maps index fields (``location`` required) to values; ``footprint_wkt`` is a
    (Multi)Polygon in EPSG:3857. A row is only rewritten when a field or the footprint changed.
    """
    check_table_name(table)
    values = _row_values(table, row)
    columns = sql.SQL(", ").join(sql.Identifier(name) for name in FIELDS + ("geom",))
    changed = sql.SQL(", ").join(
        sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(name), sql.Identifier(name))
        for name in FIELDS[1:] + ("geom",)
    )
    old = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(n)) for n in FIELDS[1:])
    new = sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(n)) for n in FIELDS[1:])
    query = sql.SQL(
        "INSERT INTO {table} AS t ({columns}) "
        "VALUES ({values}, ST_Multi(ST_GeomFromText(%s, 3857))) "
        "ON CONFLICT (location) DO UPDATE SET {changed} "
        "WHERE ({old}, ST_AsEWKB(t.geom)) IS DISTINCT FROM ({new}, ST_AsEWKB(EXCLUDED.geom)) "
        "RETURNING (xmax = 0)"
    ).format(
        table=sql.Identifier(table),
        columns=columns,
        values=sql.SQL(", ").join(sql.Placeholder() * len(FIELDS)),
        changed=changed,
        old=old,
        new=new,
    )
    try:
        with _transaction(conn) as cur:
            cur.execute(query, values + [footprint_wkt])
            result = cur.fetchone()
    except (psycopg2.errors.InvalidParameterValue, psycopg2.errors.InternalError) as error:
        raise InputError(
            f"Tile index {table}: the footprint of {row['location']} is not a valid "
            f"EPSG:3857 polygon: {error.pgerror or error}".strip()
        ) from error
    if result is None:
        return "unchanged"
    return "inserted" if result[0] else "updated"


def has_location(conn, table, location):
    """Whether ``table`` has a row for ``location``."""
    check_table_name(table)
    query = sql.SQL("SELECT 1 FROM {} WHERE location = %s").format(sql.Identifier(table))
    with _transaction(conn) as cur:
        cur.execute(query, (location,))
        return cur.fetchone() is not None


def list_tables(conn):
    """The names of the collection tables: those in the current schema with the index columns."""
    with _transaction(conn) as cur:
        cur.execute(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND column_name = ANY(%s) "
            "GROUP BY table_name HAVING count(*) = %s ORDER BY table_name",
            (list(INDEX_COLUMNS), len(INDEX_COLUMNS)),
        )
        return [name for (name,) in cur.fetchall()]


def rows(conn, table):
    """Every row of ``table`` as a dict (the fields, ``id`` and ``footprint`` as WKT), by
    location."""
    check_table_name(table)
    query = sql.SQL("SELECT id, {}, ST_AsText(geom) FROM {} ORDER BY location").format(
        sql.SQL(", ").join(sql.Identifier(name) for name in FIELDS), sql.Identifier(table)
    )
    with _transaction(conn) as cur:
        cur.execute(query)
        names = ("id",) + FIELDS + ("footprint",)
        return [dict(zip(names, record, strict=True)) for record in cur.fetchall()]


def delete_rows(conn, table, locations):
    """Delete the rows whose location is in ``locations``; returns how many were deleted."""
    check_table_name(table)
    query = sql.SQL("DELETE FROM {} WHERE location = ANY(%s)").format(sql.Identifier(table))
    with _transaction(conn) as cur:
        cur.execute(query, (list(locations),))
        return cur.rowcount


def extent(conn, table):
    """``(minx, miny, maxx, maxy)`` of all footprints in EPSG:3857, or None for an empty table."""
    check_table_name(table)
    query = sql.SQL(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
        "FROM (SELECT ST_Extent(geom) AS e FROM {}) AS x"
    ).format(sql.Identifier(table))
    with _transaction(conn) as cur:
        cur.execute(query)
        box = cur.fetchone()
    return None if box[0] is None else tuple(box)


def count(conn, table):
    """The number of rows in ``table``."""
    check_table_name(table)
    with _transaction(conn) as cur:
        cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        return cur.fetchone()[0]


def table_exists(conn, table):
    """Whether ``table`` exists in the current schema."""
    check_table_name(table)
    with _transaction(conn) as cur:
        return _exists(cur, table)


def _exists(cur, table):
    cur.execute(
        "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = %s", (table,)
    )
    return cur.fetchone() is not None


def drop_table(conn, table):
    """Drop ``table`` if it exists (tests and maintenance only)."""
    check_table_name(table)
    with _transaction(conn) as cur:
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
