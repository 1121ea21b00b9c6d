"""The tile index: one PostGIS table per collection, one row per published COG.

Adding a COG is one upsert in its own transaction (never a rebuild of the table), so two
processes adding frames to one collection at the same time lose nothing. Identifiers are quoted
by psycopg2 (``sql.Identifier``) and values are passed as parameters, never formatted into SQL.
"""

import json
import os
import re
import socket
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from typing import Any, TypeAlias, TypedDict, cast

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

from . import keys
from .errors import InputError, Ls4Error, ServiceUnavailable

FIELDS = ("location", "src_srs", "date", "roll", "frame_num", "dl_orig", "dl_georef", "dl_index")
INDEX_COLUMNS = ("id",) + FIELDS + ("geom",)
# ``(minx, miny, maxx, maxy)`` of footprints in EPSG:3857.
Extent = tuple[float, float, float, float]
Cursor: TypeAlias = Any  # a psycopg2 cursor (psycopg2 has no type information here)
# Serializes CREATE TABLE between processes: a transaction-scoped advisory lock in this class.
LOCK_CLASS = 0x4C5334  # "LS4"
# Serializes the writers of what is derived from a table (its mapfile): a session lock.
DERIVED_LOCK_CLASS = LOCK_CLASS + 1
# Every process writing a collection's frames holds this session lock shared (``run_lease``).
RUN_LOCK_CLASS = LOCK_CLASS + 2
# The table comment that records which S3 prefix (so which band layout and spelling) a table
# holds: the first publish of a collection writes it, later ones must agree.
IDENTITY_TAG = "ls4:prefix="
SERVICE = "PostgreSQL"
# libpq's words for a server that gave no answer (as opposed to one that refused the login).
UNREACHABLE = (
    "timeout expired",
    "Connection refused",
    "could not connect",
    "could not translate host name",
    "server closed the connection",
    "Connection timed out",
    "No route to host",
    "Network is unreachable",
)


class IndexRow(TypedDict):
    """One row of a tile index as ``rows`` reads it: the fields, ``id``, ``footprint`` (WKT)."""

    id: int
    location: str
    src_srs: str | None
    date: str | None
    roll: str | None
    frame_num: str | None
    dl_orig: str | None
    dl_georef: str | None
    dl_index: str | None
    footprint: str


@dataclass(frozen=True)
class Timeouts:
    """Bounds on every wait for PostgreSQL, in seconds (LS4 settings ``postgres/...``).

    ``connect``: libpq's ``connect_timeout`` (the whole set-up: TCP, TLS, authentication).
    ``statement`` and ``lock``: the server's ``statement_timeout`` and ``lock_timeout`` for the
    session; LS4's statements are single-row writes and small reads, and its locks are held for
    one mapfile write, so either limit reached means something is wrong.
    ``keepalive``: TCP keepalives after that many idle seconds, then probes every third of it,
    three lost probes dropping the connection: a host that vanished is noticed.
    A server that is stopped (SIGSTOP, a frozen VM) still gets its TCP packets acknowledged by
    the kernel, so none of the above ends a wait for it; the client itself cuts a connection
    whose transaction has gone ``statement + grace`` seconds without an answer.
    """

    connect: int = 5
    statement: float = 30.0
    lock: float = 20.0
    keepalive: int = 10
    grace: float = 5.0

    @property
    def client_bound(self) -> float:
        return self.statement + self.grace


DEFAULT_TIMEOUTS = Timeouts()


def check_table_name(table: object) -> str:
    """Return ``table`` if it is a plain lowercase PostgreSQL name, else raise ``InputError``
    (``keys.check_identifier``, the one rule for table, mapfile and layer names)."""
    return keys.check_identifier(table, "Table name")


class Connection(psycopg2.extensions.connection):
    """A psycopg2 connection that ``with`` also closes (plain psycopg2 leaves it open).

    One connection may serve the frames of a run from several threads: each transaction of
    this module holds ``lock``, so transactions never interleave.
    """

    timeouts = DEFAULT_TIMEOUTS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lock = threading.RLock()
        self.severed = False

    def __exit__(self, exc_type: object, exc_value: object, traceback: object) -> bool | None:
        try:
            # A connection the server dropped has nothing to commit or roll back, and its
            # "connection already closed" must not replace the error that ended the block.
            if not self.closed:
                return super().__exit__(exc_type, exc_value, traceback)
            return None
        finally:
            self.close()


