"""Engines that run a collection's frames past this process: a Dask cluster (``DaskExecutor``).

The unit of work is ``publish.publish_frame``, run on a worker by ``run_frame``; the collection's
finishing step stays with the caller (``publish.publish_collection``). What travels in a task is
a ``FrameJob`` of plain values and **no secret**: ``worker_target`` strips the S3 keys and the
PostgreSQL password, and each worker finds its own credentials in its environment (AWS's standard
chain for S3; ``PGPASSWORD``, ``~/.pgpass`` or a service file for PostgreSQL). A worker without
them fails its frame at once, before anything is uploaded, naming what is missing.

Workers need no shared file system: the caller first uploads each source to its ``georef/`` key
(the upload the frame makes anyway; unchanged content is not sent again) and the worker reads it
from there. Workers need GDAL, boto3, psycopg2, mappyfile and this package importable as ``ls4``
(the plugin folder on ``PYTHONPATH``); nothing of QGIS.
"""

import asyncio
import dataclasses
import datetime
import os
import time
import uuid

import boto3
from psycopg2.extensions import make_dsn, parse_dsn

from . import publish, storage, workspace
from .errors import Canceled, InputError, Ls4Error
from .feedback import Feedback, SubFeedback, check_canceled

CONNECT_TIMEOUT = 4.0  # seconds for each of the probe and the client: 10 s at most in all
WORKERS_TIMEOUT = 10.0  # seconds to wait for the first worker of a scheduler that has none
CLOCK_SKEW = datetime.timedelta(minutes=1)  # between this machine and S3, for upload times
CANCEL_POLL = 1.0  # seconds between a task's looks at the run's cancel event
POLL = 0.2  # seconds between the caller's looks at its tasks (and at the user's cancel)
S3_PREFIX = "s3://"
INSTALL_HINT = (
    "put LS4 on the worker's PYTHONPATH as the package ls4 (README: Publishing on a Dask cluster)"
)


@dataclasses.dataclass(frozen=True)
class FrameJob:
    """One frame for a worker: where to publish (no secret), the collection, the source.

    ``source`` is ``s3://bucket/key`` (the staged georef upload) or a path the worker can open.
    """

    target: publish.Target
    collection: object  # keys.Collection
    source: str
    cancel_event: str = ""


def dsn_without_password(dsn):
    """The DSN (key=value, URI or service name) minus its password: the worker supplies it."""
    text = dsn.strip()
    if "=" not in text and "://" not in text:
        return text
    values = parse_dsn(text)
    values.pop("password", None)
    return make_dsn(**values)


def worker_target(target):
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


def executor_for(scheduler="", workers=1):
    """``DaskExecutor(scheduler)`` when a scheduler address is given, else the local pool."""
    scheduler = (scheduler or "").strip()
    if scheduler:
        return DaskExecutor(scheduler)
    return publish.LocalExecutor(workers)


# --- the worker's side -------------------------------------------------------------------------


def run_frame(job, worker=None):
    """A Dask task (or an array job's index): publish one frame here, with this process's own
    credentials. Returns the ``FrameResult``; its ``worker`` is ``worker`` or, on a Dask
    worker, the worker's address."""
    worker = worker or _worker_address()
    feedback = TaskFeedback(job.cancel_event)
    result = publish.FrameResult(source=job.source, worker=worker)
    try:
        check_canceled(feedback)
        missing = missing_credentials(job.target)
        if missing:
            result.status, result.message = "failed", f"worker {worker}: " + "; ".join(missing)
            return result
        # A run folder: one left by a worker killed mid-frame is removed by a later run.
        with workspace.run_folder() as work_dir:
            path = fetch_source(job.target.s3, job.source, work_dir, feedback)
            frame = publish.publish_frame(job.target, job.collection, path, work_dir, feedback)
    except Canceled:
        result.status, result.message = "canceled", "canceled by the user"
        return result
    except Ls4Error as error:
        result.status, result.message = "failed", str(error)
        return result
    frame.source, frame.worker = job.source, worker
    return frame


def missing_credentials(target):
    """What this process lacks to publish to ``target``: [] or sentences naming each thing."""
    missing = []
    if not target.s3.access_key and boto3.session.Session().get_credentials() is None:
        missing.append(
            "no S3 credentials in AWS's standard chain (set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, AWS_PROFILE with ~/.aws/credentials, or give the machine "
            "an instance or task role)"
        )
    try:
        with target.connect():
            pass
    except Ls4Error as error:
        if "password" in str(error).lower():
            missing.append(
                f"no PostgreSQL password for {target.dsn!r} (set PGPASSWORD, a ~/.pgpass line, "
                f"or PGSERVICEFILE and PGSERVICE naming a service file with it): {error}"
            )
        else:
            missing.append(str(error))
    return missing


