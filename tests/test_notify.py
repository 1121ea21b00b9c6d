"""Notifications: one summary message to an SNS topic.

SNS cannot run here; moto's server is a local emulator of the SNS API. The tests start it
(``moto_server``, its own process answering the SNS and SQS HTTP APIs on a loopback port),
subscribe an SQS queue of the same emulator to the topic and read what actually arrived there.
"""

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from ops_support import frames_collection
from publish_support import fresh, target

from ls4.ls4_plugin.core import notify, publish, storage, tileindex
from ls4.ls4_plugin.core.errors import InputError
from ls4.ls4_plugin.core.feedback import Feedback
from tools import qgis_env

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
REGION = "us-east-1"
SQUARE = "POLYGON((-11663500 4715000,-11663400 4715000,-11663400 4715100,-11663500 4715100,"
SQUARE += "-11663500 4715000))"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def sns_emulator(tmp_path_factory):
    """moto's server in its own process; yields its endpoint URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")  # noqa: SIM115
    command = [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_answering(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def wait_until_answering(url, process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"moto_server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"moto_server did not answer at {url} within {timeout} s")


class Topic:
    """A topic of the emulator with an SQS queue subscribed to it."""

    def __init__(self, url, name):
        self.sns = boto3.client("sns", endpoint_url=url, region_name=REGION, **CREDENTIALS)
        self.sqs = boto3.client("sqs", endpoint_url=url, region_name=REGION, **CREDENTIALS)
        self.arn = self.sns.create_topic(Name=name)["TopicArn"]
        self.queue = self.sqs.create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["All"])
        queue_arn = attributes["Attributes"]["QueueArn"]
        self.sns.subscribe(TopicArn=self.arn, Protocol="sqs", Endpoint=queue_arn)

    def received(self):
        """Every notification that reached the queue: [{"Subject", "Message", ...}]."""
        notes = []
        while True:
            reply = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10)
            messages = reply.get("Messages", [])
            if not messages:
                return notes
            for message in messages:
                notes.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def topic(sns_emulator, request):
    return Topic(sns_emulator, request.node.name[:60].replace("[", "-").replace("]", ""))


@pytest.fixture
def aws_environment(sns_emulator, monkeypatch):
    """What a headless run on AWS has in its environment, pointed at the emulator."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", sns_emulator)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return sns_emulator


def emulator_config(url):
    return notify.SnsConfig(endpoint_url=url, access_key="testing", secret_key="testing")


def test_send_delivers_one_message(topic, sns_emulator):
    message_id = notify.send(topic.arn, "LS4 test", "two findings", emulator_config(sns_emulator))
    notes = topic.received()
    assert [(n["Subject"], n["Message"], n["MessageId"]) for n in notes] == [
        ("LS4 test", "two findings", message_id)
    ]


def test_a_long_subject_and_message_are_fitted_to_sns_limits(topic, sns_emulator):
    subject = "Résumé of\nmaintenance " + "x" * 150
    message = "finding\n" * 40000  # 320 kB, above SNS's 256 KiB
    notify.send(topic.arn, subject, message, emulator_config(sns_emulator))
    (note,) = topic.received()
    assert note["Subject"] == ("R?sum? of maintenance " + "x" * 150)[:100]
    assert len(note["Message"].encode()) <= notify.MAX_MESSAGE_BYTES
    assert note["Message"].startswith("finding\nfinding\n")
    assert note["Message"].endswith("the full report is in the run's JSON report)")


def test_a_topic_that_is_not_an_arn_is_refused_by_name():
    with pytest.raises(InputError, match="'ls4-alerts' is not a topic ARN"):
        notify.send("ls4-alerts", "subject", "message")


@pytest.fixture(scope="module")
def lincoln(stack, qgis_app):
    """A collection whose table has one row for a COG that is not there, and no mapfile."""
    qgis_env.configure(stack)
    collection = fresh(stack, frames_collection("Lincoln"))
    location = storage.vsis3_path(target(stack).s3, collection.key("cog", "04-15-14_1-002.tif"))
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        tileindex.ensure_table(conn, collection.table)
        tileindex.upsert_frame(conn, collection.table, {"location": location}, SQUARE)
    return collection, location


def run_maintenance(run_alg, tmp_path, topic_arn):
    return run_alg(
        "maintenance",
        {
            "COLLECTIONS": "lincoln_*",
            "NOTIFY_TOPIC": topic_arn,
            "OUTPUT": "TEMPORARY_OUTPUT",
            "REPORT": str(tmp_path / "report.json"),
        },
    )


