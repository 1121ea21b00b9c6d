"""Parameters shared by the publishing algorithms: the collection fields and where to publish."""

from qgis.core import (
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterProviderConnection,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from ..ls4_plugin import settings
from ..ls4_plugin.core import keys, publish, rasterinfo, stac, tileindex, tiles
from ..ls4_plugin.core.errors import InputError, Ls4Error

COUNTY, AGENCY, YEAR, MISSION = "COUNTY", "AGENCY", "YEAR", "MISSION"
TYPE, BAND_LAYOUT, DATABASE = "TYPE", "BAND_LAYOUT", "DATABASE"
PGSTAC = "PGSTAC"
TEXT_FIELDS = (COUNTY, AGENCY, YEAR, MISSION)
BAND_CHOICES = ("auto",) + keys.BANDS
# The COG choices of makecog and validatecog: (value, label).
COG_BAND_LAYOUTS = [
    ("auto", "Auto (1 band: bw, 3 bands: nc)"),
    ("bw", "bw (grayscale, band 1)"),
    ("nc", "nc (natural colour, bands 1-3)"),
]
COG_COMPRESSIONS = [
    ("auto", "Auto (bw: DEFLATE, nc: JPEG YCbCr)"),
    ("DEFLATE", "DEFLATE (lossless)"),
    ("ZSTD", "ZSTD (lossless)"),
    ("JPEG", "JPEG"),
    ("WEBP", "WEBP (colour only)"),
]


# --- raster inputs: files GDAL opens, never layers QGIS loads to check them ----------------
#
# Processing checks a raster parameter's value by loading it as a QgsRasterLayer
# (checkValueIsAcceptable), and qgis_process does so for every parameter before a run. Loading a
# layer gives it its default renderer, whose contrast stretch computes the band statistics, and
# GDAL then saves them (PAM) in a new ``<input>.aux.xml`` beside the user's file. LS4's
# algorithms open their inputs with GDAL themselves (``Ls4Algorithm.raster_paths``; a file that
# is not a raster is said by GDAL, naming it), so text values (paths, GDAL virtual paths, a
# project layer's id or name) are accepted as they are. PAM stays on: a frame georeferenced by
# its .aux.xml is still read with it.


def _all_text(value, minimum=1):
    values = value if isinstance(value, list | tuple) else [value]
    return len(values) >= max(1, minimum) and all(
        isinstance(item, str) and item.strip() for item in values
    )


class RasterFile(QgsProcessingParameterRasterLayer):
    """A raster layer parameter whose text values are not loaded as layers to be checked."""

    def checkValueIsAcceptable(self, value, context=None):
        return _all_text(value) or super().checkValueIsAcceptable(value, context)


class RasterFiles(QgsProcessingParameterMultipleLayers):
    """A multiple-layer parameter whose text values are not loaded as layers to be checked."""

    def checkValueIsAcceptable(self, value, context=None):
        minimum = self.minimumNumberInputs()
        return _all_text(value, minimum) or super().checkValueIsAcceptable(value, context)


def enum_param(alg, name, description, choices):
    """An enum parameter whose first choice is the default.

    A choice is a ``(value, label)`` pair, its label translated, or a plain value shown as it is
    (the names of the GUIDE: frames, index, mosaic; scanned, georef, cog; bw, nc).
    """
    labels = [alg.tr(choice[1]) if isinstance(choice, tuple) else choice for choice in choices]
    return QgsProcessingParameterEnum(name, alg.tr(description), options=labels, defaultValue=0)


def enum_value(alg, parameters, name, context, choices):
    """The value of the choice an enum parameter made (see ``enum_param``)."""
    choice = choices[alg.parameterAsEnum(parameters, name, context)]
    return choice[0] if isinstance(choice, tuple) else choice


def add_collection_params(alg, with_band=True):
    """COUNTY … TYPE, and BAND_LAYOUT (auto, bw, nc: the same choices in every algorithm)."""
    alg.add(
        QgsProcessingParameterString(COUNTY, alg.tr("County"), optional=True),
        "County name, e.g. Bexar or Fort Bend, in any case: it is written as the county list of "
        "LS4 settings spells it (default: Texas's 254 counties), and a name not in the list is "
        "refused with the closest names, unless a collection is already published under it. "
        "Leave empty for a multi-county mission.",
    )
    alg.add(
        QgsProcessingParameterString(AGENCY, alg.tr("Agency")),
        "Agency that flew the photographs, e.g. TxDOT, USDA.",
    )
    alg.add(
        QgsProcessingParameterString(YEAR, alg.tr("Year"), optional=True),
        "Four-digit year of the flight (for a single county).",
    )
    alg.add(
        QgsProcessingParameterString(MISSION, alg.tr("Mission code"), optional=True),
        "Mission code of a multi-county mission (letters, digits, hyphens); used instead of the "
        "year when County is empty.",
    )
    alg.add(
        enum_param(alg, TYPE, "Type", keys.TYPES),
        "frames (single photo frames), index (index sheets) or mosaic.",
    )
    if with_band:
        alg.add(
            enum_param(alg, BAND_LAYOUT, "Band layout", BAND_CHOICES),
            "bw: 1-band grayscale; nc: 3-band natural color; auto: read from the first input.",
        )


def collection_from(alg, parameters, context, sources=(), band=None):
    """The collection the parameters name; InputError says which field breaks the rules.

    The band layout is ``band`` when given, else the BAND_LAYOUT choice, "auto" being read
    from the first of ``sources``.
    """
    band = band or enum_value(alg, parameters, BAND_LAYOUT, context, BAND_CHOICES)
    if band == "auto":
        band = detected_band(sources)
    return keys.collection_from_form(form_from(alg, parameters, context), band)


def collection_name_from(alg, parameters, context, off_list=True):
    """The ``CollectionName`` the parameters name (no band layout: it names no table)."""
    return keys.collection_from_form(form_from(alg, parameters, context, off_list))


def form_from(alg, parameters, context, off_list=True):
    """The collection fields of the parameters as ``keys.collection_from_form`` reads them,
    the county as the county list spells it (``listed_county``). ``off_list`` False: a county
    the list does not hold is kept as typed, unjudged (``county_standing`` judges it)."""
    form = {name: alg.parameterAsString(parameters, name, context) for name in TEXT_FIELDS}
    form[TYPE] = enum_value(alg, parameters, TYPE, context, keys.TYPES)
    form[COUNTY] = listed_county(alg, parameters, context, form, off_list)
    return form


def county_standing(county, published):
    """How the county list judges ``county`` (as ``form_from`` gives it) for a collection that
    is ``published`` or not: ``(status, message)``. Status "listed"; "published" (off the list,
    taken because its collection is published); "refused" (off the list, nothing published);
    "" for no county (a multi-county mission). The message is the list's refusal, with its
    closest names, for the last two."""
    typed = (county or "").strip()
    if not typed or typed.lower() == keys.MULTI_COUNTY.lower():
        return "", ""
    try:
        settings.county_list().canonical(typed)
    except InputError as refusal:
        return ("published" if published else "refused"), str(refusal)
    return "listed", ""


def listed_county(alg, parameters, context, form, off_list=True):
    """COUNTY as the county list of LS4 settings spells it ("mclennan" -> "McLennan").

    A county the list does not hold is refused with the closest names ("'Travs' is not in the
    county list of Texas: did you mean Travis?"), unless a collection is already published
    under it (its table records it): the estate published before the list keeps working, and
    ``publish.settle_identity`` then writes it as that table spells it. Empty (a multi-county
    mission) and "MultiCounty" are left to ``keys``.
    """
    typed = (form.get(COUNTY) or "").strip()
    if not typed or typed.lower() == keys.MULTI_COUNTY.lower():
        return typed
    county_list = settings.county_list()
    found = county_list.find(typed)
    if found is not None:
        return found.name
    keys.collection_from_form(form)  # a field's own rule first ("Ba'ca" breaks the county's)
    if not off_list:
        return typed
    try:
        county_list.canonical(typed)
    except InputError as refusal:
        if not published_under(alg, parameters, context, {**form, COUNTY: typed}):
            raise refusal from None
    return typed


def published_under(alg, parameters, context, form):
    """Whether the collection ``form`` names is published already (its table records what it
    holds); False when that cannot be told (no database, the database down)."""
    try:
        table = keys.collection_from_form(form).table
        with tileindex.connect(dsn_from(alg, parameters, context), settings.pg_timeouts()) as conn:
            return (
                tileindex.table_exists(conn, table)
                and publish.stored_collection(conn, table) is not None
            )
    except Ls4Error:
        return False


def collection_problem(alg, parameters, context):
    """Why the collection fields name no collection (a field's rule, a county not in the
    list); "" when they do, or when the algorithm has no collection fields."""
    if alg.parameterDefinition(COUNTY) is None:
        return ""
    try:
        collection_name_from(alg, parameters, context, alg.REFUSES_OFF_LIST_COUNTY)
    except InputError as error:
        return str(error)
    return ""


def detected_band(sources):
    if not sources:
        raise InputError("Band layout is auto but there is no input to read it from: set it")
    report = rasterinfo.inspect_raster(sources[0])
    if not report.band_layout:
        raise InputError(f"{sources[0]}: {report.band_layout_reason}; set Band layout")
    return report.band_layout


def add_database_param(alg):
    parameter = QgsProcessingParameterProviderConnection(
        DATABASE, alg.tr("PostgreSQL connection"), "postgres", optional=True
    )
    default = settings.value("postgres/connection")
    if default:
        parameter.setDefaultValue(default)
    alg.add(
        parameter,
        "The QGIS PostgreSQL connection holding the tile index tables. Empty: the one in "
        "LS4 settings.",
    )


def dsn_from(alg, parameters, context):
    name = alg.parameterAsConnectionName(parameters, DATABASE, context) or settings.value(
        "postgres/connection"
    )
    if not name:
        raise InputError("No PostgreSQL connection given and none set in LS4 settings")
    return settings.connection_dsn(name)


def wms_url_template():
    """The MapServer WMS URL of LS4 settings, which must have {collection} in it."""
    template = settings.value("mapserver/wms_url_template")
    if "{collection}" not in template:
        raise InputError(
            "LS4 settings: the MapServer WMS URL must contain {collection}, e.g. "
            "https://maps.example.org/wms/{collection}"
        )
    return template


# What ``target_from`` reads, in its order (for ``Ls4Algorithm.SETTINGS``).
TARGET = ("mapserver", "s3", "database", "stac")


def settings_problem(alg, parameters, context, needs):
    """Why LS4 settings (or DATABASE) cannot serve a run that needs ``needs``; "" if they can.

    ``needs`` names, in order: "mapserver" (a WMS URL with {collection}), "s3" (a bucket, and
    the keys' authentication configuration), "database" (DATABASE or the connection of LS4
    settings), "stac" (the STAC license and publisher, when STAC is on). The same checks run
    again when the algorithm reads them.
    """
    checks = {
        "mapserver": lambda: (wms_url_template(), tile_cache()),
        "s3": settings.s3_config,
        "database": lambda: dsn_from(alg, parameters, context),
        "stac": lambda: stac_from(alg, parameters, context),
    }
    for need in needs:
        try:
            checks[need]()
        except Ls4Error as error:
            return str(error)
    return ""


def target_from(alg, parameters, context):
    """Where to publish: S3 and MapServer from LS4 settings, the database from the parameter."""
    template = wms_url_template()
    return publish.Target(
        s3=settings.s3_config(),
        dsn=dsn_from(alg, parameters, context),
        wms_url_template=template,
        mapfile_connection=settings.value("postgres/mapfile_connection"),
        map_dir=settings.value("mapserver/map_dir") or None,
        pg_timeouts=settings.pg_timeouts(),
        agencies=settings.agencies(),
        stac=stac_from(alg, parameters, context),
        tile_cache=tile_cache(),
    )


def tile_cache():
    """The tile cache of LS4 settings (tiles.TILE_CACHES), or ``InputError`` saying the choices."""
    chosen = settings.value("tiles/cache").strip().lower() or "file"
    if chosen not in tiles.TILE_CACHES:
        raise InputError(
            f"LS4 setting tiles/cache {chosen!r}: use one of {', '.join(tiles.TILE_CACHES)}"
        )
    return chosen


def add_pgstac_param(alg):
    """PGSTAC: load the STAC into pgSTAC too (default: LS4 settings)."""
    alg.add(
        QgsProcessingParameterBoolean(
            PGSTAC, alg.tr("Load into pgSTAC"), defaultValue=settings.value("stac/pgstac")
        ),
        "Also upsert the collection and its items into the pgstac schema (pypgstac), by default "
        "in the tile index's database, for STAC APIs. The schema is made once by an "
        "administrator with `pypgstac migrate`.",
        advanced=True,
    )


def stac_from(alg, parameters, context):
    """The STAC settings of a run: LS4 settings, and PGSTAC when the algorithm has it."""
    pgstac = settings.value("stac/pgstac")
    if PGSTAC in parameters and alg.parameterDefinition(PGSTAC) is not None:
        pgstac = alg.parameterAsBool(parameters, PGSTAC, context)
    connection = settings.value("stac/pgstac_connection")
    return stac.StacConfig(
        enabled=settings.value("stac/enabled"),
        pgstac=pgstac,
        pgstac_dsn=settings.connection_dsn(connection) if connection else "",
        tile_links=settings.value("stac/tile_links"),
        wmts_url_template=settings.value("stac/wmts_url_template"),
        xyz_url_template=settings.value("stac/xyz_url_template"),
        license=settings.value("stac/license"),
        license_url=settings.value("stac/license_url"),
        publisher=settings.value("stac/publisher"),
        publisher_url=settings.value("stac/publisher_url"),
    )
