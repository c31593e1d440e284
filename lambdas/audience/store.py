"""State in DynamoDB: one item per camera (its ``CameraState``) and one per display (its ``Decision``).

Items are ``{"Id": "camera#<id>" | "display#<id>", "Version": n, "Body": "<json>"}``; every write
is conditional on the version read, so two writers never overwrite each other's work (the
loser reads again and redoes its step).
"""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import ClientError

CAMERA, DISPLAY = "camera#", "display#"


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

    def save(self, item_id: str, body: dict[str, Any], version: int) -> int:
        """Write ``body`` if the item is still at ``version``; returns the new version or raises ``StaleStateError``."""
        condition = "attribute_not_exists(Id)" if version == 0 else "Version = :read"
        values = {} if version == 0 else {":read": {"N": str(version)}}
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item={
                    "Id": {"S": item_id},
                    "Version": {"N": str(version + 1)},
                    "Body": {"S": json.dumps(body, separators=(",", ":"))},
                    "UpdatedAt": {"N": str(round(time.time(), 3))},
                },
                ConditionExpression=condition,
                **({"ExpressionAttributeValues": values} if values else {}),
            )
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
