"""Kinesis's error types, as AWS names them, inside rayemr's one error tree.

Each error carries ``aws_code`` (the ``__type`` AWS puts on the wire and botocore's
``ClientError`` reports as ``Error.Code``) and ``http_status``. They are ``RayEmrError``s, so
they pickle across Ray and the CLI prints them as one line; the AWS-style endpoint turns them
into AWS's JSON error shape. ``response`` gives the dict a botocore ``ClientError`` carries, so
code written against boto3 (``err.response["Error"]["Code"]``) works with the Python client too.
"""
from __future__ import annotations

from typing import Any

from rayemr.core.errors import (
    AccessDeniedError, ClusterError, InputNotFoundError, RayEmrError, UserError,
)


class KinesisError(RayEmrError):
    """Base of every error the Kinesis API returns."""

    aws_code = "InternalFailure"
    http_status = 400

    @property
    def response(self) -> dict[str, Any]:
        """What botocore's ``ClientError.response`` holds for this error."""
        return {"Error": {"Code": self.aws_code, "Message": self.message},
                "ResponseMetadata": {"HTTPStatusCode": self.http_status}}

    def __str__(self) -> str:
        return f"{self.aws_code}: {self.message}"


class ResourceNotFoundException(KinesisError, InputNotFoundError):
    aws_code = "ResourceNotFoundException"


class ResourceInUseException(KinesisError, UserError):
    aws_code = "ResourceInUseException"


class InvalidArgumentException(KinesisError, UserError):
    aws_code = "InvalidArgumentException"


class ValidationException(KinesisError, UserError):
    aws_code = "ValidationException"


class SerializationException(KinesisError, UserError):
    """The request body is not JSON of the operation's shape."""

    aws_code = "SerializationException"


class LimitExceededException(KinesisError, UserError):
    aws_code = "LimitExceededException"


class ExpiredIteratorException(KinesisError, UserError):
    aws_code = "ExpiredIteratorException"


class ExpiredNextTokenException(KinesisError, UserError):
    aws_code = "ExpiredNextTokenException"


class AccessDeniedException(KinesisError, AccessDeniedError):
    aws_code = "AccessDeniedException"


class ProvisionedThroughputExceededException(KinesisError, ClusterError):
    """A shard's read or write rate was exceeded; retry with backoff."""

    aws_code = "ProvisionedThroughputExceededException"


class InternalFailureException(KinesisError, ClusterError):
    """The service could not complete the request (storage or a shard host failed)."""

    aws_code = "InternalFailure"
    http_status = 500


#: Every error class by its AWS code (the Python client's ``exceptions`` namespace).
BY_CODE: dict[str, type[KinesisError]] = {
    cls.aws_code: cls for cls in (
        ResourceNotFoundException, ResourceInUseException, InvalidArgumentException,
        ValidationException, SerializationException, LimitExceededException, ExpiredIteratorException,
        ExpiredNextTokenException, AccessDeniedException,
        ProvisionedThroughputExceededException, InternalFailureException)
}
# boto3 names the 500 error both ways
BY_CODE["InternalFailureException"] = InternalFailureException
