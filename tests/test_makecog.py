"""ls4:makecog: georeferenced images to EPSG:3857 COGs, checked as a user checks them.

Every check reads the output with GDAL (or runs GDAL's own command-line tools) and compares it
with what GDAL does on its own: GDAL's COG validator, ``gdaltransform`` for where the corners
land, a plain ``gdalwarp`` for the pixels, the source's own outline and NoData for the collar.
"""

import math
import subprocess
import tracemalloc
from dataclasses import dataclass

import numpy as np
import pytest
from osgeo import gdal, osr
from osgeo_utils.samples.validate_cloud_optimized_geotiff import validate as gdal_validate
from qgis.core import QgsProcessingException, QgsProcessingFeedback

from ls4.ls4_plugin.core import cog, georef
from ls4.ls4_plugin.core.errors import Canceled, InputError
from ls4.ls4_plugin.core.feedback import Feedback

SCAN = "hro_colorado_gray_scan.tif"
GEOREFERENCED = [
    "hro_colorado_gray.tif",
    "hro_colorado_rgb.tif",
    "hro_colorado_rgb_nodata.tif",
    "landsat_rgb_utm18n.tif",
]
LAYOUT = {
    "hro_colorado_gray.tif": "bw",
    "hro_colorado_rgb.tif": "nc",
    "hro_colorado_rgb_nodata.tif": "nc",
    "landsat_rgb_utm18n.tif": "nc",
    "scan_gcps.tif": "bw",
}
ALL_INPUTS = [*GEOREFERENCED, "scan_gcps.tif"]


# --- inputs --------------------------------------------------------------------------------------


@pytest.fixture
def out_dir(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


@pytest.fixture
def source(sample, tmp_path):
    """A function: the input file for a name of ``ALL_INPUTS``, copied into a temporary folder."""

    def make(name):
        if name == "scan_gcps.tif":
            return scan_with_gcps(sample, tmp_path)
        return sample(name)

    return make


def scan_with_gcps(sample, tmp_path):
    """The raw scan georeferenced by the GCPs of its .points file only: no geotransform."""
    points = georef.read_points(sample(SCAN + ".points"))
    gcps = [gdal.GCP(g.map_x, g.map_y, 0, g.pixel, g.row) for g in points.gcps]
    target = tmp_path / "scan_gcps.tif"
    gdal.Translate(str(target), str(sample(SCAN)), GCPs=gcps, outputSRS=points.crs_wkt)
    return target


def rotated_frame(data_dir, path, size=1400, degrees=2.0):
    """A frame larger than one tile, made from the gray sample mirrored and tiled, georeferenced
    with a rotated geotransform in EPSG:26913 (as a scan georeferenced with polynomial 1)."""
    sample = gdal.Open(str(data_dir / "hro_colorado_gray.tif"))
    pixels = sample.ReadAsArray()
    sample = None
    tile = np.block([[pixels, pixels[:, ::-1]], [pixels[::-1], pixels[::-1, ::-1]]])
    reps = (size // tile.shape[0] + 1, size // tile.shape[1] + 1)
    frame = np.tile(tile, reps)[:size, :size]
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), size, size, 1, gdal.GDT_Byte)
    angle = math.radians(degrees)
    cos, sin = 0.15 * math.cos(angle), 0.15 * math.sin(angle)
    dataset.SetGeoTransform((519467.5, cos, sin, 4311669.8, sin, -cos))
    dataset.SetProjection("EPSG:26913")
    dataset.GetRasterBand(1).WriteArray(frame)
    dataset = None
    return path


# --- reading results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cog:
    """What a user checks of a COG, read once; no GDAL dataset outlives the read."""

    path: str
    epsg: str
    geotransform: tuple
    width: int
    height: int
    bands: int
    compression: str
    predictor: str
    levels: list
    mask_levels: list
    mask_flags: int
    nodata: object
    pixels: np.ndarray
    mask: np.ndarray
    gdal_errors: list

    @property
    def bounds(self):
        x0, dx, _, y0, _, dy = self.geotransform
        return x0, y0 + dy * self.height, x0 + dx * self.width, y0


