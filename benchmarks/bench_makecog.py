"""Benchmark: ``cog.make_cog`` against the tools a user would pick instead, and against its bound.

Run on demand (not part of the test suite)::

    .venv/bin/python -m benchmarks.bench_makecog [--sizes 6000,10000] [--layouts bw,nc]
        [--runs 3] [--contenders ls4,old,...] [--before REV] [--keep DIR]

It builds realistic frames (a 9-inch frame scanned at 600-1200 dpi is 5,000-11,000 pixels
square) from the sample imagery in a temporary folder: the sample mirrored and tiled to the
size, with sensor-like noise, georeferenced in EPSG:26913 with a 1.5° rotation (so the warp makes
a collar), written as ``ls4:georeference`` writes (tiled, DEFLATE). Every contender runs in a
process of its own (its wall and CPU time, its peak RSS from ``wait4``, its output's size); in
each run they take turns in the order given, and the ratios are taken within each run, then the
median:

* ``ls4``: ``make_cog(frame, out)`` with its defaults (the call only: the child times itself);
* ``streamed``: the same with ``memory_limit`` 64 MB, below the frame's warped image: the
  overview levels on a temporary file (the streaming fallback);
* ``before``: the same in another checkout (``--before REV``: a detached worktree in the cache);
* ``old``: the old Lambda chain, exactly as it ran (four commands);
* ``gdalwarp_cog``: ``gdalwarp -of COG -multi -wo NUM_THREADS=ALL_CPUS`` with ls4's options;
* ``rio``: ``gdalwarp -of VRT -dstalpha`` then ``rio cogeo create --add-mask`` (rio-cogeo in a
  venv of its own under ``~/.cache/ls4-bench``, created on first use; its rasterio wheel
  brings its own GDAL);
* ``floor``: ``gdal_translate -of COG`` with ls4's options on an already-warped copy
  (uncompressed, the same mask): the COG driver without a warp;
* the pieces of the bound: ``decode`` (every pixel of the input read, tiles decoded on all
  cores), ``warp`` (gdalwarp's warp alone, decoded input in memory to memory, all cores),
  ``encode`` (the COG driver encoding every level of ls4's output, already decoded and in memory,
  with the same options, all cores). The bound is ``decode + encode``.

The machine may be shared: the table gives the CPU time too (less sensitive to other load) and
the load average at each block.
"""

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
from osgeo import gdal

REPO = Path(__file__).resolve().parents[1]
DATA = Path(
    os.environ.get("LS4_SAMPLE_DATA")
    or next(
        (p / "shared" / "data" for p in REPO.parents if (p / "shared" / "data").is_dir()),
        REPO.parent / "shared" / "data",
    )
)
CACHE = Path(os.environ.get("LS4_BENCH_CACHE", Path.home() / ".cache" / "ls4-bench"))
STREAMED_LIMIT = 64 * 1024**2  # the memory_limit of ``streamed``: below every frame's image
CONTENDERS = ["ls4", "streamed", "old", "gdalwarp_cog", "rio", "floor", "decode", "warp", "encode"]
PYTHON = sys.executable
SAMPLES = {"bw": "hro_colorado_gray.tif", "nc": "hro_colorado_rgb.tif"}
ROTATION_DEGREES = 1.5
PIXEL_SIZE = 0.6
LEVELS = ["2", "4", "8", "16", "32", "64"]
TILE = ["-co", "TILED=YES", "-co", "BLOCKXSIZE=512", "-co", "BLOCKYSIZE=512"]


# --- frames ---


