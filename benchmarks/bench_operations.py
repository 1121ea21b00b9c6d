"""Benchmark: maintenance and the compiled index over an estate of many collections.

Run on demand (not part of the test suite)::

    .venv/bin/python -m benchmarks.bench_operations [--collections 50] [--frames 100]
        [--stack-dir DIR] [--workers 16]

Publishing 5,000 real COGs would take hours, so the estate is built synthetically but really, on
the real services: for each frame a row inserted with ``tileindex.upsert_frame`` (the fields
``publish.index_row`` gives, a small real footprint), a small placeholder object at each of its
``scanned/``, ``georef/`` and ``cog/`` keys, and per collection the mapfile
``publish.render_mapfile`` writes. Then it times, each in a fresh Python process (so the peak
memory is that step's own):

* ``check``: ``maintenance.check`` of the estate (must find nothing);
* ``check+1``: the same after one row's COG is deleted (must find exactly that row);
* ``compile``: ``compiled_index.compile_indexes`` to a local file and the public upload;
* with ``--compile-rows N``: ``compile`` again after a table of N more rows (inserted by PostGIS,
  without objects) is added, to show that memory does not grow with the estate.

Without ``--stack-dir`` a throwaway stack is started in a temporary folder and purged at the end;
with it, a running stack (``make stack-up``) is used and the bench collections are removed after.
"""

import argparse
import json
import os
import string
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import product
from pathlib import Path

from psycopg2 import sql

import tools  # noqa: F401  (the repository as the package ``ls4``)
from ls4.ls4_plugin.core import keys, publish, storage, tileindex

REPO = Path(__file__).resolve().parents[1]
COUNTY_PREFIX = "Bench"
PLACEHOLDER = b"placeholder: the benchmark checks keys, not pixels"
# a 100 m square frame footprint, repeated along a row per collection
ORIGIN_X, ORIGIN_Y, SIDE = -11663500.0, 4715000.0, 100.0


def counties(count):
    """``count`` county names of letters only: Benchaa, Benchab, ..."""
    letters = ("".join(pair) for pair in product(string.ascii_lowercase, repeat=2))
    return [f"{COUNTY_PREFIX}{next(letters)}" for _ in range(count)]


def target_of(endpoints):
    s3, pg, ms = endpoints["s3"], endpoints["postgres"], endpoints["mapserver"]
    config = storage.S3Config(
        bucket=s3["bucket"],
        endpoint_url=s3["endpoint_url"],
        region=s3["region"],
        access_key=s3["access_key"],
        secret_key=s3["secret_key"],
        public_url_base=s3["public_url_base"],
    )
    return publish.Target(
        s3=config,
        dsn=pg["dsn"],
        wms_url_template=ms["wms_url_template"],
        mapfile_connection=f"service={pg['service']}",
    )


def footprint(collection_number, frame_number):
    x = ORIGIN_X + frame_number * SIDE
    y = ORIGIN_Y + collection_number * SIDE * 2
    corners = [(x, y), (x + SIDE, y), (x + SIDE, y + SIDE), (x, y + SIDE), (x, y)]
    return "POLYGON((" + ",".join(f"{cx} {cy}" for cx, cy in corners) + "))"


def build_collection(target, number, county, frames, pool):
    collection = keys.Collection(band="bw", type="frames", agency="USGS", county=county, year=2014)
    names = [f"04-15-14_1-{frame:03d}.tif" for frame in range(1, frames + 1)]
    object_keys = [collection.key(stage, name) for name in names for stage in keys.STAGES]
    s3 = storage.client(target.s3)
    list(pool.map(lambda key: storage.put_bytes(target.s3, key, PLACEHOLDER, s3), object_keys))
    with tileindex.connect(target.dsn) as conn:
        tileindex.ensure_table(conn, collection.table)
        for frame, name in enumerate(names):
            location = storage.vsis3_path(target.s3, collection.key("cog", name))
            row = publish.index_row(target, collection, name, location)
            tileindex.upsert_frame(conn, collection.table, row, footprint(number, frame))
        extent = tileindex.extent(conn, collection.table)
    text = publish.render_mapfile(target, collection, extent)
    storage.put_bytes(target.s3, collection.mapfile_key, text.encode())
    return collection


def build_estate(target, collections, frames, workers):
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        made = [
            build_collection(target, number, county, frames, pool)
            for number, county in enumerate(counties(collections))
        ]
    return made, time.perf_counter() - started


