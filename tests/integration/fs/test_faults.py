"""S3 under fire: 20% of requests answered 503 SlowDown; data must still come through intact."""
from __future__ import annotations

import hashlib
import logging
import os

import boto3

from rayemr.fs import (
    EmrfsConfig,
    OutputCommitter,
    compute_splits,
    read_text_batches,
    reset_s3_stats,
    resolve,
    s3_stats,
)


def test_copy_200_objects_and_64mib_round_trip_through_slowdowns(s3_server, s3_bucket,
                                                                   fault_proxy, caplog):
    caplog.set_level(logging.INFO, logger="rayemr.fs.s3")
    direct = boto3.client("s3", endpoint_url=s3_server)
    payloads = {f"src/obj-{i:03d}": os.urandom(64 + i) for i in range(200)}
    for key, data in payloads.items():  # set up directly, not through the proxy
        direct.put_object(Bucket=s3_bucket, Key=key, Body=data)

    config = EmrfsConfig(endpoint_url=fault_proxy.url, multipart_part_size=8 * 2**20)
    reset_s3_stats()
    fs, _ = resolve(f"s3://{s3_bucket}/", config)

    # 200 server-side copies
    fs.copy(f"{s3_bucket}/src", f"{s3_bucket}/dst", recursive=True)
    for key, data in payloads.items():
        copied = direct.get_object(Bucket=s3_bucket, Key=key.replace("src/", "dst/"))
        assert copied["Body"].read() == data, key

    # a 64 MiB object written (multipart) and read back
    big = os.urandom(2**20) * 64
    with fs.open(f"{s3_bucket}/big/blob", "wb") as f:
        for i in range(0, len(big), 4 * 2**20):
            f.write(big[i:i + 4 * 2**20])
    assert hashlib.sha256(fs.cat_file(f"{s3_bucket}/big/blob")).digest() == \
        hashlib.sha256(big).digest()

    stats = s3_stats()
    print(f"proxy: {fault_proxy.requests} requests, {fault_proxy.injected} answered 503; "
          f"EMRFS counters: {stats}")
    assert fault_proxy.injected > 20  # the proxy really did fail requests
    # every injected 503 was retried by EMRFS and counted; every HTTP attempt went out
    assert stats["retries"] == fault_proxy.injected, (stats, fault_proxy.injected)
    assert stats["attempts"] == fault_proxy.requests
    assert stats["errors"] == 0
    # each retry is logged as it happens (with its cause), not only once a request succeeds
    retrying = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert len(retrying) == fault_proxy.injected
    assert "failed (503 SlowDown)" in retrying[0]
    assert any("succeeded after" in r.getMessage() for r in caplog.records)


def test_text_splits_and_commit_through_slowdowns(s3_server, s3_bucket, fault_proxy):
    direct = boto3.client("s3", endpoint_url=s3_server)
    lines = [f"line {i}" for i in range(50000)]
    direct.put_object(Bucket=s3_bucket, Key="in/data.txt", Body="\n".join(lines).encode())
    config = EmrfsConfig(endpoint_url=fault_proxy.url, read_block_size=16 * 1024,
                         multipart_part_size=5 * 2**20)
    reset_s3_stats()
    before = fault_proxy.requests, fault_proxy.injected
    got = []
    for split in compute_splits(f"s3://{s3_bucket}/in", split_size=200_000, config=config):
        for batch in read_text_batches(split, config=config):
            got.extend(batch.column("line").to_pylist())
    assert got == lines
    # Listing (s3fs) and the ranged reads (pyarrow's native client): every request that
    # reached the proxy is an attempt EMRFS counted, and every injected 503 a counted retry.
    requests, injected = (fault_proxy.requests - before[0], fault_proxy.injected - before[1])
    stats = s3_stats()
    print(f"reads: proxy {requests} requests, {injected} answered 503; EMRFS {stats}")
    assert injected > 0
    assert stats["retries"] == injected and stats["attempts"] == requests, (stats, injected)
    assert stats["errors"] == 0

    committer = OutputCommitter(f"s3://{s3_bucket}/out", config=config)
    committer.setup_job()
    commits = []
    for t in range(4):
        with committer.open_task_output(t, 0, f"part-{t}") as f:
            f.write(f"task {t}\n".encode() * 1000)
        commits.append(committer.commit_task(t, 0))
    committer.commit_job(commits)
    keys = sorted(o["Key"] for o in direct.list_objects_v2(Bucket=s3_bucket,
                                                           Prefix="out/")["Contents"])
    assert keys == ["out/_SUCCESS"] + [f"out/part-{t}" for t in range(4)]
    assert s3_stats()["retries"] > 0
