"""Splits and the committer crossing Ray: tasks in worker processes read and write S3."""
from __future__ import annotations

import boto3
import pytest
import ray

from rayemr.fs import OutputCommitter, compute_splits, read_text_batches


@ray.remote
def _map_task(split, committer, task_id, fail):
    words = 0
    for batch in read_text_batches(split):
        words += sum(len(line.split()) for line in batch.column("line").to_pylist())
    if fail:
        raise RuntimeError(f"task {task_id} failed")
    with committer.open_task_output(task_id, 0, f"part-m-{task_id:05d}") as f:
        f.write(f"{split.start}\t{words}\n".encode())
    return committer.commit_task(task_id, 0)


def _keys(client, bucket, prefix):
    resp = client.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in resp.get("Contents", []))


@pytest.mark.parametrize("fail_task", [None, 3])
def test_job_on_ray_commits_all_or_nothing(ray_local, s3_server, s3_bucket, fail_task):
    client = boto3.client("s3", endpoint_url=s3_server)
    text = "".join(f"w{i} x y\n" for i in range(4000))
    client.put_object(Bucket=s3_bucket, Key="in/words.txt", Body=text.encode())
    splits = compute_splits(f"s3://{s3_bucket}/in", split_size=len(text) // 4 + 1)
    assert len(splits) == 4
    committer = OutputCommitter(f"s3://{s3_bucket}/out")
    committer.setup_job()
    refs = [_map_task.remote(s, committer, i, i == fail_task) for i, s in enumerate(splits)]
    commits, failed = [], False
    for ref in refs:
        try:
            commits.append(ray.get(ref))
        except ray.exceptions.RayTaskError:
            failed = True
    if failed:
        assert len(commits) == 3  # three tasks had committed before the job failed
        committer.abort_job()
        assert _keys(client, s3_bucket, "out/") == []
        assert client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []
    else:
        committer.commit_job(commits)
        keys = _keys(client, s3_bucket, "out/")
        assert keys == ["out/_SUCCESS"] + [f"out/part-m-{i:05d}" for i in range(4)]
        total = sum(int(client.get_object(Bucket=s3_bucket, Key=k)["Body"].read().split()[1])
                    for k in keys[1:])
        assert total == 4000 * 3
