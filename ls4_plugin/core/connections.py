"""Checks of the three services LS4 publishes to (S3, PostgreSQL, MapServer), free of QGIS.

Each check returns what works, in words, or raises ``Ls4Error`` saying why not; ``run_check``
turns that into ``(ok, message)``. What needs QGIS is handed in: the S3 keys and the DSN of a
QGIS connection are read by callables (so that a missing authentication configuration is the
check's failure, not the caller's), and the HTTP request of the MapServer check is ``fetch``.
"""

import re
from collections.abc import Callable

from . import keys, storage, tileindex, urls
from .errors import InputError, Ls4Error, ServiceUnavailable

PROBE_COLLECTION = "ls4_connection_test_frames"

Credentials = tuple[str | None, str | None]


def run_check(check: Callable[[], str]) -> tuple[bool, str]:
    """``(True, what works)`` or ``(False, why not)``."""
    try:
        return True, check()
    except Ls4Error as error:
        return False, str(error)


def check_s3(
    bucket: str,
    endpoint: str,
    region: str,
    credentials: Callable[[], Credentials],
    credentials_name: str = "",
) -> str:
    """The bucket answers a HEAD request with the keys ``credentials()`` gives.

    ``credentials_name`` names them in the hint of a refusal (an authentication configuration's
    id; empty: boto3's default credentials).
    """
    if not bucket:
        raise InputError("no bucket is set")
    config = _s3_config(bucket, endpoint, region, credentials)
    try:
        storage.check_connection(config)
    except Ls4Error as error:
        raise Ls4Error(f"{error}{s3_hint(str(error), credentials_name)}") from error
    return f"bucket {bucket!r} at {endpoint or 'AWS'} answers with these credentials"


def check_public_read(
    bucket: str, endpoint: str, region: str, credentials: Callable[[], Credentials]
) -> str:
    """The bucket's policy lets anyone read the public stages (``storage.public_read_policy``);
    Ls4Error saying what is not public otherwise (published COGs and download links would
    answer 403)."""
    missing = storage.missing_public_read(_s3_config(bucket, endpoint, region, credentials))
    if missing:
        raise Ls4Error(
            f"the public stages of bucket {bucket!r} are not public ({len(missing)} of the "
            "LS4 public-read policy's resources are not granted): published COGs, Preview and "
            "the download links answer 403 until the policy is applied"
        )
    return f"the public stages of bucket {bucket!r} are readable by anyone"


def _s3_config(
    bucket: str, endpoint: str, region: str, credentials: Callable[[], Credentials]
) -> storage.S3Config:
    access_key, secret_key = credentials()
    return storage.S3Config(
        bucket=bucket,
        endpoint_url=endpoint or None,
        region=region or "us-east-1",
        access_key=access_key,
        secret_key=secret_key,
    )


def s3_hint(message: str, credentials_name: str) -> str:
    if credentials_name:
        where = f"authentication configuration {credentials_name!r}"
    else:
        where = "the default credentials"
    if "403" in message or "Forbidden" in message or "Signature" in message:
        return f" (the access key or secret key of {where} is wrong, or may not read the bucket)"
    if "404" in message or "NoSuchBucket" in message:
        return " (there is no such bucket at this endpoint)"
    return ""


def bounded(dsn: str) -> str:
    """``dsn`` with a connect timeout: a host that drops packets would hang the check."""
    return dsn if "connect_timeout" in dsn else f"{dsn} connect_timeout=10"


def check_postgres(name: str, dsn_of: Callable[[str], str]) -> str:
    """The connection called ``name`` (its DSN from ``dsn_of``) opens and PostGIS works there."""
    if not name:
        raise InputError("no PostgreSQL connection is chosen")
    try:
        conn = tileindex.connect(bounded(dsn_of(name)))
    except Ls4Error as error:
        raise Ls4Error(f"connection {name!r}: {error}") from error
    with conn:
        try:
            database, version = tileindex.server_info(conn)
        except ServiceUnavailable as error:
            raise Ls4Error(f"connection {name!r}: {error}") from error
        except Ls4Error as error:
            raise Ls4Error(
                f"connection {name!r} opens, but PostGIS is not usable there: {error}"
            ) from error
    return f"connection {name!r} opens database {database!r} with PostGIS {version}"


Fetch = Callable[[str], tuple[int, bytes]]


def check_mapserver(
    template: str,
    collection: str,
    fetch: Fetch,
    published: Callable[[], list[str]] = list,
) -> str:
    """A WMS GetCapabilities request to ``template`` is answered by MapServer.

    ``fetch(url)`` makes the request (raising ``Ls4Error`` when nothing answers) and returns the
    HTTP status and body. Without ``collection``, the first of ``published()`` is asked, else a
    probe name: LS4's server answers a collection that is not published with a plain 404 that
    names no file, so only a published collection shows MapServer itself.
    """
    if "{collection}" not in template:
        raise InputError(f"the WMS URL {template!r} has no {{collection}} in it")
    if collection:
        keys.check_identifier(collection)
        return collection_verdict(capabilities(template, collection), collection, fetch)
    for name in published()[:1]:
        url = capabilities(template, name)
        if b"WMS_Capabilities" in fetch(url)[1]:
            return f"MapServer answers at {base(url)} (the WMS capabilities of {name})"
    url = capabilities(template, PROBE_COLLECTION)
    return probe_verdict(url, *fetch(url))


def collection_tables(dsn: str) -> list[str]:
    """The collection tables of the database at ``dsn``."""
    with tileindex.connect(bounded(dsn)) as conn:
        return list(tileindex.list_tables(conn))


def capabilities(template: str, collection: str) -> str:
    return urls.capabilities_url(template.format(collection=collection), version="1.3.0")


def base(url: str) -> str:
    return url.split("?")[0]


def collection_verdict(url: str, collection: str, fetch: Fetch) -> str:
    status, body = fetch(url)
    if b"WMS_Capabilities" in body:
        return f"{url} answers with WMS capabilities"
    if status == 404:
        raise Ls4Error(f"{base(url)} answers 404: collection {collection!r} is not published there")
    raise Ls4Error(f"{url} answers, but not with WMS capabilities: {summary(body)}")


def probe_verdict(url: str, status: int, body: bytes) -> str:
    if b"MapServer" in body or b"msLoadMap" in body:
        return f"MapServer answers at {base(url)}"
    if status == 404:
        return (
            f"the WMS path answers at {base(url)} (404 for a collection that is not published); "
            "publish a collection to check MapServer itself"
        )
    raise Ls4Error(f"{url} answers, but not as MapServer does: {summary(body)}")


def summary(body: bytes, length: int = 300) -> str:
    """The words of an answer, without its markup (MapServer's errors come as HTML)."""
    text = re.sub(r"<!--.*?-->|<[^>]*>", " ", body.decode("utf-8", "replace"), flags=re.S)
    return " ".join(text.split())[:length]
