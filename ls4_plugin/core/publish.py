"""Publish a collection: every frame to a COG on S3 and a row in the tile index, then the mapfile.

Frames are independent: a failed frame is reported and the others go on; the mapfile is written
from the index, which only ever holds rows whose COG was uploaded first, so it never points at a
missing COG. Reruns are cheap: a frame whose COG on S3 was made from the same source with the
same options, and whose row is in the index, is left alone.

Where the frames run is the executor's business (``FrameExecutor``): a thread pool in this
process by default, or a distributed engine (``engines.DaskExecutor``); the collection's
finishing step (``finish_collection``) always runs here, after the frames.
"""

import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from . import cog, footprint, keys, mapfile, outputs, profile, rasterinfo, storage, tileindex
from .errors import Canceled, InputError, Ls4Error
from .feedback import SubFeedback, check_canceled, ensure

COG_OPTIONS_VERSION = "ls4-cog-1"
# The tile index fields ``published_frames`` reports for each frame.
FRAME_FIELDS = ("location", "date", "roll", "frame_num", "dl_orig", "dl_georef", "dl_index")


@dataclass(frozen=True)
class Target:
    """Where a collection is published."""

    s3: storage.S3Config
    dsn: str
    wms_url_template: str
    mapfile_connection: str = "service=ls4"
    map_dir: str | None = None

    def wms_url(self, collection):
        return self.wms_url_template.format(collection=collection.name)


@dataclass
class FrameResult:
    source: str
    status: str = "pending"  # published | unchanged | failed | canceled
    message: str = ""
    georef_key: str = ""
    cog_key: str = ""
    warnings: list = field(default_factory=list)
    worker: str = ""  # where the frame ran: "local", or a Dask worker's tcp:// address

    def to_dict(self):
        return dict(self.__dict__)


@dataclass
class CollectionResult:
    collection: str
    table: str
    wms_url: str
    mapfile_key: str = ""
    frames: list = field(default_factory=list)

    @property
    def failed(self):
        return [frame for frame in self.frames if frame.status in ("failed", "canceled")]

    def to_dict(self):
        data = {key: value for key, value in self.__dict__.items() if key != "frames"}
        data["frames"] = [frame.to_dict() for frame in self.frames]
        return data


class FrameExecutor(Protocol):
    """Runs the frames of one collection somewhere; ``publish_collection`` does the rest.

    Entering it connects to the engine (an engine that does not answer raises ``Ls4Error``
    before anything is published); ``run_frames`` returns one ``FrameResult`` per source, in
    order, follows ``feedback`` for progress (0–100 %) and cancel, and on cancel returns only
    once no frame is still running (finished frames stay published, the others are
    "canceled").
    """

    def __enter__(self): ...

    def __exit__(self, *exc_info): ...

    def run_frames(self, target, collection, sources, feedback): ...


class LocalExecutor:
    """The frames in a thread pool of this process (``workers`` at once)."""

    def __init__(self, workers=1):
        self.workers = max(1, workers)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return None

    def run_frames(self, target, collection, sources, feedback):
        step = 100.0 / max(len(sources), 1)
        with tempfile.TemporaryDirectory(prefix="ls4-publish-") as work_dir:

            def run(numbered):
                number, source = numbered
                sub = SubFeedback(feedback, number * step, (number + 1) * step)
                frame = publish_frame(target, collection, source, work_dir, sub)
                frame.worker = "local"
                return frame

            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                return list(pool.map(run, enumerate(sources)))


def publish_collection(target, collection, sources, workers=1, feedback=None, executor=None):
    """Publish ``sources`` (georeferenced images) into ``collection``; returns the report.

    ``executor`` runs the frames (default: ``LocalExecutor(workers)``).
    """
    feedback = ensure(feedback)
    check_names(collection, sources)
    storage.check_connection(target.s3)
    executor = executor if executor is not None else LocalExecutor(workers)
    result = CollectionResult(collection.name, collection.table, target.wms_url(collection))
    with executor:
        with tileindex.connect(target.dsn) as conn:
            tileindex.ensure_table(conn, collection.table)
        result.frames = executor.run_frames(
            target, collection, sources, SubFeedback(feedback, 0, 90)
        )
    # Also after a cancel: the frames that finished are in the index, and the mapfile must show
    # exactly them, or the estate would hold a table without its mapfile.
    result.mapfile_key = finish_collection(target, collection)
    check_canceled(feedback)
    feedback.setProgress(100)
    return result


