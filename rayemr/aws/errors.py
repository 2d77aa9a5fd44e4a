"""Errors of the AWS-style endpoint itself (before a request reaches a service).

``AwsError`` carries AWS's error type (``code``) and HTTP status; ``wire_error`` gives the
``(status, code, message)`` AWS would answer for any exception a service raised: rayemr's
errors carry ``aws_code`` (e.g. ``rayemr.kinesis.errors``), the rest of the error tree maps to
the closest AWS type, and anything unexpected is a 500 ``InternalFailure`` whose details stay
in the server's log.
"""
from __future__ import annotations

from rayemr.core.errors import (
    AccessDeniedError, ClusterError, InputNotFoundError, RayEmrError, UserError,
)


class AwsError(RayEmrError):
    """A request refused by the endpoint: ``code`` is AWS's error type."""

    def __init__(self, code: str, message: str, status: int = 400, *, xml: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.xml = xml  # answered as XML: the request did not speak the JSON protocol

    @property
    def aws_code(self) -> str:
        return self.code

    @property
    def http_status(self) -> int:
        return self.status


def wire_error(exc: BaseException) -> tuple[int, str, str]:
    """``(HTTP status, AWS error type, message)`` for an exception raised by a service."""
    code = getattr(exc, "aws_code", None)
    if code and isinstance(exc, RayEmrError):
        return int(getattr(exc, "http_status", 400)), code, exc.message
    if isinstance(exc, InputNotFoundError):
        return 400, "ResourceNotFoundException", exc.message
    if isinstance(exc, AccessDeniedError):
        return 400, "AccessDeniedException", exc.message
    if isinstance(exc, UserError):
        return 400, "InvalidArgumentException", exc.message
    if isinstance(exc, ClusterError):
        return 500, "InternalFailure", exc.message
    return 500, "InternalFailure", "Internal service failure."
