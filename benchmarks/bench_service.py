"""Benchmark: the published service at every scale, a 100-frame collection against one COG.

Run on demand (not part of the test suite), against a running stack::

    .venv/bin/python -m benchmarks.bench_service --stack-dir /work/stacks/<you> [--seconds 30]

It publishes two collections of the same 6 x 6 km: ``grid`` (100 frames of 600 px at 1 m in a
10 x 10 grid, tools/sample_collection.grid_frames; it gets the collection overview) and
``single`` (one 6000 px COG of the same pixels). Then, through lighttpd:

* GetMap 1024 x 1024 PNG of each at full extent, 1/10 of it (600 m), and one frame: *cold* is
  the first request of a map (a bbox never asked before), *warm* the median of 5 repeats;
  the two collections alternate, so the machine's load hits both alike;
* 256 x 256 tiles at random zoom 14-16 positions over the collection, 4 client threads for
  ``--seconds``: uncached GetMaps of MapServer, then tiles from MapProxy's cache (seeded first).

It prints a Markdown table (with the load average) to paste into benchmarks/README.md.
"""

import argparse
import json
import os
import random
import statistics
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from osgeo import gdal

import tools  # noqa: F401  (the repository as the package ``ls4``)
from ls4.ls4_plugin.core import keys, publish, storage, tileindex, tiles
from tools import sample_collection

GRID = keys.Collection(band="bw", type="frames", agency="BENCH", county="Grid", year="2014")
SINGLE = keys.Collection(band="bw", type="frames", agency="BENCH", county="Single", year="2014")
ZOOMS = (14, 15, 16)
CLIENTS = 4


def publish_both(stack, folder):
    from tests.publish_support import fresh, target

    storage.apply_public_policy(target(stack).s3)
    frames = sample_collection.grid_frames(folder / "grid")
    # the same pixels as one image: the single COG of the same area
    single = folder / "single" / sample_collection.frame_name(1)
    single.parent.mkdir(parents=True, exist_ok=True)
    gdal.BuildVRT(str(folder / "grid.vrt"), [str(f) for f in frames])
    gdal.Translate(str(single), str(folder / "grid.vrt"), creationOptions=["TILED=YES"])
    timings = {}
    for collection, sources in ((GRID, frames), (SINGLE, [single])):
        fresh(stack, collection)
        started = time.monotonic()
        result = publish.publish_collection(
            target(stack), collection, [str(s) for s in sources], workers=2
        )
        assert {frame.status for frame in result.frames} == {"published"}, result.to_dict()
        timings[collection.name] = time.monotonic() - started
    return timings


def wms_url(stack, collection):
    return stack["mapserver"]["wms_url_template"].format(collection=collection.name)


def getmap_url(stack, collection, bbox, width, height):
    query = {
        "SERVICE": "WMS",
        "VERSION": "1.3.0",
        "REQUEST": "GetMap",
        "LAYERS": collection.name,
        "STYLES": "",
        "CRS": "EPSG:3857",
        "BBOX": ",".join(f"{value:.3f}" for value in bbox),
        "WIDTH": width,
        "HEIGHT": height,
        "FORMAT": "image/png",
        "TRANSPARENT": "TRUE",
    }
    return f"{wms_url(stack, collection)}?{urllib.parse.urlencode(query)}"


def timed_get(url):
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as reply:
        body = reply.read()
        kind = reply.headers.get_content_type()
    if not kind.startswith("image/"):
        raise RuntimeError(f"{url}: {body[:300]!r}")
    return time.perf_counter() - started


def maps(extent):
    minx, miny, maxx, maxy = extent
    tenth = (maxx - minx) / 10
    return {
        "full extent": (minx, miny, maxx, maxy),
        "1/10 (600 m)": (minx + 3 * tenth, miny + 3 * tenth, minx + 4 * tenth, miny + 4 * tenth),
        "one frame": (minx + 5 * tenth, miny + 5 * tenth, minx + 6 * tenth, miny + 6 * tenth),
    }