def finish_collection(target, collection):
    """The collection's finishing step, once after its frames (wherever they ran): the mapfile.

    Returns the mapfile key ("" for an empty index). Array jobs call it from their finish step.
    """
    return publish_mapfile(target, collection)


def check_names(collection, sources):
    """Reject, before anything is uploaded, a file name the collection's grammar does not allow."""
    for source in sources:
        collection.key("georef", os.path.basename(source))


def publish_frame(target, collection, source, work_dir, feedback):
    """One frame: inspect → COG → upload georef and COG → index row. Never raises but on cancel."""
    result = FrameResult(source=os.fspath(source))
    try:
        _publish_frame(target, collection, result, work_dir, feedback)
    except Canceled:
        result.status, result.message = "canceled", "canceled by the user"
    except Ls4Error as error:
        result.status, result.message = "failed", str(error)
        feedback.pushWarning(f"{os.path.basename(source)}: {error}")
    return result


def _publish_frame(target, collection, result, work_dir, feedback):
    source = result.source
    name = os.path.basename(source)
    result.georef_key = collection.key("georef", name)
    result.cog_key = collection.key("cog", name)
    check_publishable(collection, source)
    s3 = storage.client(target.s3)
    source_sha = storage.file_sha256(source, feedback)
    location = storage.vsis3_path(target.s3, result.cog_key)
    if _cog_current(s3, target, result.cog_key, source_sha) and _row_present(
        target, collection, location
    ):
        result.status, result.message = "unchanged", "already published"
        return
    cog_path = os.path.join(work_dir, name)
    cog.make_cog(
        source, cog_path, band_layout=collection.band, feedback=SubFeedback(feedback, 0, 60)
    )
    storage.upload_file(target.s3, source, result.georef_key, SubFeedback(feedback, 60, 70), s3)
    storage.upload_file(
        target.s3,
        cog_path,
        result.cog_key,
        SubFeedback(feedback, 70, 95),
        s3,
        metadata={"source-sha256": source_sha, "options": COG_OPTIONS_VERSION},
    )
    feedback.pushInfo(f"{name}: uploaded to {result.georef_key} and {result.cog_key}")
    result.warnings += _scan_warnings(target, collection, name, s3)
    index_cog(target, collection, cog_path)
    os.remove(cog_path)
    result.status, result.message = "published", "published"
    feedback.setProgress(100)


def index_cog(target, collection, cog_path, name=None):
    """Record the footprint of a COG already on S3 in the collection's tile index."""
    name = name or os.path.basename(cog_path)
    key = collection.key("cog", name)
    if not storage.exists(target.s3, key):
        raise InputError(f"{cog_path}: not on S3 at {key}; upload it (stage cog) first")
    location = storage.vsis3_path(target.s3, key)
    wkt, _area = footprint.valid_footprint(cog_path)
    row = index_row(target, collection, name, location)
    with tileindex.connect(target.dsn) as conn:
        tileindex.ensure_table(conn, collection.table)
        return tileindex.upsert_frame(conn, collection.table, row, wkt)


def index_cogs(target, collection, cog_paths, feedback=None):
    """``index_cog`` for each of ``cog_paths``: how many rows were inserted, updated, unchanged."""
    feedback = ensure(feedback)
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    for number, path in enumerate(cog_paths):
        status = index_cog(target, collection, path)
        counts[status] += 1
        feedback.pushInfo(f"{status}: {path}")
        feedback.setProgress(100.0 * (number + 1) / len(cog_paths))
    return counts


def published_frames(dsn, collection):
    """What the collection's tile index holds: ``(the table exists, [frame])``.

    A frame is its file name (``file``) and the row's fields people read; a collection whose
    table does not exist has no frames. Nothing is changed.
    """
    with tileindex.connect(dsn) as conn:
        exists = tileindex.table_exists(conn, collection.table)
        rows = tileindex.rows(conn, collection.table) if exists else []
    return exists, [_frame_entry(row) for row in rows]