def fetch_source(config, source, work_dir, feedback=None):
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

    def __init__(self, event_name=""):
        super().__init__()
        self.event_name = event_name
        self._event = None
        self._last_look = -CANCEL_POLL

    def isCanceled(self):  # noqa: N802
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


def _worker_address():
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"process {os.getpid()}"


# --- the caller's side -------------------------------------------------------------------------


def _distributed():
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

    def __init__(self, address, timeout=CONNECT_TIMEOUT):
        address = address.strip()
        self.address = address if "://" in address else f"tcp://{address}"
        self.timeout = timeout
        self.client = None

    def __enter__(self):
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

    def __exit__(self, *exc_info):
        if self.client is not None:
            self.client.close()
            self.client = None

    def run_frames(self, target, collection, sources, feedback, run=None):
        """``run`` (this process's connection) is not used: each worker has its own."""
        distributed = _distributed()
        started = datetime.datetime.now(datetime.timezone.utc) - CLOCK_SKEW
        event_name = f"ls4-cancel-{uuid.uuid4().hex}"
        cancel = distributed.Event(event_name, client=self.client)
        safe = worker_target(target)
        results = [None] * len(sources)
        futures = {}
        staging = SubFeedback(feedback, 0, 20)
        for number, source in enumerate(sources):
            if feedback.isCanceled():
                break
            step = 100.0 / len(sources)
            upload = SubFeedback(staging, number * step, (number + 1) * step)
            job = self._staged_job(target, safe, collection, source, event_name, upload)
            if isinstance(job, publish.FrameResult):
                results[number] = job
                continue
            name = os.path.basename(source)
            key = f"ls4-{collection.name}-{name}-{uuid.uuid4().hex[:8]}"
            futures[self.client.submit(run_frame, job, key=key, pure=False)] = number
            staging.setProgress(100.0 * (number + 1) / len(sources))
        self._follow(futures, results, cancel, SubFeedback(feedback, 20, 100), feedback)
        for number, source in enumerate(sources):
            if results[number] is None:
                results[number] = publish.FrameResult(source, "canceled", "canceled by the user")
            else:
                results[number].source = os.fspath(source)
        abort_orphaned_uploads(target, collection, sources, started)
        return results

    @staticmethod
    def _staged_job(target, safe, collection, source, event_name, feedback):
        """The job of ``source`` after its upload to georef/, or a failed FrameResult."""
        name = os.path.basename(source)
        try:
            publish.check_publishable(collection, source)
            key = collection.key("georef", first_name(target, collection, name))
            storage.upload_file(target.s3, source, key, feedback)
        except Ls4Error as error:
            feedback.pushWarning(f"{name}: {error}")
            return publish.FrameResult(os.fspath(source), "failed", str(error))
        return FrameJob(safe, collection, f"{S3_PREFIX}{target.s3.bucket}/{key}", event_name)

    def _follow(self, futures, results, cancel, progress, feedback):
        """Collect the tasks' results as they finish; on cancel, stop what has not started."""
        pending, total, canceled = set(futures), max(len(futures), 1), False
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
            for future in done:
                results[futures[future]] = self._result_of(future)
            progress.setProgress(100.0 * (len(futures) - len(pending)) / total)

    def _cancel_not_started(self, pending):
        running = {key for keys in self.client.processing().values() for key in keys}
        queued = [future for future in pending if future.key not in running]
        if queued:
            self.client.cancel(queued)

    @staticmethod
    def _result_of(future):
        if future.status == "finished":
            return future.result()
        if future.status == "cancelled":
            return publish.FrameResult("", "canceled", "canceled by the user")
        error = future.exception()
        message = f"the task failed on the cluster: {type(error).__name__}: {error}"
        if isinstance(error, ImportError):
            message += f"; {INSTALL_HINT}"
        return publish.FrameResult("", "failed", message)


def first_name(target, collection, name):
    """The file name the frame was first published under: ``X.TIF`` is the frame ``X.tif``
    when its COG is there (its keys stay), so the staged source goes to that georef key."""
    stem, extension = name[:-4], name[-4:]
    other = stem + (extension.upper() if extension == extension.lower() else extension.lower())
    for candidate in (name, other):
        if storage.object_metadata(target.s3, collection.key("cog", candidate)) is not None:
            return candidate
    return name


async def _probe(address, timeout):
    from distributed.comm import connect

    comm = await asyncio.wait_for(connect(address, timeout=timeout), timeout + 0.5)
    await comm.close()


def abort_orphaned_uploads(target, collection, sources, since):
    """Abort this run's multipart uploads left unfinished by a worker that died mid-upload.

    Called once every frame of the run is done, so no upload of the run is still going: an
    open multipart upload of one of its keys, begun since the run started, has lost its writer.
    """
    s3 = storage.client(target.s3)
    for source in sources:
        name = os.path.basename(source)
        for stage in ("georef", "cog"):
            key = collection.key(stage, name)
            storage.abort_multipart_uploads(target.s3, key, since, s3)
