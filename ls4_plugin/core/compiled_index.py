"""The compiled index: every collection's footprints in one public GeoJSON, in EPSG:4326.

Rows are streamed from a server-side cursor, transformed and written as GeoJSON by PostGIS, and
appended one feature at a time to a temporary file, so memory does not grow with the estate. All
tables are read in one read-only REPEATABLE READ transaction: the file is a snapshot, and the row
counts taken in it say how many features a complete file has. The file replaces OUTPUT, then the
public object, only once GDAL has read it back whole with that many features; until then the
previous public file stays in place (an S3 PUT replaces an object atomically).
"""

import json
import os
from dataclasses import dataclass

import psycopg2
from osgeo import gdal
from psycopg2 import sql

from . import keys, outputs, storage, tileindex
from .cogcheck import gdal_errors
from .errors import Ls4Error
from .feedback import SubFeedback, check_canceled, ensure

PROPERTIES = ("dl_orig", "dl_georef", "dl_index")
FETCH_ROWS = 2000
COORDINATE_DECIMALS = 7  # about 1 cm at the equator
HEADER = '{"type": "FeatureCollection", "name": "compiled_historical_indexes", "features": [\n'
FOOTER = "\n]}\n"


@dataclass
class CompileResult:
    path: str
    tables: int
    features: int
    key: str = ""
    url: str = ""
    upload: str = ""  # "uploaded", "unchanged" or "" (not uploaded)


def compile_indexes(target, output_path, upload=True, feedback=None):
    """Write every collection table's rows to ``output_path`` as one GeoJSON FeatureCollection.

    With ``upload``, the file then replaces ``geojson/compiled_historical_indexes.geojson``
    (public). Properties of each feature: ``table``, ``collection`` (in words), ``dl_orig``,
    ``dl_georef``, ``dl_index``. On failure or cancel nothing is replaced and no partial file is
    left.
    """
    feedback = ensure(feedback)
    output_path = os.fspath(output_path)
    with tileindex.connect(target.dsn) as conn:
        tables = collection_tables(conn, feedback)
        with outputs.replaced_whole(output_path) as temporary:
            expected = _write(conn, tables, temporary, SubFeedback(feedback, 0, 80))
            _check_complete(temporary, expected)
    feedback.pushInfo(f"{expected} footprints of {len(tables)} collections in {output_path}")
    result = CompileResult(output_path, len(tables), expected)
    if upload:
        result.key = keys.COMPILED_INDEX_KEY
        result.upload = storage.upload_file(
            target.s3, output_path, result.key, SubFeedback(feedback, 85, 100)
        )
        result.url = storage.public_url(target.s3, result.key)
        feedback.pushInfo(f"{result.upload}: {result.url}")
    feedback.setProgress(100)
    return result


def collection_tables(conn, feedback):
    """The tile index tables named as collections; others are left out with a warning."""
    tables = []
    for table in tileindex.list_tables(conn):
        try:
            keys.words(table)
        except Ls4Error:
            feedback.pushWarning(f"Table {table} is not named as a collection: left out")
            continue
        tables.append(table)
    return tables


def _write(conn, tables, path, feedback):
    """Stream every table into ``path`` in one snapshot; returns the number of features."""
    conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
    try:
        total = sum(_count(conn, table) for table in tables)
        written = 0
        with open(path, "w", encoding="utf-8") as out:
            out.write(HEADER)
            for table in tables:
                written = _write_table(conn, table, out, written, max(total, 1), feedback)
            out.write(FOOTER)
    finally:
        conn.rollback()
    if written != total:
        raise Ls4Error(f"Compiled {written} footprints where the tables hold {total}")
    return written


def _count(conn, table):
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        return cur.fetchone()[0]


def _write_table(conn, table, out, written, total, feedback):
    words = keys.words(table)
    query = sql.SQL(
        "SELECT {}, ST_AsGeoJSON(ST_Transform(geom, 4326), %s) FROM {} ORDER BY id"
    ).format(sql.SQL(", ").join(map(sql.Identifier, PROPERTIES)), sql.Identifier(table))
    try:
        with conn.cursor(name=f"ls4_compile_{table}") as cur:
            cur.itersize = FETCH_ROWS
            cur.execute(query, (COORDINATE_DECIMALS,))
            for *links, geometry in cur:
                check_canceled(feedback)
                properties = {"table": table, "collection": words}
                properties.update(zip(PROPERTIES, links, strict=True))
                separator = ",\n" if written else ""
                out.write(f'{separator}{{"type": "Feature", "properties": ')
                out.write(f'{json.dumps(properties)}, "geometry": {geometry}}}')
                written += 1
                if written % FETCH_ROWS == 0:
                    feedback.setProgress(100.0 * written / total)
    except psycopg2.Error as error:
        raise Ls4Error(f"Table {table} cannot be compiled: {error}".strip()) from error
    return written


def _check_complete(path, expected):
    """GDAL reads the file back: valid GeoJSON holding exactly ``expected`` features."""
    with gdal_errors() as messages:
        try:
            dataset = gdal.OpenEx(path, gdal.OF_VECTOR, allowed_drivers=["GeoJSON"])
            count = dataset.GetLayer(0).GetFeatureCount() if dataset is not None else None
        except RuntimeError as error:  # when some other code turned on gdal.UseExceptions()
            messages.append(str(error))
            count = None
        dataset = None  # closed before the file is moved
    if count != expected:
        reason = messages[-1] if messages else f"{count} features read back"
        raise Ls4Error(f"The compiled index {path} is not complete ({reason}); not published")
