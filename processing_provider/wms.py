"""The WMS of a collection as a QGIS raster layer (created on the main thread only)."""

from qgis.core import (
    QgsBlockingNetworkRequest,
    QgsDataSourceUri,
    QgsNetworkAccessManager,
    QgsRasterLayer,
)
from qgis.PyQt.QtCore import QUrl
from qgis.PyQt.QtNetwork import QNetworkRequest

from ..ls4_plugin.core import urls
from ..ls4_plugin.core.errors import Ls4Error


def wms_uri(wms_url, layer_name, crs="EPSG:3857"):
    uri = QgsDataSourceUri()
    uri.setParam("url", wms_url)
    uri.setParam("layers", layer_name)
    uri.setParam("styles", "")
    uri.setParam("format", "image/png")
    uri.setParam("crs", crs)
    uri.setParam("dpiMode", "7")
    uri.setParam("contextualWMSLegend", "0")
    return bytes(uri.encodedUri()).decode()


def wms_layer(wms_url, layer_name, title=None, crs="EPSG:3857"):
    """A WMS raster layer from fresh capabilities; ``isValid()`` is False when the service does
    not answer for it."""
    forget_capabilities(wms_url)
    return QgsRasterLayer(wms_uri(wms_url, layer_name, crs), title or layer_name, "wms")


def tile_layer(service, url, layer_name, title=None):
    """A collection's tiles as a layer: ``service`` "WMTS" (``url``: the capabilities) or "XYZ"
    (``url``: the template with {z}/{x}/{y})."""
    uri = QgsDataSourceUri()
    uri.setParam("url", url)
    if service == "WMTS":
        cache = QgsNetworkAccessManager.instance().cache()
        if cache is not None:  # republishing changes the extent (see forget_capabilities)
            cache.remove(QUrl(url))
        uri.setParam("layers", layer_name)
        uri.setParam("styles", "default")
        uri.setParam("format", "image/png")
        uri.setParam("crs", "EPSG:3857")
        uri.setParam("tileMatrixSet", "webmercator")
        uri.setParam("dpiMode", "7")
        uri.setParam("contextualWMSLegend", "0")
    else:
        uri.setParam("type", "xyz")
        uri.setParam("zmin", "0")
        uri.setParam("zmax", "22")
    return QgsRasterLayer(bytes(uri.encodedUri()).decode(), title or layer_name, "wms")


def forget_capabilities(wms_url):
    """Drop QGIS's cached GetCapabilities of ``wms_url``: republishing changes the extent.

    QGIS's WMS provider reads capabilities from its disk cache whenever it has them, however old,
    so a collection republished with more frames would load with its first extent.
    """
    cache = QgsNetworkAccessManager.instance().cache()
    if not wms_url or cache is None:
        return
    cache.remove(QUrl(urls.capabilities_url(wms_url)))  # the request QGIS makes


def fetch(url):
    """The HTTP status and body of a GET of ``url`` through QGIS's network (its proxy and SSL)."""
    request = QgsBlockingNetworkRequest()
    error = request.get(QNetworkRequest(QUrl(url)), True)
    reply = request.reply()
    status = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
    if error != QgsBlockingNetworkRequest.ErrorCode.NoError and not status:
        raise Ls4Error(f"{url} did not answer: {request.errorMessage()}")
    return int(status or 0), bytes(reply.content())
