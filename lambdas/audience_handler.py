"""Lambda entry points of the audience stage: ``audience_handler.handler`` (FIFO batches and the sweep
schedule) and ``audience_handler.decision`` (the display endpoint, a function of its own with read-only rights).

Configuration and clients are created once per container; the work is ``audience.function``'s.
"""

from __future__ import annotations

import os
from typing import Any

import boto3

from audience.function import AudienceSettings, build_stage, create_handlers

SETTINGS = AudienceSettings.from_env(os.environ)
STAGE = build_stage(
    SETTINGS,
    s3=boto3.client("s3"),
    dynamodb=boto3.client("dynamodb"),
    sns=boto3.client("sns") if SETTINGS.decisions_topic_arn else None,
)
HANDLERS = create_handlers(STAGE, SETTINGS)
decision = HANDLERS["decision"]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SQS records are frames; anything else (the schedule's event) is a sweep."""
    return HANDLERS["frames" if "Records" in event else "sweep"](event, context)
