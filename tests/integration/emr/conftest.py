"""Helpers for EMR cluster tests."""
from __future__ import annotations

import boto3
import pytest


@pytest.fixture
def s3(s3_server):
    return boto3.client("s3", endpoint_url=s3_server)


def step_states(steps):
    return {s["Name"]: s["Status"]["State"] for s in steps}


SECONDS_PER_PAGE_PY = '''\
"""Seconds spent per page, over a Hive table's files (\\\\x01-separated text)."""
from rayemr.mapreduce import MRJob
from rayemr.mapreduce.protocol import TextProtocol


class SecondsPerPage(MRJob):
    OUTPUT_PROTOCOL = TextProtocol

    def mapper(self, _, line):
        user, page, seconds = line.split("\\x01")
        yield page, int(seconds)

    def combiner(self, page, seconds):
        yield page, sum(seconds)

    def reducer(self, page, seconds):
        yield page, str(sum(seconds))


if __name__ == "__main__":
    SecondsPerPage.run()
'''


@pytest.fixture
def seconds_per_page_py():
    """A MapReduce job file's text: seconds per page over the visits table's files."""
    return SECONDS_PER_PAGE_PY
