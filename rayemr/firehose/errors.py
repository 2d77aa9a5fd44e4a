"""Firehose's error types, as AWS names them, inside rayemr's one error tree.

Each carries ``aws_code`` (the ``__type`` on the wire, botocore's ``Error.Code``) and
``http_status``; ``response`` is the dict a botocore ``ClientError`` holds, so code written
against boto3 (``err.response["Error"]["Code"]``) works with the Python client too. They are
``RayEmrError``s: they pickle across Ray and the CLI prints them as one line.
"""
from __future__ import annotations

from typing import Any

from rayemr.core.errors import ClusterError, InputNotFoundError, RayEmrError, UserError


class FirehoseError(RayEmrError):
    """Base of every error the Firehose API returns."""

    aws_code = "InternalFailure"
    http_status = 400

    @property
    def response(self) -> dict[str, Any]:
        return {"Error": {"Code": self.aws_code, "Message": self.message},
                "ResponseMetadata": {"HTTPStatusCode": self.http_status}}

    def __str__(self) -> str:
        return f"{self.aws_code}: {self.message}"


class ResourceNotFoundException(FirehoseError, InputNotFoundError):
    aws_code = "ResourceNotFoundException"


class ResourceInUseException(FirehoseError, UserError):
    aws_code = "ResourceInUseException"


class InvalidArgumentException(FirehoseError, UserError):
    aws_code = "InvalidArgumentException"


class ValidationException(FirehoseError, UserError):
    """A parameter breaks the operation's shape (type, length, range, pattern)."""

    aws_code = "ValidationException"


class SerializationException(FirehoseError, UserError):
    aws_code = "SerializationException"


class LimitExceededException(FirehoseError, UserError):
    aws_code = "LimitExceededException"


class ConcurrentModificationException(FirehoseError, UserError):
    aws_code = "ConcurrentModificationException"


class ServiceUnavailableException(FirehoseError, ClusterError):
    """The delivery stream cannot take records now (e.g. it is recovering); retry."""

    aws_code = "ServiceUnavailableException"
    http_status = 503


class InternalFailureException(FirehoseError, ClusterError):
    aws_code = "InternalFailure"
    http_status = 500


BY_CODE: dict[str, type[FirehoseError]] = {
    cls.aws_code: cls for cls in (
        ResourceNotFoundException, ResourceInUseException, InvalidArgumentException,
        ValidationException, SerializationException, LimitExceededException,
        ConcurrentModificationException, ServiceUnavailableException, InternalFailureException)}
