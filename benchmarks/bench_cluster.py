"""Benchmark: frames per minute published locally (WORKERS=1) and on a local Dask cluster, and
the rates a 100-worker estimate rests on (issue 14).

Run on demand (not part of the test suite)::

    .venv/bin/python -m benchmarks.bench_cluster --stack-dir DIR [--frames 24] [--size 4000]
        [--rounds 1] [--workers 2]

``--control`` adds local WORKERS=2 (two threads in one process) to each round.
Builds ``--frames`` nc frames of ``--size`` pixels square from the sample (as bench_makecog
builds them, each placed elsewhere), then, ``--rounds`` times, alternating: publishes them into
a fresh collection locally with one frame at a time, and through ``dask scheduler`` + ``--workers``
``dask worker`` processes (one thread each) started for the run. Reports frames per minute and
the engines' workers. Then measures on the same stack: tile index upserts per second (one
connection, and 4 at once), small S3 PUTs and GETs per second (one client, and 8 threads), one
frame's upload in MB/s, and the finishing step (mapfile + dl_index + STAC collection) of the
published collection. Prints a JSON summary at the end.
"""

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from osgeo import gdal

import tools  # noqa: F401  (the repository as the package ``ls4``)
from benchmarks.bench_makecog import build_frame
from benchmarks.bench_operations import target_of
from ls4.ls4_plugin.core import engines, keys, publish, storage, tileindex
from tools import sample_collection
from tools.cluster import Cluster


def build_frames(count, size, folder):
    """``count`` nc frames of ``size``², the same pixels placed side by side."""
    base = build_frame("nc", size, folder)
    frames = []
    for number in range(count):
        path = folder / sample_collection.frame_name(number + 1)
        shutil.copy(base, path)
        dataset = gdal.Open(str(path), gdal.GA_Update)
        x0, dx, rx, y0, ry, dy = dataset.GetGeoTransform()
        dataset.SetGeoTransform((x0 + number * size * dx * 0.8, dx, rx, y0, ry, dy))
        dataset = None
        frames.append(str(path))
    os.remove(base)
    return frames


def forget(where, collection):
    storage.delete_keys(where.s3, list(storage.list_keys(where.s3, collection.prefix())))
    storage.delete_keys(where.s3, [collection.mapfile_key])
    storage.delete_keys(where.s3, list(storage.list_keys(where.s3, f"stac/{collection.name}/")))
    with tileindex.connect(where.dsn) as conn:
        tileindex.drop_table(conn, collection.table)


def publish_once(where, collection, frames, executor):
    forget(where, collection)
    started = time.perf_counter()
    result = publish.publish_collection(where, collection, frames, executor=executor)
    seconds = time.perf_counter() - started
    statuses = {frame.status for frame in result.frames}
    if statuses != {"published"}:
        raise SystemExit(f"not all published: {[f.to_dict() for f in result.frames]}")
    return seconds, result


def upserts_per_second(where, count=400, threads=1):
    table = f"bench_upserts_{threads}"
    collection = keys.Collection(band="bw", type="frames", agency="USGS", county="Bench", year=2014)
    with tileindex.connect(where.dsn) as conn:
        tileindex.drop_table(conn, table)
        tileindex.ensure_table(conn, table)

    def work(part):
        with tileindex.connect(where.dsn) as conn:
            for number in range(part, count, threads):
                name = f"04-15-14_{part + 1}-{number % 999 + 1:03d}.tif"
                row = publish.index_row(where, collection, name, f"/vsis3/b/{number}/{name}")
                x = number * 10.0
                wkt = f"POLYGON(({x} 0,{x + 9} 0,{x + 9} 9,{x} 9,{x} 0))"
                tileindex.upsert_frame(conn, table, row, wkt)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))
    rate = count / (time.perf_counter() - started)
    with tileindex.connect(where.dsn) as conn:
        tileindex.drop_table(conn, table)
    return rate


