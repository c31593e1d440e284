"""Lambda entry points of the audience function: ``audience_handler.frames``, ``.sweep`` and ``.decision``.

Configuration and clients are created once per container; the work is ``audience.function``'s.
"""

from __future__ import annotations

import os

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
frames = HANDLERS["frames"]
sweep = HANDLERS["sweep"]
decision = HANDLERS["decision"]
