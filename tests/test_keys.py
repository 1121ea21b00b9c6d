"""The key grammar (GUIDE §2): round trips over every form, literal keys, and each rejection."""

import datetime
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ls4.ls4_plugin.core import keys
from ls4.ls4_plugin.core.errors import InputError

REPO = Path(__file__).resolve().parents[1]
THIS_YEAR = datetime.date.today().year

# --- strategies ----------------------------------------------------------------------------

letters = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=10)
alnum = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=6
)
counties = st.lists(letters, min_size=1, max_size=3).map(" ".join)
counties = counties.filter(lambda county: county.lower() != "multicounty")
agencies = st.builds(
    lambda first, rest: first + rest, letters.map(lambda w: w[0]), alnum | st.just("")
)
missions = st.from_regex(r"[A-Za-z0-9]{1,4}(-[A-Za-z0-9]{1,4}){0,2}", fullmatch=True).filter(
    lambda mission: not mission.replace("-", "").isdigit()
)
years = st.integers(keys.FIRST_YEAR, THIS_YEAR).map(str)
bands = st.sampled_from(keys.BANDS)
types = st.sampled_from(keys.TYPES)
stages = st.sampled_from(keys.STAGES)
extensions = st.sampled_from(keys.EXTENSIONS)

single = st.builds(
    keys.Collection, band=bands, type=types, agency=agencies, county=counties, year=years
)
multi = st.builds(keys.Collection, band=bands, type=types, agency=agencies, mission=missions)
collections = single | multi

frame_dates = st.dates(datetime.date(1900, 1, 1), datetime.date(2099, 12, 31))


@st.composite
def frame_names(draw):
    roll = draw(st.none() | alnum)
    number = draw(alnum) if roll is None else f"{roll}-{draw(alnum)}"
    return f"{draw(frame_dates).strftime('%m-%d-%y')}_{number}{draw(extensions)}"


@st.composite
def index_names(draw, collection):
    # the agency's case in a file name need not be the collection's: it is kept as written
    agency = draw(st.sampled_from([collection.agency, collection.agency.upper()]))
    parts = [agency, collection.mission or collection.year, draw(alnum)]
    dpi = draw(st.none() | st.from_regex(r"[0-9]{2,4}(dpi|DPI)?", fullmatch=True))
    return "_".join(parts + ([dpi] if dpi else [])) + draw(extensions)


@st.composite
def mosaic_names(draw):
    word = st.sampled_from(["mosaic", "Mosaic", "MOSAIC"])
    parts = draw(st.lists(alnum, max_size=2)) + [draw(word)] + draw(st.lists(alnum, max_size=2))
    separators = iter(draw(st.lists(st.sampled_from("_-"), min_size=4, max_size=4)))
    label = parts[0] + "".join(next(separators) + part for part in parts[1:])
    return label + draw(extensions)


def file_names(collection):
    if collection.type == "frames":
        return frame_names()
    if collection.type == "index":
        return index_names(collection)
    return mosaic_names()


@st.composite
def keyed(draw):
    """(collection, stage, file name, key) over every form of the grammar."""
    collection = draw(collections)
    stage = draw(stages)
    filename = draw(file_names(collection))
    return collection, stage, filename, collection.key(stage, filename)


# --- round trips ---------------------------------------------------------------------------


@given(keyed())
def test_key_round_trip(case):
    collection, stage, filename, key = case
    parsed = keys.parse_key(key)
    assert parsed.key == key
    assert (parsed.collection, parsed.stage, parsed.filename) == (collection, stage, filename)
    assert keys.build_key(parsed.collection, parsed.stage, parsed.filename) == key
    assert key.endswith(filename)  # .tif / .TIF and every other part kept as given
    assert key.split("/")[0] == collection.band


@given(keyed())
def test_file_name_round_trip(case):
    collection, _, filename, _ = case
    name = keys.parse_filename(filename, collection.type)
    assert name.filename == filename
    assert keys.parse_filename(name.filename, name.kind) == name
    parts = {part: value for part, value in vars(name).items() if value is not None}
    assert keys.build_filename(**parts) == filename


@given(collections, stages)
def test_prefix_round_trip(collection, stage):
    assert keys.parse_prefix(collection.prefix(stage)) == (collection, stage)
    assert keys.parse_prefix(collection.prefix()) == (collection, None)
    assert collection.prefix(stage).startswith(collection.prefix())


