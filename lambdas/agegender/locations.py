"""Where results live: the results prefix rule and the key of each object's result."""

from __future__ import annotations

import hashlib

#: Results go under this prefix of the results bucket unless configured otherwise.
DEFAULT_RESULTS_PREFIX = "results/"
#: S3 keys are at most 1024 bytes; longer result keys fall back to a hash of the source key.
MAX_KEY_BYTES = 1024


def prefix_problem(prefix: str) -> str | None:
    """Why ``prefix`` cannot be a results prefix (it must be empty or end with ``/``), or None."""
    if prefix and not prefix.endswith("/"):
        return f"results prefix {prefix!r} must be empty or end with '/'"
    return None


#: Folder (under the results prefix) of the results of keys too long to embed. Bucket names cannot
#: contain "_", so no ``<prefix><bucket>/<key>.json`` result key of an upload can land in it.
LONG_KEYS_FOLDER = "_long-keys"


def result_key(prefix: str, source_bucket: str, source_key: str) -> str:
    """Deterministic result key: the same object always maps to the same key (overwritten, never duplicated).

    Keys too long to embed map to a hash under ``LONG_KEYS_FOLDER``, where no upload's own result can be.
    """
    key = f"{prefix}{source_bucket}/{source_key}.json"
    if len(key.encode("utf-8")) <= MAX_KEY_BYTES:
        return key
    digest = hashlib.sha256(f"{source_bucket}/{source_key}".encode()).hexdigest()
    return f"{prefix}{LONG_KEYS_FOLDER}/{source_bucket}/{digest}.json"
