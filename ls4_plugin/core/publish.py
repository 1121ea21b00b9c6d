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
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from . import (
    cog,
    downloads,
    footprint,
    keys,
    mapfile,
    outputs,
    overview,
    profile,
    rasterinfo,
    sidecars,
    stac,
    storage,
    tileindex,
    tiles,
    workspace,
)
from .errors import Canceled, InputError, Ls4Error, ServiceUnavailable
from .feedback import FeedbackLike, SubFeedback, check_canceled, ensure
from .gdalutil import Dataset
from .stac import StacConfig

COG_OPTIONS_VERSION = "ls4-cog-1"
NOT_ATTEMPTED = "not attempted"
# The tile index fields ``collection_info`` reports for each frame.
FRAME_FIELDS = ("location", "date", "roll", "frame_num", "dl_orig", "dl_georef", "dl_index")


@dataclass(frozen=True)
class Target:
    """Where a collection is published."""

    s3: storage.S3Config
    dsn: str
    wms_url_template: str
    mapfile_connection: str = "service=ls4"
    map_dir: str | None = None
    pg_timeouts: tileindex.Timeouts = tileindex.DEFAULT_TIMEOUTS
    # the canonical spelling of agencies ("TxDOT"), matched ignoring case
    agencies: tuple[str, ...] = ()
    stac: StacConfig = StacConfig()
    # where MapProxy caches the tiles (tiles.TILE_CACHES): "s3" when the publishing machines
    # are not the tile server, so that publishing a frame can clear its tiles from anywhere
    tile_cache: str = "file"

    def wms_url(self, collection: keys.CollectionName) -> str:
        return self.wms_url_template.format(collection=collection.name)

    def s3_tile_cache(self) -> storage.S3Config | None:
        """The bucket of the tile cache when it is on S3, else None."""
        return self.s3 if self.tile_cache == "s3" else None

    def connect(self) -> tileindex.Connection:
        """A connection to the tile index database, every wait bounded by ``pg_timeouts``."""
        return tileindex.connect(self.dsn, self.pg_timeouts)


class Run:
    """What the frames of one run share: one PostgreSQL connection, and the services found gone.

    A frame that gets no answer from S3 or PostgreSQL (``ServiceUnavailable``: every wait is
    bounded) records the service as gone; from then on frames not yet started are not attempted
    and frames under way stop before their next step, so the run ends within one time-out of
    the fault instead of paying it again for every frame.
    """

    def __init__(self, conn: tileindex.Connection) -> None:
        self.conn = conn
        self._down: dict[str, str] = {}
        self._lock = threading.Lock()
        # no limit unless the executor sets one
        self._computing: threading.BoundedSemaphore | None = None

    def limit_compute(self, slots: int) -> None:
        """At most ``slots`` frames compute their COG at once (``computing``); the frames beside
        them hash, upload and index meanwhile."""
        self._computing = threading.BoundedSemaphore(max(1, slots))

    @contextmanager
    def computing(self) -> Iterator[None]:
        if self._computing is None:
            yield
            return
        with self._computing:
            yield

    def gone(self, error: ServiceUnavailable) -> None:
        with self._lock:
            self._down.setdefault(error.service, str(error))

    def down(self) -> tuple[str, str] | None:
        """``(service, message)`` of the first service found gone, or None."""
        with self._lock:
            return next(iter(self._down.items()), None)

    def check(self) -> None:
        down = self.down()
        if down:
            raise ServiceUnavailable(down[0], f"stopped: {down[0]} unreachable")


