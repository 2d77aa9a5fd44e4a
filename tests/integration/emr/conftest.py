"""Helpers for EMR cluster tests."""
from __future__ import annotations

import boto3
import pytest


@pytest.fixture
def s3(s3_server):
    return boto3.client("s3", endpoint_url=s3_server)


def step_states(steps):
    return {s["Name"]: s["Status"]["State"] for s in steps}
