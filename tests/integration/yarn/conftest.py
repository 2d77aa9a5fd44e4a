"""Fixtures: YARN started on the shared local Ray instance, and AM programs used by tests."""
from __future__ import annotations

import pytest


@pytest.fixture
def yarn_local(ray_local):
    """The ResourceManager on the shared 2-CPU Ray instance, REST on a free loopback port."""
    import rayemr.yarn as yarn

    handle = yarn.start({"yarn.resourcemanager.webapp.address": "127.0.0.1:0"})
    yield handle
