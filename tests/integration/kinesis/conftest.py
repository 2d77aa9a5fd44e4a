"""The cluster's Kinesis service on the shared local Ray, on a fresh location per module."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def kinesis_location(tmp_path_factory):
    return str(tmp_path_factory.mktemp("kinesis-ray"))


@pytest.fixture
def ray_kinesis(ray_local, kinesis_location):
    """``(client, location)``: the Python client on Ray; the service stops after the test
    (its streams stay on storage)."""
    import rayemr.kinesis as kinesis
    from rayemr.kinesis import actors

    client = kinesis.client("ray", kinesis.KinesisSettings(location=kinesis_location))
    yield client, kinesis_location
    actors.shutdown()
