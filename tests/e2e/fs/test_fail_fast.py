"""EMRFS from the command line against a dead endpoint, and the mistakes a new user makes.

Dead-endpoint runs are subprocesses bounded by the test's own timeout: they must end with a
clear one-line error (never a hang); no timing is asserted.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import boto3
import pytest

from rayemr.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def dead_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rayemr(*argv: str, endpoint: str, timeout: float = 90) -> subprocess.CompletedProcess:
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "rayemr.cli", *argv], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_fs_ls_with_a_dead_endpoint_ends_with_one_line_and_shows_retries():
    port = dead_port()
    proc = rayemr("-v", "fs", "ls", "s3://some-bucket/data/", endpoint=f"http://127.0.0.1:{port}")
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("rayemr fs: s3://some-bucket/data/: cannot connect to the S3 "
                           f"endpoint http://127.0.0.1:{port} (connection refused)"), last
    assert "attempt 1 failed (EndpointConnectionError); retrying" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_host_is_named():
    proc = rayemr("fs", "cat", "s3://b/k", endpoint="http://no-such-host.invalid:9000")
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [
        "rayemr fs: s3://b/k: cannot connect to the S3 endpoint http://no-such-host.invalid:9000"
        " (unknown host) (check the endpoint (AWS_ENDPOINT_URL, fs.s3.endpoint) and the "
        "network)"]


def test_mapreduce_inline_with_a_dead_endpoint_fails_with_one_line(tmp_path):
    port = dead_port()
    proc = rayemr("mr", "jobs/wordcount.py", "-r", "inline", "s3://in-bucket/text/",
                  "-o", str(tmp_path / "out"), endpoint=f"http://127.0.0.1:{port}")
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1].startswith(
        f"rayemr mr: s3://in-bucket/text/: cannot connect to the S3 endpoint "
        f"http://127.0.0.1:{port} (connection refused)")
    assert not (tmp_path / "out").exists()


def run(capsys, *argv):
    code = main(["fs", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _buckets(endpoint: str) -> set[str]:
    client = boto3.client("s3", endpoint_url=endpoint)
    return {b["Name"] for b in client.list_buckets()["Buckets"]}


@pytest.mark.parametrize("what", ["file", "dir"])
def test_put_never_creates_a_bucket(s3_server, tmp_path, capsys, what):
    src = tmp_path / "data"
    if what == "dir":
        src.mkdir()
        (src / "a.txt").write_text("a\n")
    else:
        src.write_text("a\n")
    code, _, err = run(capsys, "put", str(src), "s3://typo-bucket-put/x")
    assert code != 0
    assert err.strip() == "rayemr fs: s3://typo-bucket-put/x: bucket 'typo-bucket-put' " \
                          "does not exist"
    assert "typo-bucket-put" not in _buckets(s3_server)


def test_mkdir_never_creates_a_bucket(s3_server, capsys):
    code, _, err = run(capsys, "mkdir", "-p", "s3://typo-bucket-mk/a/b")
    assert code != 0 and "bucket 'typo-bucket-mk' does not exist" in err
    assert "typo-bucket-mk" not in _buckets(s3_server)


def test_cp_blames_the_destination_bucket(s3_bucket, s3_server, capsys):
    boto3.client("s3", endpoint_url=s3_server).put_object(Bucket=s3_bucket, Key="k.txt",
                                                          Body=b"x")
    code, _, err = run(capsys, "cp", f"s3://{s3_bucket}/k.txt", "s3://typo-bucket-cp/k.txt")
    assert code != 0
    assert err.strip() == "rayemr fs: s3://typo-bucket-cp/k.txt: bucket 'typo-bucket-cp' " \
                          "does not exist"
    assert "typo-bucket-cp" not in _buckets(s3_server)


def test_a_misspelled_bucket_below_the_root_names_the_bucket(s3_server, capsys):
    for argv in (["ls", "s3://typo-bucket-ls/some/dir"], ["cat", "s3://typo-bucket-ls/x/*.txt"]):
        code, _, err = run(capsys, *argv)
        assert code != 0
        assert err.strip() == f"rayemr fs: {argv[1]}: bucket 'typo-bucket-ls' does not exist"


def test_emrfs_itself_never_creates_a_bucket(s3_server):
    from rayemr.fs import resolve
    from rayemr.fs.s3 import BucketNotFoundError

    fs, path = resolve("s3://typo-bucket-api/a/b")
    with pytest.raises(BucketNotFoundError):
        fs.makedirs(path, exist_ok=True)
    with pytest.raises(BucketNotFoundError):
        fs.mkdir("typo-bucket-api")
    assert "typo-bucket-api" not in _buckets(s3_server)
