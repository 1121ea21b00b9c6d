"""The single-step publishing algorithms as a model chains them: upload, index, mapfile, policy."""

import contextlib
import json
from pathlib import Path

import pytest
from publish_support import anonymous_status, fresh, index_rows, target
from qgis.core import QgsProcessingException

from ls4.ls4_plugin.core import cog, keys, storage
from tools import qgis_env, sample_collection

FIELDS = {"COUNTY": "Pueblo", "AGENCY": "USGS", "YEAR": "1975", "TYPE": 0, "BAND_LAYOUT": 1}
PUEBLO = keys.Collection(band="bw", type="frames", agency="USGS", county="Pueblo", year="1975")


@pytest.fixture(scope="module")
def cogs(stack, qgis_app, tmp_path_factory):
    """Two bw COGs named by the grammar, the collection emptied of earlier runs."""
    qgis_env.configure(stack)
    fresh(stack, PUEBLO)
    frames = sample_collection.cut_frames("bw", tmp_path_factory.mktemp("frames"), count=2)
    out = tmp_path_factory.mktemp("cogs")
    return [cog.make_cog(str(frame), str(out / frame.name)).path for frame in frames]


def test_upload_index_and_mapfile_step_by_step(stack, cogs, run_alg):
    run_alg("uploadtos3", {"INPUT": cogs, "STAGE": 2, **FIELDS})
    first = run_alg("updatetileindex", {"INPUT": cogs, **FIELDS})
    assert (first["INSERTED"], first["UNCHANGED"]) == (2, 0)
    again = run_alg("updatetileindex", {"INPUT": cogs, **FIELDS})
    assert (again["INSERTED"], again["UNCHANGED"]) == (0, 2)
    assert len(index_rows(stack, PUEBLO.table)) == 2

    results = run_alg("writemapfile", {k: v for k, v in FIELDS.items() if k != "BAND_LAYOUT"})
    assert results["MAPFILE_KEY"] == PUEBLO.mapfile_key
    assert results["WMS_URL"] == stack["mapserver"]["wms_url_template"].format(
        collection=PUEBLO.name
    )
    served = storage.get_bytes(target(stack).s3, PUEBLO.mapfile_key).decode()
    assert f'"{PUEBLO.name}_index"' in served


def test_indexing_a_cog_that_is_not_on_s3_is_refused_naming_it(stack, cogs, run_alg, tmp_path):
    stray = tmp_path / "04-15-14_1-099.tif"
    stray.write_bytes(Path(cogs[0]).read_bytes())
    rows_before = index_rows(stack, PUEBLO.table)
    with pytest.raises(QgsProcessingException, match=r"04-15-14_1-099\.tif: not on S3"):
        run_alg("updatetileindex", {"INPUT": [str(stray)], **FIELDS})
    assert index_rows(stack, PUEBLO.table) == rows_before


def test_writemapfile_for_an_empty_collection_writes_nothing(stack, run_alg):
    empty = fresh(
        stack,
        PUEBLO.__class__(band="bw", type="frames", agency="USGS", county="Pueblo", year="1976"),
    )
    fields = {**FIELDS, "YEAR": "1976"}
    fields.pop("BAND_LAYOUT")
    with pytest.raises(QgsProcessingException, match="empty or missing"):
        run_alg("writemapfile", fields)
    assert not storage.exists(target(stack).s3, empty.mapfile_key)


def test_applypublicpolicy_opens_the_public_stages_only(stack, cogs, run_alg):
    config = target(stack).s3
    s3 = storage.client(config)
    with contextlib.suppress(s3.exceptions.ClientError):  # no policy yet on a fresh stack
        s3.delete_bucket_policy(Bucket=config.bucket)
    cog_url = storage.public_url(config, PUEBLO.key("cog", "04-15-14_1-002.tif"))
    assert anonymous_status(cog_url) == 403
    results = run_alg("applypublicpolicy", {})
    assert json.loads(results["POLICY"]) == storage.public_read_policy(config.bucket)
    assert anonymous_status(cog_url) == 200
    assert anonymous_status(storage.public_url(config, PUEBLO.mapfile_key)) == 403
