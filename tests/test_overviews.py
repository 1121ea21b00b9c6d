"""core/overviews.py: the overviews ``make_cog`` computes are GDAL's own AVERAGE, collar aside.

The reference is GDAL's COG driver computing the overviews itself from the same pixels and mask.
"""

import os

import numpy as np
import pytest
from osgeo import gdal
from test_makecog import psnr, read_cog, rotated_frame, write_cog

from ls4.ls4_plugin.core import cog, overviews, strips
from ls4.ls4_plugin.core.errors import Canceled
from ls4.ls4_plugin.core.feedback import Feedback


def masked_image(bands=3, rows=1283, columns=1201, seed=0):
    """Random 8-bit pixels (odd sizes) and a slanted collar, as the warp leaves them: 0 under it."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(1, 256, (bands, rows, columns)).astype(np.uint8)
    y, x = np.mgrid[:rows, :columns]
    valid = ((x + 0.3 * y > 300) & (y - 0.2 * x < 1000)).astype(np.uint8)
    pixels[:, valid == 0] = 0
    return pixels, valid


def gdal_overviews(pixels, valid, path, block=512):
    """The overviews (bands then mask, per level) of GDAL's COG driver for the same pixels."""
    options = [f"BLOCKSIZE={block}", "COMPRESS=DEFLATE", "OVERVIEW_RESAMPLING=AVERAGE"]
    write_cog(pixels, path, options, valid)
    bands = len(pixels)
    dataset = gdal.Open(str(path))
    levels = []
    for level in range(dataset.GetRasterBand(1).GetOverviewCount()):
        image = [band_overview(dataset, index, level) for index in range(1, bands + 1)]
        mask = dataset.GetRasterBand(1).GetMaskBand().GetOverview(level).ReadAsArray()
        levels.append((np.stack(image), mask))
    return levels


def band_overview(dataset, index, level):
    return dataset.GetRasterBand(index).GetOverview(level).ReadAsArray()


def test_levels_are_gdals_average_with_the_collar_left_out(tmp_path):
    pixels, valid = masked_image()
    ours = overviews.pyramid(pixels, valid, threads=2, tile=128)
    theirs = gdal_overviews(pixels, valid, tmp_path / "gdal.tif", block=128)
    assert [level.shape[1:] for level in ours] == [mask.shape for _, mask in theirs]
    assert len(ours) == 4  # 641x600, 320x300, 160x150, then 80x75 fits in a tile of 128
    for level, (image, mask) in zip(ours, theirs, strict=True):
        assert ((level[-1] > 0) == (mask > 0)).all()
        assert_same_values(level[:-1], image, mask > 0)


def assert_same_values(ours, theirs, inside):
    """Equal but for the rounding of a few ties (float32 here, double in GDAL)."""
    difference = np.abs(ours[:, inside].astype(int) - theirs[:, inside])
    assert difference.max() <= 1 and (difference == 0).mean() > 0.995


def assert_same_mask(ours, theirs):
    """The same mask, but for a few pixels on its edge that only a sliver of the image reaches:
    GDAL drops some of those from an overview computed from another overview."""
    extra = (ours > 0) & (theirs == 0)
    assert not ((theirs > 0) & (ours == 0)).any()
    assert extra.sum() <= 0.001 * (theirs > 0).sum()
    grown = np.pad(theirs > 0, 1)
    near = np.zeros_like(extra)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            near |= grown[dy : dy + extra.shape[0], dx : dx + extra.shape[1]]
    assert near[extra].all()


def test_the_collar_never_darkens_the_edge():
    pixels, valid = masked_image(bands=1)
    pixels[:, valid > 0] = 200
    for level in overviews.pyramid(pixels, valid, threads=1, tile=64):
        image, level_valid = level[0], level[1]
        assert level_valid.any() and not level_valid.all()
        assert (image[level_valid > 0] == 200).all()
        assert (image[level_valid == 0] == 0).all()


def test_one_thread_and_many_give_the_same_levels():
    pixels, valid = masked_image(seed=3)
    one = overviews.pyramid(pixels, valid, threads=1, tile=256)
    many = overviews.pyramid(pixels, valid, threads=4, tile=256)
    assert all((a == b).all() for a, b in zip(one, many, strict=True))


def test_fill_changes_only_masked_pixels_of_blocks_on_the_edge():
    pixels, valid = masked_image(seed=5)
    before = pixels.copy()
    overviews.fill_masked_blocks(pixels, valid)
    assert (pixels[:, valid > 0] == before[:, valid > 0]).all()
    rows, columns = valid.shape
    changed = touched = 0
    for top in range(0, rows, 16):
        for left in range(0, columns, 16):
            block = np.s_[top : top + 16, left : left + 16]
            keep = valid[block] > 0
            values = pixels[(slice(None), *block)]
            if keep.all() or not keep.any():
                assert (values == before[(slice(None), *block)]).all()
                continue
            touched += 1
            means = np.round(before[(slice(None), *block)][:, keep].mean(axis=1))
            assert (np.abs(values[:, ~keep] - means[:, None]) <= 1).all()
            changed += int((values[:, ~keep] != 0).any())
    assert touched > 100 and changed == touched