def test_a_maintenance_run_with_a_topic_sends_one_message_with_the_findings(
    lincoln, topic, aws_environment, run_alg, tmp_path
):
    collection, location = lincoln
    results = run_maintenance(run_alg, tmp_path, topic.arn)
    (note,) = topic.received()
    assert note["Subject"] == "LS4 maintenance of ls4: 2 finding(s) found", note["Message"]
    lines = note["Message"].splitlines()
    assert f"- row_without_cog {location}: the COG s3://{location[7:]} is gone" in lines
    assert f"- table_without_mapfile {collection.table}: 1 row(s) but no " in note["Message"]
    assert "REPAIR off: nothing was changed" in note["Message"]
    assert results["FINDINGS"] == 2
    assert results["NOTIFICATION"].startswith(f"sent to {topic.arn} (message ")
    report = json.loads(Path(results["REPORT"]).read_text())
    assert report["notification"] == results["NOTIFICATION"]


def test_without_a_topic_the_summary_goes_to_the_message_log(lincoln, run_alg, tmp_path):
    from qgis.core import QgsApplication

    collection, _location = lincoln
    logged = []

    def keep(message, tag, _level):
        logged.append((tag, message))

    QgsApplication.messageLog().messageReceived.connect(keep)
    try:
        results = run_maintenance(run_alg, tmp_path, "")
    finally:
        QgsApplication.messageLog().messageReceived.disconnect(keep)
    assert results["NOTIFICATION"].startswith("no SNS topic configured")
    ls4_messages = [message for tag, message in logged if tag == "LS4"]
    assert len(ls4_messages) == 1
    assert f"- table_without_mapfile {collection.table}:" in ls4_messages[0]


def test_an_unreachable_topic_does_not_fail_the_run(lincoln, run_alg, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    arn = "arn:aws:sns:us-east-1:123456789012:ls4-nowhere"
    results = run_maintenance(run_alg, tmp_path, arn)
    assert results["FINDINGS"] == 2, Path(results["REPORT"]).read_text()
    assert results["NOTIFICATION"].startswith(f"failed: SNS topic {arn} did not take the message")
    assert json.loads(Path(results["REPORT"]).read_text())["findings"]


def test_a_failed_publish_run_sends_its_summary(stack, topic, sns_emulator, tmp_path):
    collection = fresh(stack, frames_collection("Lincoln", year="2015"))
    broken = tmp_path / "04-15-14_1-002.tif"
    broken.write_bytes(b"not a TIFF: the scanner stopped mid-file")
    result = publish.publish_collection(target(stack), collection, [str(broken)])
    subject, message = notify.publish_failure_message(result)
    feedback = Feedback()
    outcome = notify.deliver(topic.arn, subject, message, feedback, emulator_config(sns_emulator))
    (note,) = topic.received()
    assert outcome.startswith("sent to")
    assert note["Subject"] == "LS4 publish of lincoln_usgs_2015_frames: 1 of 1 failed"
    assert f"- failed {broken}: {broken}: not a raster file GDAL can read" in note["Message"]


def test_publishcollection_with_a_failed_frame_sends_one_message(
    stack, topic, aws_environment, run_alg, tmp_path, qgis_app
):
    from ls4.ls4_plugin import settings
    from tools import sample_collection

    qgis_env.configure(stack)
    fresh(stack, frames_collection("Lincoln", year="2014"))
    (good,) = sample_collection.cut_frames("bw", tmp_path, count=1)
    broken = tmp_path / "04-15-14_1-009.tif"
    broken.write_bytes(b"not a TIFF: the scanner stopped mid-file")
    fields = {"COUNTY": "Lincoln", "AGENCY": "USGS", "YEAR": "2014", "TYPE": 0, "BAND_LAYOUT": 1}
    settings.set_value("sns/topic_arn", topic.arn)
    try:
        results = run_alg("publishcollection", {"INPUT": [str(good), str(broken)], **fields})
    finally:
        settings.set_value("sns/topic_arn", "")
    (note,) = topic.received()
    assert note["Subject"] == "LS4 publish of lincoln_usgs_2014_frames: 1 of 2 failed"
    assert str(broken) in note["Message"] and str(good) not in note["Message"]
    assert results["MAPFILE_KEY"] == "mapfiles/lincoln_usgs_2014_frames.map"
