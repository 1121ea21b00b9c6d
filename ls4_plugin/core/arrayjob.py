"""Publish a collection as an array job (AWS Batch, Kubernetes Indexed Job, Slurm job array).

Three commands of one program, free of QGIS::

    python -m ls4.ls4_plugin.core.arrayjob plan   --manifest s3://B/jobs/x.json [fields] FRAME…
    python -m ls4.ls4_plugin.core.arrayjob run    --manifest s3://B/jobs/x.json [--index I]
    python -m ls4.ls4_plugin.core.arrayjob finish --manifest s3://B/jobs/x.json [--map-dir D]

``plan`` checks the names, creates the tile index table, stages local frames (private, under
``<collection prefix>staging/array-<hash of the manifest URL>/``; a frame whose ``georef/``
object holds the same content already is not staged, and ``s3://`` frames already in ``georef/``
are taken as they are) and writes the manifest (JSON on S3: the collection, where to publish, the
frames; no secret). ``run`` publishes frame *I* of it as a local publish does (its ``georef/``
object written once its COG is made: a frame that fails leaves nothing), *I* from ``--index`` or
the array's own variable (``AWS_BATCH_JOB_ARRAY_INDEX``, ``JOB_COMPLETION_INDEX``,
``SLURM_ARRAY_TASK_ID``), and writes its result beside the manifest. ``finish`` runs once every
frame has a result: it deletes the manifest's staged sources, removes what killed processes left
when no other run of the collection is going (``engines.clean_after_dead_runs``: multipart
uploads, staged sources without their manifest) and runs the collection's finishing step (the
mapfile). Running an index again is harmless: a frame already published is left alone (its
source is then read from its ``georef/`` object).

Credentials come from the environment of each process: AWS's standard chain for S3, and
``PGPASSWORD``, ``~/.pgpass`` or a service file (``PGSERVICEFILE``/``PGSERVICE``) for PostgreSQL.
"""

import argparse
import dataclasses
import datetime
import hashlib
import json
import os
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from . import counties, engines, keys, publish, stac, storage, tileindex, tiles
from .errors import InputError, Ls4Error
from .feedback import FeedbackLike

INDEX_VARIABLES = ("AWS_BATCH_JOB_ARRAY_INDEX", "JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID")
MANIFEST_VERSION = 1


