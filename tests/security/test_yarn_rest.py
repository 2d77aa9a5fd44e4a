"""The YARN REST API: read-only, loopback-bound, deaf to other sites' host names."""
from __future__ import annotations

from urllib.parse import urlparse

import pytest
import requests


@pytest.mark.parametrize("header,ok", [
    ("127.0.0.1:8088", True), ("localhost:8088", True), ("LOCALHOST", True),
    ("[::1]:8088", True), ("10.1.2.3", True), ("rm.internal:8088", True),
    ("evil.example:8088", False), ("127.0.0.1.evil.example", False),
    ("localhost.evil.example", False), ("", False), (None, False),
])
def test_host_header_rule(header, ok):
    from rayemr.yarn.rest import host_allowed

    assert host_allowed(header, {"rm.internal"}) is ok


def test_rest_api_refuses_rebinding_and_writes(ray_local):
    import rayemr.yarn as yarn

    handle = yarn.start({"yarn.resourcemanager.webapp.address": "127.0.0.1:0"})
    assert urlparse(handle.rest_url).hostname in ("127.0.0.1", "::1", "localhost")
    base = handle.rest_url + "/ws/v1/cluster"
    ok = requests.get(base + "/apps", timeout=10)
    assert ok.status_code == 200
    assert "Access-Control-Allow-Origin" not in ok.headers
    port = urlparse(handle.rest_url).port
    rebound = requests.get(base + "/apps", headers={"Host": f"attacker.example:{port}"},
                           timeout=10)
    assert rebound.status_code == 403
    assert "apps" not in rebound.json()
    assert requests.get(base + "/info", headers={"Host": f"localhost:{port}"},
                        timeout=10).status_code == 200
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = requests.request(method, base + "/apps/new-application", json={"a": 1},
                             timeout=10)
        assert r.status_code == 405, method
    after = requests.get(base + "/apps", timeout=10).json()
    assert after == ok.json()
