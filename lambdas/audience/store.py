"""State in DynamoDB: one item per camera (its ``CameraState``), and the decisions of the sets of
cameras that displays watch, in ``DECISION_SHARDS`` items.

Items are ``{"Id": "camera#<id>" | "decisions#<shard>", "Version": n, "Body": "<json>"}``; every write
is conditional on the version read, so two writers never overwrite each other's work (the
loser reads again and redoes its step). A decision shard's body maps each camera set's key
(``decision_slot``) to its decision: a frame from a camera that 1,000 camera sets include writes at
most ``DECISION_SHARDS`` items, not 1,000.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from botocore.exceptions import ClientError

CAMERA, DECISIONS = "camera#", "decisions#"
#: Items the camera sets' decisions are spread over: the most one frame writes, however many camera sets
#: include its camera. 64 keeps a shard of the largest rules document (256 KiB, some 10,000 camera sets,
#: about 200 bytes a decision) near 32 KB, far below DynamoDB's 400 KB item limit.
DECISION_SHARDS = 64
#: The last valid rules document's version, default and displays (``audience.rules.Rules.last_known``).
LAST_RULES = "rules#last"
#: Keys one BatchGetItem call may read.
BATCH_GET = 100


def decision_slot(cameras: tuple[str, ...]) -> tuple[str, str]:
    """Where the decision of the displays that watch ``cameras`` (``audience.rules.camera_set``) is kept:
    the shard's item id and the key in its body, a hash, as a display's camera ids together may pass
    DynamoDB's 2,048-byte key limit.
    """
    key = hashlib.sha256("\n".join(cameras).encode()).hexdigest()[:32]
    return f"{DECISIONS}{int(key[:8], 16) % DECISION_SHARDS:02d}", key


class StaleStateError(Exception):
    """The item changed since it was read."""


class StateStore:
    """Versioned JSON bodies by id (the DynamoDB client and table name are passed in)."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self.dynamodb = dynamodb
        self.table = table

    def load(self, item_id: str) -> tuple[dict[str, Any] | None, int]:
        """The body and version of an item (None, 0 when absent)."""
        item = self.dynamodb.get_item(TableName=self.table, Key={"Id": {"S": item_id}}, ConsistentRead=True).get("Item")
        if not item:
            return None, 0
        return json.loads(item["Body"]["S"]), int(item["Version"]["N"])

    def load_many(self, item_ids: list[str]) -> dict[str, tuple[dict[str, Any] | None, int]]:
        """``load`` for many items, 100 keys a call (strongly consistent); absent items read (None, 0)."""
        found: dict[str, tuple[dict[str, Any] | None, int]] = dict.fromkeys(item_ids, (None, 0))
        unique = sorted(set(item_ids))
        for start in range(0, len(unique), BATCH_GET):
            keys: list[dict[str, Any]] = [{"Id": {"S": i}} for i in unique[start : start + BATCH_GET]]
            while keys:
                page = self.dynamodb.batch_get_item(RequestItems={self.table: {"Keys": keys, "ConsistentRead": True}})
                for item in page.get("Responses", {}).get(self.table, []):
                    found[item["Id"]["S"]] = (json.loads(item["Body"]["S"]), int(item["Version"]["N"]))
                keys = page.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
        return found

    def save_many(self, items: list[tuple[str, dict[str, Any], int]]) -> list[str]:
        """``save`` for each item; returns the ids that changed since they were read, which were not written.

        Conditional puts one by one: a transaction fails whole on one conflict (and on moto 100 items in a
        transaction cost more than 100 puts); a thread pool was slower here, where the GIL serialises them.
        """
        stale = []
        for item_id, body, version in items:
            try:
                self.save(item_id, body, version)
            except StaleStateError:
                stale.append(item_id)
        return stale

    def _put(self, item_id: str, body: dict[str, Any], version: int) -> dict[str, Any]:
        """A conditional put's arguments: the item at ``version + 1`` if it is still at ``version``."""
        values = {} if version == 0 else {":read": {"N": str(version)}}
        return {
            "Item": {
                "Id": {"S": item_id},
                "Version": {"N": str(version + 1)},
                "Body": {"S": json.dumps(body, separators=(",", ":"), allow_nan=False)},
                "UpdatedAt": {"N": str(round(time.time(), 3))},
            },
            "ConditionExpression": "attribute_not_exists(Id)" if version == 0 else "Version = :read",
            **({"ExpressionAttributeValues": values} if values else {}),
        }

    def save(self, item_id: str, body: dict[str, Any], version: int) -> int:
        """Write ``body`` if the item is still at ``version``; returns the new version or raises ``StaleStateError``."""
        try:
            self.dynamodb.put_item(TableName=self.table, **self._put(item_id, body, version))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise StaleStateError(item_id) from exc
            raise
        return version + 1

    def ids(self, prefix: str) -> list[str]:
        """Every item id starting with ``prefix`` (a scan: cameras and displays are few)."""
        found: list[str] = []
        kwargs: dict[str, Any] = {"TableName": self.table, "ProjectionExpression": "Id"}
        while True:
            page = self.dynamodb.scan(**kwargs)
            found += [item["Id"]["S"] for item in page.get("Items", []) if item["Id"]["S"].startswith(prefix)]
            if "LastEvaluatedKey" not in page:
                return sorted(found)
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
