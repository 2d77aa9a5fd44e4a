"""``rayemr fs`` end to end: local files and the loopback S3 endpoint; bad input is one line."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import boto3
import pytest

from rayemr.cli import main
from rayemr.core.waiting import wait_for

SECRET = "Zm9vYmFyU2VjcmV0S2V5VGhhdE11c3ROb3RMZWFr"


def run(capsys, *argv):
    code = main(["fs", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_local_round_trip(tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("one\ntwo\n")
    dst_dir = tmp_path / "d"
    assert run(capsys, "mkdir", str(dst_dir))[0] == 0
    assert run(capsys, "put", str(src), str(dst_dir))[0] == 0
    code, out, _ = run(capsys, "ls", str(dst_dir))
    assert code == 0 and "Found 1 items" in out and str(dst_dir / "in.txt") in out
    code, out, _ = run(capsys, "cat", f"{dst_dir}/*.txt")
    assert out == "one\ntwo\n"
    assert run(capsys, "get", str(dst_dir / "in.txt"), str(tmp_path / "back.txt"))[0] == 0
    assert (tmp_path / "back.txt").read_text() == "one\ntwo\n"
    code, out, _ = run(capsys, "du", "-s", str(dst_dir))
    assert out.split()[0] == "8"
    code, _, err = run(capsys, "put", str(src), str(dst_dir / "in.txt"))
    assert code != 0 and "File exists" in err
    code, _, err = run(capsys, "rm", str(dst_dir))
    assert code != 0 and "Is a directory" in err and len(err.strip().splitlines()) == 1
    assert run(capsys, "rm", "-r", str(dst_dir))[0] == 0
    assert not dst_dir.exists()


def test_s3_commands(s3_server, s3_bucket, tmp_path, capsys):
    client = boto3.client("s3", endpoint_url=s3_server)
    (tmp_path / "a.txt").write_bytes(b"alpha\n")
    (tmp_path / "b.txt").write_bytes(b"beta\n")
    base = f"s3://{s3_bucket}/data"
    assert run(capsys, "put", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), base + "/")[0] == 0
    code, out, _ = run(capsys, "ls", "-R", f"s3a://{s3_bucket}/")
    assert f"s3a://{s3_bucket}/data/a.txt" in out and f"s3a://{s3_bucket}/data/b.txt" in out
    code, out, _ = run(capsys, "cat", f"s3n://{s3_bucket}/data/*.txt")
    assert out == "alpha\nbeta\n"
    # cp S3 -> S3 is a server-side copy: the bytes never pass through this process
    assert run(capsys, "cp", f"{base}/*.txt", f"s3://{s3_bucket}/copy/")[0] == 0
    got = client.get_object(Bucket=s3_bucket, Key="copy/b.txt")["Body"].read()
    assert got == b"beta\n"
    code, out, _ = run(capsys, "du", "-s", f"s3://{s3_bucket}/copy")
    assert out.split()[0] == "11"
    assert run(capsys, "get", f"{base}/a.txt", str(tmp_path / "got.txt"))[0] == 0
    assert (tmp_path / "got.txt").read_bytes() == b"alpha\n"
    assert run(capsys, "rm", "-r", f"s3://{s3_bucket}/copy")[0] == 0
    assert "Contents" not in client.list_objects_v2(Bucket=s3_bucket, Prefix="copy/")


@pytest.mark.parametrize("argv,expect", [
    (["ls", "s3://no-such-bucket/"], "s3://no-such-bucket/: bucket 'no-such-bucket' does not exist"),
    (["ls", "gopher://x/y"], "gopher://x/y: unknown URL scheme 'gopher'"),
    (["cat", "s3://{bucket}/missing.txt"], "s3://{bucket}/missing.txt: No such file"),
    (["ls", "{tmp}/missing"], "{tmp}/missing: No such file"),
    (["ls", "hdfs://nn/x"], "hdfs://nn/x: hdfs:// is not supported"),
])
def test_bad_input_is_one_line(s3_bucket, tmp_path, capsys, argv, expect):
    argv = [a.format(bucket=s3_bucket, tmp=tmp_path) for a in argv]
    code, out, err = run(capsys, *argv)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert expect.format(bucket=s3_bucket, tmp=tmp_path) in lines[0]
    assert "Traceback" not in err


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def auth_s3():
    """A second moto server that checks credentials (IAM auth on from the first request)."""
    port = _free_port()
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="0")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)

    def listening() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            return False

    wait_for(listening, 30, interval=0.2, what=f"moto listening on port {port}")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


def test_bad_credentials_one_line_no_secret(auth_s3):
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIAFAKEFAKEFAKE1234",
               AWS_SECRET_ACCESS_KEY=SECRET, AWS_ENDPOINT_URL=auth_s3)
    proc = subprocess.run([sys.executable, "-m", "rayemr.cli", "-v", "fs", "ls",
                           "s3://some-bucket/"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0
    assert SECRET not in proc.stdout + proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("rayemr fs: s3://some-bucket/: ")
    assert "access key id is not valid" in last or "access denied" in last, last
    assert "Traceback" not in proc.stderr


def test_no_credentials(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_EC2_METADATA_DISABLED="true", AWS_DEFAULT_REGION="us-east-1",
               AWS_ENDPOINT_URL="http://127.0.0.1:9")
    proc = subprocess.run([sys.executable, "-m", "rayemr.cli", "fs", "ls", "s3://b/k"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert proc.stderr.strip() == ("rayemr fs: s3://b/k: no usable AWS credentials found "
                                   "(check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, "
                                   "~/.aws/credentials or the instance role)")


def test_mkdir_and_endpoint_property_on_s3(s3_server, s3_bucket, tmp_path, capsys, monkeypatch):
    from rayemr.fs import clear_cache, list_inputs

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # wrong; -D fixes it
    clear_cache()
    try:
        ep = f"fs.s3.endpoint={s3_server}"
        assert run(capsys, "-D", ep, "mkdir", f"s3://{s3_bucket}/dir")[0] == 0
        (tmp_path / "x.txt").write_text("x\n")
        assert run(capsys, "-D", ep, "put", str(tmp_path / "x.txt"), f"s3://{s3_bucket}/dir/")[0] == 0
        code, out, _ = run(capsys, "-D", ep, "ls", f"s3://{s3_bucket}/dir")
        assert code == 0 and f"s3://{s3_bucket}/dir/x.txt" in out
        code, _, err = run(capsys, "-D", "fs.s3.maxRetries=0", "ls",
                           f"s3://{s3_bucket}/dir")  # the wrong endpoint
        assert code != 0 and "cannot connect" in err and len(err.strip().splitlines()) == 1
    finally:
        monkeypatch.undo()
        clear_cache()
    assert [s.url for s in list_inputs(f"s3://{s3_bucket}/dir")] == [f"s3://{s3_bucket}/dir/x.txt"]


def test_verbose_prints_request_and_retry_counters(s3_bucket, capsys):
    import logging

    handlers, level = logging.root.handlers[:], logging.root.level
    try:
        code = main(["-v", "fs", "ls", f"s3://{s3_bucket}/"])
    finally:  # -v may install a handler on this test's captured stderr; take it away again
        logging.root.handlers[:] = handlers
        logging.root.setLevel(level)
    _, err = capsys.readouterr()
    assert code == 0
    assert "S3: " in err and " requests, " in err and " retries" in err