def getmap_rows(stack, extent):
    rows = []
    for label, bbox in maps(extent).items():
        found = {}
        for collection in (GRID, SINGLE):
            found[collection.name] = {
                "cold": timed_get(getmap_url(stack, collection, bbox, 1024, 1024))
            }
        repeats = {GRID.name: [], SINGLE.name: []}
        for _ in range(5):  # alternate: the machine's load falls on both
            for collection in (GRID, SINGLE):
                url = getmap_url(stack, collection, bbox, 1024, 1024)
                repeats[collection.name].append(timed_get(url))
        for name, values in repeats.items():
            found[name]["warm"] = statistics.median(values)
        rows.append((label, found))
    return rows


def random_tiles(extent, count, seed=11):
    generator = random.Random(seed)
    chosen = []
    for _ in range(count):
        zoom = generator.choice(ZOOMS)
        x0, x1, y0, y1 = tiles.tile_range(extent, zoom)
        chosen.append((zoom, generator.randint(x0, x1), generator.randint(y0, y1)))
    return chosen


def load(urls, seconds):
    """4 client threads asking ``urls`` in turn for ``seconds``: (requests/s, p50, p95) in s."""
    latencies = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    counter = iter(range(10**9))

    def client():
        while time.monotonic() < stop:
            with lock:
                url = urls[next(counter) % len(urls)]
            elapsed = timed_get(url)
            with lock:
                latencies.append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    return len(latencies) / wall, statistics.median(latencies), p95


def tile_rows(stack, extent, seconds):
    chosen = random_tiles(extent, 2000)
    getmaps = [getmap_url(stack, GRID, tiles.tile_bbox(*tile), 256, 256) for tile in chosen]
    xyz = tiles.service_urls(wms_url(stack, GRID), GRID.name)["xyz"]
    cached = [xyz.format(z=z, x=x, y=y) for z, x, y in chosen]
    seeded = tiles.seed(xyz, extent, ZOOMS)
    return {
        "MapServer GetMap (uncached)": load(getmaps, seconds),
        f"MapProxy cache (seeded {seeded['tiles']} tiles)": load(cached, seconds),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stack-dir", required=True)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args(argv)
    stack = json.loads((Path(args.stack_dir) / "endpoints.json").read_text())
    with tempfile.TemporaryDirectory(prefix="ls4-bench-service-") as folder:
        publishing = publish_both(stack, Path(folder))
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        extent = tileindex.extent(conn, GRID.table)
    load_before = os.getloadavg()
    getmaps = getmap_rows(stack, extent)
    tile_results = tile_rows(stack, extent, args.seconds)
    load_after = os.getloadavg()
    print(f"\npublishing (s): {json.dumps({k: round(v, 1) for k, v in publishing.items()})}")
    print(f"load average (1, 5, 15 min) before {load_before}, after {load_after}\n")
    print(
        "| GetMap 1024² PNG | 100 frames cold | one COG cold | ratio | 100 frames warm "
        "| one COG warm | ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, found in getmaps:
        grid, single = found[GRID.name], found[SINGLE.name]
        print(
            f"| {label} | {grid['cold']:.2f} s | {single['cold']:.2f} s | "
            f"{grid['cold'] / single['cold']:.2f}x | {grid['warm']:.2f} s | "
            f"{single['warm']:.2f} s | {grid['warm'] / single['warm']:.2f}x |"
        )
    print(
        f"\n| 256² tiles, zoom 14-16, {CLIENTS} clients, {args.seconds:.0f} s | requests/s "
        "| p50 | p95 |"
    )
    print("|---|---|---|---|")
    for label, (rate, p50, p95) in tile_results.items():
        print(f"| {label} | {rate:.1f} | {p50 * 1000:.0f} ms | {p95 * 1000:.0f} ms |")
    rates = [rate for rate, _p50, _p95 in tile_results.values()]
    print(f"\ncached / uncached requests/s: {rates[1] / rates[0]:.1f}x")


if __name__ == "__main__":
    main()
