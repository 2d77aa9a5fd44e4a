"""jobs/clickstream.py (boto3 only) against the endpoint: its checked-in expected output."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.e2e.kinesis.conftest import ACCESS_KEY, SECRET_KEY

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def test_clickstream_producer_and_consumer(kinesis_endpoint, tmp_path):
    url = kinesis_endpoint[0].url
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
           "AWS_DEFAULT_REGION": "us-east-1",
           "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))}
    job = [sys.executable, os.path.join(ROOT, "jobs", "clickstream.py"), "--endpoint-url", url,
           "--stream", "clicks-job"]
    log = os.path.join(ROOT, "rayemr", "data", "mapreduce", "access.log")
    out = subprocess.run([*job, "produce", log, "--shards", "3"], capture_output=True,
                         text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"stored": 600}
    counts = tmp_path / "counts.txt"
    out = subprocess.run([*job, "consume", "-o", str(counts), "--idle-seconds", "3",
                          "--checkpoints", str(tmp_path / "leases")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    with open(os.path.join(ROOT, "jobs", "expected", "clickstream.txt")) as f:
        assert counts.read_text() == f.read()
    # checkpoints persisted: a second run of the same application finds nothing new
    again = subprocess.run([*job, "consume", "--idle-seconds", "2", "--checkpoints",
                            str(tmp_path / "leases")], capture_output=True, text=True,
                           env=env, timeout=300)
    assert again.returncode == 0 and again.stdout == ""
