"""The WMS of a collection as a QGIS raster layer (created on the main thread only)."""

from qgis.core import QgsDataSourceUri, QgsRasterLayer


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


def wms_layer(wms_url, layer_name, title=None):
    """A WMS raster layer; ``isValid()`` is False when the service does not answer for it."""
    return QgsRasterLayer(wms_uri(wms_url, layer_name), title or layer_name, "wms")
