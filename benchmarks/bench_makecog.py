"""Benchmark: ``cog.make_cog`` against the old four-step chain and the COG driver's floor.

Run on demand (not part of the test suite)::

    .venv/bin/python -m benchmarks.bench_makecog [--size 6000] [--runs 3] [--keep DIR]

It builds realistic frames (a 9-inch frame scanned at 600-1200 dpi is 5,000-11,000 pixels
square) from the sample imagery in a temporary folder: the sample mirrored and tiled to the
size, with sensor-like noise, georeferenced in EPSG:26913 with a 1.5° rotation (so the warp makes
a collar), written as ``ls4:georeference`` writes (tiled, DEFLATE). For each frame (bw and nc) and
each run it times, one after the other:

* ``ls4``: ``make_cog(frame, out)`` in a fresh Python process (the call only, not the start-up);
* ``old``: the old chain, exactly as the Lambda functions ran it (four commands);
* ``floor``: ``gdal_translate -of COG`` with the same options as ``ls4`` on an already-warped
  copy (uncompressed, with the same per-dataset mask): what this GDAL needs without a warp;
* ``GDAL TARGET_SRS``: the COG driver reprojecting by itself (through a full-size temporary
  file), for reference.

Ratios are taken within each run, then the median. For bw the old chain's last step uses
``-ot Byte -a_nodata 256``; it is also run without those two options for the size comparison.
The machine may be shared: the table reports the CPU time too, which other load inflates less.
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

import numpy as np
from osgeo import gdal

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("LS4_SAMPLE_DATA", REPO.parent / "shared" / "data"))
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
    from ls4.ls4_plugin.core import cog

    source, _ = cog.cog_source(frame, compression="DEFLATE")
    path = folder / f"{frame.stem}_warped.tif"
    gdal.SetConfigOption("GDAL_TIFF_INTERNAL_MASK", "YES")
    gdal.Translate(str(path), source, format="GTiff", creationOptions=["TILED=YES"])
    return path


# --- the three ways ---


def old_chain(frame, folder, layout, with_ot=True):
    """The old Lambda chain, command by command; returns the output path."""
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
    for command in commands:
        subprocess.run(command, check=True, stderr=subprocess.DEVNULL)
    return out


def floor_cog(warped, folder, layout):
    from ls4.ls4_plugin.core import cog

    compression = cog.DEFAULT_COMPRESSION[layout]
    out = folder / "floor.tif"
    out.unlink(missing_ok=True)
    options = [item for option in cog.creation_options(compression) for item in ("-co", option)]
    command = ["gdal_translate", "-q", "-of", "COG", *options, str(warped), str(out)]
    subprocess.run(command, check=True)
    return out


def gdal_target_srs(frame, folder, layout):
    """GDAL's COG driver reprojecting by itself (``TARGET_SRS``, via a full-size temporary file)."""
    from ls4.ls4_plugin.core import cog

    out = folder / "gdal_target_srs.tif"
    out.unlink(missing_ok=True)
    options = cog.creation_options(cog.DEFAULT_COMPRESSION[layout])
    options += ["TARGET_SRS=EPSG:3857", "WARP_RESAMPLING=NEAREST"]
    options = [item for option in options for item in ("-co", option)]
    subprocess.run(
        ["gdal_translate", "-q", "-of", "COG", *options, str(frame), str(out)], check=True
    )
    return out


