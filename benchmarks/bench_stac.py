"""Benchmark: the time STAC adds to publishing (issue 12's target: under 5 % of publishing).

Run on demand (not part of the test suite)::

    .venv/bin/python -m benchmarks.bench_stac --stack-dir DIR [--frames 4] [--rounds 3]
        [--size 6000]

Publishes the same frames (``--size`` pixels square, built as bench_makecog builds them: a
sample tiled, mirrored, with noise, rotated; ``--size 0``: the small samples cut in frames) into
fresh collections, alternating STAC
off and STAC on (static catalog and pgSTAC), ``--rounds`` times each, in one process, and
reports per frame: the wall time of each run, and within the STAC-on runs the time spent in the
STAC steps themselves (``stac.write_item`` per frame, ``publish.publish_stac`` once), measured by
wrapping them. Noise on a shared machine hits the off/on difference; the measured STAC time is
the steadier figure.
"""

import argparse
import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path

import tools  # noqa: F401  (the repository as the package ``ls4``)
from benchmarks.bench_makecog import build_frame
from benchmarks.bench_operations import target_of
from ls4.ls4_plugin.core import keys, pgstac, publish, stac, storage, tileindex
from tools import sample_collection


class Timer:
    def __init__(self):
        self.seconds = 0.0

    def wrap(self, function):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        return timed


def forget(where, collection):
    storage.delete_keys(where.s3, list(storage.list_keys(where.s3, collection.prefix())))
    storage.delete_keys(where.s3, list(storage.list_keys(where.s3, f"stac/{collection.name}/")))
    with tileindex.connect(where.dsn) as conn:
        tileindex.drop_table(conn, collection.table)
    pgstac.mirror(where.dsn, collection.name, None, {})


def one_run(where, collection, frames, timer):
    forget(where, collection)
    write_item, publish_stac = stac.write_item, publish.publish_stac
    stac.write_item, publish.publish_stac = timer.wrap(write_item), timer.wrap(publish_stac)
    try:
        started = time.perf_counter()
        result = publish.publish_collection(where, collection, frames)
        seconds = time.perf_counter() - started
    finally:
        stac.write_item, publish.publish_stac = write_item, publish_stac
    assert {frame.status for frame in result.frames} == {"published"}, result.frames
    return seconds


def _frames(folder, count, size):
    if not size:
        return sample_collection.cut_frames("bw", folder, count)
    frames = []
    for number in range(count):
        built = build_frame("bw", size, folder, seed=number + 1)
        frames.append(built.rename(folder / sample_collection.frame_name(number + 1)))
    return frames


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stack-dir", required=True)
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=6000)
    args = parser.parse_args(argv)
    endpoints = json.loads((Path(args.stack_dir) / "endpoints.json").read_text())
    base = target_of(endpoints)
    off = dataclasses.replace(base, stac=stac.StacConfig(enabled=False))
    on = dataclasses.replace(base, stac=stac.StacConfig(enabled=True, pgstac=True))
    collection = keys.Collection(
        band="bw", type="frames", agency="USGS", county="Benchstac", year="2014"
    )
    times = {"off": [], "on": [], "stac": []}
    with tempfile.TemporaryDirectory(prefix="ls4-bench-stac-") as folder:
        frames = _frames(Path(folder), args.frames, args.size)
        for _round in range(args.rounds):
            times["off"].append(one_run(off, collection, frames, Timer()))
            timer = Timer()
            times["on"].append(one_run(on, collection, frames, timer))
            times["stac"].append(timer.seconds)
    forget(on, collection)
    per_frame = {name: [v / args.frames for v in values] for name, values in times.items()}
    median = {name: statistics.median(values) for name, values in per_frame.items()}
    size = f"{args.size} px" if args.size else "the small samples"
    print(f"{args.frames} bw frames of {size}, {args.rounds} rounds, seconds per frame")
    for name, values in per_frame.items():
        print(f"  {name:5} median {median[name]:.3f}  runs " + " ".join(f"{v:.3f}" for v in values))
    print(f"  STAC steps / publishing with STAC: {100 * median['stac'] / median['on']:.1f} %")
    print(f"  (on - off) / on: {100 * (median['on'] - median['off']) / median['on']:.1f} %")


if __name__ == "__main__":
    main()
