"""Inference entry point (``inference_handler.lambda_handler``): SQS batches of S3 notifications -> result JSONs.

Configuration, models and clients are created once per container, at cold start, where a bad
configuration fails loudly; the work is ``agegender.function``'s.
"""

from __future__ import annotations

import os

import boto3

from agegender.function import build_processor, create_handler
from agegender.settings import Settings

SETTINGS = Settings.from_env(os.environ)
PROCESSOR = build_processor(
    SETTINGS, s3=boto3.client("s3"), sns=boto3.client("sns") if SETTINGS.results_topic_arn else None
)
lambda_handler = create_handler(PROCESSOR, SETTINGS)
