"""S3 storage against the stack's real S3: multipart, checksums, cancel, ACLs, errors."""

import os
from contextlib import contextmanager

import pytest
from publish_support import s3_config

from ls4.ls4_plugin.core import storage
from ls4.ls4_plugin.core.errors import Canceled, Ls4Error
from ls4.ls4_plugin.core.feedback import Feedback

KEY = "bw/Otero/USGS_1960/frames/georef/01-02-60_3-001.tif"
MAPFILE = "mapfiles/otero_usgs_1960_frames.map"


@pytest.fixture(autouse=True)
def nothing_left_behind(stack):
    """The stack is shared by every test module (and every leg of the matrix): what a test here
    uploads is gone after it, or maintenance finds a collection that no one published."""
    yield
    config = s3_config(stack)
    storage.delete_keys(config, [KEY.replace("001", f"00{n}") for n in (1, 2, 3)] + [MAPFILE])


@pytest.fixture
def big_file(tmp_path):
    """A file above the multipart threshold, of random bytes."""
    path = tmp_path / "01-02-60_3-001.tif"
    path.write_bytes(os.urandom(storage.MULTIPART_THRESHOLD + 3 * 1024 * 1024))
    return path


@contextmanager
def sent_requests(config):
    """The operations the shared client sends meanwhile, with their headers."""
    seen = []

    def record(request, event_name, **_):
        seen.append((event_name.split(".")[-1], dict(request.headers)))

    events = storage.client(config).meta.events
    events.register("before-send.s3", record)
    try:
        yield seen
    finally:
        events.unregister("before-send.s3", record)


def test_a_large_file_goes_up_in_parts_with_its_checksum_and_type(stack, big_file):
    config = s3_config(stack)
    storage.delete_keys(config, [KEY])
    feedback = Feedback()
    with sent_requests(config) as requests:
        assert storage.upload_file(config, big_file, KEY, feedback) == "uploaded"
    operations = [name for name, _ in requests]
    assert "CreateMultipartUpload" in operations and operations.count("UploadPart") >= 2
    assert feedback.progress == pytest.approx(100.0)
    head = storage.client(config).head_object(Bucket=config.bucket, Key=KEY)
    assert head["ContentType"] == "image/tiff"
    assert head["Metadata"]["sha256"] == storage.file_sha256(big_file)
    assert storage.get_bytes(config, KEY) == big_file.read_bytes()
    assert storage.upload_file(config, big_file, KEY) == "unchanged"


def test_cancel_mid_upload_leaves_no_object_and_no_pending_parts(stack, big_file):
    config = s3_config(stack)
    key = KEY.replace("001", "002")
    storage.delete_keys(config, [key])

    class CancelOnFirstBytes(Feedback):
        def setProgress(self, percent):
            super().setProgress(percent)
            if percent > 0:
                self.cancel()

    with pytest.raises(Canceled):
        storage.upload_file(config, big_file, key, CancelOnFirstBytes())
    assert not storage.exists(config, key)
    uploads = storage.client(config).list_multipart_uploads(Bucket=config.bucket, Prefix=key)
    assert uploads.get("Uploads", []) == []


def test_legacy_acl_is_sent_only_when_asked_and_only_for_public_keys(stack, tmp_path):
    small = tmp_path / "01-02-60_3-003.tif"
    small.write_bytes(b"II*\x00 small")
    for legacy, key, expected in (
        (False, KEY.replace("001", "003"), None),
        (True, KEY.replace("001", "003"), b"public-read"),
        (True, MAPFILE, None),
    ):
        config = s3_config(stack, legacy_acl=legacy)
        storage.delete_keys(config, [key])
        with sent_requests(config) as requests:
            storage.upload_file(config, small, key)
        (headers,) = [h for name, h in requests if name == "PutObject"]
        assert headers.get("x-amz-acl") == expected, (legacy, key)


def test_a_wrong_secret_is_refused_with_a_clear_message(stack):
    config = s3_config(stack, secret_key="not-the-secret")
    with pytest.raises(Ls4Error, match=r"S3 refused bucket 'ls4'"):
        storage.check_connection(config)


def test_public_urls_and_gdal_paths(stack):
    config = s3_config(stack)
    assert storage.public_url(config, KEY) == f"{stack['s3']['public_url_base']}/{KEY}"
    assert storage.vsis3_path(config, KEY) == f"/vsis3/ls4/{KEY}"
    aws = storage.S3Config(bucket="ls4-historical", region="us-west-2")
    assert (
        storage.public_url(aws, KEY) == f"https://ls4-historical.s3.us-west-2.amazonaws.com/{KEY}"
    )
    assert storage.is_public_key(KEY) and not storage.is_public_key("mapfiles/x.map")


def test_closed_clients_are_replaced_by_working_ones(stack, tmp_path):
    config = s3_config(stack)
    before = storage.client(config)
    storage.close_clients()
    after = storage.client(config)
    assert after is not before
    small = tmp_path / "small.txt"
    small.write_text("after close")
    assert storage.upload_file(config, small, "scratch/after-close.txt") == "uploaded"
    assert storage.get_bytes(config, "scratch/after-close.txt") == b"after close"
    storage.delete_keys(config, ["scratch/after-close.txt"])
