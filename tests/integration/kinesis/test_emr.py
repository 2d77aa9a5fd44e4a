"""An EMR cluster with the kinesis-site and aws-endpoint classifications: it creates the
configured streams and serves them on the AWS endpoint until it terminates."""
from __future__ import annotations

import botocore
import pytest
import requests

from rayemr.core.errors import ConfigError
from rayemr.emr import Cluster
from rayemr.kinesis import actors

from tests.e2e.kinesis.conftest import boto3_client


def test_cluster_serves_configured_streams(ray_local, tmp_path, monkeypatch):
    from tests.e2e.kinesis.conftest import ACCESS_KEY, SECRET_KEY

    creds = tmp_path / "credentials"
    creds.write_text(f"[default]\naws_access_key_id={ACCESS_KEY}\n"
                     f"aws_secret_access_key={SECRET_KEY}\n")
    configurations = [
        {"Classification": "kinesis-site", "Properties": {
            "rayemr.kinesis.location": str(tmp_path / "kinesis"),
            "rayemr.kinesis.create-streams": "clicks:2,logs:1"}},
        {"Classification": "aws-endpoint", "Properties": {
            "rayemr.aws.endpoint.enabled": "true", "rayemr.aws.endpoint.port": "0",
            "rayemr.aws.endpoint.credentials": str(creds)}}]
    try:
        with Cluster(work_dir=str(tmp_path / "emr"), applications=["Hadoop"],
                     configurations=configurations) as cluster:
            services = cluster.describe()["Cluster"]["Services"]
            endpoint = next(s for s in services if s["Name"] == "AWS endpoint")
            assert endpoint["State"] == "RUNNING"
            url = endpoint["Detail"]
            k = boto3_client(url)
            assert sorted(k.list_streams()["StreamNames"]) == ["clicks", "logs"]
            k.put_record(StreamName="clicks", Data=b"x", PartitionKey="p")
            cluster.terminate()
            cluster.wait_terminated(timeout=120)
        with pytest.raises(requests.ConnectionError):
            requests.get(url + "/_rayemr/health", timeout=5)
    finally:
        actors.shutdown()


def test_bad_kinesis_configurations_fail_at_the_edge(tmp_path):
    for props, cls in (({"rayemr.kinesis.create-streams": "clicks"}, "kinesis-site"),
                       ({"rayemr.kinesis.limits": "fast"}, "kinesis-site"),
                       ({"rayemr.aws.endpoint.port": "http"}, "aws-endpoint"),
                       ({"rayemr.aws.endpoint.colour": "red"}, "aws-endpoint")):
        with pytest.raises(ConfigError, match=cls):
            Cluster(configurations=[{"Classification": cls, "Properties": props}])