@dataclass
class FrameResult:
    source: str
    status: str = "pending"  # published | unchanged | failed | canceled | not attempted
    message: str = ""
    georef_key: str = ""
    cog_key: str = ""
    warnings: list[str] = field(default_factory=list)
    worker: str = ""  # where the frame ran: "local", or a Dask worker's tcp:// address

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class CollectionResult:
    collection: str
    table: str
    wms_url: str
    mapfile_key: str = ""
    frames: list[FrameResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # what failed for the run as a whole
    # what became of the Collection, Catalog, pgSTAC
    stac: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> list[FrameResult]:
        stopped = ("failed", "canceled", NOT_ATTEMPTED)
        return [frame for frame in self.frames if frame.status in stopped]

    def to_dict(self) -> dict[str, Any]:
        data = {key: value for key, value in self.__dict__.items() if key != "frames"}
        data["frames"] = [frame.to_dict() for frame in self.frames]
        return data


class FrameExecutor(Protocol):
    """Runs the frames of one collection somewhere; ``publish_collection`` does the rest.

    Entering it connects to the engine (an engine that does not answer raises ``Ls4Error``
    before anything is published); ``run_frames`` returns one ``FrameResult`` per source, in
    order, follows ``feedback`` for progress (0–100 %) and cancel, and on cancel returns only
    once no frame is still running (finished frames stay published, the others are
    "canceled"). ``run`` is this process's ``Run`` (its connection, the services found gone):
    an executor whose frames run in this process passes it to ``publish_frame``; one whose
    frames run elsewhere ignores it (each worker then stops on its own time-outs).
    """

    def __enter__(self) -> "FrameExecutor": ...

    def __exit__(self, *exc_info: object) -> None: ...

    def run_frames(
        self,
        target: Target,
        collection: keys.Collection,
        sources: Sequence[str | os.PathLike[str]],
        feedback: FeedbackLike,
        run: Run | None = None,
    ) -> list[FrameResult]: ...


class LocalExecutor:
    """The frames in a thread pool of this process, their COGs computed ``slots`` at once.

    ``workers`` is the upper bound of the frames in flight (``parallelism``): of those, as many
    compute their COGs at once as the cores and the memory allow, and one beside each computing
    frame hashes its input, uploads and indexes (I/O, mostly waiting), so the I/O of a frame
    overlaps the compute of the next. ``workers=1``: one frame after the other.
    """

    def __init__(self, workers: int = 1) -> None:
        self.workers = max(1, workers)

    def __enter__(self) -> "LocalExecutor":
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def run_frames(
        self,
        target: Target,
        collection: keys.Collection,
        sources: Sequence[str | os.PathLike[str]],
        feedback: FeedbackLike,
        run: Run | None = None,
    ) -> list[FrameResult]:
        step = 100.0 / max(len(sources), 1)
        threads, slots = parallelism(self.workers, sources)
        if run is not None:
            run.limit_compute(slots)
        with workspace.run_folder() as work_dir:

            def one(numbered: tuple[int, str | os.PathLike[str]]) -> FrameResult:
                number, source = numbered
                sub = SubFeedback(feedback, number * step, (number + 1) * step)
                frame = publish_frame(target, collection, source, work_dir, sub, run)
                frame.worker = "local"
                return frame

            with ThreadPoolExecutor(max_workers=threads) as pool:
                return list(pool.map(one, enumerate(sources)))


CORES_PER_COG = 2  # make_cog keeps two cores busy (the warp and the strips' thread)
MEMORY_SHARE = 0.5  # of the memory available, at most, for the COGs computed at once


def parallelism(workers: int, sources: Sequence[str | os.PathLike[str]]) -> tuple[int, int]:
    """``(threads, compute slots)`` for publishing ``sources`` with at most ``workers`` frames in
    flight: slots limited by the cores (``CORES_PER_COG`` each) and by the memory
    (``cog.memory_needed`` of the largest frame against ``MEMORY_SHARE`` of what is available),
    and one I/O frame beside each computing one, as far as ``workers`` allows."""
    cores = os.cpu_count() or 1
    by_cores = max(1, cores // CORES_PER_COG)
    largest = max((cog.memory_needed(source) for source in sources), default=1)
    by_memory = max(1, int(_available_memory() * MEMORY_SHARE // max(largest, 1)))
    slots = max(1, min(workers, by_cores, by_memory))
    return min(workers, 2 * slots, max(len(sources), 1)), slots


def _available_memory() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return cog.machine_memory()


def publish_collection(
    target: Target,
    collection: keys.Collection,
    sources: Sequence[str | os.PathLike[str]],
    workers: int = 1,
    feedback: FeedbackLike | None = None,
    executor: FrameExecutor | None = None,
) -> CollectionResult:
    """Publish ``sources`` (georeferenced images) into ``collection``; returns the report.

    ``executor`` runs the frames (default: ``LocalExecutor(workers)``).
    Refused before anything is uploaded: file names outside the grammar (all of them are
    named), an unreachable S3 or PostgreSQL, a collection whose table holds another band layout
    or another spelling of its mission code. A failure after that (a frame, a service gone, the
    mapfile) is in the report: ``frames`` and ``errors``.
    """
    feedback = ensure(feedback)
    check_names(collection, sources)
    storage.check_connection(target.s3)
    executor = executor if executor is not None else LocalExecutor(workers)
    with executor, target.connect() as conn:
        tileindex.ensure_table(conn, collection.table)
        collection = settle_identity(conn, collection, target.agencies)
        result = CollectionResult(collection.name, collection.table, target.wms_url(collection))
        run = Run(conn)
        with tileindex.run_lease(conn, collection.table):  # this run's uploads are alive
            result.frames = executor.run_frames(
                target, collection, sources, SubFeedback(feedback, 0, 90), run=run
            )
        _finish(target, collection, result, run, feedback)
    check_canceled(feedback)
    feedback.setProgress(100)
    return result


def finish_collection(
    target: Target, collection: keys.Collection, conn: tileindex.Connection | None = None
) -> str:
    """The collection's finishing step, once after its frames (wherever they ran): the mapfile,
    then the STAC Collection, root Catalog and pgSTAC.

    Returns the mapfile key ("" for an empty index). Array jobs call it from their finish step.
    """
    key = _finish_mapfile(target, collection, conn)
    publish_stac(target, collection, conn)
    return key


def _finish_mapfile(
    target: Target, collection: keys.Collection, conn: tileindex.Connection | None
) -> str:
    mapfile_key = publish_mapfile(target, collection, conn)
    if mapfile_key:
        downloads.publish_index(target, collection)  # what the rows' dl_index link to
    return mapfile_key


def _finish(
    target: Target,
    collection: keys.Collection,
    result: CollectionResult,
    run: Run,
    feedback: FeedbackLike,
) -> None:
    """The mapfile, also after a cancel: the frames that finished are in the index, and the
    mapfile must show exactly them, or the estate would hold a table without its mapfile."""
    down = run.down()
    if down:
        result.errors.append(f"mapfile not written: {down[0]} unreachable ({down[1]})")
    else:
        try:
            result.mapfile_key = _finish_mapfile(target, collection, run.conn)
        except ServiceUnavailable as error:
            run.gone(error)
            result.errors.append(f"mapfile not written: {error}")
        except Canceled:
            raise
        except Ls4Error as error:
            result.errors.append(f"mapfile not written: {error}")
        except OSError as error:  # the local copy for MapServer (map_dir)
            result.errors.append(f"mapfile not written: {error.filename}: {error.strerror}")
    if target.stac.enabled and not run.down():
        try:
            result.stac = publish_stac(target, collection, run.conn)
        except Canceled:
            raise
        except Ls4Error as error:
            result.errors.append(f"STAC collection not written: {error}")
    for message in result.errors:
        feedback.pushWarning(message)


def check_names(collection: keys.Collection, sources: Iterable[str | os.PathLike[str]]) -> None:
    """Reject, before anything is uploaded, the file names the collection's grammar does not
    allow: every one of them, each with its reason."""
    problems: list[str] = []
    for source in sources:
        try:
            collection.key("georef", os.path.basename(source))
        except InputError as error:
            problems.append(str(error))
    if len(problems) == 1:
        raise InputError(problems[0])
    if problems:
        raise InputError(
            f"{len(problems)} file names break the naming rules:\n" + "\n".join(problems)
        )


def settle_identity(
    conn: tileindex.Connection, collection: keys.Collection, agencies: Iterable[str] = ()
) -> keys.Collection:
    """The collection as its table knows it, before anything is uploaded.

    The first publish records the collection's S3 prefix in its table; later ones must name
    the same prefix but for the case of county and agency, which are then written as the table
    records them (one collection, one prefix). Another band layout or another spelling of the
    mission code is refused, naming the collection that exists.
    """
    table = collection.table
    recorded = tileindex.identity(conn, table)
    if recorded is None:
        recorded = _prefix_of_rows(conn, table) or keys.canonical(collection, agencies).prefix()
        recorded = tileindex.claim_identity(conn, table, recorded)
    return keys.reconcile(collection, recorded)


def stored_collection(conn: tileindex.Connection, table: str) -> keys.Collection | None:
    """The collection ``table`` holds, band layout included, as the table records it (the S3
    prefix of its first publish, else its first row's key); None when it records nothing."""
    recorded = tileindex.identity(conn, table) or _prefix_of_rows(conn, table)
    return keys.parse_prefix(recorded)[0] if recorded else None


def _prefix_of_rows(conn: tileindex.Connection, table: str) -> str | None:
    """The prefix of a table published before identities were recorded, from its first row."""
    location = tileindex.first_location(conn, table)
    if location is None:
        return None
    try:
        return keys.parse_key(keys.split_location(location)[1]).collection.prefix()
    except InputError:
        return None


def publish_frame(
    target: Target,
    collection: keys.Collection,
    source: str | os.PathLike[str],
    work_dir: str,
    feedback: FeedbackLike,
    run: Run | None = None,
) -> FrameResult:
    """One frame: inspect → COG → upload georef and COG → index row. Never raises but on cancel.

    ``run`` (shared by the frames of a run) holds the database connection and the services
    found gone; without it the frame opens a connection of its own.
    """
    result = FrameResult(source=os.fspath(source))
    if run is None:
        try:
            with target.connect() as conn:
                return publish_frame(target, collection, source, work_dir, feedback, Run(conn))
        except Ls4Error as error:
            result.status, result.message = "failed", str(error)
            return result
    down = run.down()
    if down:
        result.status, result.message = NOT_ATTEMPTED, f"not attempted: {down[0]} unreachable"
        return result
    try:
        _publish_frame(target, collection, result, work_dir, feedback, run)
    except Canceled:
        result.status, result.message = "canceled", "canceled by the user"
    except ServiceUnavailable as error:
        run.gone(error)
        result.status, result.message = "failed", str(error)
        feedback.pushWarning(f"{os.path.basename(source)}: {error}")
    except Ls4Error as error:
        result.status, result.message = "failed", str(error)
        feedback.pushWarning(f"{os.path.basename(source)}: {error}")
    return result


def _publish_frame(
    target: Target,
    collection: keys.Collection,
    result: FrameResult,
    work_dir: str,
    feedback: FeedbackLike,
    run: Run,
) -> None:
    frame_dir = tempfile.mkdtemp(prefix="frame-", dir=work_dir)
    try:
        # A frame georeferenced by sidecars is published from a self-contained copy of it.
        source = sidecars.self_contained(result.source, frame_dir)
        _publish_source(target, collection, result, source, work_dir, feedback, run)
    finally:
        shutil.rmtree(frame_dir, ignore_errors=True)


def _publish_source(
    target: Target,
    collection: keys.Collection,
    result: FrameResult,
    source: str,
    work_dir: str,
    feedback: FeedbackLike,
    run: Run,
) -> None:
    report, opened = _inspect_publishable(collection, source)
    if target.stac.enabled:  # a frame that can get no STAC item fails before any upload
        stac.check_frame(collection, os.path.basename(source))
    s3 = storage.client(target.s3)
    # The index is asked first: a database that is gone stops the frame before any upload.
    name, indexed, metadata = _first_upload(target, collection, os.path.basename(source), run, s3)
    result.georef_key = collection.key("georef", name)
    result.cog_key = collection.key("cog", name)
    source_sha = storage.file_sha256(source, feedback)
    if indexed and _current(metadata, source_sha):
        result.status, result.message = "unchanged", "already published"
        if target.stac.enabled and not stac.item_exists(target, collection, name):
            cog_path = os.path.join(work_dir, name)
            try:
                storage.download_file(target.s3, result.cog_key, cog_path, s3)
                _stac_item(target, collection, name, cog_path, run)
            finally:
                if os.path.exists(cog_path):
                    os.remove(cog_path)
        return
    cog_path = os.path.join(work_dir, name)
    with run.computing():  # the other frames' uploads and index rows go on meanwhile
        down = run.down()
        if down:  # found gone while this frame waited for its turn: nothing of it is done
            result.status, result.message = NOT_ATTEMPTED, f"not attempted: {down[0]} unreachable"
            return
        made = cog.make_cog(
            source,
            cog_path,
            band_layout=collection.band,
            feedback=SubFeedback(feedback, 0, 60),
            report=report,
            footprint=True,
            opened=opened,
        )
        opened = None  # closes the source
    try:
        run.check()
        storage.upload_file(
            target.s3,
            source,
            result.georef_key,
            SubFeedback(feedback, 60, 70),
            s3,
            checksum=source_sha,
        )
        run.check()
        cog_sha = storage.file_sha256(cog_path, feedback)
        storage.upload_file(
            target.s3,
            cog_path,
            result.cog_key,
            SubFeedback(feedback, 70, 95),
            s3,
            metadata={"source-sha256": source_sha, "options": COG_OPTIONS_VERSION},
            checksum=cog_sha,
            current=metadata,  # _first_upload asked for it
        )
        feedback.pushInfo(f"{name}: uploaded to {result.georef_key} and {result.cog_key}")
        scans = _scan_heads(target, collection, name, s3)
        scan_key = _found(scans)
        result.warnings += _scan_warnings(target, collection, name, scan_key)
        run.check()
        index_cog(
            target,
            collection,
            cog_path,
            name,
            conn=run.conn,
            scan_key=scan_key,
            on_s3=True,
            outline=made.footprint,
        )
        if target.stac.enabled:
            run.check()
            uploaded = {
                result.georef_key: (source, source_sha),
                result.cog_key: (cog_path, cog_sha),
            }
            known = _known_objects(target.s3, uploaded, scans)
            _stac_item(target, collection, name, cog_path, run, known)
    finally:
        if os.path.exists(cog_path):
            os.remove(cog_path)
    result.status, result.message = "published", "published"
    feedback.setProgress(100)


def _known_objects(
    config: storage.S3Config,
    uploaded: Mapping[str, tuple[str, str]],
    heads: Mapping[str, Mapping[str, Any] | None],
) -> dict[str, stac.ObjectInfo | None]:
    """What the frame knows of its objects, for its STAC Item: ``uploaded`` ``{key: (path,
    SHA-256)}``, just sent from those files; ``heads`` ``{key: HEAD answer, or None}``."""
    known: dict[str, stac.ObjectInfo | None] = {
        key: stac.uploaded_info(config, key, path, sha) for key, (path, sha) in uploaded.items()
    }
    for key, answer in heads.items():
        known[key] = None if answer is None else stac.object_info_of_head(config, key, answer)
    return known


def _stac_item(
    target: Target,
    collection: keys.Collection,
    name: str,
    cog_path: str,
    run: Run,
    known: Mapping[str, stac.ObjectInfo | None] | None = None,
) -> None:
    try:
        stac.write_item(target, collection, name, cog_path, run.conn, known)
    except ServiceUnavailable:
        raise
    except Ls4Error as error:
        raise Ls4Error(
            f"{name}: its COG and index row are published but its STAC item is not ({error}); "
            "ls4:maintenance with REPAIR writes it"
        ) from error


def publish_stac(
    target: Target, collection: keys.Collection, conn: tileindex.Connection | None = None
) -> dict[str, str]:
    """The Collection, root Catalog and pgSTAC of ``collection`` from its Items (``{}`` when
    the target writes no STAC). Writers of one collection take turns, as for the mapfile, so
    the last one reads every Item written before it."""
    if not target.stac.enabled:
        return {}
    if conn is None:
        with target.connect() as own:
            return publish_stac(target, collection, own)
    with tileindex.derived_lock(conn, collection.table):
        return stac.write_collection(target, collection)


def _first_upload(
    target: Target, collection: keys.Collection, name: str, run: Run, s3: storage.S3Client
) -> tuple[str, bool, storage.Metadata | None]:
    """``(file name, indexed?, COG metadata)`` of the frame as first published: ``X.TIF`` is
    the frame ``X.tif`` when that was published first (its keys and row stay)."""
    location = storage.vsis3_path(target.s3, collection.key("cog", name))
    found = tileindex.location_ignoring_extension_case(run.conn, collection.table, location)
    if found is not None:
        name = found.rsplit("/", 1)[1]
        return name, True, storage.object_metadata(target.s3, collection.key("cog", name), s3)
    for candidate in _extension_cases(name):
        metadata = storage.object_metadata(target.s3, collection.key("cog", candidate), s3)
        if metadata is not None:
            return candidate, False, metadata
    return name, False, None


def _extension_cases(name: str) -> list[str]:
    stem, extension = name[:-4], name[-4:]
    other = extension.upper() if extension == extension.lower() else extension.lower()
    return [name, stem + other]


def _current(metadata: storage.Metadata | None, source_sha: str) -> bool:
    return (
        metadata is not None
        and metadata.get("source-sha256") == source_sha
        and metadata.get("options") == COG_OPTIONS_VERSION
    )


def find_scan(
    target: Target, collection: keys.Collection, name: str, s3: storage.S3Client | None = None
) -> str | None:
    """The key of the frame's scan in ``scanned/`` (``X.TIF`` or ``X.tif``), or None."""
    return _found(_scan_heads(target, collection, name, s3 or storage.client(target.s3)))


def _scan_heads(
    target: Target, collection: keys.Collection, name: str, s3: storage.S3Client
) -> dict[str, dict[str, Any] | None]:
    """``{key: its HEAD, or None}`` of the frame's scan keys looked at, in order, up to the first
    that is there (none for a mosaic)."""
    heads: dict[str, dict[str, Any] | None] = {}
    if collection.type == "mosaic":
        return heads
    for candidate in _extension_cases(name):
        key = collection.key("scanned", candidate)
        heads[key] = storage.head(target.s3, key, s3)
        if heads[key] is not None:
            break
    return heads


def _found(heads: Mapping[str, object | None]) -> str | None:
    return next((key for key, answer in heads.items() if answer is not None), None)


def index_cog(
    target: Target,
    collection: keys.Collection,
    cog_path: str | os.PathLike[str],
    name: str | None = None,
    conn: tileindex.Connection | None = None,
    scan_key: str | None | storage.Unknown = storage.UNKNOWN,
    on_s3: bool = False,
    outline: tuple[str, float] | None = None,
) -> str:
    """Record the footprint of a COG already on S3 in the collection's tile index.

    ``conn``, ``scan_key``, ``on_s3`` and ``outline`` (``make_cog``'s footprint) are what a caller
    that has just made and uploaded it knows; without them, each is found out here.
    """
    name = name or os.path.basename(cog_path)
    key = collection.key("cog", name)
    if not on_s3 and not storage.exists(target.s3, key):
        raise InputError(f"{cog_path}: not on S3 at {key}; upload it (stage cog) first")
    if scan_key is storage.UNKNOWN:  # None: looked for, and there is no scan
        scan_key = find_scan(target, collection, name)
    location = storage.vsis3_path(target.s3, key)
    wkt, _area = outline or footprint.valid_footprint(cog_path)
    row = index_row(target, collection, name, location, scan_key)
    if conn is not None:
        return _upsert_frame(target, collection, conn, row, wkt)
    with target.connect() as own:
        tileindex.ensure_table(own, collection.table)
        return _upsert_frame(target, collection, own, row, wkt)


def _upsert_frame(
    target: Target,
    collection: keys.Collection,
    conn: tileindex.Connection,
    row: dict[str, str | None],
    wkt: str,
) -> str:
    """The index row, after the cached tiles over the frame's old and new footprints are
    deleted (they are drawn again from the new COG at the next request)."""
    if target.map_dir or target.s3_tile_cache():
        location = cast(str, row["location"])  # index_row always gives it
        old = tileindex.footprint_of(conn, collection.table, location)
        outlines = {footprint for footprint in (wkt, old) if footprint is not None}
        tiles.invalidate_footprints(
            target.map_dir, collection.name, outlines, target.s3_tile_cache()
        )
    return tileindex.upsert_frame(conn, collection.table, row, wkt)


def index_cogs(
    target: Target,
    collection: keys.Collection,
    cog_paths: Sequence[str | os.PathLike[str]],
    feedback: FeedbackLike | None = None,
) -> dict[str, int]:
    """``index_cog`` for each of ``cog_paths``: how many rows were inserted, updated, unchanged."""
    feedback = ensure(feedback)
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    for number, path in enumerate(cog_paths):
        status = index_cog(target, collection, path)
        counts[status] += 1
        feedback.pushInfo(f"{status}: {path}")
        feedback.setProgress(100.0 * (number + 1) / len(cog_paths))
    return counts


@dataclass
class CollectionInfo:
    """What ``collection_info`` found of a collection."""

    exists: bool  # its tile index table exists
    frames: list[dict[str, Any]]  # file name, the row's fields people read, its STAC Item's URL
    band_layout: str  # the band layout its table records; "" while nothing is published
    county: str  # the county as its table records it (its first publish's spelling), else ""
    wms_url: str  # "" when the template has no ``{collection}``
    # "yes"/"no": the bucket's policy lets anyone read the public stages; "": S3 cannot tell
    public_read: str


def collection_info(
    dsn: str,
    collection: keys.CollectionName,
    s3_config: Callable[[], storage.S3Config],
    stac_enabled: bool,
    wms_url_template: str,
    feedback: FeedbackLike | None = None,
) -> CollectionInfo:
    """What the collection's tile index holds and where it is served. Nothing is changed.

    A frame is its file name (``file``), the row's fields people read and ``stac_item``, the
    public URL of its STAC Item ("" when ``stac_enabled`` is off or there is no S3
    configuration); a collection whose table does not exist has no frames. ``s3_config`` gives
    the S3 configuration or raises ``Ls4Error`` saying why there is none.
    """
    feedback = ensure(feedback)
    with tileindex.connect(dsn) as conn:
        exists = tileindex.table_exists(conn, collection.table)
        rows = tileindex.rows(conn, collection.table) if exists else []
        stored = stored_collection(conn, collection.table) if exists else None
    frames = [_frame_entry(row) for row in rows]
    config = _s3_or_none(s3_config) if stac_enabled and frames else None
    for frame in frames:
        stem = stac.frame_stem(frame["file"])
        frame["stac_item"] = (
            storage.public_url(config, stac.item_key(collection.name, stem)) if config else ""
        )
    state = f"{len(frames)} frame(s) in the index" if exists else "no tile index table yet"
    feedback.pushInfo(f"{collection.name}: {state}")
    return CollectionInfo(
        exists=exists,
        frames=frames,
        band_layout=stored.band if stored is not None else "",
        county=(stored.county or "") if stored is not None else "",
        wms_url=(
            wms_url_template.format(collection=collection.name)
            if "{collection}" in wms_url_template
            else ""
        ),
        public_read=_public_read(s3_config, feedback),
    )


def published_collections(dsn: str, feedback: FeedbackLike | None = None) -> list[keys.Collection]:
    """The collections the tile index tables record (the S3 prefix of their first publish), by
    table name: one query over the database's catalogue, no table read. Tables published before
    identities were recorded, or whose record is not a collection's prefix, are left out."""
    feedback = ensure(feedback)
    with tileindex.connect(dsn) as conn:
        recorded = tileindex.recorded_identities(conn)
    found = []
    for table, prefix in recorded.items():
        try:
            found.append(keys.parse_prefix(prefix)[0])
        except InputError as error:
            feedback.pushInfo(f"{table}: not listed ({error})")
    feedback.pushInfo(f"{len(found)} published collection(s) recorded")
    return found


def agencies_of(collections: Sequence[keys.CollectionName]) -> list[str]:
    """The agencies of ``collections`` once each, whatever their case, as the first (by name)
    spells it, sorted without regard to case."""
    spellings: dict[str, str] = {}
    for collection in sorted(collections, key=lambda c: c.name):
        spellings.setdefault(collection.agency.lower(), collection.agency)
    return sorted(spellings.values(), key=str.lower)


def _s3_or_none(s3_config: Callable[[], storage.S3Config]) -> storage.S3Config | None:
    try:
        return s3_config()
    except Ls4Error:
        return None


def _public_read(s3_config: Callable[[], storage.S3Config], feedback: FeedbackLike) -> str:
    try:
        missing = storage.missing_public_read(s3_config())
    except Ls4Error as error:
        feedback.pushInfo(f"Public read of the bucket not checked: {error}")
        return ""
    return "no" if missing else "yes"


def _frame_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    entry = {"file": row["location"].rsplit("/", 1)[-1]}
    entry.update({name: row[name] for name in FRAME_FIELDS})
    return entry


def upload_stage(
    config: storage.S3Config,
    collection: keys.Collection,
    stage: str,
    paths: Sequence[str | os.PathLike[str]],
    feedback: FeedbackLike | None = None,
) -> list[tuple[str | os.PathLike[str], str, str]]:
    """Upload files to ``stage`` of the collection: [(path, key, "uploaded"|"unchanged")].

    Every file name is checked against the grammar before the first upload.
    """
    feedback = ensure(feedback)
    planned = [(path, collection.key(stage, os.path.basename(path))) for path in paths]
    s3 = storage.client(config)
    done: list[tuple[str | os.PathLike[str], str, str]] = []
    for number, (path, key) in enumerate(planned):
        step = 100.0 / len(planned)
        sub = SubFeedback(feedback, number * step, (number + 1) * step)
        done.append((path, key, storage.upload_file(config, path, key, sub, s3)))
    return done


def check_publishable(
    collection: keys.Collection, source: str | os.PathLike[str]
) -> rasterinfo.RasterReport:
    """The inspection of ``source``; InputError when it cannot join the collection."""
    return _inspect_publishable(collection, source)[0]


def _inspect_publishable(
    collection: keys.Collection, source: str | os.PathLike[str]
) -> tuple[rasterinfo.RasterReport, Dataset]:
    """``check_publishable``, and the source as it opened it (for ``make_cog``)."""
    report, dataset = rasterinfo.open_and_inspect(source)
    if report.georeferencing == "none":
        raise InputError(f"{source}: not georeferenced (no geotransform, no GCPs)")
    if report.band_layout and report.band_layout != collection.band:
        raise InputError(
            f"{source}: band layout {report.band_layout!r} does not match the collection's "
            f"{collection.band!r}"
        )
    return report, dataset


def _scan_warnings(
    target: Target, collection: keys.Collection, name: str, scan_key: str | None
) -> list[str]:
    if collection.type != "frames" or scan_key is not None:
        return []
    expected = collection.key("scanned", name)
    return [
        f"{name}: its scan is missing from scanned/ (expected s3://{target.s3.bucket}/{expected})"
    ]


def index_row(
    target: Target,
    collection: keys.Collection,
    name: str,
    location: str,
    scan_key: str | None = None,
) -> dict[str, str | None]:
    """The tile index fields of GUIDE §2 for one frame; ``dl_orig`` links ``scan_key`` (the
    scan's real key) when given."""
    row = dict(keys.tile_index_fields(collection, name))
    row.update(
        location=location,
        src_srs=profile.TARGET_SRS,
        dl_georef=storage.public_url(target.s3, collection.key("cog", name)),
        dl_index=downloads.index_url(target.s3, collection.name),
    )
    if collection.type == "mosaic":
        row.update(date="MULTIPLE", roll="MULTIPLE", dl_orig="N/A")
    else:
        scan_key = scan_key or collection.key("scanned", name)
        row["dl_orig"] = storage.public_url(target.s3, scan_key)
    return row


def publish_mapfile(
    target: Target, collection: keys.CollectionName, conn: tileindex.Connection | None = None
) -> str:
    """Write the collection's mapfile from its index; returns its key, or "" for an empty index.

    ``collection`` may be a ``keys.CollectionName``: the band layout (the WMS title's) is then
    the one its table records. Writers of one collection take turns
    (``tileindex.derived_lock``), so the last mapfile written holds the extent of every row
    committed before it.
    """
    if conn is None:
        with target.connect() as own:
            return publish_mapfile(target, collection, own)
    if not tileindex.table_exists(conn, collection.table):
        return ""
    if not isinstance(collection, keys.Collection):
        stored = stored_collection(conn, collection.table)
        if stored is None:  # nothing published: no row, no record
            return ""
        collection = stored
    return _publish_mapfile(target, collection, conn)


def _publish_mapfile(
    target: Target, collection: keys.Collection, conn: tileindex.Connection
) -> str:
    with tileindex.derived_lock(conn, collection.table):
        if tileindex.count(conn, collection.table) == 0:
            return ""
        extent = tileindex.extent(conn, collection.table)
        if extent is None:  # emptied since it was counted
            return ""
        # below the frames at small scales, for collections large enough to need it
        whole = overview.publish_overview(target, collection, conn, extent)
        text = render_mapfile(target, collection, extent, whole)
        # the tile service of the same collection data, validated before either is written
        tile_config = tiles.render_config(
            collection.name,
            collection.title,
            extent,
            target.wms_url(collection),
            target.s3_tile_cache(),
        )
        storage.put_bytes(target.s3, collection.mapfile_key, text.encode())
        storage.put_bytes(target.s3, tiles.config_key(collection.name), tile_config.encode())
        if target.map_dir:
            mapfile.write_templates(target.map_dir)
            _write_atomically(os.path.join(target.map_dir, f"{collection.name}.map"), text)
            tiles.write_config(target.map_dir, collection.name, tile_config)
    return collection.mapfile_key


def render_mapfile(
    target: Target,
    collection: keys.Collection,
    extent: tileindex.Extent | None,
    whole: tuple[str, float] | None = None,
) -> str:
    mapdict = mapfile.build_mapfile(
        collection.name,
        collection.title,
        collection.table,
        extent,
        target.wms_url(collection),
        pg_connection=target.mapfile_connection,
        overview=whole,
    )
    problems = mapfile.validate(mapdict)
    if problems:
        raise Ls4Error(f"mapfile for {collection.name} is not valid: {problems}")
    text = mapfile.dumps(mapdict)
    if mapfile.contains_secret(text):
        raise Ls4Error(f"mapfile for {collection.name} would carry a secret: not written")
    return text


def _write_atomically(path: str, text: str) -> None:
    with outputs.replaced_whole(path) as temporary, open(temporary, "w", encoding="utf-8") as out:
        out.write(text)