def read_cog(path):
    dataset = gdal.Open(str(path))
    band = dataset.GetRasterBand(1)
    mask = band.GetMaskBand()
    structure = dataset.GetMetadata("IMAGE_STRUCTURE")
    _, errors, _ = gdal_validate(dataset, full_check=True)
    result = Cog(
        path=str(path),
        epsg=osr.SpatialReference(wkt=dataset.GetProjection()).GetAuthorityCode(None),
        geotransform=dataset.GetGeoTransform(),
        width=dataset.RasterXSize,
        height=dataset.RasterYSize,
        bands=dataset.RasterCount,
        compression=structure.get("COMPRESSION"),
        predictor=structure.get("PREDICTOR", "1"),
        levels=[(band.XSize, band.YSize)]
        + [
            (band.GetOverview(i).XSize, band.GetOverview(i).YSize)
            for i in range(band.GetOverviewCount())
        ],
        mask_levels=[
            (mask.GetOverview(i).XSize, mask.GetOverview(i).YSize)
            for i in range(mask.GetOverviewCount())
        ],
        mask_flags=band.GetMaskFlags(),
        nodata=band.GetNoDataValue(),
        pixels=dataset.ReadAsArray(),
        mask=mask.ReadAsArray(),
        gdal_errors=errors,
    )
    dataset = None
    return result


def _overview_sizes(band):
    overviews = [band.GetOverview(i) for i in range(band.GetOverviewCount())]
    return [(overview.XSize, overview.YSize) for overview in overviews]


def plain_gdalwarp(src, tmp_path):
    """``gdalwarp -t_srs EPSG:3857`` as a user runs it: its pixels, as an array (bands first)."""
    target = tmp_path / "plain_gdalwarp.tif"
    subprocess.run(["gdalwarp", "-q", "-t_srs", "EPSG:3857", str(src), str(target)], check=True)
    dataset = gdal.Open(str(target))
    pixels, transform = dataset.ReadAsArray(), dataset.GetGeoTransform()
    dataset = None
    return (pixels if pixels.ndim == 3 else pixels[None]), transform


def gdaltransform_corners(src):
    """Where ``gdaltransform -t_srs EPSG:3857`` puts the four corners of the source image."""
    dataset = gdal.Open(str(src))
    width, height = dataset.RasterXSize, dataset.RasterYSize
    dataset = None
    corners = [(0, 0), (width, 0), (0, height), (width, height)]
    text = "".join(f"{x} {y}\n" for x, y in corners)
    done = subprocess.run(
        ["gdaltransform", "-t_srs", "EPSG:3857", str(src)],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    )
    return [tuple(float(v) for v in line.split()[:2]) for line in done.stdout.splitlines()]


def luma(pixels):
    return 0.299 * pixels[0] + 0.587 * pixels[1] + 0.114 * pixels[2]


def write_cog(pixels, path, options, valid=None):
    """``pixels`` (8-bit, bands first) written by GDAL's COG driver with ``options``; ``valid``
    (0 or 1 per pixel) becomes its mask."""
    bands, height, width = pixels.shape
    memory = gdal.GetDriverByName("MEM").Create("", width, height, bands, gdal.GDT_Byte)
    for index in range(bands):
        memory.GetRasterBand(index + 1).WriteArray(pixels[index])
    if valid is not None:
        memory.CreateMaskBand(gdal.GMF_PER_DATASET)
        memory.GetRasterBand(1).GetMaskBand().WriteArray(valid * 255)
    gdal.Translate(str(path), memory, format="COG", creationOptions=options)
    memory = None
    return path


