"""AWS Signature Version 4: verifying a request's ``Authorization`` header.

The endpoint recomputes the signature from the request exactly as the SDKs compute it
(canonical request over method, path, query, the signed headers and the SHA-256 of the body
actually received; string to sign with ``X-Amz-Date`` and the credential scope; the derived
signing key of the configured secret) and compares in constant time. Refusals use AWS's
types and messages: ``MissingAuthenticationTokenException``, ``IncompleteSignatureException``,
``UnrecognizedClientException`` (unknown access key), ``InvalidSignatureException`` (wrong
secret, wrong service scope, or a signature more than 15 minutes off the server's clock).
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping
from urllib.parse import parse_qsl, quote

from rayemr.aws.errors import AwsError

ALGORITHM = "AWS4-HMAC-SHA256"
#: How far a request's X-Amz-Date may be from the server's clock (AWS: 15 minutes).
MAX_SKEW_S = 15 * 60


@dataclass(frozen=True)
class Identity:
    """Who signed a verified request."""

    access_key: str
    region: str
    service: str


def _refuse(code: str, message: str) -> AwsError:
    return AwsError(code, message, 400)


def _parse_authorization(header: str) -> tuple[str, list[str], str]:
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise _refuse("IncompleteSignatureException",
                      f"Unsupported AWS 'algorithm': '{algorithm}'")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, eq, value = part.strip().partition("=")
        if eq:
            fields[key.strip()] = value.strip()
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not fields.get(k)]
    if missing:
        raise _refuse("IncompleteSignatureException",
                      " ".join(f"Authorization header requires '{k}' parameter." for k in missing)
                      + f" Authorization={algorithm} ...")
    return fields["Credential"], fields["SignedHeaders"].split(";"), fields["Signature"]


def canonical_request(method: str, path: str, query: str, headers: Mapping[str, str],
                      signed: list[str], payload_hash: str) -> str:
    """The canonical request the SDKs sign (``headers`` keyed by lower-case name)."""
    uri = quote(path or "/", safe="/~")
    pairs = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~"))
                   for k, v in parse_qsl(query, keep_blank_values=True))
    canonical_query = "&".join(f"{k}={v}" for k, v in pairs)
    canonical_headers = "".join(f"{h}:{' '.join(headers.get(h, '').split())}\n" for h in signed)
    return "\n".join([method, uri, canonical_query, canonical_headers, ";".join(signed),
                      payload_hash])


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def verify(method: str, path: str, query: str, headers: Mapping[str, str], body: bytes,
           secrets: Mapping[str, str], service: str, now: datetime | None = None) -> Identity:
    """Check a request's SigV4 signature; ``headers`` keyed by lower-case name.

    ``secrets`` maps access key ids to secret keys; ``service`` is the signing name the
    credential scope must name. Returns who signed, or raises ``AwsError`` as AWS refuses.
    """
    header = headers.get("authorization")
    if not header:
        raise _refuse("MissingAuthenticationTokenException", "Missing Authentication Token")
    credential, signed, signature = _parse_authorization(header)
    scope = credential.split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise _refuse("IncompleteSignatureException",
                      f"Credential should be scoped to a valid region, not '{credential}'.")
    access_key, date, region, scoped_service, _ = scope
    secret = secrets.get(access_key)
    if secret is None:
        raise _refuse("UnrecognizedClientException",
                      "The security token included in the request is invalid.")
    if scoped_service != service:
        raise _refuse("InvalidSignatureException",
                      f"Credential should be scoped to correct service: '{service}'. ")
    amz_date = headers.get("x-amz-date", "")
    try:
        when = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise _refuse("IncompleteSignatureException",
                      "Authorization header requires existence of either a 'X-Amz-Date' or a "
                      "'Date' header.") from None
    if amz_date[:8] != date:
        raise _refuse("InvalidSignatureException",
                      f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
                      f"of date from HTTP: '{date}' != '{amz_date[:8]}', from '{amz_date}'.")
    now = now or datetime.now(timezone.utc)
    if abs((now - when).total_seconds()) > MAX_SKEW_S:
        raise _refuse("InvalidSignatureException",
                      f"Signature expired: {amz_date} is now earlier than "
                      f"{now.strftime('%Y%m%dT%H%M%SZ')} (15 min. skew allowed).")
    if "host" not in signed:
        raise _refuse("InvalidSignatureException", "'Host' must be a signed header")
    canonical = canonical_request(method, path, query, headers, signed,
                                  hashlib.sha256(body).hexdigest())
    string_to_sign = "\n".join([ALGORITHM, amz_date, "/".join(scope[1:]),
                                hashlib.sha256(canonical.encode()).hexdigest()])
    expected = hmac.new(signing_key(secret, date, region, scoped_service),
                        string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise _refuse("InvalidSignatureException",
                      "The request signature we calculated does not match the signature you "
                      "provided. Check your AWS Secret Access Key and signing method. Consult "
                      "the service documentation for details.")
    return Identity(access_key, region, scoped_service)
