"""Benchmark: what publishing a frame costs besides making its COG and sending its bytes.

Run on demand (not part of the test suite), against a running stack::

    .venv/bin/python -m benchmarks.bench_publish_frame --stack-dir DIR [--frames 6] [--size 2000]
        [--stac]

It publishes ``--frames`` nc frames of ``--size`` pixels (built from the sample aerial at run
time, as ``bench_makecog`` does) into a fresh collection with ``publish.publish_collection`` (one
worker), then, for each frame, counts what it did and times it:

* ``hash reads``: full reads of the source for its SHA-256 (``storage.file_sha256``);
* ``source opens`` / ``cog opens``: ``gdal.Open`` of the source and of the new COG;
* ``inspections``: inspections of a raster (``rasterinfo``, each with GDAL's COG-layout check);
* ``HEADs``: object HEAD requests, and ``HEADs <stage>`` of the frame's keys (``cog``,
  ``georef``, ``scanned``; ``stac`` the Item and thumbnail keys); ``connections``: PostgreSQL
  connections opened;
* ``overhead s``: the frame's wall time less ``make_cog`` (but for the footprint it may draw)
  and the upload transfers (the bytes).

A second run of the same frames (all "unchanged") is counted too. The collection is removed
at the end. ``--stac``: STAC on (static catalog, no pgSTAC), the frames' scans uploaded to
``scanned/`` first, as a collection normally has them (they are the Items' scan assets).
"""

import argparse
import dataclasses
import json
import tempfile
import time
from collections import Counter
from contextlib import ExitStack, nullcontext
from pathlib import Path
from unittest import mock

from osgeo import gdal

import tools  # noqa: F401  (the repository as the package ``ls4``)
from benchmarks.bench_makecog import build_frame
from benchmarks.bench_operations import target_of
from ls4.ls4_plugin.core import cog, keys, publish, rasterinfo, stac, storage, tileindex

COLLECTION = keys.Collection(band="nc", type="frames", agency="BENCH", county="Bench", year="2001")


class Meter:
    """Counts and times the per-frame work by wrapping the functions that do it."""

    def __init__(self, sources, s3):
        self.s3 = s3  # the shared boto3 client of the target (storage.client)
        self.sources = {str(path) for path in sources}
        self.counts = Counter()
        self.seconds = Counter()

    def wrap(self, owner, name, count=None, timer=None):
        if not hasattr(owner, name):  # an older tree (the "before" of a comparison)
            return nullcontext()
        real = getattr(owner, name)

        def wrapper(*args, **kwargs):
            what = count(*args, **kwargs) if count else None
            if what:
                self.counts[what] += 1
            started = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                if timer:
                    self.seconds[timer] += time.perf_counter() - started

        return mock.patch.object(owner, name, wrapper)

    def opened(self, path, *args, **kwargs):
        path = str(path)
        if path in self.sources:
            return "source opens"
        return "cog opens" if "ls4-run-" in path and path.endswith((".tif", ".TIF")) else None

    def patches(self):
        return [
            self.wrap(storage, "file_sha256", lambda path, *a, **k: self.hashed(path)),
            self.wrap(gdal, "Open", self.opened),
            self.wrap(gdal, "OpenEx", self.opened),
            # every inspection runs GDAL's COG-layout check once, whatever its entry point
            self.wrap(rasterinfo, "dataset_layout_problems", lambda *a, **k: "inspections"),
            self.wrap(self.s3, "head_object", self.headed),
            self.wrap(tileindex, "connect", lambda *a, **k: "connections"),
            self.wrap(cog, "make_cog", timer="make_cog"),
            # the footprint is overhead, also when make_cog draws it while the COG is open
            self.wrap(cog, "valid_footprint", timer="footprint in make_cog"),
            self.wrap(self.s3, "upload_file", timer="upload bytes"),
        ]

    def headed(self, *args, **kwargs):
        key = kwargs.get("Key", "")
        stage = key.split("/")[4] if key.startswith(COLLECTION.prefix()) else ""
        if key.startswith(f"{stac.PREFIX}{COLLECTION.name}/") and "collection.json" not in key:
            stage = "stac"
        self.counts[f"HEADs {stage}" if stage else "HEADs other"] += 1
        return "HEADs"

    def hashed(self, path):
        return "hash reads" if str(path) in self.sources else "cog hash reads"


def run(target, frames):
    meter = Meter(frames, storage.client(target.s3))
    with ExitStack() as stack:
        for patch in meter.patches():
            stack.enter_context(patch)
        started = time.perf_counter()
        result = publish.publish_collection(target, COLLECTION, [str(f) for f in frames])
        total = time.perf_counter() - started
    statuses = Counter(frame.status for frame in result.frames)
    count = len(frames)
    per_frame = {name: value / count for name, value in sorted(meter.counts.items())}
    making = meter.seconds["make_cog"] - meter.seconds["footprint in make_cog"]
    work = making + meter.seconds["upload bytes"]
    per_frame["overhead s"] = round((total - work) / count, 3)
    per_frame["make_cog s"] = round(making / count, 3)
    per_frame["upload bytes s"] = round(meter.seconds["upload bytes"] / count, 3)
    return {"statuses": dict(statuses), "per_frame": per_frame, "total s": round(total, 2)}


def clean(target):
    with tileindex.connect(target.dsn) as conn:
        if tileindex.table_exists(conn, COLLECTION.table):
            tileindex.drop_table(conn, COLLECTION.table)
    prefix = COLLECTION.prefix()
    storage.delete_keys(target.s3, list(storage.list_keys(target.s3, prefix)))
    storage.delete_keys(target.s3, [COLLECTION.mapfile_key])
    stac_keys = storage.list_keys(target.s3, f"{stac.PREFIX}{COLLECTION.name}/")
    storage.delete_keys(target.s3, list(stac_keys))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack-dir", required=True)
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--stac", action="store_true", help="STAC on, scans in scanned/")
    args = parser.parse_args(argv)
    endpoints = json.loads((Path(args.stack_dir) / "endpoints.json").read_text())
    target = target_of(endpoints)
    if args.stac:
        target = dataclasses.replace(target, stac=stac.StacConfig(enabled=True, pgstac=False))
    with tempfile.TemporaryDirectory(prefix="bench-publish-") as folder:
        frames = []
        for number in range(args.frames):
            built = build_frame("nc", args.size, Path(folder), seed=number + 1)
            frames.append(built.rename(Path(folder) / f"04-01-01_1-{number + 1:03d}.tif"))
        clean(target)
        try:
            if args.stac:
                publish.upload_stage(target.s3, COLLECTION, "scanned", frames)
            first = run(target, frames)
            again = run(target, frames)
        finally:
            clean(target)
    print(json.dumps({"first": first, "again": again}, indent=2))


if __name__ == "__main__":
    main()