def jpeg_of(pixels, path):
    """``pixels`` (bands first) written by GDAL as make_cog's nc JPEG is written, and read back."""
    write_cog(pixels, path, ["BLOCKSIZE=512", "COMPRESS=JPEG", "QUALITY=85"])
    return gdal.Open(str(path)).ReadAsArray()


def psnr(a, b):
    error = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return math.inf if error == 0 else 10 * math.log10(255**2 / error)


def eroded(valid):
    """``valid`` where all 8 neighbours are valid too (edges count as invalid)."""
    padded = np.pad(valid, 1, constant_values=False)
    result = valid.copy()
    height, width = valid.shape
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            result &= padded[dy : dy + height, dx : dx + width]
    return result


def source_footprint(src, out):
    """For every output pixel: True inside the source's valid pixels, False outside, None on
    the edge (within one pixel of it), computed by transforming each output pixel's centre back
    into the source with GDAL's exact transformer (a source with a geotransform: from the
    output's pixels to the source's is then the same chain of affine, PROJ, affine both ways)."""
    source = gdal.Open(str(src))
    pixels = source.ReadAsArray()
    pixels = pixels if pixels.ndim == 3 else pixels[None]
    nodata = source.GetRasterBand(1).GetNoDataValue()
    valid = (
        (pixels != nodata).any(axis=0) if nodata is not None else np.ones(pixels.shape[1:], bool)
    )
    sure_valid, sure_invalid = eroded(valid), eroded(~valid)
    target = gdal.Open(out.path)
    # The centres as arrays transformed in place by GDAL (TransformGeolocations), not one Python
    # tuple a point: the same transformer, seconds less on a large frame.
    centres = gdal.GetDriverByName("MEM").Create("", out.width, out.height, 3, gdal.GDT_Float64)
    rows, cols = np.mgrid[0 : out.height, 0 : out.width]
    centres.GetRasterBand(1).WriteArray(cols + 0.5)
    centres.GetRasterBand(2).WriteArray(rows + 0.5)
    transformer = gdal.Transformer(target, source, [])  # output pixel -> source pixel
    bands = [centres.GetRasterBand(number) for number in (1, 2, 3)]
    assert transformer.TransformGeolocations(*bands) == 0
    back_x, back_y = (band.ReadAsArray().ravel() for band in bands[:2])
    bands = centres = None
    x, y = np.floor(back_x).astype(int), np.floor(back_y).astype(int)
    height, width = valid.shape
    inside = (x >= 1) & (y >= 1) & (x < width - 1) & (y < height - 1)
    outside = (x < -1) | (y < -1) | (x > width) | (y > height)
    xc, yc = np.clip(x, 0, width - 1), np.clip(y, 0, height - 1)
    expect = np.full(x.shape, None, dtype=object)
    expect[inside & sure_valid[yc, xc]] = True
    expect[outside | (inside & sure_invalid[yc, xc])] = False
    source = target = None
    return expect.reshape(out.height, out.width)


def run_makecog(run_alg, src, out_dir, **params):
    results = run_alg("makecog", {"INPUT": str(src), "OUTPUT": str(out_dir / "cog.tif"), **params})
    return results, read_cog(results["OUTPUT"])


# --- every georeferenced sample, through Processing -----------------------------------------------


@pytest.mark.parametrize("name", ALL_INPUTS)
def test_valid_cog_in_web_mercator(run_alg, source, out_dir, name):
    results, out = run_makecog(run_alg, source(name), out_dir)
    assert out.gdal_errors == []
    assert results["VALID"] is True
    assert run_alg("validatecog", {"INPUT": results["OUTPUT"]})["VALID"] is True
    assert out.epsg == "3857"
    assert out.geotransform[2] == out.geotransform[4] == 0
    assert max(out.levels[-1]) <= 512  # overviews (if any are needed) down to one tile
    assert len(out.mask_levels) == len(out.levels) - 1
    assert out.nodata is None


