"""One identity per collection and per frame, and names checked as a batch (issue 13 findings
4-7 and 13), against the real stack: what a user sees in the bucket, the table and the report."""

import dataclasses
import shutil

import pytest
from publish_support import anonymous_status, fresh, index_rows, objects, target

from ls4.ls4_plugin.core import keys, maintenance, publish, storage
from ls4.ls4_plugin.core.errors import InputError
from tools import sample_collection

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def bw(tmp_path_factory):
    return sample_collection.cut_frames("bw", tmp_path_factory.mktemp("bw"), count=2)


@pytest.fixture(scope="module")
def nc(tmp_path_factory):
    return sample_collection.cut_frames("nc", tmp_path_factory.mktemp("nc"), count=2)


USED = []


@pytest.fixture(scope="module", autouse=True)
def leave_no_trace(stack):
    """Other modules' maintenance checks read the whole estate: remove what this one made."""
    yield
    for collection in USED:
        fresh(stack, collection)


def used(collection):
    USED.append(collection)
    return collection


def frames_collection(band, county="Phillips", agency="USGS", year="1971"):
    return used(keys.Collection(band=band, type="frames", agency=agency, county=county, year=year))


def everything_under(stack, *prefixes):
    return {key for prefix in prefixes for key in objects(stack, prefix)}


# --- finding 4: a collection has one band layout ----------------------------------------------


def test_frames_of_the_other_band_layout_are_refused_naming_the_existing_collection(stack, bw, nc):
    black_white, colour = frames_collection("bw"), frames_collection("nc")
    fresh(stack, black_white), fresh(stack, colour)
    publish.publish_collection(target(stack), black_white, bw[:1])
    mapfile_before = storage.get_bytes(target(stack).s3, black_white.mapfile_key)
    with pytest.raises(InputError) as refused:
        publish.publish_collection(target(stack), colour, nc)
    message = str(refused.value)
    assert "phillips_usgs_1971_frames already exists as black and white" in message
    assert "bw/Phillips/USGS_1971/frames/" in message and "one band layout" in message
    assert everything_under(stack, colour.prefix()) == set()  # refused before any upload
    assert len(index_rows(stack, black_white.table)) == 1
    assert storage.get_bytes(target(stack).s3, black_white.mapfile_key) == mapfile_before
    assert b"black and white" in mapfile_before


# --- finding 5: mission codes and the case of names -------------------------------------------


def test_a_mission_code_spelled_otherwise_is_refused_naming_the_one_the_table_holds(stack, bw):
    first = used(keys.Collection(band="bw", type="frames", agency="USDA", mission="AR-1963"))
    second = used(keys.Collection(band="bw", type="frames", agency="USDA", mission="AR1963"))
    assert first.table == second.table == "usda_ar1963_frames"
    fresh(stack, first), fresh(stack, second)
    publish.publish_collection(target(stack), first, bw[:1])
    with pytest.raises(InputError, match="holds mission 'AR-1963'.*write the mission code"):
        publish.publish_collection(target(stack), second, bw[1:])
    assert everything_under(stack, second.prefix()) == set()
    locations = [row["location"] for row in index_rows(stack, first.table)]
    assert locations == [f"/vsis3/ls4/{first.key('cog', bw[0].name)}"]


def test_county_and_agency_typed_in_another_case_land_in_the_one_prefix(stack, bw):
    proper = frames_collection("bw", county="Travis", agency="TxDOT", year="1950")
    typed = frames_collection("bw", county="travis", agency="txdot", year="1950")
    fresh(stack, proper), fresh(stack, typed)
    publish.publish_collection(target(stack), proper, bw[:1])
    result = publish.publish_collection(target(stack), typed, bw)
    assert [frame.status for frame in result.frames] == ["unchanged", "published"]
    assert {frame.cog_key for frame in result.frames} == {proper.key("cog", f.name) for f in bw}
    assert everything_under(stack, "bw/travis/") == set()
    rows = index_rows(stack, proper.table)
    assert sorted(row["location"] for row in rows) == sorted(
        f"/vsis3/ls4/{proper.key('cog', f.name)}" for f in bw
    )


def test_a_new_collection_typed_in_lowercase_is_keyed_by_its_proper_names(stack, bw):
    typed = frames_collection("bw", county="fort bend", agency="txdot", year="1951")
    proper = frames_collection("bw", county="Fort Bend", agency="TxDOT", year="1951")
    fresh(stack, proper), fresh(stack, typed)
    agencies = dataclasses.replace(target(stack), agencies=("TxDOT", "USDA"))
    result = publish.publish_collection(agencies, typed, bw[:1])
    assert result.frames[0].cog_key == f"bw/Fort_Bend/TxDOT_1951/frames/cog/{bw[0].name}"
    assert everything_under(stack, "bw/fort_bend/", "bw/Fort_Bend/TxDOT_1951/") == {
        proper.key(stage, bw[0].name) for stage in ("georef", "cog")
    }


