"""S3 storage under the shared key layout: checksummed uploads, public-read policy, listings.

Public access is decided by the bucket policy on the public stages; the legacy ``public-read`` ACL
is sent only when ``S3Config.legacy_acl`` is on (new AWS buckets refuse ACLs).
"""

import hashlib
import json
import mimetypes
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from . import keys
from .errors import Canceled, Ls4Error, ServiceUnavailable
from .feedback import check_canceled, ensure

SERVICE = "S3"
NOT_FOUND = ("404", "NoSuchKey", "NotFound")
SERVER_ERRORS = ("(500)", "(502)", "(503)", "(504)", "InternalError", "SlowDown")
PUBLIC_STAGES = ("scanned", "georef", "cog")
PUBLIC_TOP = ("geojson", "tileindex", "stac")
CHECKSUM_KEY = "sha256"
MULTIPART_THRESHOLD = 16 * 1024 * 1024
CONTENT_TYPES = {
    ".tif": "image/tiff",
    ".map": "text/plain",
    ".geojson": "application/geo+json",
    ".gpkg": "application/geopackage+sqlite3",
}


@dataclass(frozen=True)
class S3Config:
    bucket: str
    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key: str | None = None
    secret_key: str | None = None
    public_url_base: str | None = None
    legacy_acl: bool = False
    # One request to a hung server costs at most max_attempts x read_timeout (plus a back-off
    # under a second): 2 x 10 s. An S3 server answers a request (a part of 8 MiB included)
    # well within 10 s, so a longer wait means it is not going to answer.
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    max_attempts: int = 2

    def __repr__(self):
        # The secret must never reach a log or a traceback.
        return f"S3Config(bucket={self.bucket!r}, endpoint_url={self.endpoint_url!r})"


_CLIENTS: dict["S3Config", Any] = {}  # boto3 clients by configuration
_CLIENTS_LOCK = threading.Lock()


def client(config):
    """A boto3 S3 client that fails in seconds when the endpoint cannot be reached.

    One client per configuration, shared: boto3 clients are thread-safe, slow to create, and
    each keeps its own connection pool.
    """
    with _CLIENTS_LOCK:
        if config not in _CLIENTS:
            _CLIENTS[config] = _new_client(config)
        return _CLIENTS[config]


def close_clients():
    """Close the shared clients and their connections (the plugin's unload, a script's end)."""
    with _CLIENTS_LOCK:
        for shared in _CLIENTS.values():
            shared.close()
        _CLIENTS.clear()


def _new_client(config):
    botocore_config = Config(
        region_name=config.region,
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        retries={"max_attempts": config.max_attempts, "mode": "standard"},
        s3={"addressing_style": "path" if config.endpoint_url else "auto"},
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=config.endpoint_url,
        aws_access_key_id=config.access_key,
        aws_secret_access_key=config.secret_key,
        config=botocore_config,
    )


def is_public_key(key):
    parts = key.split("/")
    return parts[0] in PUBLIC_TOP or any(stage in parts[:-1] for stage in PUBLIC_STAGES)


def public_url(config, key):
    """The anonymous download URL of ``key``."""
    if config.public_url_base:
        base = config.public_url_base.rstrip("/")
    elif config.endpoint_url:
        base = f"{config.endpoint_url.rstrip('/')}/{config.bucket}"
    else:
        base = f"https://{config.bucket}.s3.{config.region}.amazonaws.com"
    return f"{base}/{key}"


def vsis3_path(config, key):
    """The path GDAL (and MapServer) read the object by: the tile index ``location``."""
    return keys.location(config.bucket, key)


def file_sha256(path, feedback=None):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(4 * 1024 * 1024), b""):
            check_canceled(feedback)
            digest.update(block)
    return digest.hexdigest()


def _describe(error, config, key=None):
    where = f"s3://{config.bucket}/{key}" if key else f"bucket {config.bucket!r}"
    endpoint = config.endpoint_url or "AWS"
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        return f"S3 refused {where} at {endpoint}: {code} {message}".strip()
    return f"S3 at {endpoint} cannot be reached for {where}: {error}"


@contextmanager
def s3_errors(config, key=None):
    """The one place where boto3's errors become the core's: ``ServiceUnavailable`` when S3
    gave no answer (cannot connect, time-out, connection dropped, or only server errors after
    the retries), else ``Ls4Error``; both name the bucket or key and the endpoint."""
    try:
        yield
    except ClientError as error:
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if status >= 500:
            raise ServiceUnavailable(SERVICE, _describe(error, config, key)) from error
        raise Ls4Error(_describe(error, config, key)) from error
    except (BotoConnectionError, HTTPClientError) as error:
        raise ServiceUnavailable(SERVICE, _describe(error, config, key)) from error
    except BotoCoreError as error:
        raise Ls4Error(_describe(error, config, key)) from error
    except S3UploadFailedError as error:  # s3transfer's wrapper of a ClientError: text only
        endpoint = config.endpoint_url or "AWS"
        message = f"S3 at {endpoint} refused s3://{config.bucket}/{key}: {error}"
        if any(code in str(error) for code in SERVER_ERRORS):
            raise ServiceUnavailable(SERVICE, message) from error
        raise Ls4Error(message) from error


