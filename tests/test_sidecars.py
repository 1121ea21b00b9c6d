"""Frames georeferenced by sidecar files publish, and their public georef/ object is
self-contained: opened from S3 by GDAL alone, it has the georeferencing (issue 13 finding 8)."""

from contextlib import contextmanager
from pathlib import Path

import pytest
from osgeo import gdal
from publish_support import fresh, index_rows, target

from ls4.ls4_plugin.core import keys, publish
from tools import sample_collection

pytestmark = pytest.mark.stack


def strip_georeferencing(frame, out_dir, kind):
    """``frame`` as a GeoTIFF without georeferencing tags, and that georeferencing in sidecars:
    ``world+prj`` (a .tfw and an ESRI .prj) or ``aux.xml`` (GDAL's PAM file)."""
    out = Path(out_dir) / frame.name
    source = gdal.Open(str(frame))
    transform, srs = source.GetGeoTransform(), source.GetSpatialRef()
    gdal.Translate(str(out), source, creationOptions=["PROFILE=BASELINE", "TFW=YES"])
    aux = Path(f"{out}.aux.xml")
    if kind == "world+prj":
        aux.unlink(missing_ok=True)
        esri = srs.Clone()
        esri.MorphToESRI()
        out.with_suffix(".prj").write_text(esri.ExportToWkt())
    else:
        out.with_suffix(".tfw").unlink()
        assert aux.exists()  # BASELINE puts the geotransform and the CRS there
    return out, transform, srs


def vsis3_options(stack):
    s3 = stack["s3"]
    return {
        "AWS_S3_ENDPOINT": s3["endpoint_url"].split("://")[1],
        "AWS_HTTPS": "NO",
        "AWS_VIRTUAL_HOSTING": "FALSE",
        "AWS_ACCESS_KEY_ID": s3["access_key"],
        "AWS_SECRET_ACCESS_KEY": s3["secret_key"],
        "GDAL_PAM_ENABLED": "NO",
    }


@contextmanager
def config_options(options):
    """GDAL configuration options for this thread, for the block (GDAL 3.6 has no helper)."""
    for key, value in options.items():
        gdal.SetThreadLocalConfigOption(key, value)
    try:
        yield
    finally:
        for key in options:
            gdal.SetThreadLocalConfigOption(key, None)


@pytest.mark.parametrize("kind", ["world+prj", "aux.xml"])
def test_a_frame_georeferenced_by_sidecars_publishes_a_self_contained_georef_object(
    stack, tmp_path, kind
):
    (frame,) = sample_collection.cut_frames("bw", tmp_path, count=2)[:1]
    folder = tmp_path / "sidecars"
    folder.mkdir()
    source, transform, srs = strip_georeferencing(frame, folder, kind)
    before = sorted(path.name for path in folder.iterdir())
    year = {"world+prj": "1977", "aux.xml": "1978"}[kind]
    baca = fresh(
        stack, keys.Collection(band="bw", type="frames", agency="USGS", county="Baca", year=year)
    )
    result = publish.publish_collection(target(stack), baca, [source])
    assert [(f.status, f.message) for f in result.frames] == [("published", "published")]
    assert len(index_rows(stack, baca.table)) == 1
    assert sorted(path.name for path in folder.iterdir()) == before  # the input is left alone

    with config_options(vsis3_options(stack)):
        georef = gdal.Open(f"/vsis3/{stack['s3']['bucket']}/{baca.key('georef', source.name)}")
        assert georef.GetFileList() == [georef.GetDescription()]  # nothing read beside it
        assert georef.GetGeoTransform() == pytest.approx(transform)
        assert georef.GetSpatialRef().IsSame(srs)
        assert (
            georef.GetRasterBand(1).Checksum() == gdal.Open(str(frame)).GetRasterBand(1).Checksum()
        )
        georef = None