@pytest.mark.parametrize("name", ALL_INPUTS)
def test_compression_follows_the_band_layout(run_alg, source, out_dir, name):
    _, out = run_makecog(run_alg, source(name), out_dir)
    if LAYOUT[name] == "nc":
        assert (out.bands, out.compression) == (3, "YCbCr JPEG")
    else:
        assert (out.bands, out.compression, out.predictor) == (1, "DEFLATE", "2")


@pytest.mark.parametrize("name", ALL_INPUTS)
def test_corners_land_where_gdaltransform_puts_them(run_alg, source, out_dir, name):
    src = source(name)
    _, out = run_makecog(run_alg, src, out_dir)
    xs, ys = zip(*gdaltransform_corners(src), strict=True)
    minx, miny, maxx, maxy = out.bounds
    pixel = out.geotransform[1]
    assert abs(min(xs) - minx) <= pixel and abs(max(xs) - maxx) <= pixel
    assert abs(min(ys) - miny) <= pixel and abs(max(ys) - maxy) <= pixel


@pytest.mark.parametrize("name", ALL_INPUTS)
def test_pixels_match_a_plain_gdalwarp(run_alg, source, out_dir, tmp_path, name):
    src = source(name)
    _, out = run_makecog(run_alg, src, out_dir)
    reference, transform = plain_gdalwarp(src, tmp_path)
    assert transform == pytest.approx(out.geotransform, rel=1e-12)
    inside = out.mask > 0
    pixels = out.pixels if out.pixels.ndim == 3 else out.pixels[None]
    if LAYOUT[name] == "bw":
        np.testing.assert_array_equal(pixels[0][inside], reference[0][inside])
    else:
        # JPEG in YCbCr keeps the luminance; colour is subsampled 2x2 by design, so 35 dB holds
        # for the luminance, and in RGB the loss is no more than GDAL's own JPEG of the reference
        assert psnr(luma(pixels)[inside], luma(reference)[inside]) >= 35
        gdal_jpeg = jpeg_of(reference, tmp_path / "reference_jpeg.tif")
        inherent = psnr(gdal_jpeg[:, inside], reference[:, inside])
        assert psnr(pixels[:, inside], reference[:, inside]) >= inherent - 0.5


@pytest.mark.parametrize("name", ["landsat_rgb_utm18n.tif", "hro_colorado_rgb_nodata.tif"])
def test_collar_and_nodata_are_masked(run_alg, source, out_dir, name):
    src = source(name)
    _, out = run_makecog(run_alg, src, out_dir)
    expect = source_footprint(src, out)
    outside, inside = expect == False, expect == True  # noqa: E712 (object array)
    assert outside.sum() > 1000 and inside.sum() > 1000
    assert (out.mask[outside] == 0).all()
    assert (out.mask[inside] == 255).all()


def test_lossless_nc_is_identical_to_gdalwarp(run_alg, source, out_dir, tmp_path):
    src = source("landsat_rgb_utm18n.tif")
    _, out = run_makecog(run_alg, src, out_dir, COMPRESSION=1)  # DEFLATE
    reference, _ = plain_gdalwarp(src, tmp_path)
    assert out.compression == "DEFLATE"
    inside = out.mask > 0
    np.testing.assert_array_equal(out.pixels[:, inside], reference[:, inside])