def connect(dsn_or_service: str, timeouts: Timeouts = DEFAULT_TIMEOUTS) -> Connection:
    """A connection from ``"service=ls4"``, a bare service name, a DSN or a URI.

    Use it as ``with connect(...) as conn:`` to have it closed at the end. Every function below
    runs in its own transaction, committed before it returns. Every wait is bounded
    (``Timeouts``); a server that does not answer raises ``ServiceUnavailable``.
    """
    dsn = dsn_or_service.strip()
    if "=" not in dsn and "://" not in dsn:
        dsn = f"service={dsn}"
    interval = max(1, timeouts.keepalive // 3)
    try:
        conn = psycopg2.connect(
            dsn,
            connection_factory=Connection,
            connect_timeout=max(2, int(timeouts.connect)),  # libpq's minimum is 2 s
            keepalives=1,
            keepalives_idle=max(1, int(timeouts.keepalive)),
            keepalives_interval=interval,
            keepalives_count=3,
        )
    except psycopg2.Error as error:
        reason = " ".join(str(error).split())
        message = f"Cannot connect to PostgreSQL ({_without_password(dsn)}): {reason}".strip()
        if any(sign in reason for sign in UNREACHABLE):
            raise ServiceUnavailable(SERVICE, message) from error
        raise Ls4Error(message) from error
    conn.timeouts = timeouts
    with _transaction(conn) as cur:
        cur.execute(
            "SELECT set_config('statement_timeout', %s, false), "
            "set_config('lock_timeout', %s, false)",
            (f"{int(timeouts.statement * 1000)}ms", f"{int(timeouts.lock * 1000)}ms"),
        )
    return conn


def describe(conn: Connection) -> str:
    """The database as a user names it: ``dbname on host:port`` (never a password)."""
    info = conn.info
    return f"{info.dbname} on {info.host}:{info.port}"


@contextmanager
def _errors(conn: Connection) -> Iterator[None]:
    """The one place where psycopg2's errors become the core's: ``ServiceUnavailable`` when the
    server gave no answer (the connection failed, dropped, or was cut after its time-out),
    ``Ls4Error`` naming the database when it answered with an error."""
    try:
        yield
    except psycopg2.Error as error:
        where = _where(conn)
        reason = " ".join(str(error).split()) or type(error).__name__
        if getattr(conn, "severed", False):
            bound = conn.timeouts.client_bound
            raise ServiceUnavailable(
                SERVICE, f"PostgreSQL ({where}) did not answer within {bound:g} s"
            ) from None
        if _no_answer(conn, error):
            message = f"PostgreSQL ({where}) is unreachable: {reason}"
            raise ServiceUnavailable(SERVICE, message) from error
        raise Ls4Error(f"PostgreSQL ({where}): {reason}") from error


def _no_answer(conn: Connection, error: Exception) -> bool:
    query_canceled = getattr(error, "pgcode", None) == "57014"  # statement_timeout
    return (
        bool(conn.closed)
        or query_canceled
        or (isinstance(error, psycopg2.OperationalError) and error.pgcode is None)
    )


def _where(conn: Connection) -> str:
    try:
        return describe(conn)
    except psycopg2.Error:
        return "the database"


@contextmanager
def _guard(conn: Connection) -> Iterator[None]:
    """Cut the connection if the block has not ended ``client_bound`` seconds from now."""
    if not isinstance(conn, Connection):
        yield
        return
    state = {"done": False}
    state_lock = threading.Lock()

    def sever() -> None:
        with state_lock:
            if state["done"]:
                return
            conn.severed = True
        # Shutting the socket down wakes libpq's blocked read with an end of file.
        with suppress(OSError, psycopg2.Error), socket.socket(fileno=os.dup(conn.fileno())) as sock:
            sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(conn.timeouts.client_bound, sever)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with state_lock:
            state["done"] = True
        timer.cancel()


@contextmanager
def _transaction(conn: Connection) -> Iterator[Cursor]:
    """A cursor in a transaction that is committed on success and rolled back on error."""
    with getattr(conn, "lock", nullcontext()), _errors(conn), _guard(conn):
        if getattr(conn, "severed", False):
            raise psycopg2.OperationalError("the connection was cut after a time-out")
        try:
            with conn.cursor() as cur:
                yield cur
            conn.commit()
        except BaseException:
            with suppress(psycopg2.Error):
                conn.rollback()
            raise


def _without_password(dsn: str) -> str:
    dsn = re.sub(r"password\s*=\s*('[^']*'|\S+)", "password=***", dsn, flags=re.IGNORECASE)
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", dsn)


def ensure_table(conn: Connection, table: str) -> None:
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
def derived_lock(conn: Connection, table: str) -> Iterator[None]:
    """Hold, for the ``with`` block, the lock on what is derived from ``table``.

    Two runs that add frames to one collection at once each write the mapfile after their rows
    are committed; taking turns means the one that writes last reads every row of both, so the
    mapfile never ends with an extent older than the index.
    """
    with _session_lock(conn, table, DERIVED_LOCK_CLASS):
        yield


@contextmanager
def run_lease(conn: Connection, table: str) -> Iterator[None]:
    """Hold, for the ``with`` block, a shared lease on the collection of ``table``.

    Every process that writes the collection's frames holds one (a local publish, a cluster
    run's caller, each Dask task, each array task); a process that is killed loses it with its
    connection. So when no other session holds one (``sole_run``), no upload of the collection
    is under way and what dead runs left (multipart uploads, staged sources) can go.
    """
    with _session_lock(conn, table, RUN_LOCK_CLASS, "_shared"):
        yield


@contextmanager
def _session_lock(conn: Connection, table: str, lock_class: int, mode: str = "") -> Iterator[None]:
    """A session-level advisory lock (``mode`` "" or "_shared") on ``table`` for the block."""
    check_table_name(table)
    with _transaction(conn) as cur:
        cur.execute(f"SELECT pg_advisory_lock{mode}(%s, hashtext(%s))", (lock_class, table))
    try:
        yield
    finally:
        # A lost connection has released the lock already; its error must not hide the first.
        with suppress(Ls4Error), _transaction(conn) as cur:
            cur.execute(f"SELECT pg_advisory_unlock{mode}(%s, hashtext(%s))", (lock_class, table))


@contextmanager
def sole_run(conn: Connection, table: str) -> Iterator[bool]:
    """Yield True, holding the collection's lease exclusively for the block (no run starts
    meanwhile), when no other session holds one; else yield False at once. A lease this
    session holds itself does not count."""
    check_table_name(table)
    with _transaction(conn) as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", (RUN_LOCK_CLASS, table))
        alone = cur.fetchone()[0]
    try:
        yield alone
    finally:
        if alone:
            with suppress(Ls4Error), _transaction(conn) as cur:
                cur.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (RUN_LOCK_CLASS, table))