def build_frame(layout, size, folder, seed=1):
    """A ``size``-pixel square frame made from the sample of ``layout``; returns its path."""
    sample = gdal.Open(str(DATA / SAMPLES[layout]))
    pixels = sample.ReadAsArray()
    pixels = pixels[None] if pixels.ndim == 2 else pixels
    row = np.concatenate([pixels, pixels[:, :, ::-1]], axis=2)
    block = np.concatenate([row, row[:, ::-1, :]], axis=1)
    reps = (1, size // block.shape[1] + 1, size // block.shape[2] + 1)
    frame = np.tile(block, reps)[:, :size, :size].astype(np.int16)
    noise = np.random.default_rng(seed).normal(0, 3, frame.shape[1:]).astype(np.int16)
    frame = np.clip(frame + noise, 1, 255).astype(np.uint8)
    path = folder / f"frame_{layout}_{size}.tif"
    options = ["TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=IF_SAFER"]
    out = gdal.GetDriverByName("GTiff").Create(
        str(path), size, size, len(frame), gdal.GDT_Byte, options
    )
    angle = math.radians(ROTATION_DEGREES)
    cos, sin = PIXEL_SIZE * math.cos(angle), PIXEL_SIZE * math.sin(angle)
    out.SetGeoTransform((519000.0, cos, sin, 4312000.0, sin, -cos))
    out.SetProjection(sample.GetProjection())
    for index, band in enumerate(frame, start=1):
        out.GetRasterBand(index).WriteArray(band)
    if len(frame) == 3:
        for index, colour in enumerate((gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand)):
            out.GetRasterBand(index + 1).SetColorInterpretation(colour)
    out = None
    return path


def warped_copy(frame, folder):
    """The frame warped as ``make_cog`` warps it, uncompressed, the collar as an internal mask
    (and black under it: DEFLATE's source, without the edge blocks ``make_cog`` fills for JPEG)."""
    from ls4.ls4_plugin.core import cog, strips

    source, _ = cog.cog_source(frame, compression="DEFLATE")
    path = folder / f"{frame.stem}_warped.tif"
    gdal.SetConfigOption("GDAL_TIFF_INTERNAL_MASK", "YES")
    with strips.memory_names():  # the source is a VRT over the in-memory warp (MEM:::)
        gdal.Translate(str(path), source, format="GTiff", creationOptions=["TILED=YES"])
    return path


# --- running one contender ----------------------------------------------------------------------


def run(command, cwd=REPO):
    """Run ``command``: (wall s, CPU s, peak RSS MB, its standard output).

    The peak RSS comes from ``/usr/bin/time``: a child forked straight from this process would
    report this process's own RSS at the fork (Linux keeps it across ``exec``)."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        timed = ["/usr/bin/time", "-f", "%M", "-o", rss.name, *command]
        start = time.perf_counter()
        process = subprocess.Popen(
            timed, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        output = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        process.stdout.close()
        if process.returncode:
            raise RuntimeError(f"{command[:3]}... failed ({process.returncode})")
        peak = int(rss.read().split()[-1]) / 1024
    return wall, usage.ru_utime + usage.ru_stime, peak, output


def run_all(commands, cwd=REPO):
    """Commands one after the other: summed wall and CPU, the largest RSS."""
    results = [run(command, cwd) for command in commands]
    wall = sum(r[0] for r in results)
    return wall, sum(r[1] for r in results), max(r[2] for r in results), results[-1][3]


CHILD = (
    "import json, resource, sys, time\n"
    "import tools\n"
    "from ls4.ls4_plugin.core import cog\n"
    "def cpu():\n"
    "    usage = resource.getrusage(resource.RUSAGE_SELF)\n"
    "    return usage.ru_utime + usage.ru_stime\n"
    "start, before = time.perf_counter(), cpu()\n"
    "limit = {'memory_limit': int(sys.argv[3])} if len(sys.argv) > 3 else {}\n"
    "cog.make_cog(sys.argv[1], sys.argv[2], **limit)\n"
    "print(json.dumps({'wall': time.perf_counter() - start, 'cpu': cpu() - before}))\n"
)


def timed_child(script_args, cwd=REPO):
    """A Python child that times its own call (no interpreter start-up): wall, CPU, RSS."""
    _, _, rss, output = run([PYTHON, "-c", *script_args], cwd)
    timing = json.loads(output.strip().splitlines()[-1])
    return timing["wall"], timing["cpu"], rss, timing


def ls4_cog(frame, out, checkout=REPO, memory_limit=None):
    limit = [] if memory_limit is None else [str(memory_limit)]
    return timed_child([CHILD, str(frame), str(out), *limit], checkout)


def ls4_phases(frame, out):
    script = (
        "import json, sys, tools\n"
        "from benchmarks.bench_makecog import timed_make_cog\n"
        "print(json.dumps(timed_make_cog(sys.argv[1], sys.argv[2])))\n"
    )
    return timed_child([script, str(frame), str(out)])[3]


def piece(name, frame, out, layout):
    script = (
        "import json, sys, tools\n"
        "from benchmarks import bench_makecog as b\n"
        f"print(json.dumps(b.{name}_piece(*sys.argv[1:])))\n"
    )
    return timed_child([script, str(frame), str(out), layout])


# --- the contenders ------------------------------------------------------------------------------


def old_chain(frame, folder, layout, with_ot=True):
    """The old Lambda chain, command by command."""
    warped, compressed = folder / "r.tif", folder / "c.tif"
    out = folder / ("old.tif" if with_ot else "old_no_ot.tif")
    for path in (warped, compressed, Path(f"{compressed}.ovr"), out):
        path.unlink(missing_ok=True)
    last = ["gdal_translate", "-q"]
    if layout == "bw":
        last += ["-ot", "Byte", "-a_nodata", "256"] if with_ot else []
        last += [*TILE, "-co", "COMPRESS=DEFLATE", "-co", "PREDICTOR=2"]
        last += ["-co", "NUM_THREADS=ALL_CPUS"]
    else:
        last += [*TILE, "-co", "COMPRESS=JPEG", "-co", "JPEG_QUALITY=85"]
        last += ["-co", "PHOTOMETRIC=YCBCR"]
    last += ["-co", "COPY_SRC_OVERVIEWS=YES", "--config", "GDAL_TIFF_OVR_BLOCKSIZE", "512"]
    commands = [
        ["gdalwarp", "-q", "-t_srs", "EPSG:3857", str(frame), str(warped)],
        ["gdal_translate", "-q", *TILE, "-co", "COMPRESS=DEFLATE", "-co", "PREDICTOR=2"]
        + ["-co", "NUM_THREADS=ALL_CPUS", str(warped), str(compressed)],
        ["gdaladdo", "-q", "-r", "average", "-ro", str(compressed), *LEVELS],
        last + [str(compressed), str(out)],
    ]
    return (*run_all(commands)[:3], out)


def _co(layout):
    from ls4.ls4_plugin.core import cog

    options = cog.creation_options(cog.DEFAULT_COMPRESSION[layout])
    return [item for option in options for item in ("-co", option)]


def gdalwarp_cog(frame, folder, layout):
    out = folder / "gdalwarp_cog.tif"
    out.unlink(missing_ok=True)
    command = ["gdalwarp", "-q", "-of", "COG", "-multi", "-wo", "NUM_THREADS=ALL_CPUS"]
    command += ["-t_srs", "EPSG:3857", "-r", "near", *_co(layout), str(frame), str(out)]
    return (*run(command)[:3], out)


def rio_venv():
    """rio-cogeo in a venv of its own under the cache folder (made on first use)."""
    venv = CACHE / "rio-venv"
    rio = venv / "bin" / "rio"
    if not rio.exists():
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "pip"), "install", "-q", "rio-cogeo"]
        subprocess.run(pip, check=True)
    return rio


def rio_cogeo(frame, folder, layout):
    vrt, out = folder / "rio.vrt", folder / "rio.tif"
    out.unlink(missing_ok=True)
    vrt.unlink(missing_ok=True)
    profile = {"bw": ["deflate", "--co", "PREDICTOR=2"], "nc": ["jpeg", "--co", "QUALITY=85"]}
    bands = {"bw": "1", "nc": "1,2,3"}[layout]
    commands = [
        ["gdalwarp", "-q", "-of", "VRT", "-dstalpha", "-t_srs", "EPSG:3857", str(frame), str(vrt)],
        [str(rio_venv()), "cogeo", "create", "-q", "--cog-profile", profile[layout][0]]
        + profile[layout][1:]
        + ["--bidx", bands, "--add-mask", "--blocksize", "512", "--overview-resampling"]
        + ["average", "--threads", "ALL_CPUS", str(vrt), str(out)],
    ]
    return (*run_all(commands)[:3], out)


def floor_cog(warped, folder, layout):
    out = folder / "floor.tif"
    out.unlink(missing_ok=True)
    command = ["gdal_translate", "-q", "-of", "COG", *_co(layout), str(warped), str(out)]
    return (*run(command)[:3], out)


# --- the pieces of the bound (run in a child: ``*_piece`` returns its own timing) ----------------


def _clock():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), usage.ru_utime + usage.ru_stime


def _since(clock):
    now = _clock()
    return {"wall": now[0] - clock[0], "cpu": now[1] - clock[1]}


def decode_piece(frame, _out, _layout):
    """Every pixel of the input read, windows of 512 rows, its tiles decoded on all cores."""
    dataset = gdal.OpenEx(frame, gdal.OF_RASTER, open_options=["NUM_THREADS=ALL_CPUS"])
    clock = _clock()
    for top in range(0, dataset.RasterYSize, 512):
        rows = min(512, dataset.RasterYSize - top)
        dataset.ReadRaster(0, top, dataset.RasterXSize, rows)
    return _since(clock)


def warp_piece(frame, _out, _layout):
    """gdalwarp's warp alone (as ``make_cog`` asks for it): the decoded input, memory to memory."""
    source = gdal.Translate("", frame, format="MEM")
    clock = _clock()
    gdal.Warp(
        "",
        source,
        format="MEM",
        dstSRS="EPSG:3857",
        dstAlpha=True,
        resampleAlg="near",
        multithread=True,
        warpOptions=["NUM_THREADS=ALL_CPUS"],
    )
    return _since(clock)


def encode_piece(cog_path, out, layout):
    """The COG driver encoding every level of ``cog_path`` (decoded beforehand, in memory) with
    ls4's options on all cores: encode and write only."""
    from ls4.ls4_plugin.core import cog, strips

    dataset = gdal.Open(cog_path)
    band = dataset.GetRasterBand(1)
    levels = [_with_validity(dataset, band, None)]
    levels += [_with_validity(dataset, band, i) for i in range(band.GetOverviewCount())]
    tree = ElementTree.fromstring(level_vrt(levels[0]))
    names = [level_vrt(level) for level in levels[1:]]
    for index, vrt_band in enumerate(tree.findall("VRTRasterBand"), start=1):
        for name in names:
            strips._source(vrt_band, "Overview", name, index)
    for name in names:
        strips._source(tree.find("MaskBand/VRTRasterBand"), "Overview", name, "mask,1")
    source = strips._open_memory(ElementTree.tostring(tree, encoding="unicode"))
    source.SetGeoTransform(dataset.GetGeoTransform())
    source.SetProjection(dataset.GetProjection())
    options = cog.creation_options(cog.DEFAULT_COMPRESSION[layout])
    clock = _clock()
    with strips.memory_names():
        gdal.Translate(out, source, format="COG", creationOptions=options)
    return _since(clock)


def level_vrt(level):
    from ls4.ls4_plugin.core import strips

    """A VRT (as XML text, which GDAL opens as a file name) of an overview level held in memory:
    its bands, and its validity (0 or 1) as a 0-or-255 mask."""
    count, height, width = level.shape
    name = strips.memory_name(level)
    root = ElementTree.Element("VRTDataset", rasterXSize=str(width), rasterYSize=str(height))
    blocks = {"blockXSize": "512", "blockYSize": "512"}
    for index in range(1, count):
        band = ElementTree.SubElement(root, "VRTRasterBand", dataType="Byte", band=str(index))
        band.attrib.update(blocks)
        strips._source(band, "SimpleSource", name, index)
    mask = ElementTree.SubElement(root, "MaskBand")
    band = ElementTree.SubElement(mask, "VRTRasterBand", dataType="Byte", **blocks)
    source = strips._source(band, "ComplexSource", name, count)
    ElementTree.SubElement(source, "ScaleRatio").text = "255"
    return ElementTree.tostring(root, encoding="unicode")


def _with_validity(dataset, band, level):
    bands = [dataset.GetRasterBand(i) for i in range(1, dataset.RasterCount + 1)]
    if level is not None:
        bands = [b.GetOverview(level) for b in bands]
    mask = band.GetMaskBand() if level is None else band.GetMaskBand().GetOverview(level)
    pixels = np.stack([b.ReadAsArray() for b in bands] + [(mask.ReadAsArray() > 0)])
    return np.ascontiguousarray(pixels.astype(np.uint8))


def timed_make_cog(src, dst):
    """Run ``make_cog`` and time it, with its phases told by its progress."""
    from ls4.ls4_plugin.core import cog
    from ls4.ls4_plugin.core.feedback import Feedback

    class Clock(Feedback):
        marks = []

        def setProgress(self, percent):
            self.marks.append((time.perf_counter(), percent))

    clock = Clock()
    start = _clock()
    cog.make_cog(src, dst, feedback=clock)
    timing = _since(start)
    end = time.perf_counter()
    timing["phases"] = _phases(start[0], clock.marks, end)
    return timing


def _phases(start, marks, end):
    """Seconds per phase, from where ``make_cog``'s progress crosses each phase's end: the strips
    report 0 to ``strips.WARP_SHARE`` % as they are warped (their overviews and tiles follow on
    the second thread), then the tail: the last strips' overviews and tiles, the COG driver's
    sparse headers and the appended tiles."""
    from ls4.ls4_plugin.core.strips import WARP_SHARE

    bounds = [WARP_SHARE, 100]
    names = ["strips warped (overviews, encoding beside)", "tail: last strips, headers, tiles"]
    first = marks[0][0] if marks else end
    phases, last = {"checks + set-up": first - start}, first
    for name, bound in zip(names, bounds, strict=True):
        when = next((t for t, percent in marks if percent >= bound - 1e-6), last)
        phases[name] = when - last
        last = when
    phases["validation"] = end - last
    return phases


# --- a frame ------------------------------------------------------------------------------------


def before_checkout(rev):
    """A detached worktree of ``rev`` in the cache folder (made once per commit)."""
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", rev], check=True, capture_output=True, text=True
    ).stdout.strip()
    path = CACHE / f"before-{commit[:10]}"
    if not path.exists():
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), commit],
            check=True,
            capture_output=True,
        )
    return path


