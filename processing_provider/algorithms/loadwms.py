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
        published = offered_title(service, url, name)
        self.request = (service, url, name, crs, published or title(name))
        return {}

    def postProcessAlgorithm(self, context, feedback):
        # The layer is made here, on the main thread: a provider made in a worker thread computes
        # its extent with that thread's PROJ context, which QGIS can hand over stale once other
        # threads (GDAL's warp threads) have ended: EPSG:4326 to 3857 became the identity, the
        # layer's extent the geographic box read as metres (3.22: a map of nothing; 3.40:
        # "Cannot calculate extent").
        service, url, name, crs, layer_title = self.request
        if service == "WMS":
            layer = wms_layer(url, name, layer_title, crs=crs)
        else:
            layer = tile_layer(service, url, name, layer_title)
        if not layer.isValid():
            raise QgsProcessingException(
                f"The {service} at {url} did not load layer {name}: {layer.error().summary()}"
            )
        context.project().addMapLayer(layer)
        feedback.pushInfo(f"Loaded {layer.name()} from {layer.source()}")
        return {"LAYER_ID": layer.id(), "URI": layer.source()}


def offered_title(service, url, name):
    """The title the service's capabilities give layer ``name`` (None for XYZ, which has no
    capabilities); fails unless they offer it. Checked here, in the worker, without making a
    layer (see postProcessAlgorithm). The title is the publisher's: its spelling ("TxDOT"),
    which the name's lower case has lost."""
    if service == "XYZ":
        return None
    where = urls.capabilities_url(url) if service == "WMS" else url
    try:
        status, body = fetch(where)
        layers = _offered_layers(ElementTree.fromstring(body)) if status == 200 else {}
    except (Ls4Error, ElementTree.ParseError) as error:
        raise QgsProcessingException(
            f"The {service} at {url} did not load layer {name}: {error}"
        ) from error
    if name not in layers:
        raise QgsProcessingException(
            f"The {service} at {url} did not load layer {name}: {where} answered HTTP {status} "
            "without that layer"
        )
    return layers[name]


def _offered_layers(root):
    """``{name: title or None}`` of the layers of WMS or WMTS capabilities."""
    layers = {}
    for layer in root.iter():
        if _local(layer.tag) != "Layer":
            continue
        fields = {_local(child.tag): (child.text or "").strip() for child in layer}
        name = fields.get("Name") or fields.get("Identifier")
        if name:
            layers[name] = fields.get("Title") or None
    return layers


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def title(name):
    """The collection in words when ``name`` follows the grammar, else the name itself."""
    try:
        return keys.words(name)
    except InputError:
        return name
