"""``agegender redrive``: send dead-letter messages back to the queue once their cause is fixed.

Works on the local pipeline and on a deployed stack alike (SQS API only): each message is sent
to the source queue with its body and attributes, then deleted from the dead-letter queue, so a
message is never lost (at worst, a crash between the two leaves a copy in both).
"""

from __future__ import annotations

from typing import Any

BATCH = 10


def redrive(sqs: Any, *, dlq_url: str, queue_url: str, limit: int | None = None) -> int:
    """Move up to ``limit`` messages (all when None); returns how many moved."""
    moved = 0
    while limit is None or moved < limit:
        want = BATCH if limit is None else min(BATCH, limit - moved)
        messages = sqs.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=want, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            break
        entries = [
            {"Id": str(i), "MessageBody": m["Body"], **({"MessageAttributes": m["MessageAttributes"]}
                                                          if m.get("MessageAttributes") else {})}
            for i, m in enumerate(messages)
        ]  # fmt: skip
        sent = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        ok = {item["Id"] for item in sent.get("Successful", [])}
        done = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages) if str(i) in ok]
        if done:
            sqs.delete_message_batch(QueueUrl=dlq_url, Entries=done)
        moved += len(done)
        if len(done) < len(messages):
            raise RuntimeError(f"{len(messages) - len(done)} messages could not be sent back; they stay in the DLQ")
    return moved
