"""The counties a collection may name: a list from a CSV file, with close-match suggestions.

The shipped default is ``data/texas_counties.csv``: Texas's 254 counties with their FIPS codes
(the publisher's own state; its source is named in the file's first lines). Another state or
an edited list is a CSV file with the header ``state,fips,county`` (one county a row; ``fips``
may be empty), chosen with the LS4 setting ``keys/county_list``; lines starting with ``#``
before the header are comments (where the list comes from). What the user typed is matched
without regard to case, underscores or repeated spaces ("fort_bend", "FORT BEND"); the list's
spelling ("Fort Bend", "DeWitt") is the canonical one that goes into keys and titles.
"""

import csv
import difflib
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache

from .errors import InputError

DEFAULT_LIST = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "data", "texas_counties.csv"
)


@dataclass(frozen=True)
class County:
    name: str  # canonical spelling
    fips: str  # "" when the list gives none
    state: str


@dataclass(frozen=True)
class CountyList:
    counties: tuple[County, ...]
    source: str
    _by_key: dict[str, County] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {_key(c.name): c for c in self.counties})

    @property
    def state(self) -> str:
        states = sorted({county.state for county in self.counties if county.state})
        return ", ".join(states)

    def find(self, typed: str) -> County | None:
        """The ``County`` that ``typed`` names (any case, "_" or " "), or None."""
        return self._by_key.get(_key(typed))

    def suggestions(self, typed: str, count: int = 3) -> list[str]:
        """Canonical names close to ``typed`` ("Travs" -> ["Travis"]), best first."""
        keys = self._by_key
        close = difflib.get_close_matches(_key(typed), list(keys), n=count, cutoff=0.75)
        return [keys[key].name for key in close]

    def canonical(self, typed: str) -> str:
        """The list's spelling of ``typed``; InputError naming close matches when it has none."""
        found = self.find(typed)
        if found is not None:
            return found.name
        close = self.suggestions(typed)
        hint = f": did you mean {' or '.join(close)}?" if close else ""
        where = f"the county list of {self.state}" if self.state else "the county list"
        raise InputError(f"{typed.strip()!r} is not in {where}{hint}")


def _key(text: object) -> str:
    return re.sub(r"[\s_]+", " ", str(text)).strip().lower()


def load(path: str | None = None) -> CountyList:
    """The ``CountyList`` of the CSV file ``path`` (default: the shipped Texas list)."""
    path = os.path.abspath(path or DEFAULT_LIST)
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError as error:
        raise InputError(f"{path}: the county list cannot be read ({error.strerror})") from None
    return _load(path, stamp)


@lru_cache(maxsize=8)
def _load(path: str, _stamp: int) -> CountyList:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            lines = handle.read().splitlines(keepends=True)
        comments = next((n for n, line in enumerate(lines) if not line.startswith("#")), 0)
        rows = list(csv.DictReader(lines[comments:]))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"{path}: the county list cannot be read ({error})") from None
    counties = []
    for number, row in enumerate(rows, start=comments + 2):
        name = (row.get("county") or "").strip()
        if not name:
            raise InputError(f"{path}, line {number}: no county (the header is state,fips,county)")
        fips = (row.get("fips") or "").strip()
        counties.append(County(name=name, fips=fips, state=(row.get("state") or "").strip()))
    if not counties:
        raise InputError(f"{path}: the county list is empty")
    return CountyList(counties=tuple(counties), source=path)
