"""What the publishing tests share: the stack as LS4 settings, a Target, bucket and index reads."""

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

from ls4.ls4_plugin.core import publish, stac, storage, tileindex, tiles


def s3_config(stack, **changes):
    s3 = stack["s3"]
    values = dict(
        bucket=s3["bucket"],
        endpoint_url=s3["endpoint_url"],
        access_key=s3["access_key"],
        secret_key=s3["secret_key"],
        public_url_base=s3["public_url_base"],
    )
    values.update(changes)
    return storage.S3Config(**values)


def target(stack, **s3_changes):
    """Where the tests publish: the stack's S3, PostGIS and MapServer, as the settings give."""
    return publish.Target(
        s3=s3_config(stack, **s3_changes),
        dsn=stack["postgres"]["dsn"],
        wms_url_template=stack["mapserver"]["wms_url_template"],
        mapfile_connection=f"service={stack['postgres']['service']}",
        map_dir=stack["mapserver"]["map_dir"],
    )


def s3_client(stack):
    """A boto3 client of the stack's S3 with its keys (path-style, as SeaweedFS wants)."""
    s3 = stack["s3"]
    return boto3.client(
        "s3",
        endpoint_url=s3["endpoint_url"],
        aws_access_key_id=s3["access_key"],
        aws_secret_access_key=s3["secret_key"],
        region_name=s3["region"],
        config=Config(s3={"addressing_style": "path"}),
    )


def objects(stack, prefix=""):
    """{key: LastModified} of every object under ``prefix``."""
    s3 = s3_client(stack)
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=stack["s3"]["bucket"], Prefix=prefix
    ):
        for item in page.get("Contents", []):
            found[item["Key"]] = item["LastModified"]
    return found


def index_rows(stack, table):
    """Rows of the tile index ``table`` (empty when the table does not exist)."""
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        if not tileindex.table_exists(conn, table):
            return []
        return tileindex.rows(conn, table)


def fresh(stack, collection):
    """Remove every trace of ``collection`` (objects, its STAC, mapfile, table) left by an earlier
    run (another test, or another leg of the matrix on the same stack)."""
    config = s3_config(stack)
    storage.delete_keys(config, list(objects(stack, collection.prefix())))
    storage.delete_keys(config, list(objects(stack, f"{stac.PREFIX}{collection.name}/")))
    storage.delete_keys(config, [collection.mapfile_key])
    storage.delete_keys(config, list(objects(stack, f"{tiles.s3_cache_dir(collection.name)}/")))
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        tileindex.drop_table(conn, collection.table)
    return collection


def publish_sample_frames(stack, collection, folder, count, publish_target=None):
    """``count`` overlapping bw sample frames published into a fresh ``collection``, its bucket
    public; every frame must publish. Returns the frames' paths."""
    from tools import sample_collection

    storage.apply_public_policy(target(stack).s3)
    fresh(stack, collection)
    frames = sample_collection.cut_frames("bw", folder, count=count)
    publish_target = publish_target or target(stack)
    result = publish.publish_collection(publish_target, collection, [str(f) for f in frames])
    assert {frame.status for frame in result.frames} == {"published"}
    return frames


def anonymous_status(url):
    """The HTTP status of an anonymous GET of ``url``."""
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


QGIS_PROCESS = "/usr/bin/qgis_process.bin"


def qgis_process_env(root, before_enable=None):
    """The environment of ``qgis_process`` runs with a fresh profile under ``root`` whose plugin
    folder holds this repository as ls4, enabled (``before_enable(env, profile folder)`` runs
    first, e.g. to write the profile's settings)."""
    root = Path(root)
    profile = root / "profiles" / "profiles" / "default"
    plugins = profile / "python" / "plugins"
    plugins.mkdir(parents=True)
    (plugins / "ls4").symlink_to(Path(__file__).resolve().parents[1])
    runtime = root / "home" / "runtime"
    runtime.mkdir(parents=True)
    runtime.chmod(0o700)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(root / "home"),
        "LANG": "C.UTF-8",
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_RUNTIME_DIR": str(runtime),
        "QGIS_CUSTOM_CONFIG_PATH": str(root / "profiles"),
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p.endswith("site-packages")),
        "TMPDIR": str(root),
    }
    if before_enable is not None:
        before_enable(env, profile)
    done = subprocess.run([QGIS_PROCESS, "plugins", "enable", "ls4"], env=env, capture_output=True)
    assert done.returncode == 0, done.stderr
    return env
