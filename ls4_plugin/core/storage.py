"""S3 storage under the shared key layout: checksummed uploads, public-read policy, listings.

Public access is decided by the bucket policy on the public stages; the legacy ``public-read`` ACL
is sent only when ``S3Config.legacy_acl`` is on (new AWS buckets refuse ACLs).
"""

import datetime
import enum
import hashlib
import json
import mimetypes
import os
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from . import keys
from .errors import Canceled, Ls4Error, ServiceUnavailable
from .feedback import FeedbackLike, check_canceled, ensure

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

S3Client: TypeAlias = Any  # a boto3 S3 client (boto3 has no type information here)
Metadata = dict[str, str]  # an object's user metadata


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

    def __repr__(self) -> str:
        # The secret must never reach a log or a traceback.
        return f"S3Config(bucket={self.bucket!r}, endpoint_url={self.endpoint_url!r})"


_CLIENTS: dict["S3Config", S3Client] = {}  # boto3 clients by configuration
_CLIENTS_LOCK = threading.Lock()


def client(config: S3Config) -> S3Client:
    """A boto3 S3 client that fails in seconds when the endpoint cannot be reached.

    One client per configuration, shared: boto3 clients are thread-safe, slow to create, and
    each keeps its own connection pool.
    """
    with _CLIENTS_LOCK:
        if config not in _CLIENTS:
            _CLIENTS[config] = _new_client(config)
        return _CLIENTS[config]


def close_clients() -> None:
    """Close the shared clients and their connections (the plugin's unload, a script's end)."""
    with _CLIENTS_LOCK:
        for shared in _CLIENTS.values():
            shared.close()
        _CLIENTS.clear()


def _new_client(config: S3Config) -> S3Client:
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


def is_public_key(key: str) -> bool:
    """Whether the policy makes ``key`` public: a public stage at exactly the layout's depth
    (``<band>/<County>/<Agency>_<YYYY>/<type>/<stage>/<file>``) or a file of ``geojson/``."""
    parts = key.split("/")
    if len(parts) == 2:
        return parts[0] in PUBLIC_TOP and bool(parts[1])
    return (
        len(parts) == 6
        and parts[0] in keys.BANDS
        and parts[3] in keys.TYPES
        and parts[4] in PUBLIC_STAGES
        and all(parts)
    )


def public_url(config: S3Config, key: str) -> str:
    """The anonymous download URL of ``key``."""
    if config.public_url_base:
        base = config.public_url_base.rstrip("/")
    elif config.endpoint_url:
        base = f"{config.endpoint_url.rstrip('/')}/{config.bucket}"
    else:
        base = f"https://{config.bucket}.s3.{config.region}.amazonaws.com"
    return f"{base}/{key}"


def vsis3_path(config: S3Config, key: str) -> str:
    """The path GDAL (and MapServer) read the object by: the tile index ``location``."""
    return keys.location(config.bucket, key)


def file_sha256(path: str | os.PathLike[str], feedback: FeedbackLike | None = None) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(4 * 1024 * 1024), b""):
            check_canceled(feedback)
            digest.update(block)
    return digest.hexdigest()


def _describe(error: Exception, config: S3Config, key: str | None = None) -> str:
    where = f"s3://{config.bucket}/{key}" if key else f"bucket {config.bucket!r}"
    endpoint = config.endpoint_url or "AWS"
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        return f"S3 refused {where} at {endpoint}: {code} {message}".strip()
    return f"S3 at {endpoint} cannot be reached for {where}: {error}"


@contextmanager
def s3_errors(config: S3Config, key: str | None = None) -> Iterator[None]:
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


