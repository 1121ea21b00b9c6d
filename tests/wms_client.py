"""A plain WMS client for tests: requests over HTTP, PNG answers as arrays, PSNR."""

import urllib.parse
import urllib.request
import uuid

import numpy as np
from osgeo import gdal


def wms(url, **query):
    """(content type, body) of a WMS 1.3.0 request to ``url``."""
    query = {"SERVICE": "WMS", "VERSION": "1.3.0", **query}
    with urllib.request.urlopen(f"{url}?{urllib.parse.urlencode(query)}", timeout=60) as reply:
        return reply.headers.get_content_type(), reply.read()


def image_array(body):
    """An encoded image (PNG, JPEG) as a float array (bands, rows, columns)."""
    name = f"/vsimem/{uuid.uuid4().hex}"
    gdal.FileFromMemBuffer(name, body)
    try:
        return gdal.Open(name).ReadAsArray().astype(float)
    finally:
        gdal.Unlink(name)


def getmap_query(layers, bbox, width, height, crs="EPSG:3857"):
    """The parameters of a WMS 1.3.0 transparent PNG GetMap."""
    return dict(
        SERVICE="WMS",
        VERSION="1.3.0",
        REQUEST="GetMap",
        LAYERS=layers,
        STYLES="",
        CRS=crs,
        BBOX=",".join(str(value) for value in bbox),
        WIDTH=width,
        HEIGHT=height,
        FORMAT="image/png",
        TRANSPARENT="TRUE",
    )


def get_map(url, layers, bbox, width, height, crs="EPSG:3857"):
    """A transparent PNG GetMap as an array (bands, rows, columns); fails on anything else."""
    content_type, body = wms(url, **getmap_query(layers, bbox, width, height, crs))
    assert content_type == "image/png", body[:500]
    return image_array(body)


def psnr(image, reference, where):
    """Peak signal-to-noise ratio in dB of ``image`` against ``reference`` on the mask ``where``."""
    mse = np.mean((image[:, where] - reference[:, where]) ** 2)
    return np.inf if mse == 0 else 10 * np.log10(255.0**2 / mse)
