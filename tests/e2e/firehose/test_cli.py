"""``rayemr firehose``: aws-firehose-like commands (in-process backend, a local lake) and the
bundled click-stream demo."""
from __future__ import annotations

import json

from rayemr.cli import main


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_commands_and_one_line_errors(tmp_path, capsys):
    (tmp_path / "lake" / "b").mkdir(parents=True)
    base = ["firehose", "--backend", "local", "--location", str(tmp_path / "fh"),
            "--bucket-root", str(tmp_path / "lake"), "--metastore", str(tmp_path / "ms.db")]
    dest = json.dumps({"RoleARN": "arn:aws:iam::123456789012:role/r",
                       "BucketARN": "arn:aws:s3:::b", "Prefix": "in/",
                       "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 900}})
    code, out, _ = _run(capsys, *base, "create-delivery-stream", "--delivery-stream-name", "s",
                        "--extended-s3-destination-configuration", dest)
    assert code == 0 and json.loads(out)["DeliveryStreamARN"].endswith(":deliverystream/s")
    records = tmp_path / "records.txt"
    records.write_text("one\ntwo\n")
    code, out, _ = _run(capsys, *base, "put-record-batch", "--delivery-stream-name", "s",
                        "--records-file", str(records))
    assert code == 0 and json.loads(out)["FailedPutCount"] == 0
    # the command's process ends: its buffers are delivered before it exits
    delivered = [p.read_text() for p in (tmp_path / "lake" / "b" / "in").rglob("s-1-*")]
    assert delivered == ["one\ntwo\n"]
    code, out, _ = _run(capsys, *base, "list-delivery-streams")
    assert json.loads(out)["DeliveryStreamNames"] == ["s"]
    code, out, err = _run(capsys, *base, "describe-delivery-stream",
                          "--delivery-stream-name", "nope")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "ResourceNotFoundException" in err
    code, _, err = _run(capsys, *base, "create-delivery-stream", "--delivery-stream-name", "x",
                        "--extended-s3-destination-configuration", "{bad")
    assert code == 1 and "not JSON" in err and "Traceback" not in err


def test_click_stream_demo(tmp_path, capsys):
    code, out, _ = _run(capsys, "firehose", "--backend", "local", "demo", "--records", "600",
                        "--workdir", str(tmp_path))
    assert code == 0, out
    lines = [l.split() for l in out.splitlines() if l.startswith("  ")]
    assert sum(int(l[1]) for l in lines) == 600
    assert {l[0] for l in lines} <= {"click", "view", "purchase", "scroll"}
