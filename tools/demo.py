"""The main job on the bundled sample collection: ``make demo``.

Starts the local stack (left running), points a demo QGIS profile at it, inspects the sample
imagery, builds a small black-and-white collection from ../shared/data (the raw scan
georeferenced with its GCP file, plus frames cut with overlap from the grayscale aerial), uploads
the scans, publishes the collection with ``ls4:publishcollection``, and saves a GetMap PNG of it.
With ``--cluster N`` it publishes through a local Dask cluster (``dask scheduler`` and N
``dask worker`` processes, stopped at the end) and prints which worker published each frame.
"""

import argparse
import json
import os
import shutil
import sys
import time
import urllib.request
from pathlib import Path

from tools import REPO, sample_collection
from tools.stack import Stack

STACK_DIR = REPO / ".stack"
DEMO_DIR = STACK_DIR / "demo"
FIELDS = {"COUNTY": "Denver", "AGENCY": "USGS", "YEAR": "2014", "TYPE": 0, "BAND_LAYOUT": 0}


def start_qgis():
    """A headless QGIS with its own demo profile, Processing and the LS4 provider."""
    from qgis.core import QgsApplication

    from tools import qgis_env

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # the demo needs no screen
    profile = STACK_DIR / "qgis-profile"
    # QGIS 3.40 ignores the folder given to QgsApplication and takes this variable (or else the
    # user's own ~/.local/share profile); 3.22 takes the folder
    os.environ["QGIS_CUSTOM_CONFIG_PATH"] = str(profile)
    qgis_env.own_settings(profile / "settings", "ls4-demo")  # not ~/.config/Unknown Org...
    app = QgsApplication([], False, str(profile))
    app.initQgis()
    sys.path.append("/usr/share/qgis/python/plugins")
    from processing.core.Processing import Processing

    Processing.initialize()
    from ls4.processing_provider.provider import Ls4Provider

    provider = Ls4Provider()
    QgsApplication.processingRegistry().addProvider(provider)
    return app, provider


class Printer:
    """Processing feedback for a terminal: messages and a progress line."""

    def __new__(cls):
        from qgis.core import QgsProcessingFeedback

        class _Printer(QgsProcessingFeedback):
            def pushInfo(self, text):
                if not text.startswith("Results: {"):  # processing.run's dump of the outputs
                    print(f"    {text}")

            def pushWarning(self, text):
                print(f"    warning: {text}")

            def reportError(self, text, fatal=False):
                print(f"    error: {text}")

        return _Printer()


def run(name, params):
    import processing

    return processing.run(f"ls4:{name}", params, feedback=Printer())


def inspect_samples():
    print("\n1. The sample imagery, as ls4:inspectraster sees it")
    for path in sorted(sample_collection.DATA.glob("*.tif")):
        work = DEMO_DIR / "inspect" / path.name
        work.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, work)
        work.chmod(0o644)
        import processing

        result = processing.run("ls4:inspectraster", {"INPUT": str(work)})
        layout = result["BAND_LAYOUT"] or "neither bw nor nc"
        crs = result["CRS"] or "no CRS"
        problem = f"; {result['NODATA_PROBLEM']}" if result["NODATA_PROBLEM"] else ""
        print(f"   {path.name:32} {layout:6} {crs:11} {result['GEOREFERENCING']}{problem}")


def build_collection():
    print("\n2. The sample collection: the scan georeferenced with its .points, plus cut frames")
    frames_dir = DEMO_DIR / "frames"
    scans_dir = DEMO_DIR / "scans"
    for folder in (frames_dir, scans_dir):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    frames = sample_collection.build("bw", frames_dir, count=4)
    # The raw scan is frame 001's scan; the cut frames stand in for their own scans.
    scans = [scans_dir / frame.name for frame in frames]
    shutil.copy(sample_collection.DATA / "hro_colorado_gray_scan.tif", scans[0])
    for frame, scan in zip(frames[1:], scans[1:], strict=True):
        shutil.copy(frame, scan)
    for frame in frames:
        print(f"   {frame.name}")
    return frames, scans


def save_getmap(endpoints, collection, path):
    from ls4.ls4_plugin.core import tileindex

    with tileindex.connect(endpoints["postgres"]["dsn"]) as conn:
        minx, miny, maxx, maxy = tileindex.extent(conn, collection)
    width = 1024
    height = round(width * (maxy - miny) / (maxx - minx))
    query = {
        "SERVICE": "WMS",
        "VERSION": "1.3.0",
        "REQUEST": "GetMap",
        "LAYERS": collection,
        "STYLES": "",
        "CRS": "EPSG:3857",
        "BBOX": f"{minx},{miny},{maxx},{maxy}",
        "WIDTH": width,
        "HEIGHT": height,
        "FORMAT": "image/png",
        "TRANSPARENT": "TRUE",
    }
    from ls4.ls4_plugin.core import urls

    url = endpoints["mapserver"]["wms_url_template"].format(collection=collection)
    with urllib.request.urlopen(urls.with_query(url, query), timeout=60) as reply:
        path.write_bytes(reply.read())