def _create(cur: Cursor, table: str) -> None:
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


def _columns(conn: Connection, table: str) -> list[str]:
    with _transaction(conn) as cur:
        cur.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s",
            (table,),
        )
        return [name for (name,) in cur.fetchall()]


def _row_values(table: str, row: Mapping[str, object]) -> list[str | None]:
    unknown = set(row) - set(FIELDS)
    if unknown:
        raise InputError(
            f"Tile index {table}: unknown field(s) {', '.join(sorted(unknown))}; "
            f"the fields are {', '.join(FIELDS)}"
        )
    if not row.get("location"):
        raise InputError(f"Tile index {table}: a row needs a location (the COG's path)")
    return [None if row.get(name) is None else str(row[name]) for name in FIELDS]


def upsert_frame(
    conn: Connection, table: str, row: Mapping[str, object], footprint_wkt: str
) -> str:
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
    with _transaction(conn) as cur:
        try:
            cur.execute(query, values + [footprint_wkt])
        except (psycopg2.errors.InvalidParameterValue, psycopg2.errors.InternalError) as error:
            raise InputError(
                f"Tile index {table}: the footprint of {row['location']} is not a valid "
                f"EPSG:3857 polygon: {error.pgerror or error}".strip()
            ) from error
        result = cur.fetchone()
    if result is None:
        return "unchanged"
    return "inserted" if result[0] else "updated"


def has_location(conn: Connection, table: str, location: str) -> bool:
    """Whether ``table`` has a row for ``location``."""
    check_table_name(table)
    query = sql.SQL("SELECT 1 FROM {} WHERE location = %s").format(sql.Identifier(table))
    with _transaction(conn) as cur:
        cur.execute(query, (location,))
        return cur.fetchone() is not None


def footprint_of(conn: Connection, table: str, location: str) -> str | None:
    """The footprint (WKT, EPSG:3857) of the row for ``location``, or None when there is none."""
    check_table_name(table)
    query = sql.SQL("SELECT ST_AsText(geom) FROM {} WHERE location = %s").format(
        sql.Identifier(table)
    )
    with _transaction(conn) as cur:
        cur.execute(query, (location,))
        found = cur.fetchone()
    return found[0] if found else None


