"""Delivery-stream states (Firehose's ``DeliveryStreamStatus``) on the shared state-machine
kernel: a table of allowed transitions; anything else raises naming the stream, both states
and the event."""
from __future__ import annotations

from enum import Enum

from rayemr.core.statemachine import Machine, Tracked


class StreamStatus(str, Enum):
    CREATING = "CREATING"
    CREATING_FAILED = "CREATING_FAILED"
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    DELETING = "DELETING"
    DELETING_FAILED = "DELETING_FAILED"


S = StreamStatus

DELIVERY_STREAM = Machine("delivery stream", [
    (S.CREATING, "CREATED", S.ACTIVE),
    (S.CREATING, "CREATE_FAILED", S.CREATING_FAILED),
    (S.ACTIVE, "DESTINATION_FAILING", S.SUSPENDED),
    (S.SUSPENDED, "DESTINATION_OK", S.ACTIVE),
    ((S.CREATING, S.CREATING_FAILED, S.ACTIVE, S.SUSPENDED, S.DELETING_FAILED), "DELETE",
     S.DELETING),
    (S.DELETING, "DELETE_FAILED", S.DELETING_FAILED),
])


def tracked(name: str, status: StreamStatus = S.CREATING, now: float | None = None
            ) -> Tracked[StreamStatus]:
    return Tracked(DELIVERY_STREAM, name, status, now=now)
