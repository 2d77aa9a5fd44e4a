"""SigV4 verification against botocore's own signer, and every way AWS refuses a request."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from rayemr.aws import sigv4
from rayemr.aws.errors import AwsError

SECRETS = {"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "OTHER": "s2"}


def signed(body=b'{"StreamName":"s"}', key="AKIDEXAMPLE", secret=None, service="kinesis",
           url="http://127.0.0.1:4566/", region="eu-west-1", when=None):
    req = AWSRequest("POST", url, data=body, headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "Kinesis_20131202.DescribeStream"})
    signer = SigV4Auth(BotoCredentials(key, secret or SECRETS.get(key, "x")), service, region)
    if when is not None:
        import botocore.auth
        real = botocore.auth.datetime.datetime

        class Fixed(real):
            @classmethod
            def utcnow(cls):
                return when.replace(tzinfo=None)

            @classmethod
            def now(cls, tz=None):
                return when if tz else when.replace(tzinfo=None)
        botocore.auth.datetime.datetime = Fixed
        try:
            signer.add_auth(req)
        finally:
            botocore.auth.datetime.datetime = real
    else:
        signer.add_auth(req)
    prepared = req.prepare()
    headers = {k.lower(): v for k, v in prepared.headers.items()}
    headers["host"] = "127.0.0.1:4566"
    path, _, query = url.split("127.0.0.1:4566", 1)[1].partition("?")
    return path or "/", query, headers, body


def check(path, query, headers, body, service="kinesis", now=None):
    return sigv4.verify("POST", path, query, headers, body, SECRETS, service, now)


def test_a_botocore_signature_verifies():
    ident = check(*signed())
    assert ident == sigv4.Identity("AKIDEXAMPLE", "eu-west-1", "kinesis")


def test_query_strings_and_odd_paths_verify():
    check(*signed(url="http://127.0.0.1:4566/a%20b/c?x=1&a=b%2Fc&empty="))


def _code(args, **kw):
    with pytest.raises(AwsError) as exc:
        check(*args, **kw)
    return exc.value.code, exc.value.message


def test_wrong_secret_is_refused_as_aws_does():
    code, msg = _code(signed(secret="not-the-secret"))
    assert code == "InvalidSignatureException"
    assert msg.startswith("The request signature we calculated does not match")


def test_unknown_access_key_is_unrecognized():
    assert _code(signed(key="AKIDNOBODY"))[0] == "UnrecognizedClientException"


def test_a_changed_body_breaks_the_signature():
    path, query, headers, _ = signed()
    assert _code((path, query, headers, b'{"StreamName":"t"}'))[0] == "InvalidSignatureException"


def test_a_changed_signed_header_breaks_the_signature():
    path, query, headers, body = signed()
    headers["x-amz-target"] = "Kinesis_20131202.DeleteStream"
    assert _code((path, query, headers, body))[0] == "InvalidSignatureException"


def test_scope_must_name_the_service():
    code, msg = _code(signed(service="firehose"))
    assert code == "InvalidSignatureException" and "'kinesis'" in msg


def test_old_signatures_expire():
    when = datetime.now(timezone.utc) - timedelta(minutes=20)
    code, msg = _code(signed(when=when))
    assert code == "InvalidSignatureException" and msg.startswith("Signature expired")
    check(*signed(when=datetime.now(timezone.utc) - timedelta(minutes=10)))


def test_missing_and_incomplete_authorization():
    path, query, headers, body = signed()
    del headers["authorization"]
    assert _code((path, query, headers, body)) == ("MissingAuthenticationTokenException",
                                                    "Missing Authentication Token")
    headers["authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20200101/x/kinesis/" \
                               "aws4_request"
    assert _code((path, query, headers, body))[0] == "IncompleteSignatureException"
    headers["authorization"] = "AWS3 foo"
    assert _code((path, query, headers, body))[0] == "IncompleteSignatureException"
