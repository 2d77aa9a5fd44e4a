"""`rayemr kinesis`: aws kinesis's commands and JSON, in this process and on the cluster."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

from rayemr.cli import main


def run(capsys, location, *args):
    code = main(["kinesis", "--backend", "local", "--location", location, *args])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if out.out.strip() else {}), out.err


def test_commands_mirror_aws_kinesis(capsys, tmp_path):
    loc = str(tmp_path / "k")
    assert run(capsys, loc, "create-stream", "--stream-name", "web", "--shard-count", "2",
               "--tags", "team=data")[0] == 0
    code, put, _ = run(capsys, loc, "put-record", "--stream-name", "web", "--partition-key",
                       "u1", "--data", "hello")
    assert code == 0 and put["ShardId"].startswith("shardId-")
    (tmp_path / "recs.json").write_text(json.dumps(
        [{"Data": f"r{i}", "PartitionKey": f"u{i}"} for i in range(5)]))
    code, out, _ = run(capsys, loc, "put-records", "--stream-name", "web", "--records",
                       f"file://{tmp_path / 'recs.json'}")
    assert out["FailedRecordCount"] == 0
    code, it, _ = run(capsys, loc, "get-shard-iterator", "--stream-name", "web", "--shard-id",
                      put["ShardId"], "--shard-iterator-type", "AT_SEQUENCE_NUMBER",
                      "--starting-sequence-number", put["SequenceNumber"])
    code, recs, _ = run(capsys, loc, "get-records", "--shard-iterator", it["ShardIterator"])
    assert base64.b64decode(recs["Records"][0]["Data"]) == b"hello"
    assert run(capsys, loc, "update-shard-count", "--stream-name", "web",
               "--target-shard-count", "3", "--scaling-type", "UNIFORM_SCALING")[1][
        "TargetShardCount"] == 3
    tags = run(capsys, loc, "list-tags-for-stream", "--stream-name", "web")[1]["Tags"]
    assert tags == [{"Key": "team", "Value": "data"}]
    code, _, err = run(capsys, loc, "describe-stream", "--stream-name", "nope")
    assert code == 1 and err.strip() == ("rayemr kinesis: ResourceNotFoundException: Stream "
                                         "nope under account 000000000000 not found.")
    code, _, err = run(capsys, loc, "put-records", "--stream-name", "web", "--records", "[{")
    assert code == 1 and "--records: not valid JSON" in err and "Traceback" not in err
    code, _, err = run(capsys, loc, "create-stream", "--stream-name", "bad name")
    assert code == 1 and "ValidationException" in err and err.count("\n") == 1


def test_commands_attach_to_the_cluster(ray_local, tmp_path):
    import ray

    from rayemr.kinesis import actors

    env = {**os.environ, "RAY_ADDRESS": ray.get_runtime_context().gcs_address}
    loc = str(tmp_path / "k")

    def cli(*args):
        proc = subprocess.run([sys.executable, "-m", "rayemr.cli", "kinesis", *args],
                              capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout) if proc.stdout.strip() else {}

    try:
        cli("--location", loc, "create-stream", "--stream-name", "shared", "--shard-count", "1")
        cli("put-record", "--stream-name", "shared", "--partition-key", "k", "--data", "x")
        # the stream lives in the cluster: this process sees it too
        import rayemr.kinesis as kinesis
        c = kinesis.client("ray")
        assert c.describe_stream_summary(StreamName="shared")[
            "StreamDescriptionSummary"]["OpenShardCount"] == 1
        assert "shared" in cli("list-streams")["StreamNames"]
        proc = subprocess.run([sys.executable, "-m", "rayemr.cli", "kinesis", "stop"],
                              capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0 and "stopped" in proc.stderr
    finally:
        actors.shutdown()