def bench_frame(layout, size, runs, folder, contenders, before=None):
    frame = build_frame(layout, size, folder)
    warped = warped_copy(frame, folder) if "floor" in contenders else None
    load = os.getloadavg()
    rows = {name: [] for name in contenders}
    phases = []
    ls4_out = folder / "ls4.tif"
    ls4_cog(frame, ls4_out)  # the input in the page cache, and ls4's output for ``encode``
    for _ in range(runs):
        for name in contenders:
            wall, cpu, rss, out = contender(name, frame, folder, layout, warped, ls4_out, before)
            rows[name].append((wall, cpu, rss, out.stat().st_size if out else 0))
        phases.append(ls4_phases(frame, folder / "phases.tif")["phases"])
    result = summarize(rows, phases, contenders)
    result.update(layout=layout, size=size, load=[round(v, 1) for v in load])
    result["load_after"] = [round(v, 1) for v in os.getloadavg()]
    return result


def contender(name, frame, folder, layout, warped, ls4_out, before):
    if name == "ls4":
        return (*ls4_cog(frame, ls4_out)[:3], ls4_out)
    if name == "streamed":
        out = folder / "streamed.tif"
        return (*ls4_cog(frame, out, memory_limit=STREAMED_LIMIT)[:3], out)
    if name == "before":
        out = folder / "before.tif"
        return (*ls4_cog(frame, out, before)[:3], out)
    if name == "old":
        return old_chain(frame, folder, layout)
    if name == "gdalwarp_cog":
        return gdalwarp_cog(frame, folder, layout)
    if name == "rio":
        return rio_cogeo(frame, folder, layout)
    if name == "floor":
        return floor_cog(warped, folder, layout)
    if name == "encode":
        out = folder / "encode.tif"
        out.unlink(missing_ok=True)
        return (*piece("encode", ls4_out, out, layout)[:3], out)
    return (*piece(name, frame, folder / f"{name}.tif", layout)[:3], None)


