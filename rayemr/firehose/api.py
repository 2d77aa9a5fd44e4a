"""The Firehose API: every operation by its AWS name, over a control plane and stream hosts.

``FirehoseService.call("PutRecordBatch", params)`` takes the request as the API's JSON has it
(``Data`` as bytes) and answers the same way (timestamps as epoch seconds); the Python client
and the HTTP endpoint (``Firehose_20150804.*`` on ``rayemr aws serve``) are thin layers over it.
Control operations go to the control plane; puts go straight to the stream's host.
"""
from __future__ import annotations

import random
import re
import threading
from typing import Any, Callable, Mapping

from rayemr.firehose.config import check_name
from rayemr.firehose.errors import (
    InvalidArgumentException, ResourceInUseException, ResourceNotFoundException,
    ServiceUnavailableException, ValidationException)
from rayemr.firehose.requests import PutResult, batch_data, record_data

OPERATIONS = ("CreateDeliveryStream", "DeleteDeliveryStream", "DescribeDeliveryStream",
              "ListDeliveryStreams", "PutRecord", "PutRecordBatch", "UpdateDestination",
              "ListTagsForDeliveryStream")


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class FirehoseService:
    """The API (see the module docstring); ``control`` is a ControlPlane or a proxy of one."""

    def __init__(self, control: Any, pool: Any) -> None:
        self.control = control
        self.pool = pool
        self._routes: dict[str, tuple[str, str, Any]] = {}
        self._lock = threading.Lock()
        self._ops: dict[str, Callable[[Mapping[str, Any]], dict]] = {
            name: getattr(self, "_" + snake(name)) for name in OPERATIONS}

    def call(self, operation: str, params: Mapping[str, Any] | None = None) -> dict:
        op = self._ops.get(operation)
        if op is None:
            raise InvalidArgumentException(f"Operation {operation} is not supported")
        params = params if params is not None else {}
        if not isinstance(params, Mapping):
            raise ValidationException("the request must be a JSON object")
        return op(params)

    # -- control ------------------------------------------------------------------------------
    def _create_delivery_stream(self, p: Mapping[str, Any]) -> dict:
        return {"DeliveryStreamARN": self.control.create(dict(p))}

    def _delete_delivery_stream(self, p: Mapping[str, Any]) -> dict:
        name = check_name(p.get("DeliveryStreamName"))
        self.control.delete(name)
        with self._lock:
            self._routes.pop(name, None)
        return {}

    def _describe_delivery_stream(self, p: Mapping[str, Any]) -> dict:
        return self.control.describe(check_name(p.get("DeliveryStreamName")))

    def _list_delivery_streams(self, p: Mapping[str, Any]) -> dict:
        limit = p.get("Limit", 10)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10000:
            raise ValidationException(f"Limit {limit!r} must be an integer from 1 to 10000")
        start = p.get("ExclusiveStartDeliveryStreamName")
        return self.control.list(limit, p.get("DeliveryStreamType"), start)

    def _update_destination(self, p: Mapping[str, Any]) -> dict:
        name = check_name(p.get("DeliveryStreamName"))
        update = p.get("ExtendedS3DestinationUpdate") or p.get("S3DestinationUpdate")
        if not isinstance(update, Mapping):
            raise InvalidArgumentException(
                "UpdateDestination needs ExtendedS3DestinationUpdate (the only destination "
                "rayemr offers)")
        for key in ("CurrentDeliveryStreamVersionId", "DestinationId"):
            if not p.get(key):
                raise ValidationException(f"{key} is required")
        self.control.update(name, p["CurrentDeliveryStreamVersionId"], p["DestinationId"],
                            dict(update))
        return {}

    def _list_tags_for_delivery_stream(self, p: Mapping[str, Any]) -> dict:
        tags = self.control.tags(check_name(p.get("DeliveryStreamName")))
        return {"Tags": tags, "HasMoreTags": False}

    # -- puts ----------------------------------------------------------------------------------
    def _route(self, name: str, refresh: bool = False) -> Any:
        with self._lock:
            route = None if refresh else self._routes.get(name)
        if route is None:
            route = self.control.route(name)
            with self._lock:
                self._routes[name] = route
        status, source, handle = route
        if source != "DirectPut":
            raise InvalidArgumentException(
                f"This operation is not permitted on {source} delivery stream type.")
        if status != "ACTIVE":
            raise ResourceInUseException(f"Firehose {name} is {status}, not ACTIVE")
        return handle

    def _put(self, name: str, datas: list[bytes]) -> PutResult:
        """The put's result, maybe not yet settled (``PutResult.settle``): the answer is built
        while its records go to disk, and settled before it is returned."""
        # unique per call, not secret: the random module (reseeded in a forked child)
        # spares a system call per put
        token = random.getrandbits(128).to_bytes(16, "little")
        try:
            return self.pool.call(self._route(name), "put_deferred", datas, token)
        except ResourceNotFoundException:
            raise
        except Exception as exc:  # noqa: BLE001 - a stale route: ask the control plane again
            if _is_dead_actor(exc):
                return self.pool.call(self._route(name, refresh=True), "put_deferred", datas,
                                      token)
            raise

    def _put_record(self, p: Mapping[str, Any]) -> dict:
        name = check_name(p.get("DeliveryStreamName"))
        data = record_data(p.get("Record"), "record")
        result = self._put(name, [data])
        if result.errors is not None and result.errors[0] is not None:
            result.settle()
            raise ServiceUnavailableException(result.errors[0][1])
        answer = {"RecordId": result.record_ids[0], "Encrypted": False}
        result.settle()
        return answer

    def _put_record_batch(self, p: Mapping[str, Any]) -> dict:
        name = check_name(p.get("DeliveryStreamName"))
        result = self._put(name, batch_data(p.get("Records")))
        answer = {"FailedPutCount": result.failed, "Encrypted": False,
                  "RequestResponses": result.responses()}
        result.settle()  # the records on disk before the answer leaves
        return answer

    # -- rayemr's own -----------------------------------------------------------------------------
    def metrics(self, name: str | None = None) -> dict[str, dict[str, Any]]:
        return self.control.metrics(name)


def _is_dead_actor(exc: BaseException) -> bool:
    return type(exc).__name__ in ("RayActorError", "ActorDiedError", "ActorUnavailableError")
