"""Names and keys of collections and their files (GUIDE §2), free of QGIS.

Every name here ends up in an S3 key, a URL, a PostGIS table name or a mapfile, so the grammar is
strict: anything outside it raises ``InputError`` naming the part at fault and the rule it breaks.

Choices the GUIDE leaves open:

- A county is ASCII letters with single spaces between words ("Fort Bend", "McLennan"). In keys
  the spaces become underscores and the case is kept (``bw/Fort_Bend/TxDOT_1952/...``), so a key
  needs no URL escaping and ``<county>_<agency>_<yyyy>_<type>`` is that path lowercased.
- An agency is ASCII letters and digits, starting with a letter ("TxDOT", "USDA").
- A multi-county collection has ``MultiCounty`` as its county segment and a mission code
  (letters, digits, single hyphens: "AR-1963") in place of the year. Its name drops the hyphens
  (``usda_ar1963_frames``) so that it is a valid SQL identifier with exactly three parts and can
  never be read as a single-county name (those have at least four).
- File names and keys are never rewritten: ``.tif`` and ``.TIF`` are kept as given, and
  ``parse_key(k).key == k`` for every key accepted.
- A collection name keeps no case: ``parse_name`` and ``words`` work from names alone (tables,
  mapfiles) and capitalise by rule; ``Collection.title`` has the real case.
"""

import datetime
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, cast

from .errors import InputError

BANDS = ("bw", "nc")
TYPES = ("frames", "index", "mosaic")
STAGES = ("scanned", "georef", "cog")
EXTENSIONS = (".tif", ".TIF")
MULTI_COUNTY = "MultiCounty"
MAPFILES_PREFIX = "mapfiles/"
COMPILED_INDEX_KEY = "geojson/compiled_historical_indexes.geojson"
NO_ROLL = "N/A"
MULTIPLE = "MULTIPLE"
FIRST_YEAR = 1900
MAX_IDENTIFIER_BYTES = 63

BAND_WORDS = {"bw": "black and white", "nc": "natural color"}
TYPE_WORDS = {"frames": "frames", "index": "index sheets", "mosaic": "mosaic"}

_COUNTY = re.compile(r"[A-Za-z]+( [A-Za-z]+)*", re.ASCII)
_COUNTY_SEGMENT = re.compile(r"[A-Za-z]+(_[A-Za-z]+)*", re.ASCII)
_AGENCY = re.compile(r"[A-Za-z][A-Za-z0-9]*", re.ASCII)
_YEAR = re.compile(r"[0-9]{4}", re.ASCII)
_MISSION = re.compile(r"[A-Za-z0-9]+(-[A-Za-z0-9]+)*", re.ASCII)
_WORD = re.compile(r"[A-Za-z0-9]+", re.ASCII)
_DATE = re.compile(r"([0-9]{2})-([0-9]{2})-([0-9]{2})", re.ASCII)
_DPI = re.compile(r"[0-9]+(dpi|DPI)?", re.ASCII)
_MOSAIC = re.compile(r"[A-Za-z0-9]+([_-][A-Za-z0-9]+)*", re.ASCII)
_NAME = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)+", re.ASCII)
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*", re.ASCII)
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", re.ASCII)

_LETTERS_DIGITS = "may only contain ASCII letters and digits"