def puts_and_gets_per_second(where, count=300, threads=1):
    """Small (1 KiB) PUTs, then GETs of them (the finishing step reads every STAC item so)."""
    keys_ = [f"bench/puts/{threads}/{number}.json" for number in range(count)]
    storage.client(where.s3)
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda key: storage.put_bytes(where.s3, key, b"{}" * 512), keys_))
    puts = count / (time.perf_counter() - started)
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda key: storage.get_bytes(where.s3, key), keys_))
    gets = count / (time.perf_counter() - started)
    storage.delete_keys(where.s3, keys_)
    return puts, gets


def upload_megabytes_per_second(where, path):
    """One frame's upload (the caller's staging of a source), multipart above 16 MiB."""
    key = "bench/upload/frame.tif"
    started = time.perf_counter()
    storage.upload_file(where.s3, path, key)
    seconds = time.perf_counter() - started
    storage.delete_keys(where.s3, [key])
    return os.path.getsize(path) / 1e6 / seconds


def finishing_seconds(where, collection, rounds=3):
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        publish.finish_collection(where, collection)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def load():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack-dir", required=True)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--size", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dask-first", action="store_true", help="the cluster first in round 1")
    parser.add_argument(
        "--control",
        action="store_true",
        help="also local WORKERS=2: on a loaded machine two processes get more CPU than one",
    )
    args = parser.parse_args(argv)
    endpoints = json.loads((Path(args.stack_dir) / "endpoints.json").read_text())
    where = target_of(endpoints)
    where = dataclasses.replace(where, stac=dataclasses.replace(where.stac, enabled=True))
    storage.apply_public_policy(where.s3)
    collection = keys.Collection(band="nc", type="frames", agency="USGS", county="Bench", year=2014)
    folder = Path(tempfile.mkdtemp(prefix="ls4-bench-cluster-"))
    summary = {"frames": args.frames, "size": args.size, "runs": [], "load": [load()]}
    try:
        print(f"building {args.frames} frames of {args.size}² in {folder} …", flush=True)
        frames = build_frames(args.frames, args.size, folder)
        with Cluster(endpoints, workers=args.workers, log_dir=folder / "cluster") as cluster:
            for round_ in range(args.rounds):
                contenders = {
                    "local WORKERS=1": publish.LocalExecutor(1),
                    f"dask {args.workers} workers": engines.DaskExecutor(cluster.address),
                }
                if args.control:
                    contenders["local WORKERS=2"] = publish.LocalExecutor(2)
                if (round_ + args.dask_first) % 2:  # alternate who goes first
                    contenders = dict(reversed(list(contenders.items())))
                for name, executor in contenders.items():
                    seconds, result = publish_once(where, collection, frames, executor)
                    workers = sorted({frame.worker for frame in result.frames})
                    rate = 60.0 * args.frames / seconds
                    print(
                        f"round {round_ + 1} {name:18} {seconds:6.1f} s  {rate:5.1f} frames/min "
                        f"on {', '.join(workers)}",
                        flush=True,
                    )
                    summary["runs"].append(
                        {"round": round_ + 1, "engine": name, "seconds": seconds, "rate": rate}
                    )
                    summary["load"].append(load())
        summary["finish_seconds"] = finishing_seconds(where, collection)
        for threads in (1, 4):
            summary[f"upserts_per_s_{threads}"] = upserts_per_second(where, threads=threads)
        for threads in (1, 8):
            puts, gets = puts_and_gets_per_second(where, threads=threads)
            summary[f"puts_per_s_{threads}"], summary[f"gets_per_s_{threads}"] = puts, gets
        summary["frame_mb"] = os.path.getsize(frames[0]) / 1e6
        summary["upload_mb_per_s"] = upload_megabytes_per_second(where, frames[0])
        summary["load"].append(load())
        forget(where, collection)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        storage.close_clients()
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
