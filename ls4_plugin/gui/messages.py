"""The core's messages in the user's language.

The core is free of QGIS and speaks English (its messages also go to logs, reports and
``qgis_process``). The messages a georeferencer meets in the dock and the settings are matched
here by their shape and said again through ``tr``, with their values (names, paths, URLs) kept;
a message of no known shape is shown as the core wrote it.
"""

import re

from qgis.PyQt.QtCore import QCoreApplication

TR_CONTEXT = "Ls4Messages"
_VALUE = r"('(?:[^'\\]|\\.)*'|\"[^\"]*\")"  # a value as the core quotes it (repr)


def tr(text):
    return QCoreApplication.translate(TR_CONTEXT, text)


def localize(text):
    """``text`` (a core message, possibly several joined by "; ") in the user's language."""
    text = str(text)
    for pattern, say in _shapes():
        match = pattern.fullmatch(text)
        if match:
            return say(*match.groups())
    return text


def _field(word):
    return {
        "county": tr("county"),
        "agency": tr("agency"),
        "year": tr("year"),
        "mission code": tr("mission code"),
    }.get(word, word)


def _rule(words):
    return {
        "must be four digits": tr("must be four digits"),
        "may only contain ASCII letters and digits, starting with a letter": tr(
            "may only contain ASCII letters and digits, starting with a letter"
        ),
        "may only contain ASCII letters, with single spaces (or underscores) between words": tr(
            "may only contain ASCII letters, with single spaces (or underscores) between words"
        ),
        "may only contain ASCII letters, digits and single hyphens": tr(
            "may only contain ASCII letters, digits and single hyphens"
        ),
    }.get(words, words)


def _band(words):
    return {"black and white": tr("black and white"), "natural color": tr("natural color")}.get(
        words, words
    )


def _reason(words):
    """libpq's reason for a refused connection, in words a user can act on."""
    if "Connection refused" in words:
        return tr("nothing answers at this host and port (is the server running?)")
    if "timeout expired" in words or "timed out" in words:
        return tr("the server did not answer in time")
    if "password authentication failed" in words:
        return tr("the user name or password is wrong")
    if "could not translate host name" in words:
        return tr("the host name is not known")
    return words


def _or(names):
    return tr(" or ").join(names.split(" or "))


def _shapes():
    """(pattern, how to say it) for each message shape the GUI shows; first match wins."""
    fields = "(county|agency|year|mission code)"
    bands = "(black and white|natural color)"
    return [
        (
            re.compile(
                rf"collection (\S+) already exists as {bands} \(s3 prefix (\S+), table (\S+)\); "
                rf"a collection has one band layout, so these {bands} frames cannot join it\. "
                r"Check the band layout chosen, or publish them as a collection of their own "
                r"\(another agency, year or type\)"
            ),
            lambda name, band, prefix, table, other: tr(
                "collection {} already exists as {} (s3 prefix {}, table {}); a collection has "
                "one band layout, so these {} frames cannot join it. Check the band layout "
                "chosen, or publish them as a collection of their own (another agency, year or "
                "type)"
            ).format(name, _band(band), prefix, table, _band(other)),
        ),
        (
            re.compile(
                rf"mission code {_VALUE} gives table (\S+), which holds mission {_VALUE} "
                rf"\(s3 prefix (\S+)\): write the mission code {_VALUE}, or use one that gives "
                r"a table of its own"
            ),
            lambda code, table, held, prefix, again: tr(
                "mission code {} gives table {}, which holds mission {} (s3 prefix {}): write "
                "the mission code {}, or use one that gives a table of its own"
            ).format(code, table, held, prefix, again),
        ),
        (re.compile(r"(.+); (.+)"), lambda a, b: f"{localize(a)}; {localize(b)}"),
        (
            re.compile(rf"mission code {_VALUE} must contain a letter \(e\.g\. AR-1963\)"),
            lambda value: tr("mission code {} must contain a letter (e.g. AR-1963)").format(value),
        ),
        (
            re.compile(rf"{fields} {_VALUE} (must .+|may only .+)"),
            lambda what, value, rule: tr("{} {} {}").format(_field(what), value, _rule(rule)),
        ),
        (
            re.compile(rf"year {_VALUE} is not between (\d+) and (\d+)"),
            lambda value, first, last: tr("year {} is not between {} and {}").format(
                value, first, last
            ),
        ),
        (
            re.compile(rf"county {_VALUE} is reserved: write {_VALUE} \(or no county\)"),
            lambda value, multi: tr("county {} is reserved: write {} (or no county)").format(
                value, multi
            ),
        ),
        (
            re.compile(rf"{_VALUE} is not in the county list of (.+?): did you mean (.+)\?"),
            lambda value, state, names: tr(
                "{} is not in the county list of {}: did you mean {}?"
            ).format(value, state, _or(names)),
        ),
        (
            re.compile(rf"{_VALUE} is not in the county list of (.+)"),
            lambda value, state: tr("{} is not in the county list of {}").format(value, state),
        ),
        (
            re.compile(rf"There is no PostgreSQL connection named {_VALUE} in QGIS"),
            lambda name: tr("There is no PostgreSQL connection named {} in QGIS").format(name),
        ),
        (
            re.compile(r"Cannot connect to PostgreSQL \((.*)\): (.*)"),
            lambda where, why: tr("Cannot connect to PostgreSQL ({}): {}").format(
                where, _reason(why)
            ),
        ),
        (
            re.compile(r"No S3 bucket is set: open LS4 ▸ Settings and set the bucket"),
            lambda: tr("No S3 bucket is set: open LS4 ▸ Settings and set the bucket"),
        ),
        (
            re.compile(r"(.+): its scan is missing from scanned/ \(expected (.+)\)"),
            lambda name, key: tr("{}: its scan is missing from scanned/ (expected {})").format(
                name, key
            ),
        ),
        (
            re.compile(r"its scan is missing from scanned/ \(expected (.+)\)"),
            lambda key: tr("its scan is missing from scanned/ (expected {})").format(key),
        ),
        (
            re.compile(r"not attempted: (.+) unreachable"),
            lambda service: tr("not attempted: {} unreachable").format(service),
        ),
        (re.compile(r"Canceled by the user|canceled by the user"), lambda: tr("Canceled")),
    ]