def add_big_table(target, rows):
    """One more collection of ``rows`` rows, inserted by PostGIS in one statement (no objects):
    the compiled index's memory must not grow with it."""
    collection = keys.Collection(
        band="bw", type="frames", agency="USGS", county="Benchzz", year=2014
    )
    base = storage.public_url(target.s3, collection.prefix())
    with tileindex.connect(target.dsn) as conn:
        tileindex.ensure_table(conn, collection.table)
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL(
                    "INSERT INTO {} (location, src_srs, date, roll, frame_num, "
                    "dl_orig, dl_georef, dl_index, geom) "
                ).format(sql.Identifier(collection.table))
                + sql.SQL(
                    "SELECT %s || 'cog/f' || g || '.tif', 'EPSG:3857', '04-15-14', '1', g::text, "
                    "%s || 'scanned/f' || g || '.tif', %s || 'cog/f' || g || '.tif', %s, "
                    "ST_Multi(ST_MakeEnvelope(x, y, x + 100, y + 100, 3857)) "
                    "FROM generate_series(1, %s) AS g, "
                    "LATERAL (SELECT %s + mod(g, 1000) * 100.0 AS x, "
                    "%s - (g / 1000) * 100.0 AS y) AS p"
                ),
                (
                    f"/vsis3/{target.s3.bucket}/{collection.prefix()}",
                    base,
                    base,
                    base,
                    rows,
                    ORIGIN_X,
                    ORIGIN_Y,
                ),
            )
        conn.commit()
    return collection


def remove_estate(target, collections):
    for collection in collections:
        storage.delete_keys(target.s3, list(storage.list_keys(target.s3, collection.prefix())))
        storage.delete_keys(target.s3, [collection.mapfile_key])
        with tileindex.connect(target.dsn) as conn:
            tileindex.drop_table(conn, collection.table)


# --- the timed steps, each in its own process ---


def step(name, endpoints_file, output):
    """Run one step in this process and print its measurements as JSON."""
    endpoints = json.loads(Path(endpoints_file).read_text())
    target = target_of(endpoints)
    started = time.perf_counter()
    if name == "compile":
        from ls4.ls4_plugin.core import compiled_index

        result = compiled_index.compile_indexes(target, output)
        outcome = {"features": result.features, "tables": result.tables, "upload": result.upload}
        outcome["bytes"] = os.path.getsize(output)
    else:
        from ls4.ls4_plugin.core import maintenance

        report = maintenance.check(target, [f"{COUNTY_PREFIX.lower()}*"])
        outcome = {"checked": report.checked, "findings": report.count_by_kind()}
    outcome["seconds"] = round(time.perf_counter() - started, 2)
    outcome["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(outcome))


def peak_rss_mb():
    """This process's peak resident memory. Not getrusage's ru_maxrss: it keeps the parent's peak
    across fork and exec, while VmHWM starts afresh with the new program."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def timed(name, endpoints_file, output):
    command = [sys.executable, "-m", "benchmarks.bench_operations", "--step", name]
    command += ["--endpoints", str(endpoints_file), "--output", str(output)]
    reply = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(reply.stdout.strip().splitlines()[-1])


def measure(endpoints_file, target, collections, folder, big_rows=0):
    output = Path(folder) / "compiled.geojson"
    results = {"check": timed("check", endpoints_file, output)}
    first = collections[0].key("cog", "04-15-14_1-001.tif")
    storage.delete_keys(target.s3, [first])
    results["check+1"] = timed("check+1", endpoints_file, output)
    storage.put_bytes(target.s3, first, PLACEHOLDER)
    results["compile"] = timed("compile", endpoints_file, output)
    if big_rows:
        collections.append(add_big_table(target, big_rows))
        results[f"compile+{big_rows}"] = timed("compile", endpoints_file, output)
    return results


def run(args):
    from tools.stack import Stack

    with tempfile.TemporaryDirectory(prefix="ls4-bench-ops-") as folder:
        stack = Stack(args.stack_dir or Path(folder) / "stack")
        endpoints = stack.up()
        target = target_of(endpoints)
        collections = []
        try:
            storage.apply_public_policy(target.s3)
            collections, build_seconds = build_estate(
                target, args.collections, args.frames, args.workers
            )
            results = measure(stack.endpoints_file, target, collections, folder, args.compile_rows)
        finally:
            if args.stack_dir:
                remove_estate(target, collections)
            else:
                stack.down(purge=True)
    rows = args.collections * args.frames
    print(
        f"estate: {args.collections} collections x {args.frames} frames = {rows} rows, "
        f"{rows * 3} objects, {args.collections} mapfiles (built in {build_seconds:.1f} s)"
    )
    for name, outcome in results.items():
        print(f"{name:8} {json.dumps(outcome)}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--collections", type=int, default=50)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--workers", type=int, default=16, help="parallel uploads while building")
    parser.add_argument(
        "--compile-rows", type=int, default=0, help="then compile again with a table this big"
    )
    parser.add_argument("--stack-dir", help="use this running stack instead of a throwaway one")
    parser.add_argument("--step", choices=("check", "check+1", "compile"), help=argparse.SUPPRESS)
    parser.add_argument("--endpoints", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        step(args.step, args.endpoints, args.output)
    else:
        run(args)


if __name__ == "__main__":
    main()
