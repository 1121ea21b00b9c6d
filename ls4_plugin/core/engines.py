"""Engines that run a collection's frames past this process: a Dask cluster (``DaskExecutor``).

The unit of work is ``publish.publish_frame``, run on a worker by ``run_frame``; the collection's
finishing step stays with the caller (``publish.publish_collection``). What travels in a task is
a ``FrameJob`` of plain values and **no secret**: ``worker_target`` strips the S3 keys and the
PostgreSQL password, and each worker finds its own credentials in its environment (AWS's standard
chain for S3; ``PGPASSWORD``, ``~/.pgpass`` or a service file for PostgreSQL). A worker without
them fails its frame at once, before anything is uploaded, naming what is missing.

Workers need no shared file system: the caller first uploads each source to a private staging
key of its run (``<collection prefix>staging/dask-<run>/<file>``), the worker downloads it and
publishes it as a local frame is published (its ``georef/`` object written only once its COG is
made), and the caller deletes the staged object when the task is over: a frame that fails leaves
what a local one leaves. A source whose ``georef/`` object holds the same content already is not
staged: the worker reads that object. Workers need GDAL, boto3, psycopg2, mappyfile and this
package importable as ``ls4`` (the plugin folder on ``PYTHONPATH``); nothing of QGIS.

Every process writing a collection's frames holds its run lease (``tileindex.run_lease``): the
caller, and each task on its own connection. ``clean_after_dead_runs`` runs at the start and the
end of each run: when no other process holds a lease, no upload of the collection is under way, so
its open multipart uploads and the staged objects of cluster runs are what killed processes
(a worker, or the caller itself) left, and are removed.
"""

import asyncio
import contextlib
import dataclasses
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import boto3
from psycopg2.extensions import make_dsn, parse_dsn

from . import keys, publish, storage, tileindex, workspace
from .errors import Canceled, InputError, Ls4Error
from .feedback import Feedback, FeedbackLike, SubFeedback, check_canceled, ensure

CONNECT_TIMEOUT = 4.0  # seconds for each of the probe and the client: 10 s at most in all
WORKERS_TIMEOUT = 10.0  # seconds to wait for the first worker of a scheduler that has none
CANCEL_POLL = 1.0  # seconds between a task's looks at the run's cancel event
POLL = 0.2  # seconds between the caller's looks at its tasks (and at the user's cancel)
S3_PREFIX = "s3://"
STAGING = "staging"  # <collection prefix>staging/<run>/<file>: private, removed after the run
# The stages whose unfinished multipart uploads a run of the collection may have left.
RUN_STAGES = ("georef", "cog", STAGING)
MANIFEST_KEY = "ls4-manifest"  # metadata of an array job's staged source: its manifest's URL
INSTALL_HINT = (
    "put LS4 on the worker's PYTHONPATH as the package ls4 (README: Publishing on a Dask cluster)"
)


@dataclasses.dataclass(frozen=True)
class FrameJob:
    """One frame for a worker: where to publish (no secret), the collection, the source.

    ``source`` is ``s3://bucket/key`` (the staged georef upload) or a path the worker can open.
    """

    target: publish.Target
    collection: keys.Collection
    source: str
    cancel_event: str = ""


def dsn_without_password(dsn: str) -> str:
    """The DSN (key=value, URI or service name) minus its password: the worker supplies it."""
    text = dsn.strip()
    if "=" not in text and "://" not in text:
        return text
    values = parse_dsn(text)
    values.pop("password", None)
    return make_dsn(**values)


def worker_target(target: publish.Target) -> publish.Target:
    """``target`` as a task may carry it: no S3 keys, no database passwords (tile index,
    pgSTAC), no local map dir."""
    s3 = dataclasses.replace(target.s3, access_key=None, secret_key=None)
    pgstac_dsn = target.stac.pgstac_dsn and dsn_without_password(target.stac.pgstac_dsn)
    return dataclasses.replace(
        target,
        s3=s3,
        dsn=dsn_without_password(target.dsn),
        map_dir=None,
        stac=dataclasses.replace(target.stac, pgstac_dsn=pgstac_dsn),
    )


