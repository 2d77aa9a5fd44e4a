"""Storage failures -> rayemr's error tree, one line naming the URL and the problem.

boto, s3fs, pyarrow and the OS each raise their own exceptions; ``storage_errors(url)`` turns
them into ``InputNotFoundError`` / ``OutputExistsError`` / ``AccessDeniedError`` /
``StorageError`` with a message that names the URL and never contains a credential.
"""
from __future__ import annotations

import contextlib
import os
import re
from typing import Iterator

from rayemr.core.errors import (
    AccessDeniedError,
    InputNotFoundError,
    OutputExistsError,
    RayEmrError,
    StorageError,
    UserError,
)

_ACCESS_CODES = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
                 "InvalidToken", "AllAccessDisabled", "AccountProblem", "InvalidSecurity",
                 "RequestTimeTooSkewed", "TokenRefreshRequired", "InvalidClientTokenId",
                 "UnrecognizedClientException"}
_CREDENTIAL_HINT = ("check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, "
                    "~/.aws/credentials or the instance role")
_KEYLIKE = re.compile(r"(?i)(aws_secret_access_key|secret|token|signature|credential)"
                      r"(['\"]?\s*[:=]\s*['\"]?)[^\s'\",;&]+")


def scrub(text: str, extra_secrets: tuple[str | None, ...] = ()) -> str:
    """Remove credentials (from the environment, the config or key=value pairs) from text."""
    secrets = [os.environ.get(name) for name in
               ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")]
    for secret in [*secrets, *extra_secrets]:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "****")
    return _KEYLIKE.sub(lambda m: m.group(1) + m.group(2) + "****", text)


def _client_error(exc: BaseException) -> tuple[str | None, str | None]:
    """(error code, message) of the botocore ClientError behind exc, if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        response = getattr(exc, "response", None)
        if isinstance(response, dict) and "Error" in response:
            err = response["Error"]
            return err.get("Code"), err.get("Message")
        exc = exc.__cause__ or exc.__context__
    return None, None


def _bucket_of(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0]


def translate(exc: BaseException, url: str, secrets: tuple[str | None, ...] = ()) -> RayEmrError:
    """The rayemr error for exc, raised while working on url."""
    if isinstance(exc, RayEmrError):
        return exc
    name = type(exc).__name__
    code, message = _client_error(exc)
    if name in ("NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"):
        return AccessDeniedError(f"{url}: no usable AWS credentials found", hint=_CREDENTIAL_HINT)
    if code in _ACCESS_CODES or (code is None and isinstance(exc, PermissionError)):
        why = {"InvalidAccessKeyId": "the AWS access key id is not valid",
               "SignatureDoesNotMatch": "the AWS secret key does not match the access key",
               "ExpiredToken": "the AWS session token has expired"}.get(
                   code or "", "access denied" + (f" ({code})" if code else ""))
        return AccessDeniedError(f"{url}: {why}", hint=_CREDENTIAL_HINT)
    bucket = getattr(exc, "bucket", None)
    if code == "NoSuchBucket" or (bucket and isinstance(exc, FileNotFoundError)):
        return InputNotFoundError(f"{url}: bucket '{bucket or _bucket_of(url)}' does not exist")
    if code in ("NoSuchKey", "404", "NotFound") or isinstance(exc, FileNotFoundError):
        return InputNotFoundError(f"{url}: no such file or directory")
    if isinstance(exc, FileExistsError):
        return OutputExistsError(f"{url}: already exists")
    if isinstance(exc, IsADirectoryError):
        return UserError(f"{url}: is a directory")
    if isinstance(exc, NotADirectoryError):
        return UserError(f"{url}: not a directory")
    connect = _connect_failure(exc)
    if connect:
        return StorageError(f"{url}: cannot connect to the S3 endpoint {connect}",
                            hint="check the endpoint (AWS_ENDPOINT_URL, fs.s3.endpoint) "
                                 "and the network")
    if code:
        detail = scrub(message or code, secrets)
        return StorageError(f"{url}: S3 error {code}: {detail}")
    detail = scrub(str(exc), secrets) or name
    return StorageError(f"{url}: {name}: {detail}")


_CONNECT_NAMES = ("EndpointConnectionError", "ConnectTimeoutError", "ClientConnectorError",
                  "ClientConnectorDNSError", "ConnectionRefusedError", "ConnectionError",
                  "ClientOSError", "ProxyConnectionError")
_NATIVE_CONNECT = ("curlCode: 6,", "curlCode: 7,", "curlCode: 28,")


def _connect_failure(exc: BaseException) -> str | None:
    """``"ENDPOINT (why)"`` when exc means no connection to the S3 endpoint, else None."""
    name = type(exc).__name__
    text = str(exc)
    native = isinstance(exc, OSError) and any(m in text for m in _NATIVE_CONNECT)
    if name not in _CONNECT_NAMES and not native:
        return None
    kwargs = getattr(exc, "kwargs", None) or {}
    endpoint = str(kwargs.get("endpoint_url") or "")
    if "://" in endpoint:
        scheme, rest = endpoint.split("://", 1)
        endpoint = f"{scheme}://{rest.split('/', 1)[0].split('?', 1)[0]}"
    detail = f"{text} {kwargs.get('error', '')}".lower()
    if name == "ConnectTimeoutError" or "curlcode: 28," in detail:
        why = "no answer to the connection"
    elif any(m in detail for m in ("resolve", "name or service", "nodename", "getaddrinfo",
                                   "dns", "curlcode: 6,")):
        why = "unknown host"
    elif "refused" in detail or "connect call failed" in detail or "curlcode: 7," in detail:
        why = "connection refused"
    else:
        why = name
    return f"{endpoint} ({why})" if endpoint else f"({why})"


@contextlib.contextmanager
def storage_errors(url: str, secrets: tuple[str | None, ...] = ()) -> Iterator[None]:
    """Re-raise anything but rayemr errors as the matching rayemr error, naming url."""
    try:
        yield
    except RayEmrError:
        raise
    except (KeyboardInterrupt, GeneratorExit):
        raise
    except Exception as exc:  # noqa: BLE001 - translated, not swallowed
        raise translate(exc, url, secrets) from None