@given(collections)
def test_names_are_sql_identifiers_and_parse_back(collection):
    name = collection.name
    assert re.fullmatch(r"[a-z][a-z0-9_]*", name) and len(name.encode()) <= 63
    assert collection.table == name
    assert collection.mapfile_key == f"mapfiles/{name}.map"
    assert keys.name_from_mapfile_key(collection.mapfile_key) == name
    assert collection.index_layer == f"{name}_index" != name
    parts = keys.parse_name(name)
    assert parts.name == name
    assert (parts.type, parts.year) == (collection.type, collection.year)
    assert parts.county == (collection.county.lower() if collection.county else None)


@given(single)
def test_single_county_name_is_its_key_path_lowercased(collection):
    # the rule the old Lambda chain used to name tables: band dropped, '/' -> '_', lowercase
    path = collection.prefix().split("/", 1)[1].rstrip("/")
    assert collection.name == path.replace("/", "_").lower()
    assert " " not in collection.prefix()


@given(collections)
def test_words_from_a_name_match_the_collection_up_to_case(collection):
    spoken = keys.words(collection.name)
    assert spoken.lower() == collection.words.lower().replace("-", "").replace(
        "multicounty", "multi-county"
    )
    assert collection.title == f"{collection.words} ({keys.BAND_WORDS[collection.band]})"


BAD_CHARACTERS = ["'", '"', ";", "/", "\\", ".", " ", "\x00", "é"]


@given(keyed(), st.sampled_from(BAD_CHARACTERS), st.data())
def test_a_bad_character_anywhere_in_a_key_is_rejected(case, bad, data):
    key = case[3]
    at = data.draw(st.integers(0, len(key)))
    with pytest.raises(InputError, match=re.escape(repr(key[:at] + bad + key[at:]))):
        keys.parse_key(key[:at] + bad + key[at:])


@given(
    st.sampled_from(["county", "agency", "year", "mission"]),
    st.sampled_from(["'", '"', ";", "/", ".", "_x", "\\"]),
)
def test_a_bad_character_in_any_collection_part_is_rejected(part, bad):
    good = {"band": "bw", "type": "frames", "agency": "TxDOT"}
    good.update(
        {"mission": "AR-1963"} if part == "mission" else {"county": "Bexar", "year": "1952"}
    )
    if part == "county" and bad == "_x":
        bad = "__"  # one underscore is a space; two would be an empty word
    with pytest.raises(InputError, match=part):
        keys.Collection(**{**good, part: good[part] + bad})


# --- literal keys --------------------------------------------------------------------------


def test_frame_key_with_roll():
    parsed = keys.parse_key("bw/Bexar/TxDOT_1952/frames/georef/03-17-52_2-114.tif")
    collection = parsed.collection
    assert (collection.band, collection.county, collection.agency) == ("bw", "Bexar", "TxDOT")
    assert (collection.year, collection.mission, collection.type) == ("1952", None, "frames")
    assert parsed.stage == "georef"
    assert (parsed.name.date, parsed.name.roll, parsed.name.frame) == ("03-17-52", "2", "114")
    assert collection.name == "bexar_txdot_1952_frames"
    assert collection.mapfile_key == "mapfiles/bexar_txdot_1952_frames.map"
    assert collection.index_layer == "bexar_txdot_1952_frames_index"
    assert collection.title == "Bexar County TxDOT 1952 frames (black and white)"
    assert keys.tile_index_fields(collection, parsed.filename) == {
        "date": "03-17-52",
        "roll": "2",
        "frame_num": "114",
    }
    assert keys.scan_key(parsed.key) == "bw/Bexar/TxDOT_1952/frames/scanned/03-17-52_2-114.tif"


def test_frame_key_without_roll_in_a_county_with_a_space():
    key = "nc/Fort_Bend/USDA_1960/frames/cog/11-04-60_114.TIF"
    parsed = keys.parse_key(key)
    assert parsed.collection.county == "Fort Bend"
    assert parsed.collection.name == "fort_bend_usda_1960_frames"
    assert parsed.collection.title == "Fort Bend County USDA 1960 frames (natural color)"
    assert parsed.name.roll is None and parsed.name.extension == ".TIF"
    fields = keys.tile_index_fields(parsed.collection, parsed.filename)
    assert fields == {"date": "11-04-60", "roll": "N/A", "frame_num": "114"}
    assert keys.scan_key(key) == "nc/Fort_Bend/USDA_1960/frames/scanned/11-04-60_114.TIF"
    assert keys.comparable_key(key) == "nc/Fort_Bend/USDA_1960/frames/cog/11-04-60_114.tif"
    # a county written with an underscore is the same county
    same = keys.Collection(band="nc", type="frames", agency="USDA", county="Fort_Bend", year=1960)
    assert same == parsed.collection and same.key("cog", "11-04-60_114.TIF") == key