def test_cancel_stops_the_pyramid():
    pixels, valid = masked_image(bands=1)
    feedback = Feedback()
    feedback.cancel()
    with pytest.raises(Canceled):
        overviews.pyramid(pixels, valid, threads=2, tile=128, feedback=feedback)


@pytest.mark.parametrize("compression", ["DEFLATE", "JPEG"])
def test_make_cog_overviews_are_the_cog_drivers(data_dir, tmp_path, compression):
    """The overviews ``make_cog`` writes are those GDAL's COG driver would compute from the same
    warped pixels (with JPEG, to within its loss)."""
    src = rotated_frame(data_dir, tmp_path / "frame.tif", size=1400)
    result = cog.make_cog(src, tmp_path / "ours.tif", compression=compression)
    ours = gdal.Open(result.path)
    warped, _ = cog.cog_source(src)
    with strips.memory_names():  # a VRT over the in-memory warp (MEM:::), as make_cog reads it
        pixels = warped.ReadAsArray()[None]
        valid = (warped.GetRasterBand(1).GetMaskBand().ReadAsArray() > 0).astype(np.uint8)
    pixels[:, valid == 0] = 0
    theirs = gdal_overviews(pixels, valid, tmp_path / "theirs.tif")
    band = ours.GetRasterBand(1)
    assert band.GetOverviewCount() == len(theirs) == 2
    for level, (image, mask) in enumerate(theirs):
        assert_same_mask(band.GetMaskBand().GetOverview(level).ReadAsArray(), mask)
        our_image = band.GetOverview(level).ReadAsArray()
        inside = mask > 0
        if compression == "DEFLATE":
            assert_same_values(our_image[None], image, inside)
        else:
            assert psnr(our_image[inside], image[0][inside]) > 35
    out = read_cog(result.path)
    assert out.gdal_errors == [] and result.validation.valid


def test_filled_edge_blocks_make_a_smaller_jpeg_looking_the_same(data_dir, tmp_path, monkeypatch):
    src = rotated_frame(data_dir, tmp_path / "frame.tif", size=1400)
    filled = cog.make_cog(src, tmp_path / "filled.tif", compression="JPEG")
    monkeypatch.setattr(overviews, "fill_masked_blocks", lambda pixels, valid: None)
    black = cog.make_cog(src, tmp_path / "black.tif", compression="JPEG")
    assert os.path.getsize(filled.path) < 0.995 * os.path.getsize(black.path)
    filled, black = read_cog(filled.path), read_cog(black.path)
    assert (filled.mask == black.mask).all()
    inside = filled.mask > 0
    assert psnr(filled.pixels[inside], black.pixels[inside]) > 40


@pytest.mark.parametrize("shape", [(3, 1300), (1500, 5), (1, 2100), (513, 513), (1025, 700)])
def test_thin_and_odd_shapes_get_gdals_levels(shape, tmp_path):
    rows, columns = shape
    pixels = np.random.default_rng(1).integers(1, 256, (2, rows, columns)).astype(np.uint8)
    valid = np.ones(shape, np.uint8)
    valid[:, : columns // 3] = 0
    pixels[:, valid == 0] = 0
    ours = overviews.pyramid(pixels, valid, threads=2)
    theirs = gdal_overviews(pixels, valid, tmp_path / "gdal.tif")
    assert [level.shape[1:] for level in ours] == [mask.shape for _, mask in theirs]
    for level, (image, mask) in zip(ours, theirs, strict=True):
        assert ((level[-1] > 0) == (mask > 0)).all()
        difference = np.abs(level[:-1][:, mask > 0].astype(int) - image[:, mask > 0])
        assert difference.max(initial=0) <= 1


@pytest.mark.parametrize("shape", [(1283, 1201), (1024, 700), (517, 333)])
def test_levels_strip_by_strip_are_the_levels_of_the_whole(shape):
    """``Halver``s fed strips of rows (as ``make_cog`` warps them), keeping only the rows still
    needed, give the very levels ``pyramid`` computes from the whole image."""
    pixels, valid = masked_image(rows=shape[0], columns=shape[1], seed=7)
    whole = overviews.pyramid(pixels, valid, threads=1, tile=64)
    shapes = overviews.level_shapes(valid.shape, tile=64)
    levels = [np.zeros((4, *level_shape), np.uint8) for level_shape in shapes]
    halvers, above = [], valid.shape
    for level, level_shape in zip(levels, shapes, strict=True):
        halvers.append(overviews.Halver(above, level))
        above = level_shape
    kept = 0
    for top in range(0, shape[0], 97):
        arrived = min(top + 97, shape[0])
        halvers[0].advance(pixels[:, kept:arrived], valid[kept:arrived], kept, arrived)
        for upper, halver in zip(halvers, halvers[1:], strict=False):
            halver.advance(upper.level[:-1], upper.level[-1], 0, upper.done)
        kept = halvers[0].first_needed(arrived)
        assert arrived - kept <= 3
    assert [halver.done for halver in halvers] == [rows for rows, _ in shapes]
    assert all((a == b).all() for a, b in zip(whole, levels, strict=True))