def summarize(rows, phases, contenders):
    median = statistics.median
    result = {"contenders": {}}
    for name in contenders:
        values = rows[name]
        result["contenders"][name] = {
            "wall": median(v[0] for v in values),
            "cpu": median(v[1] for v in values),
            "rss": max(v[2] for v in values),
            "bytes": values[-1][3],
        }
    ls4 = rows["ls4"]
    ratios = {}
    for name in contenders:
        if name != "ls4":
            pairs = zip(ls4, rows[name], strict=True)
            ratios[f"{name}/ls4"] = median(o[0] / m[0] for m, o in pairs)
    if "decode" in rows and "encode" in rows:
        bound = [d[0] + e[0] for d, e in zip(rows["decode"], rows["encode"], strict=True)]
        bound_cpu = [d[1] + e[1] for d, e in zip(rows["decode"], rows["encode"], strict=True)]
        ratios["ls4/bound"] = median(m[0] / b for m, b in zip(ls4, bound, strict=True))
        ratios["ls4/bound cpu"] = median(m[1] / b for m, b in zip(ls4, bound_cpu, strict=True))
        result["bound"] = {"wall": median(bound), "cpu": median(bound_cpu)}
    if "floor" in rows:
        ratios["ls4/floor"] = median(m[0] / f[0] for m, f in zip(ls4, rows["floor"], strict=True))
    result["ratios"] = ratios
    result["phases"] = {key: median(p.get(key, 0.0) for p in phases) for key in phases[0]}
    return result