def _check(value: object, pattern: re.Pattern[str], what: str, rule: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InputError(f"{what} {value!r} {rule}")
    return value


def _check_choice(value: object, choices: Sequence[str], what: str) -> str:
    if value not in choices:
        raise InputError(f"{what} {value!r} is not one of {', '.join(choices)}")
    return str(value)


def check_year(year: object) -> str:
    """Return ``year`` as a four-digit string from FIRST_YEAR to this year, else raise."""
    text = _check(
        str(year) if isinstance(year, int) else year, _YEAR, "year", "must be four digits"
    )
    last = datetime.date.today().year
    if not FIRST_YEAR <= int(text) <= last:
        raise InputError(f"year {text!r} is not between {FIRST_YEAR} and {last}")
    return text


def check_agency(agency: object) -> str:
    return _check(agency, _AGENCY, "agency", f"{_LETTERS_DIGITS}, starting with a letter")


def check_mission(mission: object) -> str:
    rule = "may only contain ASCII letters, digits and single hyphens"
    mission = _check(mission, _MISSION, "mission code", rule)
    if mission.replace("-", "").isdecimal():
        # in an index sheet's name it stands where a year does: a number alone would read as one
        raise InputError(f"mission code {mission!r} must contain a letter (e.g. AR-1963)")
    return mission


def _normal_county(county: object) -> str | None:
    """The county in words, or None for a multi-county mission; underscores read as spaces."""
    if county is None or county == MULTI_COUNTY:
        return None
    if isinstance(county, str) and county.lower() == MULTI_COUNTY.lower():
        raise InputError(f"county {county!r} is reserved: write {MULTI_COUNTY!r} (or no county)")
    words = county.replace("_", " ") if isinstance(county, str) else county
    rule = "may only contain ASCII letters, with single spaces (or underscores) between words"
    return _check(words, _COUNTY, "county", rule)


def _check_date(date: object) -> str:
    match = _DATE.fullmatch(date) if isinstance(date, str) else None
    if not match:
        raise InputError(f"date {date!r} must be written mm-dd-yy")
    month, day, year = (int(part) for part in match.groups())
    try:
        # 2000+yy is a leap year whenever yy % 4 == 0, so no real date of either century is lost
        datetime.date(2000 + year, month, day)
    except ValueError:
        raise InputError(f"date {date!r} is not a real calendar date (mm-dd-yy)") from None
    return match.group(0)


def _set(instance: object, name: str, value: object) -> None:
    object.__setattr__(instance, name, value)


# --- collections ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CollectionName:
    """A collection without its band layout: one county (or multi-county mission), agency, year
    and type, which is all that names its table, mapfile and WMS. ``Collection`` adds the band.

    ``county`` None (or "MultiCounty") makes a multi-county collection, which needs ``mission``
    instead of ``year``. County underscores are read as spaces; a year may be given as an int.
    """

    type: str
    agency: str
    county: str | None = None
    year: str | None = None
    mission: str | None = None

    def __post_init__(self) -> None:
        _check_choice(self.type, TYPES, "type")
        check_agency(self.agency)
        _set(self, "county", _normal_county(self.county))
        if self.county is None:
            self._check_multi()
        else:
            self._check_single()
        check_identifier(self.name)

    def _check_single(self) -> None:
        if self.mission is not None:
            raise InputError(
                f"mission code {self.mission!r} is only for a multi-county collection "
                f"(county {self.county!r} has a year)"
            )
        if self.year is None:
            raise InputError(f"year is missing for county {self.county!r}")
        _set(self, "year", check_year(self.year))

    def _check_multi(self) -> None:
        if self.year is not None:
            raise InputError(
                f"year {self.year!r} is not used by a multi-county collection: "
                "give its mission code"
            )
        if self.mission is None:
            raise InputError("mission code is missing for a multi-county collection")
        check_mission(self.mission)

    @property
    def is_multi(self) -> bool:
        return self.county is None

    @property
    def county_segment(self) -> str:
        return MULTI_COUNTY if self.is_multi else cast(str, self.county).replace(" ", "_")

    @property
    def flight_segment(self) -> str:
        return f"{self.agency}_{self.mission if self.is_multi else self.year}"

    @property
    def name(self) -> str:
        if self.is_multi:
            return f"{self.agency}_{cast(str, self.mission).replace('-', '')}_{self.type}".lower()
        return f"{self.county_segment}_{self.agency}_{self.year}_{self.type}".lower()

    @property
    def table(self) -> str:
        return self.name

    @property
    def mapfile_key(self) -> str:
        return mapfile_key(self.name)

    @property
    def index_layer(self) -> str:
        return index_layer(self.name)

    @property
    def words(self) -> str:
        """The collection in words, without the band: "Fort Bend County TxDOT 1952 frames"."""
        kind = TYPE_WORDS[self.type]
        if self.is_multi:
            return f"{self.agency} {self.mission} multi-county {kind}"
        return f"{self.county} County {self.agency} {self.year} {kind}"


@dataclass(frozen=True, kw_only=True)
class Collection(CollectionName):
    """One county (or multi-county mission), agency, year, type and band layout: what its S3
    keys and WMS title need besides its name (``CollectionName``)."""

    band: str

    def __post_init__(self) -> None:
        _check_choice(self.band, BANDS, "band")
        super().__post_init__()

    @property
    def title(self) -> str:
        """The WMS title: "Bexar County TxDOT 1952 frames (black and white)"."""
        return f"{self.words} ({BAND_WORDS[self.band]})"

    def prefix(self, stage: str | None = None) -> str:
        """``<band>/<County>/<Agency>_<YYYY>/<type>/`` and, with a stage, ``<stage>/`` after it."""
        root = f"{self.band}/{self.county_segment}/{self.flight_segment}/{self.type}/"
        return root if stage is None else root + _check_choice(stage, STAGES, "stage") + "/"

    def key(self, stage: str, filename: str) -> str:
        """The key of ``filename`` at ``stage``; the file name must fit the collection's type."""
        _check_belongs(self, parse_filename(filename, self.type))
        return self.prefix(stage) + filename

    def index_download_prefix(self) -> str:
        """Where the same flight's scanned index sheets are: the ``dl_index`` download."""
        return replace(self, type="index").prefix("scanned")


def canonical(collection: "Collection", agencies: Iterable[str] = ()) -> "Collection":
    """``collection`` with county and agency in their canonical spelling, for a collection
    published for the first time: a county typed in one case ("travis", "FORT BEND") as a
    proper name ("Travis", "Fort Bend"), an agency as ``agencies`` spells it ("TxDOT" for
    "txdot"); otherwise as typed. Later publishes take the spelling the table records
    (``reconcile``)."""
    county = collection.county
    if county is not None and county in (county.lower(), county.upper()):
        county = " ".join(word.capitalize() for word in county.split(" "))
    agency = next((a for a in agencies if a.lower() == collection.agency.lower()), None)
    return replace(collection, county=county, agency=agency or collection.agency)


def reconcile(collection: "Collection", prefix: str) -> "Collection":
    """``collection`` as the existing collection at ``prefix`` (a table's recorded S3 prefix)
    spells it; InputError, naming the existing collection, when they are not one collection:
    another band layout, or another spelling of the mission code (both give one table name)."""
    existing, _stage = parse_prefix(prefix)
    if existing.prefix() == collection.prefix():
        return collection
    if existing.band != collection.band:
        raise InputError(
            f"collection {existing.name} already exists as {BAND_WORDS[existing.band]} "
            f"(s3 prefix {prefix}, table {existing.table}); a collection has one band layout, so "
            f"these {BAND_WORDS[collection.band]} frames cannot join it. Check the band layout "
            "chosen, or publish them as a collection of their own (another agency, year or type)"
        )
    if (
        existing.is_multi
        and cast(str, existing.mission).lower() != cast(str, collection.mission).lower()
    ):
        raise InputError(
            f"mission code {collection.mission!r} gives table {existing.table}, which holds "
            f"mission {existing.mission!r} (s3 prefix {prefix}): write the mission code "
            f"{existing.mission!r}, or use one that gives a table of its own"
        )
    return replace(existing, band=collection.band)


def check_identifier(name: object, what: str = "collection name") -> str:
    """``name`` as a collection's table, mapfile and WMS layer name (the one rule for all three):
    an unquoted PostgreSQL identifier, a lowercase letter then lowercase letters, digits and
    ``_``, of at most 63 bytes. InputError names ``what`` it is."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise InputError(
            f"{what} {name!r} is not usable: it must start with a lowercase letter and hold "
            f"only lowercase letters, digits and '_' (at most {MAX_IDENTIFIER_BYTES} characters)"
        )
    if len(name.encode()) > MAX_IDENTIFIER_BYTES:
        raise InputError(
            f"{what} {name!r} is not usable: it is {len(name.encode())} bytes long; "
            f"PostgreSQL table names hold at most {MAX_IDENTIFIER_BYTES}"
        )
    return name


def collection_from_form(form: Mapping[str, object], band: str | None = None) -> CollectionName:
    """The collection a form names: the dock's fields and the algorithms' parameters alike.

    ``form`` holds COUNTY, AGENCY, YEAR and MISSION as text (empty or missing: not given) and
    TYPE, one of ``TYPES`` or its index there (as an enum parameter gives it). With ``band`` the
    result is a ``Collection``; without, the ``CollectionName`` that names table and mapfile.
    InputError says which field breaks the rules.
    """

    def text(name: str) -> str | None:
        return str(form.get(name) or "").strip() or None

    kind = form.get("TYPE", 0)
    parts: dict[str, Any] = {
        "type": TYPES[kind] if isinstance(kind, int) else kind,
        "agency": text("AGENCY") or "",
        "county": text("COUNTY"),
        "year": text("YEAR"),
        "mission": text("MISSION"),
    }
    return Collection(band=band, **parts) if band else CollectionName(**parts)


def _collection_from_segments(
    band: str, county_segment: str, flight: str, type_: str
) -> "Collection":
    if county_segment != MULTI_COUNTY:
        rule = "may only contain ASCII letters, with underscores between words"
        _check(county_segment, _COUNTY_SEGMENT, "county segment", rule)
    parts = flight.split("_")
    if len(parts) != 2:
        what = "<Agency>_<mission>" if county_segment == MULTI_COUNTY else "<Agency>_<YYYY>"
        raise InputError(f"segment {flight!r} must be {what}")
    agency, when = parts
    if county_segment == MULTI_COUNTY:
        return Collection(band=band, type=type_, agency=agency, mission=when)
    return Collection(band=band, type=type_, agency=agency, county=county_segment, year=when)


def parse_prefix(prefix: str) -> tuple["Collection", str | None]:
    """``(Collection, stage or None)`` of ``<band>/<County>/<Agency>_<YYYY>/<type>/[<stage>/]``"""
    try:
        if not prefix.endswith("/"):
            raise InputError("it must end with '/'")
        segments = _segments(prefix[:-1], (4, 5))
        stage = _check_choice(segments[4], STAGES, "stage") if len(segments) == 5 else None
        return _collection_from_segments(*segments[:4]), stage
    except InputError as error:
        raise InputError(f"prefix {prefix!r}: {error}") from None


def _segments(path: str, counts: Sequence[int]) -> list[str]:
    segments = path.split("/")
    if len(segments) not in counts:
        wanted = " or ".join(str(count) for count in counts)
        raise InputError(f"it has {len(segments)} parts separated by '/', not {wanted}")
    if "" in segments:
        raise InputError(f"part {segments.index('') + 1} is empty")
    _check_choice(segments[0], BANDS, "band")
    _check_choice(segments[3], TYPES, "type")
    return segments


# --- file names ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class FrameName:
    """A parsed file name; ``filename`` writes it back exactly as it was given.

    frames: date ("mm-dd-yy"), roll (None when the agency has none), frame;
    index: agency, year (or mission for a multi-county flight), sheet, dpi ("600" or "600dpi");
    mosaic: label (the file name without extension, containing "mosaic").
    """

    kind: str
    extension: str = ".tif"
    date: str | None = None
    roll: str | None = None
    frame: str | None = None
    agency: str | None = None
    year: str | None = None
    mission: str | None = None
    sheet: str | None = None
    dpi: str | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        _check_choice(self.kind, TYPES, "type")
        _check_choice(self.extension, EXTENSIONS, "extension")
        used = _PARTS[self.kind]
        for part in fields(self):
            if part.name not in used and getattr(self, part.name) is not None:
                raise InputError(f"a {self.kind} file name has no {part.name}")
        _VALIDATORS[self.kind](self)

    @property
    def stem(self) -> str:
        if self.kind == "frames":
            number = self.frame if self.roll is None else f"{self.roll}-{self.frame}"
            return f"{self.date}_{number}"
        if self.kind == "index":
            parts = (self.agency, self.year or self.mission, self.sheet, self.dpi)
            return "_".join(part for part in parts if part is not None)
        return cast(str, self.label)

    @property
    def filename(self) -> str:
        return self.stem + self.extension


def _check_frame(name: "FrameName") -> None:
    _check_date(name.date)
    if name.roll is not None:
        _check(name.roll, _WORD, "roll", _LETTERS_DIGITS)
    _check(name.frame, _WORD, "frame", _LETTERS_DIGITS)


def _check_index(name: "FrameName") -> None:
    check_agency(name.agency)
    if (name.year is None) == (name.mission is None):
        raise InputError("an index sheet name has either a year or a mission code")
    if name.year is not None:
        _set(name, "year", check_year(name.year))
    else:
        check_mission(name.mission)
    _check(name.sheet, _WORD, "sheet", _LETTERS_DIGITS)
    if name.dpi is not None:
        _check(name.dpi, _DPI, "dpi", "must be a number, optionally followed by dpi")


def _check_mosaic(name: "FrameName") -> None:
    rule = "may only contain ASCII letters, digits, single hyphens and underscores"
    _check(name.label, _MOSAIC, "mosaic name", rule)
    if "mosaic" not in cast(str, name.label).lower():
        raise InputError(f"mosaic name {name.label!r} does not contain 'mosaic'")


_PARTS = {
    "frames": {"kind", "extension", "date", "roll", "frame"},
    "index": {"kind", "extension", "agency", "year", "mission", "sheet", "dpi"},
    "mosaic": {"kind", "extension", "label"},
}
_VALIDATORS = {"frames": _check_frame, "index": _check_index, "mosaic": _check_mosaic}
_FORMS = {
    "frames": "a frame name <mm-dd-yy>_<roll>-<frame>.tif or <mm-dd-yy>_<frame>.tif",
    "index": "an index sheet name <Agency>_<YYYY>_<sheet>[_<dpi>].tif",
    "mosaic": "a mosaic name (one containing 'mosaic', e.g. mosaic_1.tif)",
}


def _split_frame(stem: str) -> dict[str, Any] | None:
    date, underscore, number = stem.partition("_")
    parts = number.split("-")
    if not underscore or "_" in number or len(parts) > 2:
        return None
    roll, frame = parts if len(parts) == 2 else (None, parts[0])
    return {"date": date, "roll": roll, "frame": frame}


def _split_index(stem: str) -> dict[str, Any] | None:
    parts = stem.split("_")
    if len(parts) not in (3, 4):
        return None
    agency, when, sheet = parts[:3]
    dpi = parts[3] if len(parts) == 4 else None
    when_field = "year" if when.isdecimal() else "mission"
    return {"agency": agency, when_field: when, "sheet": sheet, "dpi": dpi}


_SPLITTERS = {"frames": _split_frame, "index": _split_index, "mosaic": lambda s: {"label": s}}


def parse_filename(filename: object, type: str) -> "FrameName":
    """The ``FrameName`` of ``filename`` in a collection of ``type`` (frames, index, mosaic)."""
    _check_choice(type, TYPES, "type")
    if not isinstance(filename, str) or not filename.endswith(EXTENSIONS):
        raise InputError(f"file name {filename!r} must end in .tif or .TIF")
    stem, extension = filename[:-4], filename[-4:]
    parts = _SPLITTERS[type](stem)
    if parts is None or "." in stem or "/" in stem:
        raise InputError(f"file name {filename!r} is not {_FORMS[type]}")
    try:
        return FrameName(kind=type, extension=extension, **parts)
    except InputError as error:
        raise InputError(f"file name {filename!r}: {error}") from None


def build_filename(kind: str, **parts: Any) -> str:
    """The file name from its parts, e.g. ``build_filename("frames", date=..., frame=...)``."""
    return FrameName(kind=kind, **parts).filename


def _check_belongs(collection: "Collection", name: "FrameName") -> None:
    """An index sheet's agency and year (or mission) must be its collection's."""
    if name.kind != "index":
        return
    own = (collection.agency, collection.mission if collection.is_multi else collection.year)
    theirs = (name.agency, name.mission if collection.is_multi else name.year)
    if [str(part).lower() for part in own] != [str(part).lower() for part in theirs]:
        raise InputError(
            f"index sheet {name.filename!r} is not of this collection's flight "
            f"{collection.flight_segment!r}"
        )


def tile_index_fields(collection: "Collection", filename: str) -> dict[str, str | None]:
    """``date``, ``roll`` and ``frame_num`` of the tile index row for ``filename`` (GUIDE §2)."""
    name = parse_filename(filename, collection.type)
    _check_belongs(collection, name)
    if name.kind == "frames":
        roll = NO_ROLL if name.roll is None else name.roll
        return {"date": name.date, "roll": roll, "frame_num": name.frame}
    if name.kind == "index":
        return {"date": name.year or name.mission, "roll": name.agency, "frame_num": name.sheet}
    return {"date": MULTIPLE, "roll": MULTIPLE, "frame_num": name.label}


# --- keys ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedKey:
    """A key ``<band>/<County>/<Agency>_<YYYY>/<type>/<stage>/<file>``, taken apart."""

    collection: Collection
    stage: str
    name: FrameName

    @property
    def filename(self) -> str:
        return self.name.filename

    @property
    def key(self) -> str:
        return self.collection.prefix(self.stage) + self.filename

    def at_stage(self, stage: str) -> str:
        """The same file's key at another stage (e.g. the scan of a COG)."""
        return replace(self, stage=_check_choice(stage, STAGES, "stage")).key


def parse_key(key: object) -> "ParsedKey":
    """Take a key apart; ``parse_key(k).key == k``. Raises InputError naming the key and part."""
    try:
        if not isinstance(key, str):
            raise InputError("it is not text")
        band, county, flight, type_, stage, filename = _segments(key, (6,))
        collection = _collection_from_segments(band, county, flight, type_)
        _check_choice(stage, STAGES, "stage")
        name = parse_filename(filename, type_)
        _check_belongs(collection, name)
    except InputError as error:
        raise InputError(f"key {key!r}: {error}") from None
    return ParsedKey(collection, stage, name)


def build_key(collection: "Collection", stage: str, filename: str) -> str:
    return collection.key(stage, filename)


def comparable_key(key: str) -> str:
    """The key with a lowercase extension, to match files across .tif/.TIF; never write it."""
    parsed = parse_key(key)
    return parsed.key[: -len(parsed.name.extension)] + parsed.name.extension.lower()


def scan_key(key: str) -> str | None:
    """The ``scanned/`` key of a georef or COG key, or None for mosaics (which have no scan)."""
    parsed = parse_key(key)
    return None if parsed.collection.type == "mosaic" else parsed.at_stage("scanned")


# --- collection names (tables, mapfiles) ---------------------------------------------------


@dataclass(frozen=True)
class NameParts:
    """A collection name taken apart; lowercase, and the mission without its hyphens."""

    type: str
    agency: str
    county: str | None = None
    year: str | None = None
    mission: str | None = None

    @property
    def name(self) -> str:
        if self.county is None:
            return f"{self.agency}_{self.mission}_{self.type}"
        return f"{self.county.replace(' ', '_')}_{self.agency}_{self.year}_{self.type}"


def parse_name(name: object) -> "NameParts":
    """``NameParts`` of a collection name (a table or mapfile name), or InputError saying why."""
    rule = "must be lowercase letters, digits and underscores, starting with a letter"
    name = _check(name, _NAME, "collection name", rule)
    check_identifier(name)
    *head, type_ = name.split("_")
    if type_ not in TYPES:
        raise InputError(f"collection name {name!r} does not end in _{', _'.join(TYPES)}")
    if len(head) < 2:
        raise InputError(
            f"collection name {name!r} is not <county>_<agency>_<yyyy>_<type> "
            "or <agency>_<mission>_<type>"
        )
    try:
        check_agency(head[-2] if len(head) > 2 else head[0])
        if len(head) == 2:
            return NameParts(type=type_, agency=head[0], mission=head[1])
        check_year(head[-1])
        if not all(word.isalpha() for word in head[:-2]):
            raise InputError(f"county {' '.join(head[:-2])!r} may only contain letters")
    except InputError as error:
        raise InputError(f"collection name {name!r}: {error}") from None
    return NameParts(type=type_, agency=head[-2], county=" ".join(head[:-2]), year=head[-1])


def words(name: str) -> str:
    """A collection name in words, capitalised by rule: "Fort Bend County TXDOT 1952 frames"."""
    parts = parse_name(name)
    kind = TYPE_WORDS[parts.type]
    agency = parts.agency.upper()
    if parts.county is None:
        return f"{agency} {cast(str, parts.mission).upper()} multi-county {kind}"
    return f"{parts.county.title()} County {agency} {parts.year} {kind}"


def mapfile_key(name: str) -> str:
    return f"{MAPFILES_PREFIX}{name}.map"


def index_layer(name: str) -> str:
    return f"{name}_index"


def name_from_mapfile_key(key: str) -> str:
    """The collection name of ``mapfiles/<name>.map``; InputError for any other key."""
    if not (key.startswith(MAPFILES_PREFIX) and key.endswith(".map")):
        raise InputError(f"key {key!r} is not a mapfile {MAPFILES_PREFIX}<collection>.map")
    name = key[len(MAPFILES_PREFIX) : -len(".map")]
    try:
        parse_name(name)
    except InputError as error:
        raise InputError(f"key {key!r}: {error}") from None
    return name


# --- GDAL locations ------------------------------------------------------------------------


def location(bucket: str, key: str) -> str:
    """The tile index ``location`` of a key: the COG as GDAL reads it."""
    _check(bucket, _BUCKET, "bucket", "is not an S3 bucket name")
    return f"/vsis3/{bucket}/{key}"


def split_location(value: object) -> tuple[str, str]:
    """``(bucket, key)`` of a ``/vsis3/<bucket>/<key>`` location."""
    prefix = "/vsis3/"
    text = value if isinstance(value, str) else ""
    bucket, _, key = text[len(prefix) :].partition("/")
    if not text.startswith(prefix) or not bucket or not key:
        raise InputError(f"location {value!r} is not /vsis3/<bucket>/<key>")
    return bucket, key