def _head(config: S3Config, key: str, s3: S3Client) -> dict[str, Any] | None:
    """``head_object``'s answer, or None when there is no such object."""
    with s3_errors(config, key):
        try:
            return s3.head_object(Bucket=config.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in NOT_FOUND:
                return None
            raise


def head(config: S3Config, key: str, s3: S3Client | None = None) -> dict[str, Any] | None:
    """The answer of a HEAD of ``key`` (``ContentLength``, ``Metadata``, ...), or None when there
    is no such object."""
    return _head(config, key, s3 or client(config))


def object_metadata(config: S3Config, key: str, s3: S3Client | None = None) -> Metadata | None:
    """The user metadata kept with the object, or None when there is no such object."""
    answer = _head(config, key, s3 or client(config))
    return None if answer is None else answer.get("Metadata", {})


class _Progress:
    """s3transfer's callback: reports bytes sent and aborts the transfer on cancel."""

    def __init__(self, feedback: FeedbackLike, total: int) -> None:
        self.feedback = feedback
        self.total = max(total, 1)
        self.sent = 0
        self.lock = threading.Lock()

    def __call__(self, amount: int) -> None:
        with self.lock:
            self.sent += amount
            self.feedback.setProgress(100.0 * self.sent / self.total)
        if self.feedback.isCanceled():
            raise Canceled()


class Unknown(enum.Enum):
    """Not looked up, where None is an answer (upload_file: no object; index_cog: no scan)."""

    UNKNOWN = "unknown"


UNKNOWN: Final = Unknown.UNKNOWN


def upload_file(
    config: S3Config,
    path: str | os.PathLike[str],
    key: str,
    feedback: FeedbackLike | None = None,
    s3: S3Client | None = None,
    metadata: Mapping[str, str] | None = None,
    checksum: str | None = None,
    current: Metadata | None | Unknown = UNKNOWN,
) -> str:
    """Upload ``path`` to ``key`` unless the same content is there already.

    Returns "uploaded" or "unchanged". ``metadata`` is kept with the object beside its checksum.
    What a caller knows already is not asked again: ``checksum``, the file's SHA-256; ``current``,
    the user metadata at ``key`` (``object_metadata``: None when there is no object).
    Multipart above 16 MiB; on failure or cancel s3transfer aborts the multipart upload, so no
    partial object is left.
    """
    feedback = ensure(feedback)
    s3 = s3 or client(config)
    started = time.time()
    checksum = checksum or file_sha256(path, feedback)
    wanted = {**(metadata or {}), CHECKSUM_KEY: checksum}
    if current is UNKNOWN:
        current = object_metadata(config, key, s3)
    if current == wanted:
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
    if os.path.getsize(path) >= MULTIPART_THRESHOLD:
        _abort_older_uploads(config, key, started - CLOCK_MARGIN, s3)
    return "uploaded"


CLOCK_MARGIN = 1.0  # seconds of skew allowed between this machine's clock and the S3 server's


def _abort_older_uploads(config: S3Config, key: str, before: float, s3: S3Client) -> None:
    """Abort the incomplete multipart uploads of ``key`` begun before ``before`` (a run killed
    mid-upload left them): the key now holds the complete object."""
    for other, upload_id, initiated in incomplete_uploads(config, key, s3):
        if other == key and initiated.timestamp() < before:
            abort_upload(config, other, upload_id, s3)


def put_bytes(config: S3Config, key: str, data: bytes, s3: S3Client | None = None) -> None:
    """Write a small object in one request (mapfiles, reports)."""
    s3 = s3 or client(config)
    extra = {"ACL": "public-read"} if config.legacy_acl and is_public_key(key) else {}
    with s3_errors(config, key):
        s3.put_object(
            Bucket=config.bucket, Key=key, Body=data, ContentType=content_type(key), **extra
        )


def get_bytes(config: S3Config, key: str, s3: S3Client | None = None) -> bytes:
    s3 = s3 or client(config)
    with s3_errors(config, key):
        return s3.get_object(Bucket=config.bucket, Key=key)["Body"].read()


def exists(config: S3Config, key: str, s3: S3Client | None = None) -> bool:
    return _head(config, key, s3 or client(config)) is not None


def abort_multipart_uploads(
    config: S3Config, key: str, since: datetime.datetime, s3: S3Client | None = None
) -> int:
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


def list_keys(config: S3Config, prefix: str = "", s3: S3Client | None = None) -> Iterator[str]:
    """Every key under ``prefix``, streamed page by page."""
    s3 = s3 or client(config)
    with s3_errors(config, prefix):
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=config.bucket, Prefix=prefix
        ):
            for item in page.get("Contents", []):
                yield item["Key"]


def list_folders(config: S3Config, prefix: str, s3: S3Client | None = None) -> Iterator[str]:
    """The names of the "folders" just under ``prefix`` (it ends with "/"): ``a`` for
    ``<prefix>a/…``, each once, without listing what is in them."""
    s3 = s3 or client(config)
    with s3_errors(config, prefix):
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=config.bucket, Prefix=prefix, Delimiter="/"
        ):
            for common in page.get("CommonPrefixes", []):
                yield common["Prefix"][len(prefix) :].rstrip("/")


def download_file(
    config: S3Config, key: str, path: str | os.PathLike[str], s3: S3Client | None = None
) -> None:
    """Download ``key`` to ``path``."""
    s3 = s3 or client(config)
    with s3_errors(config, key):
        s3.download_file(config.bucket, key, os.fspath(path))


def delete_keys(config: S3Config, keys: Iterable[str], s3: S3Client | None = None) -> None:
    s3 = s3 or client(config)
    for key in keys:
        with s3_errors(config, key):
            s3.delete_object(Bucket=config.bucket, Key=key)


def content_type(key: str) -> str:
    ext = os.path.splitext(key)[1].lower()
    return CONTENT_TYPES.get(ext) or mimetypes.guess_type(key)[0] or "application/octet-stream"


