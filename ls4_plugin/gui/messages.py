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
        match = re.fullmatch(pattern, text)  # re caches the compiled patterns
        if match:
            if isinstance(say, str):  # a template: the values go in as they are
                return say.format(*match.groups())
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


def _s3_refused(what, bucket, endpoint, answer, keys):
    """S3's refusal; its own answer (code and message) is kept as S3 said it."""
    where = tr("bucket {}").format(bucket) if bucket else what
    text = tr("S3 refused {} at {}: {}").format(where, endpoint, answer)
    if keys:
        hint = tr("(the access key or secret key of {} is wrong, or may not read the bucket)")
        text += " " + hint.format(_credentials(keys))
    return text


def _credentials(words):
    match = re.fullmatch(rf"authentication configuration {_VALUE}", words)
    if match:
        return tr("authentication configuration {}").format(match.group(1))
    return tr("the default credentials") if words == "the default credentials" else words


def _s3_reason(words):
    """botocore's reason S3 could not be reached, in words a user can act on."""
    if "Could not connect to the endpoint URL" in words:
        return tr("nothing answers at this address (is the server running?)")
    if "timeout" in words.lower():
        return tr("S3 did not answer in time")
    return words


def _s3_where(words):
    match = re.fullmatch(rf"bucket {_VALUE}", words)
    return tr("bucket {}").format(match.group(1)) if match else words


def _or(names):
    return tr(" or ").join(names.split(" or "))


def _no_frame_published(count, report, frames):
    """publishcollection's error for a run that published no frame: each frame said again."""
    what = tr("1 frame") if count == "1" else tr("{} frames").format(count)
    if report:
        what = tr("{}; every frame's status is in {}").format(what, report)
    return tr("No frame was published ({}): {}").format(what, localize(frames))


