"""What the operations tests share: small real collections on the stack, and state snapshots."""

from publish_support import fresh, index_rows, s3_config, target

from ls4.ls4_plugin.core import keys, publish, storage, tileindex
from tools import sample_collection


def frames_collection(county, year="2014", band="bw"):
    return keys.Collection(band=band, type="frames", agency="USGS", county=county, year=year)


def publish_small(stack, county, count, folder, band="bw"):
    """A collection of ``count`` real frames published with their scans; (collection, frames).

    Whatever an earlier run left of the collection is removed first.
    """
    collection = fresh(stack, frames_collection(county, band=band))
    folder.mkdir(parents=True, exist_ok=True)
    frames = sample_collection.cut_frames(band, folder, count)
    publish.upload_stage(target(stack).s3, collection, "scanned", frames)
    result = publish.publish_collection(target(stack), collection, frames)
    assert [frame.status for frame in result.frames] == ["published"] * count
    return collection, frames


def s3_client(stack):
    return storage.client(s3_config(stack))


def bucket_state(stack):
    """{key: (ETag, size, LastModified)} of every object in the bucket."""
    found = {}
    paginator = s3_client(stack).get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=stack["s3"]["bucket"]):
        for item in page.get("Contents", []):
            found[item["Key"]] = (item["ETag"], item["Size"], item["LastModified"])
    return found


def database_state(stack):
    """{table: rows} of every tile index table in the database."""
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        tables = tileindex.list_tables(conn)
    return {table: index_rows(stack, table) for table in tables}


def drop(stack, table):
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        tileindex.drop_table(conn, table)