def test_index_sheet_key_with_dpi():
    parsed = keys.parse_key("bw/Travis/TxDOT_1940/index/scanned/TxDOT_1940_3_600dpi.tif")
    name = parsed.name
    assert (name.agency, name.year, name.sheet, name.dpi) == ("TxDOT", "1940", "3", "600dpi")
    assert parsed.collection.name == "travis_txdot_1940_index"
    assert parsed.collection.words == "Travis County TxDOT 1940 index sheets"
    fields = keys.tile_index_fields(parsed.collection, parsed.filename)
    assert fields == {"date": "1940", "roll": "TxDOT", "frame_num": "3"}


def test_multi_county_keys():
    parsed = keys.parse_key("bw/MultiCounty/USDA_AR-1963/frames/georef/10-22-63_4-17.tif")
    collection = parsed.collection
    assert collection.is_multi and collection.county is None and collection.year is None
    assert collection.mission == "AR-1963"
    assert collection.name == "usda_ar1963_frames"
    assert collection.title == "USDA AR-1963 multi-county frames (black and white)"
    assert collection.prefix("cog") == "bw/MultiCounty/USDA_AR-1963/frames/cog/"
    assert keys.Collection(band="bw", type="frames", agency="USDA", county="MultiCounty",
                           mission="AR-1963") == collection  # fmt: skip
    index = keys.parse_key("bw/MultiCounty/USDA_AR-1963/index/cog/USDA_AR-1963_N12.tif")
    fields = keys.tile_index_fields(index.collection, index.filename)
    assert fields == {"date": "AR-1963", "roll": "USDA", "frame_num": "N12"}
    assert keys.parse_name("usda_ar1963_frames") == keys.NameParts(
        type="frames", agency="usda", mission="ar1963"
    )


def test_mosaic_key():
    key = "bw/Harris/USGS_1995/mosaic/cog/harris_Mosaic-2.tif"
    parsed = keys.parse_key(key)
    assert parsed.name.label == "harris_Mosaic-2"
    fields = keys.tile_index_fields(parsed.collection, parsed.filename)
    assert fields == {"date": "MULTIPLE", "roll": "MULTIPLE", "frame_num": "harris_Mosaic-2"}
    assert keys.scan_key(key) is None


def test_collection_from_names_and_other_keys():
    assert keys.words("fort_bend_txdot_1952_frames") == "Fort Bend County TXDOT 1952 frames"
    assert keys.parse_name("de_witt_ams_1939_mosaic") == keys.NameParts(
        type="mosaic", agency="ams", county="de witt", year="1939"
    )
    collection = keys.Collection(
        band="bw", type="frames", agency="TxDOT", county="Bexar", year=1952
    )
    assert collection.index_download_prefix() == "bw/Bexar/TxDOT_1952/index/scanned/"
    location = keys.location("ls4-test", collection.key("cog", "03-17-52_2-114.tif"))
    assert location == "/vsis3/ls4-test/bw/Bexar/TxDOT_1952/frames/cog/03-17-52_2-114.tif"
    assert keys.split_location(location) == (
        "ls4-test",
        "bw/Bexar/TxDOT_1952/frames/cog/03-17-52_2-114.tif",
    )
    assert keys.parse_key(keys.split_location(location)[1]).at_stage("georef") == (
        "bw/Bexar/TxDOT_1952/frames/georef/03-17-52_2-114.tif"
    )


def test_leap_days():
    assert keys.parse_filename("02-29-52_1-2.tif", "frames").date == "02-29-52"
    assert keys.parse_filename("02-29-00_1-2.tif", "frames").date == "02-29-00"  # 2000
    with pytest.raises(InputError, match="'02-29-53' is not a real calendar date"):
        keys.parse_filename("02-29-53_1-2.tif", "frames")


# --- each kind of invalid input, with its reason --------------------------------------------

FRAMES = {"band": "bw", "type": "frames", "agency": "TxDOT"}
BEXAR = {**FRAMES, "county": "Bexar", "year": "1952"}

