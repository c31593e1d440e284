"""Fault injection for the local pipeline: S3 answering ``503 SlowDown`` to a share of result writes.

The fault is injected under boto3 (a ``before-send`` hook returns the error response instead of
sending the request), so the SDK's own retry logic sees real throttling: most writes succeed on
an SDK retry; a write whose every attempt is throttled fails its message, which SQS redelivers.
"""

from __future__ import annotations

import random
import threading
from typing import Any

from botocore.awsrequest import AWSResponse

SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Any:
        yield self.data


class ThrottleInjector:
    """Answers ``rate`` of the client's PutObject calls with 503 SlowDown (seeded, so runs repeat)."""

    def __init__(self, rate: float, seed: int = 0) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be between 0 and 1, not {rate}")
        self.rate = rate
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.injected = 0
        self.passed = 0

    def attach(self, s3_client: Any) -> Any:
        """Hook into ``s3_client``'s PutObject calls; returns the client."""
        s3_client.meta.events.register("before-send.s3.PutObject", self._before_send)
        return s3_client

    def _before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        with self.lock:
            throttle = self.random.random() < self.rate
            if throttle:
                self.injected += 1
            else:
                self.passed += 1
        if not throttle:
            return None  # send the request
        return AWSResponse(request.url, 503, {"Content-Type": "application/xml"}, _Body(SLOW_DOWN))
