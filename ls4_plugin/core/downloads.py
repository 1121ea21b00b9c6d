"""The collection's tile index as a download: ``tileindex/<collection>.gpkg`` (public).

Every row's ``dl_index`` links to it; publishing refreshes it from the table (one layer named
after the collection, the footprints in EPSG:3857 with every index field), replaced whole.
"""

import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from osgeo import ogr, osr

from . import storage, tileindex
from .errors import Ls4Error
from .keys import CollectionName

if TYPE_CHECKING:
    from .publish import Target

PREFIX = "tileindex/"


def index_key(collection_name: str) -> str:
    """The key of the collection's GeoPackage download."""
    return f"{PREFIX}{collection_name}.gpkg"


def index_url(config: storage.S3Config, collection_name: str) -> str:
    """The public URL the rows' ``dl_index`` give."""
    return storage.public_url(config, index_key(collection_name))


def publish_index(target: "Target", collection: CollectionName) -> str:
    """Write the GeoPackage of the collection's rows to S3 and point every row's ``dl_index`` at
    it; returns its key ("" when the table is empty or missing)."""
    url = index_url(target.s3, collection.name)
    with tileindex.connect(target.dsn) as conn:
        if not tileindex.table_exists(conn, collection.table):
            return ""
        tileindex.set_dl_index(conn, collection.table, url)
        rows = tileindex.rows(conn, collection.table)
    if not rows:
        return ""
    with tempfile.TemporaryDirectory(prefix="ls4-index-") as folder:
        path = os.path.join(folder, f"{collection.name}.gpkg")
        write_geopackage(path, collection.name, rows)
        storage.upload_file(target.s3, path, index_key(collection.name))
    return index_key(collection.name)


def write_geopackage(path: str, layer_name: str, rows: Sequence[Mapping[str, object]]) -> None:
    """A GeoPackage at ``path``: one polygon layer of ``rows`` (tileindex.rows dicts)."""
    driver = ogr.GetDriverByName("GPKG")
    dataset = driver.CreateDataSource(path)
    if dataset is None:
        raise Ls4Error(f"{path}: GDAL cannot create a GeoPackage here")
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(3857)
    layer = dataset.CreateLayer(layer_name, srs, ogr.wkbMultiPolygon)
    for name in tileindex.FIELDS:
        layer.CreateField(ogr.FieldDefn(name, ogr.OFTString))
    layer.StartTransaction()
    for row in rows:
        feature = ogr.Feature(layer.GetLayerDefn())
        for name in tileindex.FIELDS:
            if row.get(name) is not None:
                feature.SetField(name, str(row[name]))
        geometry = ogr.ForceToMultiPolygon(ogr.CreateGeometryFromWkt(row["footprint"]))
        feature.SetGeometry(geometry)
        layer.CreateFeature(feature)
    layer.CommitTransaction()
    dataset = None  # closes and flushes the file