BAD_COLLECTIONS = [
    ({**BEXAR, "county": "Bex;ar"}, "county 'Bex;ar' may only contain ASCII letters"),
    ({**BEXAR, "county": "O'Brien"}, 'county "O\'Brien" may only contain ASCII letters'),
    ({**BEXAR, "county": "Fort  Bend"}, "single spaces"),
    ({**BEXAR, "county": ""}, "county '' may only contain"),
    ({**BEXAR, "county": "Multicounty"}, "county 'Multicounty' is reserved"),
    ({**BEXAR, "agency": "Tx DOT"}, "agency 'Tx DOT' may only contain ASCII letters and digits"),
    ({**BEXAR, "agency": "1TxDOT"}, "starting with a letter"),
    ({**BEXAR, "year": "52"}, "year '52' must be four digits"),
    ({**BEXAR, "year": 1850}, "year '1850' is not between 1900 and"),
    ({**BEXAR, "year": THIS_YEAR + 1}, f"year '{THIS_YEAR + 1}' is not between 1900 and"),
    ({**BEXAR, "year": None}, "year is missing for county 'Bexar'"),
    ({**BEXAR, "mission": "AR-1963"}, "mission code 'AR-1963' is only for a multi-county"),
    ({**BEXAR, "band": "rgb"}, "band 'rgb' is not one of bw, nc"),
    ({**BEXAR, "type": "frame"}, "type 'frame' is not one of frames, index, mosaic"),
    ({**FRAMES, "mission": "AR_1963"}, "mission code 'AR_1963' may only contain"),
    ({**FRAMES, "mission": "AR--1963"}, "single hyphens"),
    ({**FRAMES, "mission": "1963"}, "mission code '1963' must contain a letter"),
    ({**FRAMES}, "mission code is missing for a multi-county collection"),
    ({**FRAMES, "mission": "A", "year": "1952"}, "year '1952' is not used by a multi-county"),
    ({**BEXAR, "county": "Abcdefghij Klmnopqrst Uvwxyzabcd Efghij Klmnop"}, "at most 63"),
]


@pytest.mark.parametrize(("parts", "reason"), BAD_COLLECTIONS)
def test_bad_collection_is_rejected_with_its_reason(parts, reason):
    with pytest.raises(InputError, match=re.escape(reason)):
        keys.Collection(**parts)


BAD_FILE_NAMES = [
    ("frames", "1-2.tif", "file name '1-2.tif' is not a frame name <mm-dd-yy>_<roll>-<frame>.tif"),
    ("frames", "01-02-52_1-2.jpg", "file name '01-02-52_1-2.jpg' must end in .tif or .TIF"),
    ("frames", "01-02-52_1-2.tiff", "must end in .tif or .TIF"),
    ("frames", "01-02-52_1-2-3.tif", "is not a frame name"),
    ("frames", "01-02-52_1-2.b.tif", "is not a frame name"),
    ("frames", "1-2-52_1-2.tif", "date '1-2-52' must be written mm-dd-yy"),
    ("frames", "13-01-52_1-2.tif", "date '13-01-52' is not a real calendar date"),
    ("frames", "04-31-52_1-2.tif", "date '04-31-52' is not a real calendar date"),
    ("frames", "01-02-52_1;2-3.tif", "roll '1;2' may only contain ASCII letters and digits"),
    ("frames", "01-02-52_1-.tif", "frame '' may only contain"),
    ("index", "TxDOT_1952.tif", "is not an index sheet name <Agency>_<YYYY>_<sheet>[_<dpi>].tif"),
    ("index", "TxDOT_1952_3_600_x.tif", "is not an index sheet name"),
    ("index", "TxDOT_52_3.tif", "year '52' must be four digits"),
    ("index", "TxDOT_1952_3_600px.tif", "dpi '600px' must be a number"),
    ("index", "Tx'DOT_1952_3.tif", 'agency "Tx\'DOT" may only contain'),
    ("mosaic", "north.tif", "mosaic name 'north' does not contain 'mosaic'"),
    ("mosaic", "mosaic 1.tif", "mosaic name 'mosaic 1' may only contain"),
    ("photos", "mosaic.tif", "type 'photos' is not one of frames, index, mosaic"),
]


@pytest.mark.parametrize(("kind", "filename", "reason"), BAD_FILE_NAMES)
def test_bad_file_name_is_rejected_with_its_reason(kind, filename, reason):
    with pytest.raises(InputError, match=re.escape(reason)):
        keys.parse_filename(filename, kind)


def test_bad_file_name_parts_are_rejected_when_building():
    with pytest.raises(InputError, match="a frames file name has no sheet"):
        keys.build_filename("frames", date="01-02-52", frame="3", sheet="4")
    with pytest.raises(InputError, match="either a year or a mission code"):
        keys.build_filename("index", agency="TxDOT", sheet="4")
    with pytest.raises(InputError, match="extension '.tiff' is not one of .tif, .TIF"):
        keys.build_filename("mosaic", label="mosaic", extension=".tiff")