def executor_for(scheduler: str | None = "", workers: int = 1) -> publish.FrameExecutor:
    """``DaskExecutor(scheduler)`` when a scheduler address is given, else the local pool."""
    scheduler = (scheduler or "").strip()
    if scheduler:
        return DaskExecutor(scheduler)
    return publish.LocalExecutor(workers)


# --- the worker's side -------------------------------------------------------------------------


def run_frame(job: FrameJob, worker: str | None = None) -> publish.FrameResult:
    """A Dask task (or an array job's index): publish one frame here, with this process's own
    credentials. Returns the ``FrameResult``; its ``worker`` is ``worker`` or, on a Dask
    worker, the worker's address.

    The frame holds the collection's run lease on its own connection while it works (a killed
    worker loses it with the connection)."""
    worker = worker or _worker_address()
    feedback = TaskFeedback(job.cancel_event)
    result = publish.FrameResult(source=job.source, worker=worker)
    try:
        check_canceled(feedback)
        missing, conn = _credentials(job.target)
        if missing or conn is None:  # no connection: missing says why
            result.status, result.message = "failed", f"worker {worker}: " + "; ".join(missing)
            return result
        # A run folder: one left by a worker killed mid-frame is removed by a later run.
        with (
            conn,
            tileindex.run_lease(conn, job.collection.table),
            workspace.run_folder() as work_dir,
        ):
            path = fetch_source(job.target.s3, job.source, work_dir, feedback)
            run = publish.Run(conn)
            frame = publish.publish_frame(job.target, job.collection, path, work_dir, feedback, run)
    except Canceled:
        result.status, result.message = "canceled", "canceled by the user"
        return result
    except Ls4Error as error:
        result.status, result.message = "failed", str(error)
        return result
    frame.source, frame.worker = job.source, worker
    return frame


def _credentials(target: publish.Target) -> tuple[list[str], tileindex.Connection | None]:
    """``(what this process lacks to publish to target: [] or sentences naming each thing, an
    open connection to the tile index or None)``."""
    missing: list[str] = []
    if not target.s3.access_key and boto3.session.Session().get_credentials() is None:
        missing.append(
            "no S3 credentials in AWS's standard chain (set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, AWS_PROFILE with ~/.aws/credentials, or give the machine "
            "an instance or task role)"
        )
    conn: tileindex.Connection | None = None
    try:
        conn = target.connect()
    except Ls4Error as error:
        if "password" in str(error).lower():
            missing.append(
                f"no PostgreSQL password for {target.dsn!r} (set PGPASSWORD, a ~/.pgpass line, "
                f"or PGSERVICEFILE and PGSERVICE naming a service file with it): {error}"
            )
        else:
            missing.append(str(error))
    if missing and conn is not None:
        conn.close()
        conn = None
    return missing, conn


def fetch_source(
    config: storage.S3Config, source: str, work_dir: str, feedback: FeedbackLike | None = None
) -> str:
    """A local path of ``source``: the path itself, or the ``s3://`` object downloaded here."""
    if not source.startswith(S3_PREFIX):
        return source
    bucket, _, key = source[len(S3_PREFIX) :].partition("/")
    if bucket != config.bucket:
        raise InputError(f"{source}: not in the collection's bucket {config.bucket!r}")
    folder = os.path.join(work_dir, "source")  # not where the frame writes its COG
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, os.path.basename(key))
    check_canceled(feedback)
    storage.download_file(config, key, path)
    return path


class TaskFeedback(Feedback):
    """A worker's feedback: messages to the worker's log, cancel from the run's Dask Event."""

    def __init__(self, event_name: str = "") -> None:
        super().__init__()
        self.event_name = event_name
        self._event: Any = None  # a distributed.Event, made at the first look
        self._last_look = -CANCEL_POLL

    def isCanceled(self) -> bool:
        if self.canceled or not self.event_name:
            return self.canceled
        now = time.monotonic()
        if now - self._last_look >= CANCEL_POLL:
            self._last_look = now
            if self._event is None:
                from distributed import Event

                self._event = Event(self.event_name)
            self.canceled = self._event.is_set()
        return self.canceled


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"process {os.getpid()}"


