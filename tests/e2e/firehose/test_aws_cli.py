"""The aws CLI (awscli, as a subprocess) against ``rayemr aws serve --services kinesis,firehose``
(also a subprocess), objects in moto's S3 on loopback."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid

import boto3
import pytest

from rayemr.core.waiting import wait_for
from tests.e2e.firehose.conftest import ACCESS_KEY, SECRET_KEY, WAIT_S, destination


@pytest.fixture(scope="module")
def served(s3_server, tmp_path_factory):
    """`rayemr aws serve` in its own process (streams in that process), on a free port."""
    tmp = tmp_path_factory.mktemp("firehose-awscli")
    bucket = f"cli-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket=bucket)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp / "config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "credentials"), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rayemr.cli", "aws", "serve", "--port", "0", "--backend", "local",
         "--services", "kinesis,firehose",
         "--conf", f"rayemr.kinesis.location={tmp / 'kinesis'}",
         "--conf", f"rayemr.firehose.location={tmp / 'firehose'}",
         "--conf", f"rayemr.firehose.metastore={tmp / 'ms.db'}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    match = re.search(r"at (http://127\.0\.0\.1:\d+)", line)
    if not match:
        proc.kill()
        pytest.fail(f"endpoint did not start: {line!r} {proc.stderr.read()}")
    assert "firehose" in line and SECRET_KEY not in line
    cli_env = {k: v for k, v in env.items() if k != "AWS_ENDPOINT_URL"}
    yield match.group(1), cli_env, bucket, tmp
    proc.terminate()
    proc.wait(timeout=60)


def aws(served, *args, check=True, secret=None):
    url, env, _, _ = served
    if secret:
        env = {**env, "AWS_SECRET_ACCESS_KEY": secret}
    proc = subprocess.run([sys.executable, "-m", "awscli", "firehose", *args, "--endpoint-url",
                           url, "--output", "json"], capture_output=True, text=True, env=env,
                          timeout=180)
    if check:
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout) if proc.stdout.strip() else {}
    return proc


def objects(bucket: str, prefix: str) -> dict[str, bytes]:
    s3 = boto3.client("s3")
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
            for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])}


def test_aws_cli_drives_every_call(served):
    _, _, bucket, tmp = served
    dest = tmp / "dest.json"
    dest.write_text(json.dumps(destination(bucket, Prefix="cli/", ErrorOutputPrefix="cli-err/",
                                           BufferingHints={"SizeInMBs": 1,
                                                           "IntervalInSeconds": 1})))
    arn = aws(served, "create-delivery-stream", "--delivery-stream-name", "cli",
              "--extended-s3-destination-configuration", f"file://{dest}")["DeliveryStreamARN"]
    assert arn.endswith(":deliverystream/cli")
    desc = aws(served, "describe-delivery-stream", "--delivery-stream-name",
               "cli")["DeliveryStreamDescription"]
    assert desc["DeliveryStreamStatus"] == "ACTIVE" and desc["VersionId"] == "1"
    assert "cli" in aws(served, "list-delivery-streams")["DeliveryStreamNames"]
    one = aws(served, "put-record", "--delivery-stream-name", "cli",
              "--record", json.dumps({"Data": "hello\n"}))
    assert one["RecordId"]
    records = tmp / "records.json"
    records.write_text(json.dumps([{"Data": f"line {i}\n"} for i in range(50)]))
    batch = aws(served, "put-record-batch", "--delivery-stream-name", "cli",
                "--records", f"file://{records}")
    assert batch["FailedPutCount"] == 0 and len(batch["RequestResponses"]) == 50
    got = wait_for(lambda: (o := objects(bucket, "cli/")) and sum(
        b.count(b"\n") for b in o.values()) == 51 and o, WAIT_S)
    lines = b"".join(got[k] for k in sorted(got)).decode().splitlines()
    assert sorted(lines) == sorted(["hello"] + [f"line {i}" for i in range(50)])
    update = tmp / "update.json"
    update.write_text(json.dumps({"Prefix": "cli-v2/"}))
    aws(served, "update-destination", "--delivery-stream-name", "cli",
        "--current-delivery-stream-version-id", "1",
        "--destination-id", desc["Destinations"][0]["DestinationId"],
        "--extended-s3-destination-update", f"file://{update}")
    assert aws(served, "describe-delivery-stream", "--delivery-stream-name", "cli")[
        "DeliveryStreamDescription"]["VersionId"] == "2"
    aws(served, "put-record", "--delivery-stream-name", "cli",
        "--record", json.dumps({"Data": "v2\n"}))
    assert list(wait_for(lambda: objects(bucket, "cli-v2/"), WAIT_S).values()) == [b"v2\n"]
    aws(served, "delete-delivery-stream", "--delivery-stream-name", "cli")
    assert "cli" not in aws(served, "list-delivery-streams")["DeliveryStreamNames"]


def test_aws_cli_errors(served):
    _, _, bucket, tmp = served
    proc = aws(served, "describe-delivery-stream", "--delivery-stream-name", "nope", check=False)
    assert proc.returncode != 0 and "ResourceNotFoundException" in proc.stderr
    proc = aws(served, "put-record", "--delivery-stream-name", "nope",
               "--record", json.dumps({"Data": "x"}), check=False)
    assert proc.returncode != 0 and "ResourceNotFoundException" in proc.stderr
    proc = aws(served, "list-delivery-streams", check=False, secret="not-the-secret")
    assert proc.returncode != 0 and "InvalidSignatureException" in proc.stderr
    dest = tmp / "errs.json"
    dest.write_text(json.dumps(destination(bucket, Prefix="errs/",
                                           BufferingHints={"SizeInMBs": 1,
                                                           "IntervalInSeconds": 1})))
    aws(served, "create-delivery-stream", "--delivery-stream-name", "errs",
        "--extended-s3-destination-configuration", f"file://{dest}")
    proc = aws(served, "create-delivery-stream", "--delivery-stream-name", "errs",
               "--extended-s3-destination-configuration", f"file://{dest}", check=False)
    assert proc.returncode != 0 and "ResourceInUseException" in proc.stderr
    big = tmp / "big.json"
    big.write_text(json.dumps({"Data": "z" * (1000 * 1024 + 1)}))
    proc = aws(served, "put-record", "--delivery-stream-name", "errs",
               "--record", f"file://{big}", check=False)
    assert proc.returncode != 0 and "ValidationException" in proc.stderr
    aws(served, "put-record", "--delivery-stream-name", "errs",
        "--record", json.dumps({"Data": "after\n"}))
    assert list(wait_for(lambda: objects(bucket, "errs/"), WAIT_S).values()) == [b"after\n"]
