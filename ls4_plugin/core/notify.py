"""Notifications: one summary message per run to an Amazon SNS topic, when one is configured.

Credentials and endpoint follow boto3's standard chain unless ``SnsConfig`` gives them: the
environment (``AWS_ACCESS_KEY_ID``…, ``AWS_ENDPOINT_URL_SNS``), ``~/.aws``, an instance role. The
region is the topic's own (read from its ARN). Without a topic, the message goes to the feedback
(the Processing log) and the caller's report only. A message that cannot be sent never fails the
run it reports on: the caller gets the reason and a warning is pushed.
"""

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .errors import InputError, Ls4Error
from .feedback import FeedbackLike, ensure

if TYPE_CHECKING:
    from .publish import CollectionResult

# SNS: a subject is at most 100 printable ASCII characters on one line; a message at most 256 KiB.
MAX_SUBJECT = 100
MAX_MESSAGE_BYTES = 256 * 1024
_TRUNCATED = "\n… (truncated: the full report is in the run's JSON report)"
_ARN = re.compile(r"arn:aws[a-z-]*:sns:([a-z0-9-]+):[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")


@dataclass(frozen=True)
class SnsConfig:
    """Where to send: all optional (boto3's standard chain fills what is not given)."""

    endpoint_url: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    max_attempts: int = 2

    def __repr__(self) -> str:
        # The secret must never reach a log or a traceback.
        return f"SnsConfig(endpoint_url={self.endpoint_url!r})"


def region_of(topic_arn: object) -> str:
    """The region of an SNS topic ARN; ``InputError`` when it is not one."""
    match = _ARN.fullmatch(topic_arn.strip()) if isinstance(topic_arn, str) else None
    if not match:
        raise InputError(
            f"SNS topic {topic_arn!r} is not a topic ARN "
            "(arn:aws:sns:<region>:<account>:<topic name>)"
        )
    return match.group(1)


def clean_subject(subject: object) -> str:
    """``subject`` as SNS accepts it: printable ASCII, one line, at most 100 characters."""
    text = " ".join(str(subject).split())
    text = "".join(char if " " <= char <= "~" else "?" for char in text)
    return text[:MAX_SUBJECT] or "LS4"


def clip_message(message: str) -> str:
    """``message`` cut to SNS's size limit, saying so when it was cut."""
    data = message.encode("utf-8")
    if len(data) <= MAX_MESSAGE_BYTES:
        return message
    room = MAX_MESSAGE_BYTES - len(_TRUNCATED.encode("utf-8"))
    return data[:room].decode("utf-8", errors="ignore") + _TRUNCATED


def send(topic_arn: str, subject: str, message: str, sns_config: SnsConfig | None = None) -> str:
    """Publish one message to ``topic_arn``; returns SNS's message id. ``Ls4Error`` on failure."""
    config = sns_config or SnsConfig()
    client = boto3.session.Session().client(
        "sns",
        region_name=region_of(topic_arn),
        endpoint_url=config.endpoint_url,
        aws_access_key_id=config.access_key,
        aws_secret_access_key=config.secret_key,
        config=Config(
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            retries={"max_attempts": config.max_attempts, "mode": "standard"},
        ),
    )
    try:
        reply = client.publish(
            TopicArn=topic_arn.strip(),
            Subject=clean_subject(subject),
            Message=clip_message(message),
        )
    except (ClientError, BotoCoreError) as error:
        raise Ls4Error(f"SNS topic {topic_arn} did not take the message: {error}") from error
    return reply["MessageId"]


def deliver(
    topic_arn: str | None,
    subject: str,
    message: str,
    feedback: FeedbackLike | None = None,
    sns_config: SnsConfig | None = None,
) -> str:
    """Send the summary when a topic is given, else only log it; returns what happened.

    The message always goes to ``feedback`` too. Never raises for a failed send: the outcome
    ("sent to …", "failed: …", "no SNS topic configured") is returned for the report and a
    warning is pushed.
    """
    feedback = ensure(feedback)
    feedback.pushInfo(f"{subject}\n{message}")
    if topic_arn is None or not topic_arn.strip():
        return "no SNS topic configured: the message is in the report and the log only"
    try:
        message_id = send(topic_arn, subject, message, sns_config)
    except Ls4Error as error:
        feedback.pushWarning(f"Notification not sent: {error}")
        return f"failed: {error}"
    feedback.pushInfo(f"Notification sent to {topic_arn} (message {message_id})")
    return f"sent to {topic_arn} (message {message_id})"


def publish_failure_message(result: "CollectionResult") -> tuple[str, str] | None:
    """``(subject, message)`` summing up a publish run's failed frames, or None when none failed.

    ``result`` is a ``publish.CollectionResult``.
    """
    failed = result.failed
    errors = getattr(result, "errors", [])
    if not failed and not errors:
        return None
    subject = f"LS4 publish of {result.collection}: {len(failed)} of {len(result.frames)} failed"
    lines = [f"{subject}.", f"WMS: {result.wms_url}", ""]
    lines += [f"- {error}" for error in errors]
    lines += [f"- {frame.status} {frame.source}: {frame.message}" for frame in failed]
    return subject, "\n".join(lines)