def _shapes():
    """(pattern, template or function) for each message shape the GUI shows; first match wins.
    Most shapes are templates: their values go in as the core wrote them."""
    fields = "(county|agency|year|mission code)"
    bands = "(black and white|natural color)"
    return [
        (
            rf"collection (\S+) already exists as {bands} \(s3 prefix (\S+), table (\S+)\); "
            rf"a collection has one band layout, so these {bands} frames cannot join it\. "
            r"Check the band layout chosen, or publish them as a collection of their own "
            r"\(another agency, year or type\)",
            lambda name, band, prefix, table, other: tr(
                "collection {} already exists as {} (s3 prefix {}, table {}); a collection has "
                "one band layout, so these {} frames cannot join it. Check the band layout "
                "chosen, or publish them as a collection of their own (another agency, year or "
                "type)"
            ).format(name, _band(band), prefix, table, _band(other)),
        ),
        (
            rf"mission code {_VALUE} gives table (\S+), which holds mission {_VALUE} "
            rf"\(s3 prefix (\S+)\): write the mission code {_VALUE}, or use one that gives "
            r"a table of its own",
            tr(
                "mission code {} gives table {}, which holds mission {} (s3 prefix {}): write "
                "the mission code {}, or use one that gives a table of its own"
            ),
        ),
        (
            r"the WMS path answers at (\S+) \(404 for a collection that is not published\); "
            r"publish a collection to check MapServer itself",
            tr(
                "the WMS path answers at {} (404 for a collection that is not published); "
                "publish a collection to check MapServer itself"
            ),
        ),
        (
            r"mapfile not written: (\S+) unreachable \((.+)\)",
            lambda service, why: tr("mapfile not written: {} unreachable ({})").format(
                service, localize(why)
            ),
        ),
        (
            r"Mapfile (\S+): the tile index (\S+) has no usable extent \((.*)\); add frames "
            r"before publishing the mapfile",
            tr(
                "Mapfile {}: the tile index {} has no usable extent ({}); add frames before "
                "publishing the mapfile"
            ),
        ),
        (
            r"(.+): cannot be written in (.+?): No space left on device \((\d+) bytes free\); "
            r"GDAL said: (.+)",
            tr(
                "{}: cannot be written in {}: no space left on the device ({} bytes free); "
                "GDAL said: {}"
            ),
        ),
        (
            r"No frame was published \((\d+) frames?(?:; every frame's status is in (.+?))?\): "
            r"(.+)",
            _no_frame_published,
        ),
        (r"(.+); (.+)", lambda first, rest: f"{localize(first)}; {localize(rest)}"),
        # one frame of a run's outcome (publishcollection): "<file>: <status>: <why>"
        (
            r"(.+?): failed: (.+)",
            lambda name, why: tr("{}: failed: {}").format(name, localize(why)),
        ),
        (
            r"(.+?): ((?:not attempted|stopped): .+|canceled by the user)",
            lambda name, why: f"{name}: {localize(why)}",
        ),
        # Test connections (core.connections), as the settings dialog shows them
        (
            rf"bucket {_VALUE} at (\S+) answers with these credentials",
            tr("bucket {} at {} answers with these credentials"),
        ),
        (
            rf"the public stages of bucket {_VALUE} are not public \((\d+) of the LS4 "
            r"public-read policy's resources are not granted\): published COGs, Preview and "
            r"the download links answer 403 until the policy is applied",
            tr(
                "the public stages of bucket {} are not public ({} of the LS4 public-read "
                "policy's resources are not granted): published COGs, Preview and the download "
                "links answer 403 until the policy is applied"
            ),
        ),
        (
            rf"the public stages of bucket {_VALUE} are readable by anyone",
            tr("the public stages of bucket {} are readable by anyone"),
        ),
        (
            rf"connection {_VALUE} opens database {_VALUE} with PostGIS (\S+)",
            tr("connection {} opens database {} with PostGIS {}"),
        ),
        (
            rf"connection {_VALUE}: (.+)",
            lambda name, why: tr("connection {}: {}").format(name, localize(why)),
        ),
        (
            r"MapServer answers at (\S+) \(the WMS capabilities of (\S+)\)",
            tr("MapServer answers at {} (the WMS capabilities of {})"),
        ),
        (r"MapServer answers at (\S+)", tr("MapServer answers at {}")),
        (
            rf"(\S+) answers 404: collection {_VALUE} is not published there",
            tr("{} answers 404: collection {} is not published there"),
        ),
        (
            rf"S3 refused (bucket {_VALUE}|s3://\S+) at (\S+): (.*?)"
            r"(?: \(the access key or secret key of (.+) is wrong, or may not read the "
            r"bucket\))?",
            _s3_refused,
        ),
        (r"no bucket is set", tr("no bucket is set")),
        (r"no PostgreSQL connection is chosen", tr("no PostgreSQL connection is chosen")),
        # the collection's names (core.keys, core.counties)
        (
            rf"mission code {_VALUE} must contain a letter \(e\.g\. AR-1963\)",
            tr("mission code {} must contain a letter (e.g. AR-1963)"),
        ),
        (
            rf"{fields} {_VALUE} (must .+|may only .+)",
            lambda what, value, rule: tr("{} {} {}").format(_field(what), value, _rule(rule)),
        ),
        (
            rf"year {_VALUE} is not between (\d+) and (\d+)",
            tr("year {} is not between {} and {}"),
        ),
        (
            rf"county {_VALUE} is reserved: write {_VALUE} \(or no county\)",
            tr("county {} is reserved: write {} (or no county)"),
        ),
        (
            rf"{_VALUE} is not in the county list of (.+?): did you mean (.+)\?",
            lambda value, state, names: tr(
                "{} is not in the county list of {}: did you mean {}?"
            ).format(value, state, _or(names)),
        ),
        (
            rf"{_VALUE} is not in the county list of (.+)",
            tr("{} is not in the county list of {}"),
        ),
        # the services and the run (settings, core.tileindex, core.publish)
        (
            rf"There is no PostgreSQL connection named {_VALUE} in QGIS",
            tr("There is no PostgreSQL connection named {} in QGIS"),
        ),
        (
            r"Cannot connect to PostgreSQL \((.*)\): (.*)",
            lambda where, why: tr("Cannot connect to PostgreSQL ({}): {}").format(
                where, _reason(why)
            ),
        ),
        (
            r"No S3 bucket is set: open LS4 ▸ Settings and set the bucket",
            tr("No S3 bucket is set: open LS4 ▸ Settings and set the bucket"),
        ),
        (
            r"(.+): its scan is missing from scanned/ \(expected (.+)\)",
            tr("{}: its scan is missing from scanned/ (expected {})"),
        ),
        (
            r"its scan is missing from scanned/ \(expected (.+)\)",
            tr("its scan is missing from scanned/ (expected {})"),
        ),
        (r"not attempted: (.+) unreachable", tr("not attempted: {} unreachable")),
        (r"stopped: (.+) unreachable", tr("stopped: {} unreachable")),
        (
            rf"S3 at (\S+) cannot be reached for (bucket {_VALUE}|s3://\S+): (.+)",
            lambda endpoint, where, _bucket, why: tr(
                "S3 at {} cannot be reached for {}: {}"
            ).format(endpoint, _s3_where(where), _s3_reason(why)),
        ),
        (r"S3 at (\S+) refused (s3://\S+): (.+)", tr("S3 at {} refused {}: {}")),
        (
            r"PostgreSQL \((.*)\) did not answer within (\S+) s",
            tr("PostgreSQL ({}) did not answer within {} s"),
        ),
        (
            r"PostgreSQL \((.*)\) is unreachable: (.+)",
            lambda where, why: tr("PostgreSQL ({}) is unreachable: {}").format(where, _reason(why)),
        ),
        # a frame the core cannot read or make a COG of (core.rasterinfo, gdalutil, cog)
        (r"(.+): the file does not exist", tr("{}: the file does not exist")),
        (
            r"(.+): this is a folder, not a raster file",
            tr("{}: this is a folder, not a raster file"),
        ),
        (r"(.+): the file is empty \(0 bytes\)", tr("{}: the file is empty (0 bytes)")),
        (
            r"(.+): has no raster bands \(a container of subdatasets\?\)",
            tr("{}: has no raster bands (a container of subdatasets?)"),
        ),
        (
            r"(.+): the file is truncated: it has (\d+) bytes but its image data runs to byte "
            r"(\d+) \(an interrupted copy or download\?\)",
            tr(
                "{}: the file is truncated: it has {} bytes but its image data runs to byte {} "
                "(an interrupted copy or download?)"
            ),
        ),
        (
            r"(.+): not a raster file GDAL can read \(GDAL: (.+)\)",
            tr("{}: not a raster file GDAL can read (GDAL: {})"),
        ),
        (r"(.+): not a raster file GDAL can read", tr("{}: not a raster file GDAL can read")),
        (r"(.+): GDAL cannot open it: (.*)", tr("{}: GDAL cannot open it: {}")),
        (
            r"(.+): not georeferenced \(no geotransform and no GCPs\): georeference the scan "
            r"first \(ls4:georeference\)",
            tr(
                "{}: not georeferenced (no geotransform and no GCPs): georeference the scan "
                "first (ls4:georeference)"
            ),
        ),
        (
            r"(.+): georeferenced but without a CRS: assign one \(Assign projection\)",
            tr("{}: georeferenced but without a CRS: assign one (Assign projection)"),
        ),
        (
            r"(.+): a paletted image: expand it to RGB first \(gdal_translate -expand\)",
            tr("{}: a paletted image: expand it to RGB first (gdal_translate -expand)"),
        ),
        (
            r"(.+): WEBP holds colour \(nc\) images only: use DEFLATE or ZSTD",
            tr("{}: WEBP holds colour (nc) images only: use DEFLATE or ZSTD"),
        ),
        (r"(.+): cannot be written in (.+?): (.+)", tr("{}: cannot be written in {}: {}")),
        # STAC items the publish could not write (core.stac): warnings
        (
            r"(.+): no STAC item: its date (\S+) cannot be read as a day within a year of the "
            r"collection's (\d+)",
            tr(
                "{}: no STAC item: its date {} cannot be read as a day within a year of the "
                "collection's {}"
            ),
        ),
        (
            r"(.+): no STAC item: its date (\S+) could be (.+) and the collection (\S+) names "
            r"no year to decide",
            lambda name, date, years, collection: tr(
                "{}: no STAC item: its date {} could be {} and the collection {} names no year "
                "to decide"
            ).format(name, date, _or(years), collection),
        ),
        (
            r"(.+): no STAC item: the collection (\S+) has no year \(its mission code names "
            r"none\), so its date range is unknown",
            tr(
                "{}: no STAC item: the collection {} has no year (its mission code names none), "
                "so its date range is unknown"
            ),
        ),
        (r"(.+): no row of (\S+) holds (\S+): no item", tr("{}: no row of {} holds {}: no item")),
        (r"(.+): its COG (\S+) is gone: no item", tr("{}: its COG {} is gone: no item")),
        (r"(.+): cannot be read as a raster", tr("{}: cannot be read as a raster")),
        (r"Canceled by the user|canceled by the user", tr("Canceled")),
    ]
