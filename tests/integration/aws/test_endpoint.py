"""The endpoint over real HTTP on loopback, with a small service plugged in: routing by
X-Amz-Target, AWS's order of checks and error shapes, SigV4, bounds. (No Ray.)"""
from __future__ import annotations

import json
import socket

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from rayemr.aws import Credentials, Endpoint, EndpointConfig, JsonService
from rayemr.kinesis.errors import ResourceNotFoundException


def echo(operation, params):
    if operation == "Fail":
        raise ResourceNotFoundException("Thing x not found.")
    if operation == "Crash":
        raise RuntimeError("a detail that must stay in the server log")
    return {"Operation": operation, "Got": params}


@pytest.fixture(scope="module")
def endpoint():
    svc = JsonService("echo", "Echo_20200101", "echo", frozenset({"Say", "Fail", "Crash"}),
                      echo, {"Say": ("Blob",)})
    ep = Endpoint([svc], Credentials({"AK": "SECRET"}, "test"),
                  EndpointConfig(port=0, max_connections=4, max_body_bytes=64 * 1024))
    ep.start()
    yield ep
    ep.stop()


def post(ep, op, body, *, secret="SECRET", service="echo", content_type=None, target=None,
         sign=True):
    headers = {"Content-Type": content_type or "application/x-amz-json-1.1",
               "X-Amz-Target": target if target is not None else f"Echo_20200101.{op}"}
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = AWSRequest("POST", ep.url + "/", data=data, headers=headers)
    if sign:
        SigV4Auth(BotoCredentials("AK", secret), service, "us-east-1").add_auth(req)
    return requests.post(ep.url + "/", data=data, headers=dict(req.headers), timeout=10)


def test_a_signed_request_reaches_its_service(endpoint):
    r = post(endpoint, "Say", {"Blob": "aGk=", "N": 1})
    assert r.status_code == 200 and r.headers["x-amzn-RequestId"]
    assert r.headers["Content-Type"] == "application/x-amz-json-1.1"
    assert r.json() == {"Operation": "Say", "Got": {"Blob": "aGk=", "N": 1}}  # bytes -> b64


@pytest.mark.parametrize("kwargs,status,code", [
    ({"secret": "wrong"}, 400, "InvalidSignatureException"),
    ({"sign": False}, 400, "MissingAuthenticationTokenException"),
    ({"service": "kinesis"}, 400, "InvalidSignatureException"),
    ({"target": "Echo_20200101.Nope"}, 400, "UnknownOperationException"),
    ({"target": "Other_1.Say"}, 400, "UnknownOperationException"),
])
def test_refusals_use_aws_types(endpoint, kwargs, status, code):
    r = post(endpoint, "Say", {"N": 1}, **kwargs)
    assert (r.status_code, r.json()["__type"], r.headers["x-amzn-ErrorType"]) == (
        status, code, code)


def test_wrong_content_type_and_no_target(endpoint):
    r = post(endpoint, "Say", {"N": 1}, content_type="application/json")
    assert r.status_code == 404 and "<UnknownOperationException/>" in r.text
    r = post(endpoint, "Say", {"N": 1}, content_type="text/plain", target="")
    assert r.status_code == 403 and "AccessDeniedException" in r.text
    r = requests.get(endpoint.url + "/", timeout=10)
    assert r.status_code == 403 and "Unable to determine service/operation" in r.text


def test_malformed_bodies_are_serialization_errors(endpoint):
    for body in (b"{not json", b"[1]", b""):
        r = post(endpoint, "Say", body)
        assert r.status_code == 400 and r.json()["__type"] == "SerializationException", body
    r = post(endpoint, "Say", {"Blob": "%%%"})
    assert r.json()["__type"] == "SerializationException"


def test_service_errors_and_crashes(endpoint):
    r = post(endpoint, "Fail", {})
    assert r.status_code == 400 and r.json() == {"__type": "ResourceNotFoundException",
                                                 "message": "Thing x not found."}
    r = post(endpoint, "Crash", {})
    assert r.status_code == 500 and r.json()["__type"] == "InternalFailure"
    assert "detail" not in r.text
    assert post(endpoint, "Say", {}).status_code == 200  # still serving


def test_oversized_bodies_are_refused(endpoint):
    r = post(endpoint, "Say", {"Pad": "x" * (70 * 1024)})
    assert r.status_code == 413
    assert post(endpoint, "Say", {}).status_code == 200


def test_connections_are_bounded(endpoint):
    held = [socket.create_connection(endpoint.address) for _ in range(4)]
    try:
        extra = socket.create_connection(endpoint.address)
        extra.settimeout(5)
        assert extra.recv(1) == b""  # refused: closed without an answer
        extra.close()
    finally:
        for s in held:
            s.close()
    import time
    for _ in range(50):  # the slots come back as the held connections end
        try:
            if post(endpoint, "Say", {}).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.1)
    else:
        pytest.fail("endpoint did not recover its connection slots")


def test_health_and_loopback_default(endpoint):
    assert requests.get(endpoint.url + "/_rayemr/health", timeout=5).json() == {
        "services": {"echo": "running"}}
    assert EndpointConfig().host == "127.0.0.1" and EndpointConfig().port == 4566