def test_raster_too_large_for_memory_is_warped_as_read(source, out_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(cog, "MEMORY_SHARE", 0)  # as if the warped image did not fit
    src = source("landsat_rgb_utm18n.tif")
    result = cog.make_cog(src, out_dir / "cog.tif", compression="DEFLATE")
    out = read_cog(result.path)
    reference, transform = plain_gdalwarp(src, tmp_path)
    assert result.validation.valid and out.geotransform == pytest.approx(transform, rel=1e-12)
    # a warped VRT rounds GDAL's approximate transform (0.125 pixel) its own way: a few pixels
    # take their neighbour's value
    inside = out.mask > 0
    assert (out.pixels[:, inside] == reference[:, inside]).all(axis=0).mean() > 0.9
    expect = source_footprint(src, out)
    assert (out.mask[expect == True] == 255).all()  # noqa: E712
    assert (out.mask[expect == False] == 0).all()  # noqa: E712


def tall_frame(data_dir, path, rows=6000, columns=800, degrees=2.0):
    """A tall, narrow frame: its warped image is many strips of one tile row high."""
    sample = gdal.Open(str(data_dir / "hro_colorado_gray.tif"))
    pixels = sample.ReadAsArray()
    sample = None
    tile = np.block([[pixels, pixels[:, ::-1]], [pixels[::-1], pixels[::-1, ::-1]]])
    frame = np.tile(tile, (rows // tile.shape[0] + 1, columns // tile.shape[1] + 1))
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), columns, rows, 1, gdal.GDT_Byte)
    angle = math.radians(degrees)
    cos, sin = 0.15 * math.cos(angle), 0.15 * math.sin(angle)
    dataset.SetGeoTransform((519467.5, cos, sin, 4311669.8, sin, -cos))
    dataset.SetProjection("EPSG:26913")
    dataset.GetRasterBand(1).WriteArray(frame[:rows, :columns])
    dataset = None
    return path


def test_memory_limit_below_the_image_is_kept(data_dir, tmp_path, out_dir):
    """A raster larger than the memory allowed: the levels go to a file, NumPy's memory stays
    under the limit (GDAL's own caches aside), the pixels are still gdalwarp's."""
    src = tall_frame(data_dir, tmp_path / "tall.tif")
    reference, transform = plain_gdalwarp(src, tmp_path)
    image = reference[0].size * 2  # the warped band and its alpha
    limit = image // 2
    tracemalloc.start()
    try:
        result = cog.make_cog(src, out_dir / "cog.tif", memory_limit=limit)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.streamed and peak <= limit
    out = read_cog(result.path)
    assert out.gdal_errors == [] and result.validation.valid
    assert out.geotransform == pytest.approx(transform, rel=1e-12)
    inside = out.mask > 0
    np.testing.assert_array_equal(out.pixels[inside], reference[0][inside])
    in_memory = cog.make_cog(src, out_dir / "in_memory.tif")
    assert not in_memory.streamed
    assert (out_dir / "cog.tif").read_bytes() == (out_dir / "in_memory.tif").read_bytes()


# --- larger frames, GCPs, EPSG:3857 input, NoData ------------------------------------------------


def test_large_rotated_frame_has_overviews_down_to_one_tile(data_dir, tmp_path, out_dir):
    src = rotated_frame(data_dir, tmp_path / "frame.tif")
    result = cog.make_cog(src, out_dir / "frame.tif")
    out = read_cog(result.path)
    assert out.gdal_errors == [] and result.validation.valid
    assert [max(level) > 512 for level in out.levels] == [True, True, False]
    assert out.levels[1] == (out.levels[0][0] // 2, out.levels[0][1] // 2)
    assert out.mask_levels == out.levels[1:]
    assert (out.mask[0, 0], out.mask[-1, -1]) == (0, 0)  # the corners are collar
    expect = source_footprint(src, out)
    assert (out.mask[expect == True] == 255).all()  # noqa: E712
    assert (out.mask[expect == False] == 0).all()  # noqa: E712


def test_gcp_only_input_matches_its_geotransform_twin(sample, tmp_path, out_dir):
    gcp_input = scan_with_gcps(sample, tmp_path)
    dataset = gdal.Open(str(gcp_input))
    assert dataset.GetGeoTransform(can_return_null=True) is None and dataset.GetGCPCount() == 6
    dataset = None
    from_gcps = read_cog(cog.make_cog(gcp_input, out_dir / "from_gcps.tif").path)
    twin = read_cog(cog.make_cog(sample("hro_colorado_gray.tif"), out_dir / "twin.tif").path)
    pixel = twin.geotransform[1]
    assert from_gcps.geotransform == pytest.approx(twin.geotransform, abs=pixel / 100)
    assert from_gcps.pixels.shape == twin.pixels.shape
    same = (from_gcps.pixels == twin.pixels) | (from_gcps.mask == 0)
    assert same.mean() > 0.99


def test_input_already_in_web_mercator_is_not_warped(sample, tmp_path, out_dir):
    mercator = tmp_path / "mercator.tif"
    gdal.Warp(str(mercator), str(sample("landsat_rgb_utm18n.tif")), dstSRS="EPSG:3857")
    result = cog.make_cog(mercator, out_dir / "cog.tif", compression="DEFLATE")
    assert result.warped is False
    out = read_cog(result.path)
    source = gdal.Open(str(mercator))
    pixels, transform = source.ReadAsArray(), source.GetGeoTransform()
    source = None
    assert out.geotransform == transform
    np.testing.assert_array_equal(out.pixels, pixels)
    # NoData 0 in all three bands marks the collar; a pixel black in one band only is kept
    np.testing.assert_array_equal(out.mask > 0, (pixels != 0).any(axis=0))


def test_nodata_that_the_first_band_lacks_marks_the_collar_of_all(sample, tmp_path, out_dir):
    """Per-band NoData (a VRT may give it) on bands 2 and 3 only: the collar is the same as with
    NoData on every band (it raised a TypeError, found by mypy: band 1's None was the fill)."""
    mercator = tmp_path / "mercator.tif"
    gdal.Warp(str(mercator), str(sample("landsat_rgb_utm18n.tif")), dstSRS="EPSG:3857")
    partial = tmp_path / "band1_without_nodata.vrt"
    vrt = gdal.Translate(str(partial), str(mercator), format="VRT")
    vrt.GetRasterBand(1).DeleteNoDataValue()
    vrt = None
    result = cog.make_cog(partial, out_dir / "cog.tif", compression="DEFLATE")
    reference = cog.make_cog(mercator, out_dir / "ref.tif", compression="DEFLATE")
    assert result.warped is False and result.validation.valid
    np.testing.assert_array_equal(read_cog(result.path).mask, read_cog(reference.path).mask)


def test_nodata_a_byte_band_cannot_hold_is_reported_and_ignored(sample, out_dir):
    src = sample("hro_colorado_gray.tif")
    dataset = gdal.Open(str(src), gdal.GA_Update)
    dataset.GetRasterBand(1).SetNoDataValue(256)
    dataset = None
    feedback = Feedback()
    result = cog.make_cog(src, out_dir / "cog.tif", feedback=feedback)
    assert any("NoData 256 cannot be stored in a Byte band" in w for w in feedback.warnings)
    assert "NoData 256" in result.nodata_warning
    out = read_cog(result.path)
    assert out.nodata is None and result.validation.valid
    # the collar is the image's outline: no pixel inside is masked (none is 256, nor 255-clamped)
    reference = read_cog(cog.make_cog(sample("hro_colorado_gray.tif"), out_dir / "ref.tif").path)
    np.testing.assert_array_equal(out.mask, reference.mask)


def test_explicit_layout_stretches_sixteen_bit(data_dir, tmp_path, out_dir):
    src = tmp_path / "sixteen.tif"
    gray = str(data_dir / "hro_colorado_gray.tif")
    gdal.Translate(str(src), gray, outputType=gdal.GDT_UInt16, scaleParams=[[0, 255, 1000, 51000]])
    result = cog.make_cog(src, out_dir / "cog.tif", band_layout="bw")
    out = read_cog(result.path)
    assert result.validation.valid and out.pixels.dtype == np.uint8
    inside = out.mask > 0
    assert out.pixels[inside].min() <= 5 and out.pixels[inside].max() >= 250


# --- bad input: a clear message, nothing left in the output folder --------------------------------


def two_band(path, data_dir):
    gdal.Translate(str(path), str(data_dir / "hro_colorado_rgb.tif"), bandList=[1, 2])
    return path


def sixteen_bit(path, data_dir):
    gray = str(data_dir / "hro_colorado_gray.tif")
    gdal.Translate(str(path), gray, outputType=gdal.GDT_UInt16)
    return path


def truncated(path, data_dir):
    data = (data_dir / "hro_colorado_gray.tif").read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def unreferenced(path, data_dir):
    path.write_bytes((data_dir / SCAN).read_bytes())
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (unreferenced, r"scan\.tif: not georeferenced \(no geotransform and no GCPs\)"),
        (two_band, r"two\.tif: 2 bands of Byte: BAND_LAYOUT auto .*set BAND_LAYOUT"),
        (sixteen_bit, r"sixteen\.tif: 1 band of UInt16: BAND_LAYOUT auto .*set BAND_LAYOUT"),
        (truncated, r"cut\.tif: the file is truncated"),
    ],
    ids=["unreferenced", "two-band", "16-bit", "truncated"],
)
def test_bad_input_is_refused_naming_the_file(run_alg, data_dir, tmp_path, out_dir, make, message):
    names = {unreferenced: "scan", two_band: "two", sixteen_bit: "sixteen", truncated: "cut"}
    src = make(tmp_path / f"{names[make]}.tif", data_dir)
    with pytest.raises(QgsProcessingException, match=message):
        run_alg("makecog", {"INPUT": str(src), "OUTPUT": str(out_dir / "cog.tif")})
    assert list(out_dir.iterdir()) == []
    with pytest.raises(InputError, match=message):
        cog.make_cog(src, out_dir / "cog.tif")
    assert list(out_dir.iterdir()) == []


