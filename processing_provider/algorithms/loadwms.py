"""ls4:loadwms — a collection's live WMS as a layer in the project."""

from xml.etree import ElementTree

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputString,
    QgsProcessingParameterCrs,
    QgsProcessingParameterEnum,
    QgsProcessingParameterString,
)

from ...ls4_plugin import settings
from ...ls4_plugin.core import keys, tiles, urls
from ...ls4_plugin.core.errors import InputError, Ls4Error
from ..base import Ls4Algorithm
from ..wms import fetch, tile_layer, wms_layer


class LoadWms(Ls4Algorithm):
    NAME = "loadwms"
    DISPLAY_NAME = "Load collection WMS"
    HELP = (
        "Adds a collection's WMS to the project, to check what was published. Give the collection "
        "name (the WMS URL is then built from LS4 settings) or a WMS URL. The layer is added on "
        "the main thread when the algorithm finishes. SERVICE picks the WMS or the collection's "
        "tiles from the tile cache beside it (WMTS or XYZ)."
    )
    COLLECTION, WMS_URL, CRS, SERVICE = "COLLECTION", "WMS_URL", "CRS", "SERVICE"
    SERVICES = ("WMS", "WMTS", "XYZ")

    def initAlgorithm(self, config=None):
        self.add(
            QgsProcessingParameterString(self.COLLECTION, self.tr("Collection"), optional=True),
            "Collection name, e.g. bexar_txdot_1952_frames; also the WMS layer name.",
        )
        self.add(
            QgsProcessingParameterString(self.WMS_URL, self.tr("WMS URL"), optional=True),
            "The WMS URL; empty: built from the collection name and LS4 settings.",
        )
        self.add(
            QgsProcessingParameterCrs(
                self.CRS, self.tr("CRS"), defaultValue="EPSG:3857", optional=True
            ),
            "The CRS the layer asks the WMS for (the collection offers EPSG:3857 and EPSG:4326).",
            advanced=True,
        )
        self.add(
            QgsProcessingParameterEnum(
                self.SERVICE, self.tr("Service"), options=list(self.SERVICES), defaultValue=0
            ),
            "WMS (MapServer), WMTS or XYZ (the tile cache, /tiles/<collection> beside the WMS).",
        )
        self.addOutput(QgsProcessingOutputString("LAYER_ID", self.tr("Layer id")))
        self.addOutput(QgsProcessingOutputString("URI", self.tr("Layer source")))

    def execute(self, parameters, context, feedback):
        name = self.parameterAsString(parameters, self.COLLECTION, context).strip()
        url = self.parameterAsString(parameters, self.WMS_URL, context).strip()
        if not name and not url:
            raise QgsProcessingException("Give a collection name or a WMS URL")
        if name:
            keys.check_identifier(name)
        url = url or settings.value("mapserver/wms_url_template").format(collection=name)
        name = name or url.rstrip("/?").rsplit("/", 1)[-1]
        crs = self.parameterAsCrs(parameters, self.CRS, context)
        crs = crs.authid() if crs.isValid() else "EPSG:3857"
        service = self.SERVICES[self.parameterAsEnum(parameters, self.SERVICE, context)]
        if service != "WMS":
            try:
                services = tiles.service_urls(url, name)
            except InputError as error:
                raise QgsProcessingException(str(error)) from error
            url = services["wmts_capabilities" if service == "WMTS" else "xyz"]
        check_offered(service, url, name)
        self.request = (service, url, name, crs)
        return {}

    def postProcessAlgorithm(self, context, feedback):
        # The layer is made here, on the main thread: a provider made in a worker thread computes
        # its extent with that thread's PROJ context, which QGIS can hand over stale once other
        # threads (GDAL's warp threads) have ended: EPSG:4326 to 3857 became the identity, the
        # layer's extent the geographic box read as metres (3.22: a map of nothing; 3.40:
        # "Cannot calculate extent").
        service, url, name, crs = self.request
        if service == "WMS":
            layer = wms_layer(url, name, title(name), crs=crs)
        else:
            layer = tile_layer(service, url, name, title(name))
        if not layer.isValid():
            raise QgsProcessingException(
                f"The {service} at {url} did not load layer {name}: {layer.error().summary()}"
            )
        context.project().addMapLayer(layer)
        feedback.pushInfo(f"Loaded {layer.name()} from {layer.source()}")
        return {"LAYER_ID": layer.id(), "URI": layer.source()}


def check_offered(service, url, name):
    """Fail unless the service's capabilities offer layer ``name``: checked here, in the worker,
    without making a layer (see postProcessAlgorithm); XYZ has no capabilities."""
    if service == "XYZ":
        return
    where = urls.capabilities_url(url) if service == "WMS" else url
    try:
        status, body = fetch(where)
        offered = {
            element.text
            for element in ElementTree.fromstring(body).iter()
            if element.tag.rsplit("}", 1)[-1] in ("Name", "Identifier")
        }
    except (Ls4Error, ElementTree.ParseError) as error:
        raise QgsProcessingException(
            f"The {service} at {url} did not load layer {name}: {error}"
        ) from error
    if status != 200 or name not in offered:
        raise QgsProcessingException(
            f"The {service} at {url} did not load layer {name}: {where} answered HTTP {status} "
            "without that layer"
        )


def title(name):
    """The collection in words when ``name`` follows the grammar, else the name itself."""
    try:
        return keys.words(name)
    except InputError:
        return name