# --- the caller's side -------------------------------------------------------------------------


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as error:
        raise Ls4Error(
            "A Dask scheduler is set but the Python package distributed is not installed here "
            "(pip install distributed==2026.8.0 into the Python that runs QGIS)"
        ) from error
    return distributed


class DaskExecutor:
    """Each frame one task on a Dask cluster, given by its scheduler's address.

    Entering connects: a scheduler that does not answer within ``timeout`` seconds, or one
    without a worker, raises ``Ls4Error`` before anything is published.
    """

    def __init__(self, address: str, timeout: float = CONNECT_TIMEOUT) -> None:
        address = address.strip()
        self.address = address if "://" in address else f"tcp://{address}"
        self.timeout = timeout
        self.client: Any = None  # a distributed.Client while entered

    def __enter__(self) -> "DaskExecutor":
        distributed = _distributed()
        try:
            # distributed's Client waits for ever on a peer that accepts but never answers;
            # a bare comm under asyncio's own time-out does not.
            asyncio.run(_probe(self.address, self.timeout))
            self.client = distributed.Client(
                self.address, timeout=self.timeout, set_as_default=False
            )
        except (OSError, TimeoutError, ValueError) as error:
            raise Ls4Error(
                f"The Dask scheduler at {self.address} did not answer within "
                f"{2 * self.timeout:.0f} s ({error}): check the address and that `dask scheduler` "
                "runs there; nothing was published"
            ) from error
        try:
            self.client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
        except (OSError, TimeoutError) as error:
            self.client.close()
            raise Ls4Error(
                f"The Dask scheduler at {self.address} has no worker (waited "
                f"{WORKERS_TIMEOUT:.0f} s): start one with `dask worker {self.address}`"
            ) from error
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def run_frames(
        self,
        target: publish.Target,
        collection: keys.Collection,
        sources: Sequence[str | os.PathLike[str]],
        feedback: FeedbackLike,
        run: publish.Run | None = None,
    ) -> list[publish.FrameResult]:
        """``run`` is this process's connection (``publish_collection`` holds the run lease on
        it): the frames use their workers' own, the clean-up after dead runs uses it."""
        distributed = _distributed()
        event_name = f"ls4-cancel-{uuid.uuid4().hex}"
        label = f"dask-{uuid.uuid4().hex[:12]}"
        cancel = distributed.Event(event_name, client=self.client)
        safe = worker_target(target)
        results: list[publish.FrameResult | None] = [None] * len(sources)
        futures: dict[Any, int] = {}  # distributed.Future -> index of its source
        staged: dict[int, str] = {}
        with _connection(target, run) as conn:
            clean_after_dead_runs(target, collection, conn, feedback)
        try:
            staging = SubFeedback(feedback, 0, 20)
            for number, source in enumerate(sources):
                if feedback.isCanceled():
                    break
                step = 100.0 / len(sources)
                upload = SubFeedback(staging, number * step, (number + 1) * step)
                try:
                    url, staged_key = stage_source(target, collection, source, label, upload)
                except Canceled:
                    break  # this frame and those after it: "canceled"
                except Ls4Error as error:
                    feedback.pushWarning(f"{os.path.basename(source)}: {error}")
                    results[number] = publish.FrameResult(os.fspath(source), "failed", str(error))
                    continue
                if staged_key:
                    staged[number] = staged_key
                job = FrameJob(safe, collection, url, event_name)
                key = f"ls4-{collection.name}-{os.path.basename(source)}-{uuid.uuid4().hex[:8]}"
                futures[self.client.submit(run_frame, job, key=key, pure=False)] = number
                staging.setProgress(100.0 * (number + 1) / len(sources))

            def over(number: int) -> None:  # its task is over: the staged source has served
                if number in staged:
                    storage.delete_keys(target.s3, [staged.pop(number)])

            self._follow(futures, results, cancel, SubFeedback(feedback, 20, 100), feedback, over)
        finally:
            # what has not been deleted yet: frames canceled, or a run stopped by an error
            storage.delete_keys(target.s3, list(staged.values()))
        done: list[publish.FrameResult] = []
        for source, result in zip(sources, results, strict=True):
            if result is None:
                result = publish.FrameResult(os.fspath(source), "canceled", "canceled by the user")
            else:
                result.source = os.fspath(source)
            done.append(result)
        with _connection(target, run) as conn:
            clean_after_dead_runs(target, collection, conn, feedback)
        return done

    def _follow(
        self,
        futures: dict[Any, int],
        results: list[publish.FrameResult | None],
        cancel: Any,
        progress: FeedbackLike,
        feedback: FeedbackLike,
        over: Callable[[int], None],
    ) -> None:
        """Collect the tasks' results as they finish; on cancel, stop what has not started."""
        pending, total, canceled = set(futures), max(len(futures), 1), False
        finished = 0
        while pending:
            if feedback.isCanceled() and not canceled:
                canceled = True
                cancel.set()  # running tasks stop at their next look; new ones at their first
                self._cancel_not_started(pending)
            done = {future for future in pending if future.done()}
            if not done:
                time.sleep(POLL)
                continue
            pending -= done
            # one step per task, also for tasks that finished between two looks (a loaded
            # caller may look seconds apart): each frame done moves the bar
            for future in sorted(done, key=lambda f: futures[f]):
                results[futures[future]] = self._result_of(future)
                over(futures[future])
                finished += 1
                progress.setProgress(100.0 * finished / total)

    def _cancel_not_started(self, pending: set[Any]) -> None:
        running = {key for keys in self.client.processing().values() for key in keys}
        queued = [future for future in pending if future.key not in running]
        if queued:
            self.client.cancel(queued)

    @staticmethod
    def _result_of(future: Any) -> publish.FrameResult:
        if future.status == "finished":
            return future.result()
        if future.status == "cancelled":
            return publish.FrameResult("", "canceled", "canceled by the user")
        error = future.exception()
        message = f"the task failed on the cluster: {type(error).__name__}: {error}"
        if isinstance(error, ImportError):
            message += f"; {INSTALL_HINT}"
        return publish.FrameResult("", "failed", message)


