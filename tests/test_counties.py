"""The county list (core/counties.py): Texas's 254 counties shipped, another list by setting."""

import pytest

from ls4.ls4_plugin.core import counties, keys
from ls4.ls4_plugin.core.errors import InputError
from tools.qgis_env import COLORADO_COUNTIES


def test_the_shipped_list_is_texas_s_254_counties_with_their_fips_codes():
    texas = counties.load()
    assert texas.state == "Texas" and len(texas.counties) == 254
    codes = [county.fips for county in texas.counties]
    assert codes == [str(48001 + 2 * number) for number in range(254)]  # odd, in the list's order
    fips = {county.name: county.fips for county in texas.counties}
    assert (fips["Anderson"], fips["Harris"], fips["Travis"], fips["Zavala"]) == (
        "48001",
        "48201",
        "48453",
        "48507",
    )
    assert (fips["El Paso"], fips["DeWitt"], fips["La Salle"], fips["McLennan"]) == (
        "48141",
        "48123",
        "48283",
        "48309",
    )


def test_every_listed_county_is_a_valid_key_segment():
    for county in counties.load().counties + counties.load(COLORADO_COUNTIES).counties:
        name = keys.Collection(
            band="bw", type="frames", agency="TxDOT", county=county.name, year=1952
        )
        assert name.county == county.name


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("travis", "Travis"),
        ("FORT BEND", "Fort Bend"),
        ("fort_bend", "Fort Bend"),
        ("dewitt", "DeWitt"),
    ]
    + [("  la   salle ", "La Salle"), ("mclennan", "McLennan")],
)
def test_what_is_typed_becomes_the_list_s_spelling(typed, canonical):
    assert counties.load().canonical(typed) == canonical


def test_a_misspelled_county_is_refused_with_the_closest_names():
    texas = counties.load()
    with pytest.raises(
        InputError, match=r"'Travs' is not in the county list of Texas: did you mean Travis\?"
    ):
        texas.canonical("Travs")
    assert texas.suggestions("Hariss") == ["Harris"]
    assert texas.suggestions("Jim") == []  # too short to be close to "Jim Hogg" or "Jim Wells"
    with pytest.raises(InputError) as refused:
        texas.canonical("Gotham")
    assert str(refused.value) == "'Gotham' is not in the county list of Texas"


def test_another_list_by_file(tmp_path):
    colorado = counties.load(COLORADO_COUNTIES)
    assert colorado.state == "Colorado" and len(colorado.counties) == 64
    assert colorado.find("weld").fips == "08123" and colorado.find("Travis") is None
    own = tmp_path / "mine.csv"
    own.write_text("state,fips,county\nNowhere,,Big Sky\n", encoding="utf-8")
    assert counties.load(own).canonical("big sky") == "Big Sky"
    own.write_text("state,fips,county\nNowhere,,Big Sky\nNowhere,,Wide Open\n", encoding="utf-8")
    assert counties.load(own).canonical("wide open") == "Wide Open"  # an edited file is read again


def test_an_unusable_list_says_why(tmp_path):
    with pytest.raises(InputError, match="cannot be read"):
        counties.load(tmp_path / "missing.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("state,fips,county\n", encoding="utf-8")
    with pytest.raises(InputError, match="is empty"):
        counties.load(empty)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("name\nTravis\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2: no county"):
        counties.load(wrong)
