"""The aws CLI (awscli, as a subprocess) against `rayemr aws serve` (also a subprocess)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.e2e.kinesis.conftest import ACCESS_KEY, SECRET_KEY


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`rayemr aws serve` in its own process, streams in that process, on a free port."""
    tmp = tmp_path_factory.mktemp("awscli")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp / "config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "credentials"), "PYTHONUNBUFFERED": "1"}
    env.pop("AWS_ENDPOINT_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rayemr.cli", "aws", "serve", "--port", "0", "--backend", "local",
         "--conf", f"rayemr.kinesis.location={tmp / 'kinesis'}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    match = re.search(r"at (http://127\.0\.0\.1:\d+)", line)
    if not match:
        proc.kill()
        pytest.fail(f"endpoint did not start: {line!r} {proc.stderr.read()}")
    assert SECRET_KEY not in line and ACCESS_KEY in line
    yield match.group(1), env
    proc.terminate()
    proc.wait(timeout=30)


def aws(served, *args, check=True, secret=None):
    url, env = served
    if secret:
        env = {**env, "AWS_SECRET_ACCESS_KEY": secret}
    proc = subprocess.run([sys.executable, "-m", "awscli", "kinesis", *args, "--endpoint-url",
                           url, "--output", "json"], capture_output=True, text=True, env=env,
                          timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout) if proc.stdout.strip() else {}
    return proc


def test_aws_cli_drives_every_call(served):
    aws(served, "create-stream", "--stream-name", "cli", "--shard-count", "2")
    aws(served, "wait", "stream-exists", "--stream-name", "cli")
    put = aws(served, "put-record", "--stream-name", "cli", "--partition-key", "k",
              "--data", "hello")
    assert put["ShardId"].startswith("shardId-") and put["SequenceNumber"].isdigit()
    recs = json.dumps([{"Data": f"r{i}", "PartitionKey": f"p{i}"} for i in range(10)])
    assert aws(served, "put-records", "--stream-name", "cli", "--records",
               recs)["FailedRecordCount"] == 0
    shards = aws(served, "list-shards", "--stream-name", "cli")["Shards"]
    total = 0
    for shard in shards:
        it = aws(served, "get-shard-iterator", "--stream-name", "cli", "--shard-id",
                 shard["ShardId"], "--shard-iterator-type", "TRIM_HORIZON")["ShardIterator"]
        total += len(aws(served, "get-records", "--shard-iterator", it)["Records"])
    assert total == 11
    summary = aws(served, "describe-stream-summary", "--stream-name", "cli")
    assert summary["StreamDescriptionSummary"]["OpenShardCount"] == 2
    assert "cli" in aws(served, "list-streams")["StreamNames"]
    aws(served, "split-shard", "--stream-name", "cli", "--shard-to-split",
        "shardId-000000000000", "--new-starting-hash-key", str(2**126))
    aws(served, "merge-shards", "--stream-name", "cli", "--shard-to-merge",
        "shardId-000000000002", "--adjacent-shard-to-merge", "shardId-000000000003")
    out = aws(served, "update-shard-count", "--stream-name", "cli", "--target-shard-count", "3",
              "--scaling-type", "UNIFORM_SCALING")
    assert out["TargetShardCount"] == 3
    aws(served, "increase-stream-retention-period", "--stream-name", "cli",
        "--retention-period-hours", "72")
    aws(served, "decrease-stream-retention-period", "--stream-name", "cli",
        "--retention-period-hours", "48")
    aws(served, "add-tags-to-stream", "--stream-name", "cli", "--tags", "team=data")
    assert aws(served, "list-tags-for-stream", "--stream-name", "cli")["Tags"] == [
        {"Key": "team", "Value": "data"}]
    desc = aws(served, "describe-stream", "--stream-name", "cli")["StreamDescription"]
    assert desc["RetentionPeriodHours"] == 48 and len(desc["Shards"]) >= 7
    aws(served, "delete-stream", "--stream-name", "cli")
    aws(served, "wait", "stream-not-exists", "--stream-name", "cli")


def test_aws_cli_errors(served):
    proc = aws(served, "describe-stream", "--stream-name", "nope", check=False)
    assert proc.returncode != 0 and "ResourceNotFoundException" in proc.stderr
    proc = aws(served, "list-streams", check=False, secret="not-the-secret")
    assert proc.returncode != 0 and "InvalidSignatureException" in proc.stderr
    aws(served, "create-stream", "--stream-name", "errs", "--shard-count", "1")
    proc = aws(served, "split-shard", "--stream-name", "errs", "--shard-to-split",
               "shardId-000000000000", "--new-starting-hash-key", "1", check=False)
    assert proc.returncode != 0 and "InvalidArgumentException" in proc.stderr