def first_name(target: publish.Target, collection: keys.Collection, name: str) -> str:
    """The file name the frame was first published under: ``X.TIF`` is the frame ``X.tif``
    when its COG is there (its keys stay), so the source is staged under that name."""
    stem, extension = name[:-4], name[-4:]
    other = stem + (extension.upper() if extension == extension.lower() else extension.lower())
    for candidate in (name, other):
        if storage.object_metadata(target.s3, collection.key("cog", candidate)) is not None:
            return candidate
    return name


def staging_key(collection: keys.Collection, label: str, name: str) -> str:
    """Where a run (``label``) stages the source ``name`` for its workers: private, and gone
    once the run is over."""
    return f"{collection.prefix()}{STAGING}/{label}/{name}"


def stage_source(
    target: publish.Target,
    collection: keys.Collection,
    source: str | os.PathLike[str],
    label: str,
    feedback: FeedbackLike | None = None,
    manifest: str = "",
) -> tuple[str, str]:
    """``(s3:// URL a worker reads the source from, the staged key or "")``.

    The source is checked (``check_publishable``: refused here, nothing is uploaded) and, unless
    its ``georef/`` object holds the same content already, uploaded to ``staging_key``. The
    frame's ``georef/`` object is written by the worker, once its COG is made, as in a local
    publish. ``manifest``: the array job's manifest URL the staged object belongs to (kept in
    its metadata: ``clean_after_dead_runs`` deletes it once that manifest is not there)."""
    publish.check_publishable(collection, source)
    name = first_name(target, collection, os.path.basename(source))
    georef = collection.key("georef", name)
    checksum = storage.file_sha256(source, feedback)
    current = storage.object_metadata(target.s3, georef)
    if current is not None and current.get(storage.CHECKSUM_KEY) == checksum:
        return f"{S3_PREFIX}{target.s3.bucket}/{georef}", ""
    key = staging_key(collection, label, name)
    metadata = {MANIFEST_KEY: manifest} if manifest else None
    try:
        storage.upload_file(
            target.s3, source, key, feedback, metadata=metadata, checksum=checksum, current=None
        )
    except Canceled:  # the upload may have been complete when the cancel was seen
        storage.delete_keys(target.s3, [key])
        raise
    return f"{S3_PREFIX}{target.s3.bucket}/{key}", key


