"""One announced S3 object -> exactly one result JSON in the results location.

Permanent problems with the object (gone, not readable by us, not an image, too large)
become an error result, and the message counts as done. Transient ones (throttling,
timeouts, S3 5xx) and any failure to write the result raise, so the message goes back to
the queue and, after its last receive, to the dead-letter queue: nothing is acknowledged
before its result is written.

Once the result is written, a compact summary may be published (smart displays), a camera
frame's summary sent to the audience stage's FIFO topic, and the upload deleted
(``DELETE_SOURCE``), in that order. A camera frame's result carries ``Camera`` (its id and
capture time: ``agegender.capture``).

Versions and ordering: the result records the version and the S3 ``sequencer`` of the event it
describes (``Source.VersionId``, ``Source.Sequencer``; the sequencer also as the result object's
metadata). An event older than the one whose result is already written is skipped, so a late
event never overwrites a newer version's result. An event for a version that is no longer
current is skipped (the current version's own event writes the result), and one for an object
deleted before it was processed gets ``InvalidS3Object``: deleted images are never analysed.
Zero-byte ``folder/`` markers are skipped. Skips write nothing and count as done.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from agegender.analyzer import Analysis, ImageAnalyzer
from agegender.capture import DEFAULT_MAX_CAPTURE_AHEAD_S, camera_block, camera_id
from agegender.events import S3ObjectRef, sequencer_is_newer
from agegender.exceptions import (
    AccessDeniedError,
    AgeGenderError,
    AnalysisFailedError,
    ImageTooLargeError,
    InvalidS3ObjectError,
)
from agegender.locations import result_key
from agegender.results import result_document
from agegender.summary import SummaryPublisher, result_summary

#: S3 error codes that mean "this object will never be readable": an error result, not a retry.
_GONE = {"NoSuchKey", "NoSuchVersion", "404", "NotFound", "InvalidObjectState", "NoSuchBucket"}
_DENIED = {"AccessDenied", "403", "AllAccessDisabled"}
#: Result object metadata key holding the sequencer of the event the result describes.
SEQUENCER_METADATA = "sequencer"

log = logging.getLogger(__name__)


class StaleEventError(Exception):
    """The event describes a version that is no longer current; a newer event writes the result."""


@dataclass
class Outcome:
    """What happened to one object (for logs and metrics)."""

    source: S3ObjectRef
    result_key: str
    faces: int
    error_code: str | None
    error_message: str | None
    timings_ms: dict[str, float] = field(default_factory=dict)
    #: Why nothing was written (a folder marker, a stale or superseded event), or None.
    skipped: str | None = None


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
        frame_publisher: SummaryPublisher | None = None,
        delete_source: bool = False,
        max_capture_ahead_s: float = DEFAULT_MAX_CAPTURE_AHEAD_S,
    ) -> None:
        self.analyzer = analyzer
        self.max_capture_ahead_s = max_capture_ahead_s
        self.s3 = s3
        self.results_bucket = results_bucket
        self.results_prefix = results_prefix
        self.publisher = publisher
        self.frame_publisher = frame_publisher
        self.delete_source = delete_source

    def process(self, ref: S3ObjectRef) -> Outcome:
        """Write the object's result (analysis or typed error), or skip it; raise on transient failures."""
        key = result_key(self.results_prefix, ref.bucket, ref.key)
        if ref.is_folder_marker:
            return Outcome(ref, key, 0, None, None, skipped="a zero-byte folder marker")
        if ref.sequencer and (written := self._result_sequencer(key)) and sequencer_is_newer(written, ref.sequencer):
            return Outcome(ref, key, 0, None, None, skipped=f"a newer event's result is written ({written})")
        timings: dict[str, float] = {}
        started = time.perf_counter()
        source = {"Bucket": ref.bucket, "Key": ref.key, "VersionId": ref.version_id, "ETag": ref.etag,
                  "Size": ref.size, "Sequencer": ref.sequencer}  # fmt: skip
        model = self.analyzer.model_info
        facts: dict[str, Any] = {}  # the object's metadata and upload time, once it is read
        appearance: list[list[int]] | None = None  # for the audience stage's frame summary only
        try:
            data = self._read(ref, facts)
            timings["read"] = (time.perf_counter() - started) * 1000
            analysis = self._analyze(ref, data)
            timings["analyze"] = (time.perf_counter() - started) * 1000 - timings["read"]
            camera = self._camera(ref, facts, analysis.captured_at)
            appearance = analysis.appearance
            document = result_document(
                source=source, model=model, image=analysis.image, faces=analysis.faces, camera=camera
            )
            error_code = error_message = None
        except StaleEventError as exc:
            return Outcome(ref, key, 0, None, None, {"read": (time.perf_counter() - started) * 1000}, skipped=str(exc))
        except InvalidS3ObjectError as exc:
            if self.delete_source and self._result_exists(key):
                # A redelivery after we deleted the source: the result is already written; keep it.
                return Outcome(ref, key, 0, None, None, {"read": (time.perf_counter() - started) * 1000})
            document = result_document(source=source, model=model, error=exc, camera=self._camera(ref, facts))
            error_code, error_message = exc.code, str(exc)
        except AgeGenderError as exc:
            document = result_document(source=source, model=model, error=exc, camera=self._camera(ref, facts))
            error_code, error_message = exc.code, str(exc)
        write_started = time.perf_counter()
        self.s3.put_object(
            Bucket=self.results_bucket,
            Key=key,
            Body=json.dumps(document, ensure_ascii=False).encode("utf-8"),
            ContentType="application/json",
            Metadata={SEQUENCER_METADATA: ref.sequencer} if ref.sequencer else {},
        )
        timings["write"] = (time.perf_counter() - write_started) * 1000
        if self.publisher or self.frame_publisher:
            publish_started = time.perf_counter()
            if self.publisher:
                self.publisher.publish(
                    result_summary(document, source=ref, result_bucket=self.results_bucket, result_key=key)
                )
            if self.frame_publisher:  # the one consumer of the appearance descriptors: the audience stage
                self.frame_publisher.publish(
                    result_summary(
                        document, source=ref, result_bucket=self.results_bucket, result_key=key, appearance=appearance
                    )
                )
            timings["publish"] = (time.perf_counter() - publish_started) * 1000
        if self.delete_source and error_code not in ("AccessDenied", "InvalidS3Object"):  # nothing we may or can delete
            self._delete(ref)
        return Outcome(ref, key, len(document["FaceDetails"]), error_code, error_message, timings)

    def _camera(
        self, ref: S3ObjectRef, facts: dict[str, Any], exif_time: datetime | None = None
    ) -> dict[str, Any] | None:
        """The result's ``Camera`` (camera frames only) from the key, the object's facts and the image's EXIF time."""
        return camera_block(
            ref.key, facts.get("Metadata"), exif_time, facts.get("LastModified"), max_ahead_s=self.max_capture_ahead_s
        )

    def _analyze(self, ref: S3ObjectRef, data: bytes) -> Analysis:
        """The analysis; an unexpected failure (a bug, not the object's fault) becomes a typed error result."""
        try:
            # Colour histograms for linking people between frames: only frames the audience stage will read.
            for_stage = self.frame_publisher is not None and camera_id(ref.key) is not None
            return self.analyzer.analyze(data, appearance=for_stage)
        except AgeGenderError:
            raise
        except Exception as exc:
            log.exception("analysis failed unexpectedly for s3://%s/%s", ref.bucket, ref.key)
            raise AnalysisFailedError(f"the analysis failed: {type(exc).__name__}: {exc}") from exc

    def _result_sequencer(self, key: str) -> str | None:
        """The sequencer recorded with the result already written at ``key`` (None: no result, or none recorded)."""
        head = self._head_result(key)
        return None if head is None else head.get("Metadata", {}).get(SEQUENCER_METADATA)

    def _result_exists(self, key: str) -> bool:
        return self._head_result(key) is not None

    def _head_result(self, key: str) -> dict[str, Any] | None:
        try:
            return self.s3.head_object(Bucket=self.results_bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code", "") in _GONE:
                return None
            raise

    def _delete(self, ref: S3ObjectRef) -> None:
        """Remove the upload (its version too, where known: a delete marker would keep the bytes)."""
        params = {"Bucket": ref.bucket, "Key": ref.key}
        if ref.version_id:
            params["VersionId"] = ref.version_id
        self.s3.delete_object(**params)

    def _read(self, ref: S3ObjectRef, facts: dict[str, Any]) -> bytes:
        """The announced object's bytes: the current object, which must be the announced version where one is given.

        ``facts`` receives the object's ``Metadata`` and ``LastModified``.

        Raises:
            StaleEventError: a newer version is current.
            InvalidS3ObjectError: the object (or its version) is gone, deleted before it was processed.
            AccessDeniedError, ImageTooLargeError: as their names say.
        """
        try:
            response = self.s3.get_object(Bucket=ref.bucket, Key=ref.key)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _GONE:
                raise InvalidS3ObjectError(f"s3://{ref.bucket}/{ref.key} cannot be read: {code}") from exc
            if code in _DENIED:
                raise AccessDeniedError(f"access denied to s3://{ref.bucket}/{ref.key}") from exc
            raise  # throttling, 5xx, timeouts: let the queue retry
        facts["Metadata"] = response.get("Metadata") or {}
        facts["LastModified"] = response.get("LastModified")
        current = response.get("VersionId")
        if ref.version_id and current not in (None, "null", ref.version_id):
            response["Body"].close()
            raise StaleEventError(f"version {ref.version_id} is no longer current ({current} is)")
        limit = self.analyzer.settings.max_bytes
        if response.get("ContentLength", 0) > limit:
            response["Body"].close()
            raise ImageTooLargeError(f"the object is {response['ContentLength']} bytes; the limit is {limit}")
        return response["Body"].read(limit + 1)
