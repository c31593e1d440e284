"""One announced S3 object -> exactly one result JSON in the results location.

Permanent problems with the object (gone, not readable by us, not an image, too large)
become an error result, and the message counts as done. Transient ones (throttling,
timeouts, S3 5xx) and any failure to write the result raise, so the message goes back to
the queue and, after its last receive, to the dead-letter queue: nothing is acknowledged
before its result is written.

Once the result is written, a compact summary may be published (smart displays) and the upload
deleted (``DELETE_SOURCE``), in that order.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from agegender.analyzer import ImageAnalyzer
from agegender.events import S3ObjectRef
from agegender.exceptions import AccessDeniedError, AgeGenderError, ImageTooLargeError, InvalidS3ObjectError
from agegender.locations import result_key
from agegender.results import result_document
from agegender.summary import SummaryPublisher, result_summary

#: S3 error codes that mean "this object will never be readable": an error result, not a retry.
_GONE = {"NoSuchKey", "NoSuchVersion", "404", "NotFound", "InvalidObjectState", "NoSuchBucket"}
_DENIED = {"AccessDenied", "403", "AllAccessDisabled"}


@dataclass
class Outcome:
    """What happened to one object (for logs and metrics)."""

    source: S3ObjectRef
    result_key: str
    faces: int
    error_code: str | None
    error_message: str | None
    timings_ms: dict[str, float] = field(default_factory=dict)


class ObjectProcessor:
    """Reads an object, analyses it and writes its result."""

    def __init__(
        self,
        analyzer: ImageAnalyzer,
        s3: Any,
        *,
        results_bucket: str,
        results_prefix: str,
        publisher: SummaryPublisher | None = None,
        delete_source: bool = False,
    ) -> None:
        self.analyzer = analyzer
        self.s3 = s3
        self.results_bucket = results_bucket
        self.results_prefix = results_prefix
        self.publisher = publisher
        self.delete_source = delete_source

    def process(self, ref: S3ObjectRef) -> Outcome:
        """Write the object's result (analysis or typed error); raise on transient failures."""
        timings: dict[str, float] = {}
        source = {"Bucket": ref.bucket, "Key": ref.key, "VersionId": ref.version_id, "ETag": ref.etag, "Size": ref.size}
        model = self.analyzer.model_info
        key = result_key(self.results_prefix, ref.bucket, ref.key)
        started = time.perf_counter()
        try:
            data = self._read(ref)
            timings["read"] = (time.perf_counter() - started) * 1000
            analysis = self.analyzer.analyze(data)
            timings["analyze"] = (time.perf_counter() - started) * 1000 - timings["read"]
            document = result_document(source=source, model=model, image=analysis.image, faces=analysis.faces)
            error_code = error_message = None
        except InvalidS3ObjectError as exc:
            if self.delete_source and self._has_result(key):
                # A redelivery after we deleted the source: the result is already written; keep it.
                return Outcome(ref, key, 0, None, None, {"read": (time.perf_counter() - started) * 1000})
            document = result_document(source=source, model=model, error=exc)
            error_code, error_message = exc.code, str(exc)
        except AgeGenderError as exc:
            document = result_document(source=source, model=model, error=exc)
            error_code, error_message = exc.code, str(exc)
        write_started = time.perf_counter()
        self.s3.put_object(
            Bucket=self.results_bucket,
            Key=key,
            Body=json.dumps(document, ensure_ascii=False).encode("utf-8"),
            ContentType="application/json",
        )
        timings["write"] = (time.perf_counter() - write_started) * 1000
        if self.publisher is not None:
            publish_started = time.perf_counter()
            summary = result_summary(document, source=ref, result_bucket=self.results_bucket, result_key=key)
            self.publisher.publish(summary)
            timings["publish"] = (time.perf_counter() - publish_started) * 1000
        if self.delete_source and error_code not in ("AccessDenied", "InvalidS3Object"):  # nothing we may or can delete
            self._delete(ref)
        return Outcome(ref, key, len(document["FaceDetails"]), error_code, error_message, timings)

    def _has_result(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.results_bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code", "") in _GONE:
                return False
            raise
        return True

    def _delete(self, ref: S3ObjectRef) -> None:
        """Remove the upload (its version too, where known: a delete marker would keep the bytes)."""
        params = {"Bucket": ref.bucket, "Key": ref.key}
        if ref.version_id:
            params["VersionId"] = ref.version_id
        self.s3.delete_object(**params)

    def _read(self, ref: S3ObjectRef) -> bytes:
        params = {"Bucket": ref.bucket, "Key": ref.key}
        if ref.version_id:
            params["VersionId"] = ref.version_id
        try:
            response = self.s3.get_object(**params)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _GONE:
                raise InvalidS3ObjectError(f"s3://{ref.bucket}/{ref.key} cannot be read: {code}") from exc
            if code in _DENIED:
                raise AccessDeniedError(f"access denied to s3://{ref.bucket}/{ref.key}") from exc
            raise  # throttling, 5xx, timeouts: let the queue retry
        limit = self.analyzer.settings.max_bytes
        if response.get("ContentLength", 0) > limit:
            response["Body"].close()
            raise ImageTooLargeError(f"the object is {response['ContentLength']} bytes; the limit is {limit}")
        return response["Body"].read()