@contextlib.contextmanager
def _connection(target: publish.Target, run: publish.Run | None) -> Iterator[tileindex.Connection]:
    if run is not None:
        yield run.conn
        return
    with target.connect() as conn:
        yield conn


async def _probe(address: str, timeout: float) -> None:
    from distributed.comm import connect

    comm = await asyncio.wait_for(connect(address, timeout=timeout), timeout + 0.5)
    await comm.close()


def clean_after_dead_runs(
    target: publish.Target,
    collection: keys.Collection,
    conn: tileindex.Connection,
    feedback: FeedbackLike | None = None,
) -> tuple[int, int] | None:
    """Remove what killed runs of ``collection`` left, when no other run of it is going.

    Every process writing the collection's frames holds its run lease (``tileindex.run_lease``)
    and loses it when it dies; when no session but this one holds one, no upload of the
    collection is under way, so every open multipart upload under its georef/, cog/ and staging/
    prefixes lost its writer (a worker, an array task, or a caller killed mid-upload) and is
    aborted, and the staged sources of cluster runs (``staging/dask-…``) are deleted. An array
    job's staged sources wait for its own finish step (its tasks may not have started yet),
    unless its manifest is not there (a plan killed before it wrote it).
    Returns ``(uploads aborted, staged objects deleted)``, or None when another run is going
    (then the last run to end cleans up).
    """
    feedback = ensure(feedback)
    with tileindex.sole_run(conn, collection.table) as alone:
        if not alone:
            feedback.pushInfo(
                f"another run of {collection.name} is going: what killed runs left is removed "
                "by the last run to end"
            )
            return None
        # What is there now is dead; listed under the lock, removed after it, so a run that
        # starts meanwhile waits only for the listing (its own uploads and keys are new ones).
        s3 = storage.client(target.s3)
        uploads = [
            (key, upload_id)
            for stage in RUN_STAGES
            for key, upload_id, _initiated in storage.incomplete_uploads(
                target.s3, f"{collection.prefix()}{stage}/", s3
            )
        ]
        staged = f"{collection.prefix()}{STAGING}/"
        left = list(storage.list_keys(target.s3, f"{staged}dask-", s3))
        # a re-plan may stage to the same keys: these go while no plan can run
        orphans = [
            key
            for key in storage.list_keys(target.s3, f"{staged}array-", s3)
            if not _manifest_there(target, storage.object_metadata(target.s3, key, s3), s3)
        ]
        storage.delete_keys(target.s3, orphans, s3)
    for key, upload_id in uploads:
        storage.abort_upload(target.s3, key, upload_id, s3)
    storage.delete_keys(target.s3, left, s3)
    aborted, left = len(uploads), left + orphans
    if aborted or left:
        feedback.pushInfo(
            f"{collection.name}: removed what killed runs left: {aborted} unfinished multipart "
            f"upload(s), {len(left)} staged source(s)"
        )
    return aborted, len(left)


def _manifest_there(
    target: publish.Target, metadata: storage.Metadata | None, s3: storage.S3Client
) -> bool:
    url = (metadata or {}).get(MANIFEST_KEY, "")
    bucket, _, key = url[len(S3_PREFIX) :].partition("/")
    if not url.startswith(S3_PREFIX) or bucket != target.s3.bucket or not key:
        return False
    return storage.exists(target.s3, key, s3)