def table(results):
    lines = []
    for r in results:
        lines.append(
            f"**{r['layout']} {r['size']}²** (load {r['load']} at the start, {r['load_after']} "
            "at the end)"
        )
        lines.append("")
        lines.append("| contender | wall s | CPU s | peak RSS MB | output MB | wall / ls4 |")
        lines.append("|---|---|---|---|---|---|")
        for name, c in r["contenders"].items():
            ratio = "1" if name == "ls4" else f"{r['ratios'].get(f'{name}/ls4', 0):.2f}×"
            size = f"{c['bytes'] / 1e6:.2f}" if c["bytes"] else ""
            lines.append(
                f"| {name} | {c['wall']:.2f} | {c['cpu']:.2f} | {c['rss']:.0f} | {size} | {ratio} |"
            )
        if "bound" in r:
            lines.append(
                f"| bound = decode + encode | {r['bound']['wall']:.2f} | {r['bound']['cpu']:.2f} "
                "| | | |"
            )
        lines.append("")
        keys = [k for k in ("ls4/bound", "ls4/bound cpu", "ls4/floor") if k in r["ratios"]]
        lines.append(", ".join(f"{k} {r['ratios'][k]:.2f}×" for k in keys))
        lines.append("ls4 phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in r["phases"].items()))
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="6000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--layouts", default="bw,nc")
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--before", help="also time make_cog of this git revision ('before')")
    parser.add_argument("--keep", help="build and keep the frames in this folder")
    args = parser.parse_args(argv)
    gdal.UseExceptions()
    contenders = args.contenders.split(",")
    if "ls4" not in contenders:
        contenders.insert(0, "ls4")
    before = None
    if args.before:
        before = before_checkout(args.before)
        contenders.insert(1, "before")
    folder = Path(args.keep or tempfile.mkdtemp(prefix="ls4-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for size in (int(value) for value in args.sizes.split(",")):
            for layout in args.layouts.split(","):
                results.append(bench_frame(layout, size, args.runs, folder, contenders, before))
                print(table(results[-1:]), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"GDAL {gdal.__version__}, {os.cpu_count()} CPUs")
    print(table(results))
    print(json.dumps(results, indent=1, default=str), file=sys.stderr)


if __name__ == "__main__":
    import tools  # noqa: F401  (the repository as the package ``ls4``)

    main()