def public_read_policy(bucket: str) -> dict[str, Any]:
    """The bucket policy that makes the public stages and ``geojson/`` readable by anyone.

    Each resource is anchored at the band and names the type and stage at their depth, so a
    stage name elsewhere (``mapfiles/scanned/x.map``) stays private. A policy's ``*`` also
    matches ``/``, so a second statement denies anonymous reads of anything deeper than the
    layout (AWS honours its condition; SeaweedFS 4.48 ignores the statement).
    """
    arn = f"arn:aws:s3:::{bucket}"
    resources = [
        f"{arn}/{band}/*/*/{type_}/{stage}/*"
        for band in keys.BANDS
        for type_ in keys.TYPES
        for stage in PUBLIC_STAGES
    ]
    resources += [f"{arn}/{top}/*" for top in PUBLIC_TOP]
    deeper = [f"{arn}/{band}/*/*/*/*/*/*" for band in keys.BANDS]
    deeper += [f"{arn}/{top}/*/*" for top in PUBLIC_TOP]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "LS4PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject"],
                "Resource": resources,
            },
            {
                "Sid": "LS4NoAnonymousReadBelowTheLayout",
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["s3:GetObject"],
                "Resource": deeper,
                "Condition": {"StringEquals": {"aws:PrincipalType": "Anonymous"}},
            },
        ],
    }


def missing_public_read(config: S3Config, s3: S3Client | None = None) -> list[str]:
    """The resources of ``public_read_policy`` that the bucket's policy does not let anyone
    read: [] when the public stages are public, all of them when the bucket has no policy."""
    s3 = s3 or client(config)
    wanted = public_read_policy(config.bucket)["Statement"][0]["Resource"]
    try:
        with s3_errors(config):
            text = s3.get_bucket_policy(Bucket=config.bucket)["Policy"]
    except Ls4Error as error:
        if "NoSuchBucketPolicy" in str(error) or "404" in str(error):
            return list(wanted)
        raise
    try:
        statements = json.loads(text).get("Statement", [])
    except (ValueError, AttributeError):
        return list(wanted)
    granted: set[str] = set()
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = _as_list(statement.get("Action"))
        principal = statement.get("Principal")
        anyone = principal == "*" or (isinstance(principal, dict) and principal.get("AWS") == "*")
        reads = any(action in ("s3:GetObject", "s3:*", "*") for action in actions)
        if statement.get("Effect") == "Allow" and anyone and reads:
            granted.update(_as_list(statement.get("Resource")))
    return [resource for resource in wanted if resource not in granted]


def _as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else [value] if value else []


ABORT_AFTER_DAYS = 1
LIFECYCLE_RULE_ID = "ls4-abort-incomplete-multipart"


def apply_public_policy(config: S3Config, s3: S3Client | None = None) -> dict[str, Any]:
    """Put the public-read policy on the bucket, and the lifecycle rule that aborts multipart
    uploads left incomplete for a day (where the server supports it); returns the policy."""
    s3 = s3 or client(config)
    policy = public_read_policy(config.bucket)
    with s3_errors(config):
        s3.put_bucket_policy(Bucket=config.bucket, Policy=json.dumps(policy))
    apply_lifecycle_rule(config, s3)
    return policy


def apply_lifecycle_rule(config: S3Config, s3: S3Client | None = None) -> str:
    """Add (or keep) the rule aborting incomplete multipart uploads after ABORT_AFTER_DAYS,
    keeping the bucket's other rules. Returns "applied", or "not supported: ..." when the server
    refuses lifecycle configuration (then maintenance is what removes them)."""
    s3 = s3 or client(config)
    rule = {
        "ID": LIFECYCLE_RULE_ID,
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": ABORT_AFTER_DAYS},
    }
    try:
        with s3_errors(config):
            try:
                rules = s3.get_bucket_lifecycle_configuration(Bucket=config.bucket)["Rules"]
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "NoSuchLifecycleConfiguration":
                    raise
                rules = []
            rules = [r for r in rules if r.get("ID") != LIFECYCLE_RULE_ID] + [rule]
            s3.put_bucket_lifecycle_configuration(
                Bucket=config.bucket, LifecycleConfiguration={"Rules": rules}
            )
    except ServiceUnavailable:
        raise
    except Ls4Error as error:
        return f"not supported: {error}"
    return "applied"


def incomplete_uploads(
    config: S3Config, prefix: str = "", s3: S3Client | None = None
) -> list[tuple[str, str, datetime.datetime]]:
    """The multipart uploads begun and neither completed nor aborted: [(key, id, initiated)]."""
    s3 = s3 or client(config)
    found: list[tuple[str, str, datetime.datetime]] = []
    with s3_errors(config, prefix or None):
        for page in s3.get_paginator("list_multipart_uploads").paginate(
            Bucket=config.bucket, Prefix=prefix
        ):
            found += [(u["Key"], u["UploadId"], u["Initiated"]) for u in page.get("Uploads", [])]
    return found


def abort_upload(config: S3Config, key: str, upload_id: str, s3: S3Client | None = None) -> None:
    """Abort one multipart upload (its parts are deleted); an upload already gone is fine."""
    s3 = s3 or client(config)
    with s3_errors(config, key):
        try:
            s3.abort_multipart_upload(Bucket=config.bucket, Key=key, UploadId=upload_id)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("NoSuchUpload", "404"):
                raise


def check_connection(config: S3Config, s3: S3Client | None = None) -> None:
    """Raise ``Ls4Error`` saying why when the bucket cannot be reached with these credentials."""
    s3 = s3 or client(config)
    with s3_errors(config):
        s3.head_bucket(Bucket=config.bucket)
