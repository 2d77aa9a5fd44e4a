"""AWS's JSON protocol (``awsJson1_0``/``awsJson1_1``) as a service on the endpoint sees it.

A service is a ``JsonService``: the ``X-Amz-Target`` prefix it answers (``Kinesis_20131202``),
the name its SigV4 credential scope must carry (``kinesis``), its operations, the members of
each operation that are blobs (base64 on the wire, bytes for the service) and a ``call``
taking ``(operation, params)`` and returning the response as a dict (bytes for blobs, epoch
seconds for timestamps). Encoding and decoding are shared here so every service speaks the
protocol the same way.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from rayemr.aws.errors import AwsError


@dataclass(frozen=True)
class JsonService:
    """One service on the endpoint (see the module docstring)."""

    name: str
    target_prefix: str
    signing_name: str
    operations: frozenset[str]
    call: Callable[[str, dict], dict] = field(repr=False)
    blobs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    json_version: str = "1.1"
    close: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def content_type(self) -> str:
        return f"application/x-amz-json-{self.json_version}"


def serialization_error(message: str | None = None) -> AwsError:
    return AwsError("SerializationException", message or "")


def decode_body(body: bytes) -> dict[str, Any]:
    """The JSON object of a request body; ``SerializationException`` otherwise."""
    try:
        params = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise serialization_error("The request body is not valid JSON") from None
    if not isinstance(params, dict):
        raise serialization_error("Start of structure or map found where not expected")
    return params


def _b64(value: Any, where: str) -> bytes:
    if not isinstance(value, str):
        raise serialization_error(f"Unexpected value type for '{where}': expected a base64 "
                                  "string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise serialization_error(f"'{where}' is not valid base64") from None


def decode_blobs(params: dict[str, Any], paths: tuple[str, ...]) -> None:
    """Replace the base64 members named by ``paths`` (``Data``, ``Records[].Data``) by bytes."""
    for path in paths:
        head, sep, member = path.partition("[].")
        if not sep:
            if params.get(head) is not None:
                params[head] = _b64(params[head], head)
            continue
        items = params.get(head)
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            if isinstance(item, dict) and item.get(member) is not None:
                item[member] = _b64(item[member], f"{head}.{i + 1}.{member}")


def _default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def encode(response: Mapping[str, Any]) -> bytes:
    """A response dict as the JSON protocol's body (blobs base64)."""
    return json.dumps(response, default=_default, separators=(",", ":")).encode()


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"__type": code, "message": message}).encode()


def xml_error_body(code: str, message: str | None) -> bytes:
    if not message:
        return f"<{code}/>\n".encode()
    return f"<{code}>\n  <Message>{message}</Message>\n</{code}>\n".encode()
