"""Parameters shared by the publishing algorithms: the collection fields and where to publish."""

from qgis.core import (
    QgsProcessingParameterEnum,
    QgsProcessingParameterProviderConnection,
    QgsProcessingParameterString,
)

from ..ls4_plugin import settings
from ..ls4_plugin.core import keys, publish, rasterinfo
from ..ls4_plugin.core.errors import InputError

COUNTY, AGENCY, YEAR, MISSION = "COUNTY", "AGENCY", "YEAR", "MISSION"
TYPE, BAND_LAYOUT, DATABASE = "TYPE", "BAND_LAYOUT", "DATABASE"
BAND_CHOICES = ("auto",) + keys.BANDS


def add_collection_params(alg, with_band=True):
    """COUNTY … TYPE, and BAND_LAYOUT (auto, bw, nc: the same choices in every algorithm)."""
    alg.add(
        QgsProcessingParameterString(COUNTY, alg.tr("County"), optional=True),
        "County name, e.g. Bexar or Fort Bend. Leave empty for a multi-county mission.",
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
        QgsProcessingParameterEnum(TYPE, alg.tr("Type"), options=list(keys.TYPES), defaultValue=0),
        "frames (single photo frames), index (index sheets) or mosaic.",
    )
    if with_band:
        alg.add(
            QgsProcessingParameterEnum(
                BAND_LAYOUT, alg.tr("Band layout"), options=list(BAND_CHOICES), defaultValue=0
            ),
            "bw: 1-band grayscale; nc: 3-band natural color; auto: read from the first input.",
        )


def collection_from(alg, parameters, context, sources=(), band=None):
    """The collection the parameters name; InputError says which field breaks the rules.

    The band layout is ``band`` when given, else the BAND_LAYOUT choice, "auto" being read
    from the first of ``sources``.
    """

    def text(name):
        return alg.parameterAsString(parameters, name, context).strip() or None

    band = band or BAND_CHOICES[alg.parameterAsEnum(parameters, BAND_LAYOUT, context)]
    if band == "auto":
        band = detected_band(sources)
    return keys.Collection(
        band=band,
        type=keys.TYPES[alg.parameterAsEnum(parameters, TYPE, context)],
        agency=text(AGENCY) or "",
        county=text(COUNTY),
        year=text(YEAR),
        mission=text(MISSION),
    )


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


def target_from(alg, parameters, context):
    """Where to publish: S3 and MapServer from LS4 settings, the database from the parameter."""
    template = settings.value("mapserver/wms_url_template")
    if "{collection}" not in template:
        raise InputError(
            "LS4 settings: the MapServer WMS URL must contain {collection}, e.g. "
            "https://maps.example.org/wms/{collection}"
        )
    return publish.Target(
        s3=settings.s3_config(),
        dsn=dsn_from(alg, parameters, context),
        wms_url_template=template,
        mapfile_connection=settings.value("postgres/mapfile_connection"),
        map_dir=settings.value("mapserver/map_dir") or None,
    )
