"""The sample collection of the demo and the tests, built from ../shared/data at run time.

bw: the raw scan georeferenced with its .points file, plus frames cut with overlap from the
georeferenced grayscale aerial. nc: frames cut with overlap from the colour aerial. Names follow
the collection grammar (``<mm-dd-yy>_<roll>-<frame>.tif``).
"""

import os
from pathlib import Path

from osgeo import gdal

from ls4.ls4_plugin.core import georef

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("LS4_SAMPLE_DATA", REPO.parent / "shared" / "data"))
DATE, ROLL = "04-15-14", "1"
SOURCES = {"bw": "hro_colorado_gray.tif", "nc": "hro_colorado_rgb.tif"}


SCAN = "hro_colorado_gray_scan.tif"


def missing_samples():
    """The sample files the demo and the sample collection need that are not in DATA."""
    needed = [*SOURCES.values(), SCAN, SCAN + ".points"]
    return [name for name in needed if not (DATA / name).is_file()]


def frame_name(number):
    return f"{DATE}_{ROLL}-{number:03d}.tif"


def cut_frames(band, out_dir, count=4, overlap=0.25, source_name=None):
    """``count`` frames (a row of windows, each overlapping the next) cut from a sample image.

    By default the sample aerial of the band layout; ``source_name`` picks another sample file
    (``landsat_rgb_utm18n.tif`` has a wide NoData collar).
    """
    source = gdal.Open(str(DATA / (source_name or SOURCES[band])))
    width, height = source.RasterXSize, source.RasterYSize
    frame_width = int(width / (count - (count - 1) * overlap))
    step = int(frame_width * (1 - overlap))
    paths = []
    for number in range(count):
        x = min(number * step, width - frame_width)
        path = Path(out_dir) / frame_name(number + 2)
        gdal.Translate(str(path), source, srcWin=[x, 0, frame_width, height])
        paths.append(path)
    return paths


def georeferenced_scan(out_dir, number=1):
    """The raw scan georeferenced with its GCP file, named as frame ``number``."""
    path = Path(out_dir) / frame_name(number)
    scan = DATA / "hro_colorado_gray_scan.tif"
    georef.georeference(str(scan), str(scan) + ".points", str(path))
    return path


def build(band, out_dir, count=4):
    """The sample collection's frames: for bw the georeferenced scan first, then cut frames."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    frames = [georeferenced_scan(out_dir)] if band == "bw" else []
    return frames + cut_frames(band, out_dir, count)


def grid_frames(out_dir, rows=10, columns=10, size=600, resolution=1.0, origin=None):
    """``rows`` x ``columns`` adjacent EPSG:3857 frames of ``size`` pixels at ``resolution`` m,
    each a different window of the grayscale sample stretched over its cell (a large collection
    made cheaply: the benchmarks' and the overview tests' 100 frames)."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    source = gdal.Open(str(DATA / SOURCES["bw"]))
    width, height = source.RasterXSize, source.RasterYSize
    x0, y0 = origin or (-11663600.0, 4715100.0)  # Denver, where the sample was flown
    cell = size * resolution
    paths = []
    for number in range(rows * columns):
        row, column = divmod(number, columns)
        window = [(column * 23) % (width - 160), (row * 17) % (height - 120), 160, 120]
        left, top = x0 + column * cell, y0 - row * cell
        bounds = [left, top, left + cell, top - cell]  # ulx, uly, lrx, lry
        path = Path(out_dir) / frame_name(number + 1)
        gdal.Translate(
            str(path),
            source,
            srcWin=window,
            width=size,
            height=size,
            outputBounds=bounds,
            outputSRS="EPSG:3857",
            resampleAlg="bilinear",
        )
        paths.append(path)
    return paths