# --- findings 6 and 7: a frame's identity ignores the case of its extension -------------------


def test_x_tif_and_x_TIF_are_one_frame_whose_first_key_stays(stack, bw, tmp_path):
    baca = frames_collection("bw", county="Baca", year="1972")
    fresh(stack, baca)
    publish.publish_collection(target(stack), baca, bw[:1])
    upper = tmp_path / bw[0].name.replace(".tif", ".TIF")
    shutil.copy(bw[0], upper)
    again = publish.publish_collection(target(stack), baca, [upper])
    assert [(f.status, f.cog_key) for f in again.frames] == [
        ("unchanged", baca.key("cog", bw[0].name))
    ]
    shutil.copy(bw[1], upper)  # other pixels under the same frame name: a new version of it
    changed = publish.publish_collection(target(stack), baca, [upper])
    assert [(f.status, f.cog_key) for f in changed.frames] == [
        ("published", baca.key("cog", bw[0].name))
    ]
    assert set(objects(stack, baca.prefix())) == {
        baca.key(stage, bw[0].name) for stage in ("georef", "cog")
    }
    assert len(index_rows(stack, baca.table)) == 1


def test_maintenance_reports_a_frame_stored_under_both_extensions(stack, bw):
    baca = frames_collection("bw", county="Baca", year="1973")
    fresh(stack, baca)
    publish.publish_collection(target(stack), baca, bw[:1])
    first = baca.key("cog", bw[0].name)
    second = first.replace(".tif", ".TIF")
    storage.put_bytes(target(stack).s3, second, storage.get_bytes(target(stack).s3, first))
    report = maintenance.check(target(stack), [baca.name])
    duplicates = [(f.kind, f.subject) for f in report.findings if f.kind == "duplicate_frame"]
    assert duplicates == [("duplicate_frame", second)]


def test_a_scan_stored_as_TIF_is_found_and_linked_by_its_real_key(stack, bw):
    baca = frames_collection("bw", county="Baca", year="1974")
    fresh(stack, baca)
    storage.apply_public_policy(target(stack).s3)
    scan_key = baca.key("scanned", bw[0].name.replace(".tif", ".TIF"))
    storage.upload_file(target(stack).s3, bw[0], scan_key)
    result = publish.publish_collection(target(stack), baca, bw[:1])
    assert result.frames[0].warnings == []
    (row,) = index_rows(stack, baca.table)
    assert row["dl_orig"] == storage.public_url(target(stack).s3, scan_key)
    assert anonymous_status(row["dl_orig"]) == 200


# --- finding 13: every bad name of a batch; the public policy's depth; empty COLLECTIONS ------


def test_every_bad_file_name_of_a_batch_is_listed_before_any_upload(stack, bw, tmp_path):
    baca = frames_collection("bw", county="Baca", year="1975")
    fresh(stack, baca)
    bad = [tmp_path / name for name in ("scan 1.tif", "04-15-14_1-002.png.tif", "frame.tif")]
    for path in bad:
        shutil.copy(bw[0], path)
    with pytest.raises(InputError) as refused:
        publish.publish_collection(target(stack), baca, [bw[0], *bad])
    message = str(refused.value)
    assert message.startswith("3 file names break the naming rules")
    assert all(path.name in message for path in bad)
    assert objects(stack, baca.prefix()) == {}


@pytest.mark.parametrize(
    "key, public",
    [
        ("bw/Baca/USGS_1976/frames/cog/04-15-14_1-002.tif", True),
        ("nc/Baca/USGS_1976/index/scanned/USGS_1976_1.tif", True),
        ("geojson/compiled_historical_indexes.geojson", True),
        ("mapfiles/scanned/x.map", False),
        ("mapfiles/cog/x.map", False),
        ("notes/georef/readme.txt", False),
        ("bw/Baca/cog/x.tif", False),
        ("bw/Baca/USGS_1976/frames/private/x.tif", False),
    ],
)
def test_the_public_policy_matches_the_stages_at_the_layouts_depth_only(stack, key, public):
    config = target(stack).s3
    storage.apply_public_policy(config)
    storage.put_bytes(config, key, b"probe")
    try:
        assert anonymous_status(storage.public_url(config, key)) == (200 if public else 403)
        assert storage.is_public_key(key) is public
    finally:
        storage.delete_keys(config, [key])


def test_a_collections_filter_that_matches_nothing_says_so(stack):
    report = maintenance.check(target(stack), ["no_such_collection_*"])
    assert report.unmatched == ["no_such_collection_*"]
    assert "'no_such_collection_*' matches no table, mapfile or key" in report.summary()