def ls4_cog(frame, folder):
    """``make_cog`` in a fresh process; returns (output, seconds of the call, phase times)."""
    out = folder / "ls4.tif"
    out.unlink(missing_ok=True)
    script = (
        "import json, sys, time, tools\n"
        "from benchmarks.bench_makecog import timed_make_cog\n"
        "print(json.dumps(timed_make_cog(sys.argv[1], sys.argv[2])))\n"
    )
    done = subprocess.run(
        [PYTHON, "-c", script, str(frame), str(out)],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    timing = json.loads(done.stdout.strip().splitlines()[-1])
    return out, timing


def timed_make_cog(src, dst):
    """Run ``make_cog`` and time it, with the COG driver's phases told by its progress."""
    from ls4.ls4_plugin.core import cog
    from ls4.ls4_plugin.core.feedback import Feedback

    class Clock(Feedback):
        marks = []

        def setProgress(self, percent):
            self.marks.append((time.perf_counter(), percent))

    clock = Clock()
    start = time.perf_counter()
    cog.make_cog(src, dst, feedback=clock)
    end = time.perf_counter()
    return {"seconds": end - start, "phases": _phases(start, clock.marks, end)}


def _phases(start, marks, end):
    """Seconds per phase, from where ``make_cog``'s progress crosses each phase's end: the strips
    (warp, overview rows, full-resolution tiles, overlapped) report 0 to ``strips.WARP_SHARE`` %,
    the COG driver (overviews, headers) and the assembly the rest."""
    from ls4.ls4_plugin.core.strips import WARP_SHARE

    bounds = [WARP_SHARE, 100]
    names = ["strips: warp + overviews + encode", "COG driver: overviews + assembly"]
    first = marks[0][0] if marks else end
    phases, last = {"checks + set-up": first - start}, first
    for name, bound in zip(names, bounds, strict=True):
        when = next((t for t, percent in marks if percent >= bound - 1e-6), last)
        phases[name] = when - last
        last = when
    phases["validation"] = end - last
    return phases


# --- measuring ---


def timed(function, *args):
    """(result, wall seconds, CPU seconds of this process and its children)."""
    before = _cpu()
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start, _cpu() - before


def _cpu():
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def overview_count(path):
    dataset = gdal.Open(str(path))
    return dataset.GetRasterBand(1).GetOverviewCount()


def nodata(path):
    dataset = gdal.Open(str(path))
    return dataset.GetRasterBand(1).GetNoDataValue()


def bench_frame(layout, size, runs, folder):
    frame = build_frame(layout, size, folder)
    warped = warped_copy(frame, folder)
    rows = {"ls4": [], "old": [], "floor": [], "target_srs": []}
    phases = []
    for _ in range(runs):
        (out, timing), wall, cpu = timed(ls4_cog, frame, folder)
        rows["ls4"].append((timing["seconds"], cpu, out.stat().st_size))
        phases.append(timing["phases"])
        old, wall, cpu = timed(old_chain, frame, folder, layout)
        rows["old"].append((wall, cpu, old.stat().st_size))
        floor, wall, cpu = timed(floor_cog, warped, folder, layout)
        rows["floor"].append((wall, cpu, floor.stat().st_size))
        native, wall, cpu = timed(gdal_target_srs, frame, folder, layout)
        rows["target_srs"].append((wall, cpu, native.stat().st_size))
    result = summarize(rows, phases)
    result.update(layout=layout, size=size)
    result["old_overviews"] = overview_count(old)
    result["old_nodata"] = nodata(old)
    result["ls4_overviews"] = overview_count(out)
    if layout == "bw":
        no_ot = old_chain(frame, folder, layout, with_ot=False)
        result["old_no_ot_bytes"] = no_ot.stat().st_size
        result["old_no_ot_overviews"] = overview_count(no_ot)
    return result


def summarize(rows, phases):
    median = statistics.median
    result = {}
    for name, values in rows.items():
        result[name] = {
            "wall": median(v[0] for v in values),
            "cpu": median(v[1] for v in values),
            "bytes": values[-1][2],
        }
    ls4, old, floor = rows["ls4"], rows["old"], rows["floor"]
    result["speedup_vs_old"] = median(o[0] / m[0] for m, o in zip(ls4, old, strict=True))
    result["ratio_to_floor"] = median(m[0] / f[0] for m, f in zip(ls4, floor, strict=True))
    result["phases"] = {key: median(p.get(key, 0.0) for p in phases) for key in phases[0]}
    return result


def table(results):
    lines = [
        "| frame | ls4 s (cpu) | old s (cpu) | floor s (cpu) | GDAL TARGET_SRS s (cpu) "
        "| ls4/old speed-up | ls4/floor | ls4 MB | old MB | floor MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        mb = {name: r[name]["bytes"] / 1e6 for name in ("ls4", "old", "floor")}
        lines.append(
            f"| {r['layout']} {r['size']}² | {r['ls4']['wall']:.2f} ({r['ls4']['cpu']:.1f}) "
            f"| {r['old']['wall']:.2f} ({r['old']['cpu']:.1f}) "
            f"| {r['floor']['wall']:.2f} ({r['floor']['cpu']:.1f}) "
            f"| {r['target_srs']['wall']:.2f} ({r['target_srs']['cpu']:.1f}) "
            f"| {r['speedup_vs_old']:.2f}× | {r['ratio_to_floor']:.2f}× "
            f"| {mb['ls4']:.2f} | {mb['old']:.2f} | {mb['floor']:.2f} |"
        )
    lines.append("")
    for r in results:
        phases = ", ".join(f"{k} {v:.2f} s" for k, v in r["phases"].items())
        lines.append(f"- {r['layout']}: ls4 phases: {phases}")
        lines.append(
            f"  old chain output: {r['old_overviews']} overview levels, NoData "
            f"{r['old_nodata']}; ls4: {r['ls4_overviews']} levels"
        )
        if "old_no_ot_bytes" in r:
            lines.append(
                f"  old chain without -ot/-a_nodata: {r['old_no_ot_bytes'] / 1e6:.2f} MB, "
                f"{r['old_no_ot_overviews']} overview levels"
            )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=6000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--layouts", default="bw,nc")
    parser.add_argument("--keep", help="build and keep the frames in this folder")
    args = parser.parse_args(argv)
    gdal.UseExceptions()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="ls4-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        results = [
            bench_frame(layout, args.size, args.runs, folder) for layout in args.layouts.split(",")
        ]
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"GDAL {gdal.__version__}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(table(results))
    print(json.dumps(results, indent=1, default=str), file=sys.stderr)


if __name__ == "__main__":
    import tools  # noqa: F401  (the repository as the package ``ls4``)

    main()