BAD_KEYS = [
    ("bw/Bexar/TxDOT_1952/frames/cog", "it has 5 parts separated by '/', not 6"),
    ("bw/Bexar/TxDOT_1952/frames/cog/x/01-02-52_1-2.tif", "it has 7 parts"),
    ("bw//TxDOT_1952/frames/cog/01-02-52_1-2.tif", "part 2 is empty"),
    ("bw/Bexar/TxDOT_1952/frames/cog/", "part 6 is empty"),
    ("rgb/Bexar/TxDOT_1952/frames/cog/01-02-52_1-2.tif", "band 'rgb' is not one of bw, nc"),
    ("bw/Fort Bend/TxDOT_1952/frames/cog/01-02-52_1-2.tif", "county segment 'Fort Bend' may"),
    ("bw/Bexar/TxDOT1952/frames/cog/01-02-52_1-2.tif", "'TxDOT1952' must be <Agency>_<YYYY>"),
    ("bw/Bexar/TxDOT_52/frames/cog/01-02-52_1-2.tif", "year '52' must be four digits"),
    ("bw/MultiCounty/USDA_1963_A/frames/cog/01-02-63_1-2.tif", "must be <Agency>_<mission>"),
    ("bw/Bexar/TxDOT_1952/photos/cog/01-02-52_1-2.tif", "type 'photos' is not one of"),
    ("bw/Bexar/TxDOT_1952/frames/tmp/01-02-52_1-2.tif", "stage 'tmp' is not one of scanned"),
    ("bw/Bexar/TxDOT_1952/frames/cog/TxDOT_1952_1.tif", "is not a frame name"),
    ("bw/Bexar/TxDOT_1952/index/cog/USDA_1952_3.tif", "is not of this collection's flight"),
    ("bw/Bexar/TxDOT_1952/index/cog/TxDOT_1953_3.tif", "'TxDOT_1953_3.tif' is not of this"),
    ("bw/Bexar/TxDOT_1952/mosaic/cog/01-02-52_1-2.tif", "does not contain 'mosaic'"),
]


@pytest.mark.parametrize(("key", "reason"), BAD_KEYS)
def test_bad_key_is_rejected_naming_the_key_and_the_reason(key, reason):
    with pytest.raises(InputError) as raised:
        keys.parse_key(key)
    assert str(raised.value).startswith(f"key {key!r}: ")
    assert reason in str(raised.value)


def test_a_file_name_must_fit_its_collection_when_building_a_key():
    collection = keys.Collection(**BEXAR)
    with pytest.raises(InputError, match="is not a frame name"):
        collection.key("cog", "mosaic.tif")
    with pytest.raises(InputError, match="stage 'tmp' is not one of"):
        collection.key("tmp", "01-02-52_1-2.tif")


BAD_OTHERS = [
    (keys.parse_prefix, "bw/Bexar/TxDOT_1952/frames", "it must end with '/'"),
    (keys.parse_prefix, "bw/Bexar/TxDOT_1952/frames/tmp/", "stage 'tmp' is not one of"),
    (keys.parse_name, "Bexar_txdot_1952_frames", "must be lowercase letters, digits"),
    (keys.parse_name, "bexar-txdot_1952_frames", "must be lowercase letters, digits"),
    (keys.parse_name, "bexar_txdot_1952_maps", "does not end in _frames, _index, _mosaic"),
    (keys.parse_name, "bexar_frames", "is not <county>_<agency>_<yyyy>_<type>"),
    (keys.parse_name, "bexar_txdot_52_frames", "year '52' must be four digits"),
    (keys.parse_name, "bexar2_txdot_1952_frames", "county 'bexar2' may only contain letters"),
    (keys.parse_name, "a" * 60 + "_x_1952_frames", "at most 63"),
    (keys.name_from_mapfile_key, "mapfiles/readme.txt", "is not a mapfile mapfiles/"),
    (keys.name_from_mapfile_key, "mapfiles/x;y.map", "must be lowercase letters"),
    (keys.split_location, "s3://b/k.tif", "is not /vsis3/<bucket>/<key>"),
    (keys.split_location, "/vsis3/bucket", "is not /vsis3/<bucket>/<key>"),
]


@pytest.mark.parametrize(("function", "value", "reason"), BAD_OTHERS)
def test_bad_prefix_name_and_location_are_rejected(function, value, reason):
    with pytest.raises(InputError) as raised:
        function(value)
    assert repr(value) in str(raised.value) and reason in str(raised.value)


def test_keys_module_imports_nothing_from_qgis():
    code = (
        "import sys, tools\n"
        "import ls4.ls4_plugin.core.keys\n"
        "top = {m.split('.')[0] for m in sys.modules}\n"
        "bad = sorted(top & {'qgis', 'PyQt5', 'processing'})\n"
        "print('keys' if 'ls4.ls4_plugin.core.keys' in sys.modules else 'missing', bad)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "keys []"