def _head(config, key, s3):
    """``head_object``'s answer, or None when there is no such object."""
    with s3_errors(config, key):
        try:
            return s3.head_object(Bucket=config.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in NOT_FOUND:
                return None
            raise


def object_metadata(config, key, s3=None):
    """The user metadata kept with the object, or None when there is no such object."""
    answer = _head(config, key, s3 or client(config))
    return None if answer is None else answer.get("Metadata", {})


class _Progress:
    """s3transfer's callback: reports bytes sent and aborts the transfer on cancel."""

    def __init__(self, feedback, total):
        self.feedback = feedback
        self.total = max(total, 1)
        self.sent = 0
        self.lock = threading.Lock()

    def __call__(self, amount):
        with self.lock:
            self.sent += amount
            self.feedback.setProgress(100.0 * self.sent / self.total)
        if self.feedback.isCanceled():
            raise Canceled()


def upload_file(config, path, key, feedback=None, s3=None, metadata=None):
    """Upload ``path`` to ``key`` unless the same content is there already.

    Returns "uploaded" or "unchanged". ``metadata`` is kept with the object beside its checksum.
    Multipart above 16 MiB; on failure or cancel s3transfer aborts the multipart upload, so no
    partial object is left.
    """
    feedback = ensure(feedback)
    s3 = s3 or client(config)
    checksum = file_sha256(path, feedback)
    wanted = {**(metadata or {}), CHECKSUM_KEY: checksum}
    if object_metadata(config, key, s3) == wanted:
        return "unchanged"
    with s3_errors(config, key):
        extra = {"ContentType": content_type(key), "Metadata": wanted}
        if config.legacy_acl and is_public_key(key):
            extra["ACL"] = "public-read"
        s3.upload_file(
            os.fspath(path),
            config.bucket,
            key,
            ExtraArgs=extra,
            Callback=_Progress(feedback, os.path.getsize(path)),
            Config=TransferConfig(multipart_threshold=MULTIPART_THRESHOLD),
        )
    return "uploaded"


def put_bytes(config, key, data, s3=None):
    """Write a small object in one request (mapfiles, reports)."""
    s3 = s3 or client(config)
    extra = {"ACL": "public-read"} if config.legacy_acl and is_public_key(key) else {}
    with s3_errors(config, key):
        s3.put_object(
            Bucket=config.bucket, Key=key, Body=data, ContentType=content_type(key), **extra
        )


def get_bytes(config, key, s3=None):
    s3 = s3 or client(config)
    with s3_errors(config, key):
        return s3.get_object(Bucket=config.bucket, Key=key)["Body"].read()


def exists(config, key, s3=None):
    return _head(config, key, s3 or client(config)) is not None


def abort_multipart_uploads(config, key, since, s3=None):
    """Abort the unfinished multipart uploads of exactly ``key`` begun at or after ``since``.

    For a run whose writer died mid-upload (a killed worker): the parts it sent would be kept,
    and billed, forever. Returns how many were aborted.
    """
    s3 = s3 or client(config)
    aborted = 0
    with s3_errors(config, key):
        listing = s3.list_multipart_uploads(Bucket=config.bucket, Prefix=key)
        for upload in listing.get("Uploads", []):
            if upload["Key"] == key and upload["Initiated"] >= since:
                s3.abort_multipart_upload(
                    Bucket=config.bucket, Key=key, UploadId=upload["UploadId"]
                )
                aborted += 1
    return aborted


def list_keys(config, prefix="", s3=None):
    """Every key under ``prefix``, streamed page by page."""
    s3 = s3 or client(config)
    with s3_errors(config, prefix):
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=config.bucket, Prefix=prefix
        ):
            for item in page.get("Contents", []):
                yield item["Key"]


def download_file(config, key, path, s3=None):
    """Download ``key`` to ``path``."""
    s3 = s3 or client(config)
    with s3_errors(config, key):
        s3.download_file(config.bucket, key, os.fspath(path))


def delete_keys(config, keys, s3=None):
    s3 = s3 or client(config)
    for key in keys:
        with s3_errors(config, key):
            s3.delete_object(Bucket=config.bucket, Key=key)


def content_type(key):
    ext = os.path.splitext(key)[1].lower()
    return CONTENT_TYPES.get(ext) or mimetypes.guess_type(key)[0] or "application/octet-stream"


def public_read_policy(bucket):
    """The bucket policy that makes the public stages and ``geojson/`` readable by anyone."""
    resources = [f"arn:aws:s3:::{bucket}/*/{stage}/*" for stage in PUBLIC_STAGES]
    resources += [f"arn:aws:s3:::{bucket}/{top}/*" for top in PUBLIC_TOP]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "LS4PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject"],
                "Resource": resources,
            }
        ],
    }


def apply_public_policy(config, s3=None):
    """Put the public-read policy on the bucket; returns the policy applied."""
    s3 = s3 or client(config)
    policy = public_read_policy(config.bucket)
    with s3_errors(config):
        s3.put_bucket_policy(Bucket=config.bucket, Policy=json.dumps(policy))
    return policy


def check_connection(config, s3=None):
    """Raise ``Ls4Error`` saying why when the bucket cannot be reached with these credentials."""
    s3 = s3 or client(config)
    with s3_errors(config):
        s3.head_bucket(Bucket=config.bucket)