def publish(endpoints, frames, cluster_size):
    """``ls4:publishcollection`` here, or on a local Dask cluster of ``cluster_size`` workers."""
    if not cluster_size:
        print("\n4. Publishing (ls4:publishcollection)")
        return run("publishcollection", {"INPUT": [str(f) for f in frames], **FIELDS})
    from tools.cluster import Cluster

    print(f"\n4. Publishing on a local Dask cluster: dask scheduler + {cluster_size} dask worker")
    with Cluster(endpoints, workers=cluster_size, log_dir=STACK_DIR / "cluster") as cluster:
        print(f"   scheduler {cluster.address}; workers {', '.join(sorted(cluster.worker_pids()))}")
        print(f"   (logs in {cluster.log_dir})")
        params = {"INPUT": [str(f) for f in frames], "SCHEDULER": cluster.address, **FIELDS}
        result = run("publishcollection", params)
        print("   frame                      published by")
        for frame in json.loads(result["FRAMES"]):
            print(f"   {Path(frame['source']).name:26} {frame['worker']} ({frame['status']})")
        print("   stopping the scheduler and the workers")
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__)
    parser.add_argument(
        "--cluster", type=int, default=0, metavar="N", help="publish on dask scheduler + N workers"
    )
    args = parser.parse_args(argv)
    missing = sample_collection.missing_samples()
    if missing:
        print(
            f"The sample imagery is not where the demo reads it ({sample_collection.DATA}): "
            f"missing {', '.join(missing)}. Put ../shared/data beside the repository, or set "
            "LS4_SAMPLE_DATA to its folder. Nothing was started.",
            file=sys.stderr,
        )
        return 2
    started = time.monotonic()
    print("Starting the local stack (PostGIS, SeaweedFS S3, MapServer behind lighttpd)…")
    endpoints = Stack(STACK_DIR).up()
    app, _provider = start_qgis()
    from tools import qgis_env

    qgis_env.configure(endpoints)
    from ls4.ls4_plugin import settings

    settings.set_value("stac/pgstac", True)  # the stack's PostGIS has pgSTAC, under its STAC API
    run("applypublicpolicy", {})
    inspect_samples()
    frames, scans = build_collection()
    print("\n3. Uploading the scans (ls4:uploadtos3, stage scanned)")
    run("uploadtos3", {"INPUT": [str(s) for s in scans], "STAGE": 0, **FIELDS})
    result = publish(endpoints, frames, args.cluster)
    picture = DEMO_DIR / f"{result['COLLECTION']}.png"
    save_getmap(endpoints, result["COLLECTION"], picture)
    report(endpoints, result, picture, time.monotonic() - started)
    from ls4.ls4_plugin.core import storage

    storage.close_clients()  # its connections would outlive QGIS and be reported at exit
    app.exitQgis()


def stac_lines(endpoints, collection):
    """Where the collection's STAC is: the static catalog on S3 and the STAC API over pgSTAC."""
    from ls4.ls4_plugin.core import stac

    base = endpoints["s3"]["public_url_base"]
    api = endpoints["stacapi"]["url"]
    return [
        f"  STAC catalog     {base}/{stac.CATALOG_KEY} (static, public)",
        f"  STAC collection  {base}/{stac.collection_key(collection)}",
        f"  STAC API         {api} (stac-fastapi-pgstac; {api}/collections/{collection}/items)",
    ]


def report(endpoints, result, picture, seconds):
    wms = result["WMS_URL"]
    from ls4.ls4_plugin.core import tiles

    tile_urls = tiles.service_urls(wms, result["COLLECTION"])
    database = endpoints["postgres"]["dsn"].split(" password")[0]
    mapfile = f"s3://{endpoints['s3']['bucket']}/{result['MAPFILE_KEY']}"
    lines = [
        f"Published {result['COLLECTION']} in {seconds:.0f} s.",
        "",
        f"  WMS URL          {wms}",
        f"  GetCapabilities  {wms}?SERVICE=WMS&REQUEST=GetCapabilities",
        f"  WMTS             {tile_urls['wmts_capabilities']}",
        f"  XYZ tiles        {tile_urls['xyz']}",
        f"  tile index       table {result['TABLE']} ({database})",
        f"  mapfile          {mapfile}, served from {endpoints['mapserver']['map_dir']}",
        f"  picture          {picture}",
        *stac_lines(endpoints, result["COLLECTION"]),
        "",
        "To open it in QGIS: Layer > Add Layer > Add WMS/WMTS Layer > New; URL:",
        f"  {wms}",
        f"Connect, pick the layer {result['COLLECTION']} (and {result['COLLECTION']}_index for the",
        "frame outlines), Add.",
        "",
        f"The stack keeps running (`make stack-status`, logs in {endpoints['logs']});",
        "stop it with `make stack-down`.",
    ]
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