def _frame_entry(row):
    entry = {"file": row["location"].rsplit("/", 1)[-1]}
    entry.update({name: row[name] for name in FRAME_FIELDS})
    return entry


def upload_stage(config, collection, stage, paths, feedback=None):
    """Upload files to ``stage`` of the collection: [(path, key, "uploaded"|"unchanged")].

    Every file name is checked against the grammar before the first upload.
    """
    feedback = ensure(feedback)
    planned = [(path, collection.key(stage, os.path.basename(path))) for path in paths]
    s3 = storage.client(config)
    done = []
    for number, (path, key) in enumerate(planned):
        step = 100.0 / len(planned)
        sub = SubFeedback(feedback, number * step, (number + 1) * step)
        done.append((path, key, storage.upload_file(config, path, key, sub, s3)))
    return done


def check_publishable(collection, source):
    report = rasterinfo.inspect_raster(source)
    if report.georeferencing == "none":
        raise InputError(f"{source}: not georeferenced (no geotransform, no GCPs)")
    if report.band_layout and report.band_layout != collection.band:
        raise InputError(
            f"{source}: band layout {report.band_layout!r} does not match the collection's "
            f"{collection.band!r}"
        )


def _cog_current(s3, target, cog_key, source_sha):
    metadata = storage.object_metadata(target.s3, cog_key, s3)
    return (
        metadata is not None
        and metadata.get("source-sha256") == source_sha
        and metadata.get("options") == COG_OPTIONS_VERSION
    )


def _row_present(target, collection, location):
    with tileindex.connect(target.dsn) as conn:
        return tileindex.has_location(conn, collection.table, location)


def _scan_warnings(target, collection, name, s3):
    if collection.type != "frames":
        return []
    scan_key = collection.key("scanned", name)
    if storage.exists(target.s3, scan_key, s3):
        return []
    return [
        f"{name}: its scan is missing from scanned/ (expected s3://{target.s3.bucket}/{scan_key})"
    ]


def index_row(target, collection, name, location):
    """The tile index fields of GUIDE §2 for one frame."""
    row = dict(keys.tile_index_fields(collection, name))
    row.update(
        location=location,
        src_srs=profile.TARGET_SRS,
        dl_georef=storage.public_url(target.s3, collection.key("cog", name)),
        dl_index=storage.public_url(target.s3, collection.index_download_prefix()),
    )
    if collection.type == "mosaic":
        row.update(date="MULTIPLE", roll="MULTIPLE", dl_orig="N/A")
    else:
        row["dl_orig"] = storage.public_url(target.s3, collection.key("scanned", name))
    return row


def publish_mapfile(target, collection):
    """Write the collection's mapfile from its index; returns its key, or "" for an empty index.

    Writers of one collection take turns (``tileindex.derived_lock``), so the last mapfile
    written holds the extent of every row committed before it.
    """
    with tileindex.connect(target.dsn) as conn:
        if not tileindex.table_exists(conn, collection.table):
            return ""
        with tileindex.derived_lock(conn, collection.table):
            if tileindex.count(conn, collection.table) == 0:
                return ""
            text = render_mapfile(target, collection, tileindex.extent(conn, collection.table))
            storage.put_bytes(target.s3, collection.mapfile_key, text.encode())
            if target.map_dir:
                mapfile.write_templates(target.map_dir)
                _write_atomically(os.path.join(target.map_dir, f"{collection.name}.map"), text)
    return collection.mapfile_key


def render_mapfile(target, collection, extent):
    mapdict = mapfile.build_mapfile(
        collection.name,
        collection.title,
        collection.table,
        extent,
        target.wms_url(collection),
        pg_connection=target.mapfile_connection,
    )
    problems = mapfile.validate(mapdict)
    if problems:
        raise Ls4Error(f"mapfile for {collection.name} is not valid: {problems}")
    text = mapfile.dumps(mapdict)
    if mapfile.contains_secret(text):
        raise Ls4Error(f"mapfile for {collection.name} would carry a secret: not written")
    return text


def _write_atomically(path, text):
    with outputs.replaced_whole(path) as temporary, open(temporary, "w", encoding="utf-8") as out:
        out.write(text)