def list_tables(conn: Connection) -> list[str]:
    """The names of the collection tables: those in the current schema with the index columns."""
    with _transaction(conn) as cur:
        cur.execute(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND column_name = ANY(%s) "
            "GROUP BY table_name HAVING count(*) = %s ORDER BY table_name",
            (list(INDEX_COLUMNS), len(INDEX_COLUMNS)),
        )
        return [name for (name,) in cur.fetchall()]


def rows(conn: Connection, table: str) -> list[IndexRow]:
    """Every row of ``table`` as a dict (the fields, ``id`` and ``footprint`` as WKT), by
    location."""
    check_table_name(table)
    query = sql.SQL("SELECT id, {}, ST_AsText(geom) FROM {} ORDER BY location").format(
        sql.SQL(", ").join(sql.Identifier(name) for name in FIELDS), sql.Identifier(table)
    )
    with _transaction(conn) as cur:
        cur.execute(query)
        names = ("id",) + FIELDS + ("footprint",)
        return [cast(IndexRow, dict(zip(names, record, strict=True))) for record in cur.fetchall()]


def row_geojson(
    conn: Connection, table: str, location: str
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """``(GeoJSON geometry, fields)`` of the row at ``location``: the footprint in EPSG:4326 as
    PostGIS transforms it (9 decimals) and the fields but ``location`` and ``src_srs``, or None
    when there is no such row."""
    check_table_name(table)
    names = ("date", "roll", "frame_num", "dl_orig", "dl_georef", "dl_index")
    query = sql.SQL(
        "SELECT ST_AsGeoJSON(ST_Transform(geom, 4326), 9), {} FROM {} WHERE location = %s"
    ).format(sql.SQL(", ").join(map(sql.Identifier, names)), sql.Identifier(table))
    with _transaction(conn) as cur:
        cur.execute(query, (location,))
        found = cur.fetchone()
    if found is None:
        return None
    return json.loads(found[0]), dict(zip(names, found[1:], strict=True))


def delete_rows(conn: Connection, table: str, locations: Iterable[str]) -> int:
    """Delete the rows whose location is in ``locations``; returns how many were deleted."""
    check_table_name(table)
    query = sql.SQL("DELETE FROM {} WHERE location = ANY(%s)").format(sql.Identifier(table))
    with _transaction(conn) as cur:
        cur.execute(query, (list(locations),))
        return cur.rowcount


def set_dl_index(conn: Connection, table: str, url: str) -> int:
    """Point every row's ``dl_index`` at ``url``; returns how many rows changed."""
    check_table_name(table)
    query = sql.SQL("UPDATE {} SET dl_index = %s WHERE dl_index IS DISTINCT FROM %s").format(
        sql.Identifier(table)
    )
    with _transaction(conn) as cur:
        cur.execute(query, (url, url))
        return cur.rowcount


def extent(conn: Connection, table: str) -> Extent | None:
    """``(minx, miny, maxx, maxy)`` of all footprints in EPSG:3857, or None for an empty table."""
    check_table_name(table)
    query = sql.SQL(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
        "FROM (SELECT ST_Extent(geom) AS e FROM {}) AS x"
    ).format(sql.Identifier(table))
    with _transaction(conn) as cur:
        cur.execute(query)
        box = cur.fetchone()
    return None if box[0] is None else cast(Extent, tuple(box))


def count(conn: Connection, table: str) -> int:
    """The number of rows in ``table``."""
    check_table_name(table)
    with _transaction(conn) as cur:
        cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        return cur.fetchone()[0]


def table_exists(conn: Connection, table: str) -> bool:
    """Whether ``table`` exists in the current schema."""
    check_table_name(table)
    with _transaction(conn) as cur:
        return _exists(cur, table)


def _exists(cur: Cursor, table: str) -> bool:
    cur.execute(
        "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = %s", (table,)
    )
    return cur.fetchone() is not None


def drop_table(conn: Connection, table: str) -> None:
    """Drop ``table`` if it exists (tests and maintenance only)."""
    check_table_name(table)
    with _transaction(conn) as cur:
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))


def locations(conn: Connection, table: str) -> set[str]:
    """The set of every row's ``location`` in ``table``."""
    check_table_name(table)
    query = sql.SQL("SELECT location FROM {}").format(sql.Identifier(table))
    with _transaction(conn) as cur:
        cur.execute(query)
        return {location for (location,) in cur.fetchall()}


def first_location(conn: Connection, table: str) -> str | None:
    """The ``location`` of the oldest row of ``table``, or None when it is empty."""
    check_table_name(table)
    query = sql.SQL("SELECT location FROM {} ORDER BY id LIMIT 1").format(sql.Identifier(table))
    with _transaction(conn) as cur:
        cur.execute(query)
        row = cur.fetchone()
    return row[0] if row else None