def test_output_folder_that_cannot_be_written(run_alg, source):
    # Tests run as root, whom chmod does not stop: /proc refuses new files even to root.
    with pytest.raises(QgsProcessingException, match=r"^/proc: cannot write in the output folder"):
        run_alg("makecog", {"INPUT": str(source("hro_colorado_gray.tif")), "OUTPUT": "/proc/c.tif"})


class CancelAt(Feedback):
    """Cancels once the progress passes ``percent``: mid-run, with GDAL's temporary files made."""

    def __init__(self, percent):
        super().__init__()
        self.percent = percent
        self.seen = []

    def setProgress(self, percent):
        self.seen.append(percent)
        if percent >= self.percent:
            self.cancel()


@pytest.mark.parametrize("percent", [5, 55, 80])
def test_cancel_mid_run_leaves_nothing(data_dir, tmp_path, out_dir, percent):
    src = rotated_frame(data_dir, tmp_path / "frame.tif")
    feedback = CancelAt(percent)
    with pytest.raises(Canceled):
        cog.make_cog(src, out_dir / "frame.tif", feedback=feedback)
    assert 0 < max(feedback.seen) < 100
    assert list(out_dir.iterdir()) == []


def test_cancel_through_processing_leaves_nothing(run_alg, data_dir, tmp_path, out_dir):
    class Cancel(QgsProcessingFeedback):
        def setProgress(self, progress):
            super().setProgress(progress)
            if progress > 20:
                self.cancel()

    src = rotated_frame(data_dir, tmp_path / "frame.tif")
    with pytest.raises(QgsProcessingException):
        run_alg("makecog", {"INPUT": str(src), "OUTPUT": str(out_dir / "c.tif")}, Cancel())
    assert list(out_dir.iterdir()) == []


def test_every_parameter_has_help(ls4_provider):
    algorithm = ls4_provider.algorithm("makecog")
    for parameter in algorithm.parameterDefinitions():
        assert parameter.help(), parameter.name()
