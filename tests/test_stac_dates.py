"""STAC dates read from file names (core/stac.py): no service needed."""

import datetime

import pytest

from ls4.ls4_plugin.core import keys, stac
from ls4.ls4_plugin.core.errors import InputError

UTC = datetime.timezone.utc


def frames(**where):
    return keys.Collection(band="bw", type="frames", agency="USGS", **where)


def test_a_frame_is_its_whole_day_in_the_collections_century():
    moment, start, end = stac.frame_dates(frames(county="Bexar", year="1952"), "04-15-52_1-2.tif")
    assert moment == start == datetime.datetime(1952, 4, 15, tzinfo=UTC)
    assert end == datetime.datetime(1952, 4, 15, 23, 59, 59, tzinfo=UTC)


def test_a_flight_across_new_year_keeps_its_frames():
    collection = frames(county="Bexar", year="2000")
    assert stac.frame_dates(collection, "12-30-99_1-1.tif")[0].year == 1999
    assert stac.frame_dates(collection, "01-02-01_1-1.tif")[0].year == 2001


def test_a_frame_of_another_year_gets_no_item_and_says_why():
    with pytest.raises(InputError, match=r"04-15-87_1-9\.tif: no STAC item: .*within a year.*1952"):
        stac.check_frame(frames(county="Bexar", year="1952"), "04-15-87_1-9.tif")


def test_a_day_that_exists_only_in_the_other_century_gets_no_item():
    # 1900 was not a leap year: 02-29-00 is a day of 2000 only, not of a 1900 collection
    with pytest.raises(InputError, match="no STAC item"):
        stac.check_frame(frames(county="Bexar", year="1900"), "02-29-00_1-1.tif")


def test_a_mission_reads_the_century_from_its_code_or_refuses_to_guess():
    assert stac.frame_dates(frames(mission="AR-1963"), "06-01-63_2-4.tif")[0].year == 1963
    assert stac.frame_dates(frames(mission="DQR"), "06-01-63_2-4.tif")[0].year == 1963
    with pytest.raises(InputError, match="could be 1905 or 2005"):
        stac.check_frame(frames(mission="DQR"), "06-01-05_2-4.tif")


def test_index_sheets_and_mosaics_cover_their_collections_year():
    sheets = keys.Collection(band="bw", type="index", agency="USGS", county="Bexar", year="1952")
    moment, start, end = stac.frame_dates(sheets, "USGS_1952_3.tif")
    assert moment is None
    assert (start, end) == (
        datetime.datetime(1952, 1, 1, tzinfo=UTC),
        datetime.datetime(1952, 12, 31, 23, 59, 59, tzinfo=UTC),
    )
    mosaic = keys.Collection(band="nc", type="mosaic", agency="USGS", county="Bexar", year="1995")
    assert stac.frame_dates(mosaic, "mosaic_1.tif")[1].year == 1995
    nameless = keys.Collection(band="bw", type="index", agency="USGS", mission="DQR")
    with pytest.raises(InputError, match="names none"):
        stac.check_frame(nameless, "USGS_DQR_3.tif")


def test_keys_and_checksums():
    assert stac.item_key("bexar_usgs_1952_frames", "04-15-52_1-2") == (
        "stac/bexar_usgs_1952_frames/items/04-15-52_1-2.json"
    )
    assert stac.frame_stem("04-15-52_1-2.TIF") == stac.frame_stem("04-15-52_1-2.tif")
    assert stac.multihash("ab" * 32) == "1220" + "ab" * 32
