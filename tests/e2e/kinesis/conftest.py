"""An AWS endpoint serving Kinesis on loopback, and boto3 clients for it."""
from __future__ import annotations

import pytest

ACCESS_KEY, SECRET_KEY = "AKIDKINESISTEST", "kinesis-test-secret"


def boto3_client(url: str, secret: str = SECRET_KEY, **config):
    import boto3
    from botocore.config import Config

    return boto3.client("kinesis", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=secret,
                        config=Config(retries={"max_attempts": 1}, **config))


def start_endpoint(location: str, backend: str = "local", **props):
    from rayemr.aws import Credentials, Endpoint, EndpointConfig, ServiceContext
    from rayemr.aws.services import build_services

    properties = {"kinesis-site": {"rayemr.kinesis.location": location, **props}}
    services = build_services(["kinesis"], ServiceContext(backend=backend,
                                                          properties=properties))
    endpoint = Endpoint(services, Credentials({ACCESS_KEY: SECRET_KEY}, "test"),
                        EndpointConfig(port=0))
    endpoint.start()
    return endpoint


@pytest.fixture(scope="module")
def kinesis_endpoint(tmp_path_factory):
    """The endpoint with streams in this process (local backend), on a fresh location."""
    from rayemr.kinesis.local import LocalKinesis

    location = str(tmp_path_factory.mktemp("kinesis"))
    endpoint = start_endpoint(location)
    yield endpoint, location
    endpoint.stop()
    LocalKinesis._open[location].close()


@pytest.fixture
def kinesis(kinesis_endpoint):
    return boto3_client(kinesis_endpoint[0].url)