def location_ignoring_extension_case(conn: Connection, table: str, location: str) -> str | None:
    """The row location of ``table`` that is ``location`` but for the case of its extension
    (``X.TIF`` for ``X.tif``), oldest first, or None."""
    check_table_name(table)
    stem, extension = location[:-4], location[-4:]
    query = sql.SQL(
        "SELECT location FROM {} WHERE left(location, -4) = %s AND lower(right(location, 4)) = %s "
        "ORDER BY id LIMIT 1"
    ).format(sql.Identifier(table))
    with _transaction(conn) as cur:
        cur.execute(query, (stem, extension.lower()))
        row = cur.fetchone()
    return row[0] if row else None


def identity(conn: Connection, table: str) -> str | None:
    """The S3 prefix ``table`` holds (``<band>/<County>/<Agency>_<YYYY>/<type>/``), recorded in
    its comment by ``set_identity``; None when nothing is recorded."""
    check_table_name(table)
    with _transaction(conn) as cur:
        cur.execute("SELECT obj_description(to_regclass(quote_ident(%s)), 'pg_class')", (table,))
        row = cur.fetchone()
    comment = (row[0] if row else None) or ""
    return comment[len(IDENTITY_TAG) :] if comment.startswith(IDENTITY_TAG) else None


def recorded_identities(conn: Connection) -> dict[str, str]:
    """``{table: prefix}`` of every table of the current schema whose comment records what it
    holds (``claim_identity``), in one query over the catalogue (no table is read)."""
    with _transaction(conn) as cur:
        cur.execute(
            "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
            "AND obj_description(c.oid, 'pg_class') LIKE %s ORDER BY c.relname",
            (IDENTITY_TAG + "%",),
        )
        return {name: comment[len(IDENTITY_TAG) :] for name, comment in cur.fetchall()}


def claim_identity(conn: Connection, table: str, prefix: str) -> str:
    """Record ``prefix`` as what ``table`` holds unless another is recorded; returns the one
    recorded (the first claim wins, even when two runs claim at once)."""
    check_table_name(table)
    with _transaction(conn) as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOCK_CLASS, table))
        cur.execute("SELECT obj_description(to_regclass(quote_ident(%s)), 'pg_class')", (table,))
        comment = cur.fetchone()[0] or ""
        if comment.startswith(IDENTITY_TAG):
            return comment[len(IDENTITY_TAG) :]
        cur.execute(
            sql.SQL("COMMENT ON TABLE {} IS {}").format(
                sql.Identifier(table), sql.Literal(IDENTITY_TAG + prefix)
            )
        )
    return prefix


def server_info(conn: Connection) -> tuple[str, str]:
    """``(database, PostGIS version)`` of the connection; Ls4Error when PostGIS is missing."""
    with _transaction(conn) as cur:
        cur.execute("SELECT current_database(), postgis_lib_version()")
        return cur.fetchone()


@contextmanager
def snapshot(conn: Connection) -> Iterator[None]:
    """One read-only REPEATABLE READ transaction for the block: ``snapshot_count`` and
    ``snapshot_rows`` inside it read one consistent state of every table. Rolled back at the
    end (it changed nothing)."""
    with conn.lock, _errors(conn):
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        try:
            yield
        finally:
            with suppress(psycopg2.Error):
                conn.rollback()
                conn.set_session(isolation_level="DEFAULT", readonly="DEFAULT")


def snapshot_count(conn: Connection, table: str) -> int:
    """``count`` inside a ``snapshot``."""
    check_table_name(table)
    with _guard(conn), conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        return cur.fetchone()[0]


def snapshot_rows(
    conn: Connection, table: str, columns: Sequence[str], decimals: int, batch: int
) -> Iterator[tuple[Any, ...]]:
    """Inside a ``snapshot``: ``columns`` of every row of ``table`` by id, and its footprint as
    GeoJSON in EPSG:4326 (``decimals`` digits) last; streamed ``batch`` rows at a time from a
    server-side cursor, each fetch bounded like any statement."""
    check_table_name(table)
    query = sql.SQL(
        "SELECT {}, ST_AsGeoJSON(ST_Transform(geom, 4326), %s) FROM {} ORDER BY id"
    ).format(sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table))
    with _errors(conn), conn.cursor(name=f"ls4_rows_{table}") as cur:
        with _guard(conn):
            cur.execute(query, (decimals,))
        while True:
            with _guard(conn):
                records = cur.fetchmany(batch)
            if not records:
                return
            yield from records
