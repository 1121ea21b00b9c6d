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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from osgeo import gdal

from . import keys, outputs, storage, tileindex
from .errors import Canceled, Ls4Error, ServiceUnavailable
from .feedback import FeedbackLike, SubFeedback, check_canceled, ensure
from .gdalutil import gdal_errors

if TYPE_CHECKING:
    from .publish import Target

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


def compile_indexes(
    target: "Target",
    output_path: str | os.PathLike[str],
    upload: bool = True,
    feedback: FeedbackLike | None = None,
) -> CompileResult:
    """Write every collection table's rows to ``output_path`` as one GeoJSON FeatureCollection.

    With ``upload``, the file then replaces ``geojson/compiled_historical_indexes.geojson``
    (public). Properties of each feature: ``table``, ``collection`` (in words), ``dl_orig``,
    ``dl_georef``, ``dl_index``. On failure or cancel nothing is replaced and no partial file is
    left.
    """
    feedback = ensure(feedback)
    output_path = os.fspath(output_path)
    with target.connect() as conn:
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


def collection_tables(conn: tileindex.Connection, feedback: FeedbackLike) -> list[str]:
    """The tile index tables named as collections; others are left out with a warning."""
    tables: list[str] = []
    for table in tileindex.list_tables(conn):
        try:
            keys.words(table)
        except Ls4Error:
            feedback.pushWarning(f"Table {table} is not named as a collection: left out")
            continue
        tables.append(table)
    return tables


def _write(
    conn: tileindex.Connection, tables: Sequence[str], path: str, feedback: FeedbackLike
) -> int:
    """Stream every table into ``path`` in one snapshot; returns the number of features."""
    with tileindex.snapshot(conn):
        total = sum(tileindex.snapshot_count(conn, table) for table in tables)
        written = 0
        with open(path, "w", encoding="utf-8") as out:
            out.write(HEADER)
            for table in tables:
                written = _write_table(conn, table, out, written, max(total, 1), feedback)
            out.write(FOOTER)
    if written != total:
        raise Ls4Error(f"Compiled {written} footprints where the tables hold {total}")
    return written


def _write_table(
    conn: tileindex.Connection,
    table: str,
    out: TextIO,
    written: int,
    total: int,
    feedback: FeedbackLike,
) -> int:
    words = keys.words(table)
    rows = tileindex.snapshot_rows(conn, table, PROPERTIES, COORDINATE_DECIMALS, FETCH_ROWS)
    try:
        for *links, geometry in rows:
            written = _write_feature(out, table, words, links, geometry, written)
            check_canceled(feedback)
            if written % FETCH_ROWS == 0:
                feedback.setProgress(100.0 * written / total)
    except (ServiceUnavailable, Canceled):
        raise
    except Ls4Error as error:
        raise Ls4Error(f"Table {table} cannot be compiled: {error}") from error
    return written


def _write_feature(
    out: TextIO, table: str, words: str, links: Sequence[object], geometry: str, written: int
) -> int:
    properties: dict[str, object] = {"table": table, "collection": words}
    properties.update(zip(PROPERTIES, links, strict=True))
    separator = ",\n" if written else ""
    out.write(f'{separator}{{"type": "Feature", "properties": ')
    out.write(f'{json.dumps(properties)}, "geometry": {geometry}}}')
    return written + 1


def _check_complete(path: str, expected: int) -> None:
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