@dataclasses.dataclass
class Manifest:
    url: str  # s3://bucket/key.json
    collection: keys.Collection
    target: publish.Target  # without secrets
    frames: list[str]  # s3://bucket/georef key, one per index
    planned: str = ""  # ISO time of the plan

    @property
    def results_prefix(self) -> str:
        _bucket, key = split_s3_url(self.url)
        return key.removesuffix(".json") + "/results/"

    def result_key(self, index: int) -> str:
        return f"{self.results_prefix}{index:06d}.json"

    def to_json(self) -> str:
        target = self.target
        return json.dumps(
            {
                "ls4_manifest": MANIFEST_VERSION,
                "planned": self.planned,
                "collection": dataclasses.asdict(self.collection),
                "target": {
                    "s3": {
                        name: getattr(target.s3, name)
                        for name in ("bucket", "endpoint_url", "region", "public_url_base")
                    }
                    | {"legacy_acl": target.s3.legacy_acl},
                    "dsn": target.dsn,
                    "wms_url_template": target.wms_url_template,
                    "mapfile_connection": target.mapfile_connection,
                    "agencies": list(target.agencies),
                    "stac": dataclasses.asdict(target.stac),
                    "tile_cache": target.tile_cache,
                },
                "frames": self.frames,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, url: str, text: str) -> "Manifest":
        data = json.loads(text)
        if data.get("ls4_manifest") != MANIFEST_VERSION:
            raise InputError(f"{url}: not an LS4 manifest (version {MANIFEST_VERSION})")
        fields = data["target"]
        target = publish.Target(
            s3=storage.S3Config(**fields["s3"]),
            dsn=fields["dsn"],
            wms_url_template=fields["wms_url_template"],
            mapfile_connection=fields["mapfile_connection"],
            agencies=tuple(fields.get("agencies", ())),
            stac=stac.StacConfig(**fields.get("stac", {})),
            tile_cache=fields.get("tile_cache", "file"),
        )
        return cls(
            url, keys.Collection(**data["collection"]), target, data["frames"], data["planned"]
        )


def split_s3_url(url: str) -> tuple[str, str]:
    if not url.startswith(engines.S3_PREFIX) or "/" not in url[len(engines.S3_PREFIX) :]:
        raise InputError(f"{url}: not an s3://bucket/key URL")
    bucket, _, key = url[len(engines.S3_PREFIX) :].partition("/")
    return bucket, key


def s3_config(
    bucket: str,
    endpoint_url: str | None = None,
    region: str = "us-east-1",
    public_url_base: str | None = None,
) -> storage.S3Config:
    """S3 settings without keys: boto3 takes them from AWS's standard chain."""
    return storage.S3Config(
        bucket=bucket,
        endpoint_url=endpoint_url or None,
        region=region or "us-east-1",
        public_url_base=public_url_base or None,
    )


def plan(
    manifest_url: str,
    collection: keys.Collection,
    target: publish.Target,
    frames: Sequence[str],
    feedback: FeedbackLike | None = None,
    county_list: counties.CountyList | None = None,
) -> Manifest:
    """Stage the frames and write the manifest; returns the ``Manifest``.

    With ``county_list`` (the CLI always gives one), the county is written as the list spells
    it, and one the list does not hold is refused before anything is created or uploaded, with
    the closest names, unless its collection is already published (as the algorithms judge it).
    """
    bucket, manifest_key = split_s3_url(manifest_url)
    if bucket != target.s3.bucket:
        raise InputError(f"{manifest_url}: the manifest must be in the bucket {target.s3.bucket}")
    listed = county_list.find(collection.county) if county_list and collection.county else None
    if listed is not None:
        collection = dataclasses.replace(collection, county=listed.name)
    publish.check_names(collection, frames)
    storage.check_connection(target.s3)
    with target.connect() as conn:  # as publish_collection does before any upload
        if county_list is not None and collection.county and listed is None:
            _check_off_list(conn, collection, county_list)
        tileindex.ensure_table(conn, collection.table)
        collection = publish.settle_identity(conn, collection, target.agencies)
        # Under the lease until the manifest is written: a staged source without its manifest
        # is what a killed plan left, and the clean-up after dead runs deletes it.
        with tileindex.run_lease(conn, collection.table):
            staged = [_stage(target, collection, manifest_url, frame, feedback) for frame in frames]
            safe = engines.worker_target(target)
            planned = datetime.datetime.now(datetime.timezone.utc).isoformat()
            manifest = Manifest(manifest_url, collection, safe, staged, planned)
            storage.put_bytes(target.s3, manifest_key, manifest.to_json().encode())
    return manifest


def _check_off_list(
    conn: tileindex.Connection, collection: keys.Collection, county_list: counties.CountyList
) -> None:
    """Refuse ``collection``'s county, which ``county_list`` does not hold, unless the
    collection is published already (its table records what it holds)."""
    published = (
        tileindex.table_exists(conn, collection.table)
        and publish.stored_collection(conn, collection.table) is not None
    )
    if not published:
        county_list.canonical(cast(str, collection.county))  # raises, naming the closest


def staging_label(manifest_url: str) -> str:
    """The manifest's own staging folder (``<collection prefix>staging/array-<hash>/``): its
    finish step deletes it; the clean-up after dead cluster runs leaves it alone."""
    return "array-" + hashlib.sha256(manifest_url.encode()).hexdigest()[:12]


def _stage(
    target: publish.Target,
    collection: keys.Collection,
    manifest_url: str,
    frame: str,
    feedback: FeedbackLike | None,
) -> str:
    """The URL of ``frame`` for the manifest: an ``s3://`` georef object as it is, a local file
    staged (private) until the frame is published from it, as a local publish would."""
    bucket = target.s3.bucket
    if frame.startswith(engines.S3_PREFIX):
        key = collection.key("georef", os.path.basename(frame))
        if split_s3_url(frame) != (bucket, key):
            raise InputError(f"{frame}: not at the frame's georef key s3://{bucket}/{key}")
        if not storage.exists(target.s3, key):
            raise InputError(f"{frame}: no such object")
        return frame
    label = staging_label(manifest_url)
    return engines.stage_source(target, collection, frame, label, feedback, manifest_url)[0]


def load(manifest_url: str, endpoint_url: str | None = None, region: str = "us-east-1") -> Manifest:
    bucket, key = split_s3_url(manifest_url)
    config = s3_config(bucket, endpoint_url, region)
    return Manifest.from_json(manifest_url, storage.get_bytes(config, key).decode())


def array_index(given: int | str | None = None, environ: Mapping[str, str] | None = None) -> int:
    """The index of this array task: ``given``, else the first array variable set."""
    if given is not None:
        return int(given)
    environ = os.environ if environ is None else environ
    for name in INDEX_VARIABLES:
        if environ.get(name, "").strip():
            return int(environ[name])
    raise InputError(f"no frame index: pass --index or set one of {', '.join(INDEX_VARIABLES)}")


def run(manifest: Manifest, index: int, dsn: str | None = None) -> publish.FrameResult:
    """Publish frame ``index`` of the manifest here; returns its ``FrameResult``."""
    if not 0 <= index < len(manifest.frames):
        raise InputError(
            f"index {index} is outside the manifest's {len(manifest.frames)} frames "
            f"(0–{len(manifest.frames) - 1}; a Slurm array must start at 0)"
        )
    target = manifest.target if not dsn else dataclasses.replace(manifest.target, dsn=dsn)
    job = engines.FrameJob(target, manifest.collection, source_of(manifest, index))
    result = engines.run_frame(job, worker=f"{socket.gethostname()} index {index}")
    storage.put_bytes(
        manifest.target.s3,
        manifest.result_key(index),
        json.dumps(result.to_dict(), indent=2).encode(),
    )
    return result


def source_of(manifest: Manifest, index: int) -> str:
    """Frame ``index``'s source: its staged object, or once finish has deleted that (an index
    run again), the frame's georef object, which holds the same content once it is published."""
    url = manifest.frames[index]
    _bucket, key = split_s3_url(url)
    staged = f"/{engines.STAGING}/"
    if staged in key and not storage.exists(manifest.target.s3, key):
        name = os.path.basename(key)
        return f"{engines.S3_PREFIX}{manifest.target.s3.bucket}/" + manifest.collection.key(
            "georef", name
        )
    return url


def results(manifest: Manifest) -> dict[int, dict[str, Any]]:
    """{index: result dict} of the frames that have finished (published, unchanged or failed)."""
    config = manifest.target.s3
    found: dict[int, dict[str, Any]] = {}
    for key in storage.list_keys(config, manifest.results_prefix):
        index = int(os.path.basename(key).removesuffix(".json"))
        found[index] = json.loads(storage.get_bytes(config, key))
    return found


def finish(
    manifest: Manifest, map_dir: str | None = None, dsn: str | None = None
) -> tuple[str, dict[int, dict[str, Any]]]:
    """The finishing step, once every frame has its result: (mapfile key, results by index)."""
    done = results(manifest)
    missing = [index for index in range(len(manifest.frames)) if index not in done]
    if missing:
        raise Ls4Error(
            f"{len(missing)} of {len(manifest.frames)} frames have no result yet (indexes "
            f"{', '.join(map(str, missing[:20]))}{' …' if len(missing) > 20 else ''}): run them, "
            "then finish"
        )
    target = dataclasses.replace(
        manifest.target, map_dir=map_dir or None, dsn=dsn or manifest.target.dsn
    )
    collection = manifest.collection
    staged = f"{collection.prefix()}{engines.STAGING}/{staging_label(manifest.url)}/"
    storage.delete_keys(target.s3, list(storage.list_keys(target.s3, staged)))
    with target.connect() as conn:
        engines.clean_after_dead_runs(target, collection, conn)
        return publish.finish_collection(target, collection, conn), done


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ls4.ls4_plugin.core.arrayjob",
        description="Publish an LS4 collection as an array job: plan, run frame I, finish.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("plan", "run", "finish"):
        sub = commands.add_parser(name)
        sub.add_argument("--manifest", required=True, help="s3://bucket/key.json")
        sub.add_argument("--endpoint-url", default=os.environ.get("LS4_S3_ENDPOINT_URL"))
        sub.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
        sub.add_argument("--dsn", help="PostgreSQL connection (no password: use PG variables)")
        if name == "plan":
            sub.add_argument("--band", choices=keys.BANDS, required=True)
            sub.add_argument("--type", choices=keys.TYPES, default="frames")
            sub.add_argument("--agency", required=True)
            sub.add_argument("--county")
            sub.add_argument(
                "--county-list",
                default=os.environ.get("LS4_COUNTY_LIST"),
                help="CSV of the counties a collection may name (header state,fips,county), as "
                "the LS4 setting keys/county_list; default LS4_COUNTY_LIST, else the shipped list "
                "of Texas's 254 counties. A county off the list is refused unless its collection "
                "is already published",
            )
            sub.add_argument("--year")
            sub.add_argument("--mission")
            sub.add_argument("--public-url-base")
            sub.add_argument("--wms-url-template", required=True)
            sub.add_argument("--mapfile-connection", default="service=ls4")
            sub.add_argument("--stac", action="store_true", help="write STAC items and catalog")
            sub.add_argument("--pgstac", action="store_true", help="load STAC into pgSTAC too")
            sub.add_argument(
                "--tile-cache",
                choices=tiles.TILE_CACHES,
                default="file",
                help="where MapProxy caches the tiles (s3: publishing clears them from anywhere)",
            )
            sub.add_argument("frames", nargs="+", help="local files or s3://… georef objects")
        if name == "run":
            sub.add_argument("--index", type=int, help="else " + ", ".join(INDEX_VARIABLES))
        if name == "finish":
            sub.add_argument("--map-dir", help="also write the mapfile into this folder")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except Ls4Error as error:
        print(f"ls4 arrayjob {args.command}: {error}", file=sys.stderr)
        return 2
    finally:
        storage.close_clients()


def _plan(args: argparse.Namespace) -> int:
    bucket, _key = split_s3_url(args.manifest)
    collection = keys.Collection(
        band=args.band,
        type=args.type,
        agency=args.agency,
        county=args.county,
        year=args.year,
        mission=args.mission,
    )
    target = publish.Target(
        s3=s3_config(bucket, args.endpoint_url, args.region, args.public_url_base),
        dsn=args.dsn or "service=ls4",
        wms_url_template=args.wms_url_template,
        mapfile_connection=args.mapfile_connection,
        stac=stac.StacConfig(enabled=args.stac or args.pgstac, pgstac=args.pgstac),
        tile_cache=args.tile_cache,
    )
    county_list = counties.load(args.county_list or None)
    manifest = plan(args.manifest, collection, target, args.frames, county_list=county_list)
    count = len(manifest.frames)
    print(f"planned {count} frames of {collection.name}: run indexes 0–{count - 1}, then finish")
    print(f"array size: {count}")
    return 0


def _run(args: argparse.Namespace) -> int:
    manifest = load(args.manifest, args.endpoint_url, args.region)
    index = array_index(args.index)
    result = run(manifest, index, args.dsn)
    print(f"frame {index}: {result.status}: {result.source} {result.message} ({result.worker})")
    return 0 if result.status in ("published", "unchanged") else 1


def _finish(args: argparse.Namespace) -> int:
    manifest = load(args.manifest, args.endpoint_url, args.region)
    mapfile_key, done = finish(manifest, args.map_dir, args.dsn)
    failed = {
        index: r for index, r in done.items() if r["status"] not in ("published", "unchanged")
    }
    for index, frame in sorted(failed.items()):
        print(f"frame {index} {frame['status']}: {frame['source']} {frame['message']}")
    print(
        f"{manifest.collection.name}: {len(done) - len(failed)} of {len(done)} frames published; "
        f"mapfile s3://{manifest.target.s3.bucket}/{mapfile_key}"
    )
    return 1 if failed else 0


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "plan": _plan,
    "run": _run,
    "finish": _finish,
}

if __name__ == "__main__":
    sys.exit(main())
