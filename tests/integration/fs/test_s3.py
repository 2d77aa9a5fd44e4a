"""EMRFS against a real S3 endpoint on loopback (moto's server over HTTP, no patching)."""
from __future__ import annotations

import boto3
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from rayemr.core.errors import InputNotFoundError, OutputExistsError
from rayemr.fs import (
    EmrfsConfig,
    OutputCommitter,
    arrow_filesystem,
    compute_splits,
    list_inputs,
    read_parquet_split,
    read_text_batches,
    resolve,
    s3_stats,
)


@pytest.fixture
def client(s3_server):
    return boto3.client("s3", endpoint_url=s3_server)


def keys(client, bucket, prefix=""):
    resp = client.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in resp.get("Contents", []))


def pending_uploads(client, bucket):
    return client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])


def test_s3_s3a_s3n_are_the_same_object(client, s3_bucket):
    fs, path = resolve(f"s3n://{s3_bucket}/dir/a.txt")
    fs.pipe_file(path, b"hello\n")
    for scheme in ("s3", "s3a", "s3n"):
        fs2, p2 = resolve(f"{scheme}://{s3_bucket}/dir/a.txt")
        assert fs2.cat_file(p2) == b"hello\n"
    assert client.get_object(Bucket=s3_bucket, Key="dir/a.txt")["Body"].read() == b"hello\n"
    before = s3_stats()["requests"]
    fs.cat_file(path)
    assert s3_stats()["requests"] > before


def test_listing_splits_and_lines(client, s3_bucket):
    lines = [f"{i}\t{'w' * (i % 50)}" for i in range(20000)]
    body = ("\r\n".join(lines)).encode()
    client.put_object(Bucket=s3_bucket, Key="in/part-0", Body=body)
    client.put_object(Bucket=s3_bucket, Key="in/part-1", Body=b"x\ny\n")
    client.put_object(Bucket=s3_bucket, Key="in/_SUCCESS", Body=b"")
    client.put_object(Bucket=s3_bucket, Key="in/.hidden", Body=b"no")
    url = f"s3a://{s3_bucket}/in"
    assert [s.url for s in list_inputs(url)] == [f"{url}/part-0", f"{url}/part-1"]
    assert [s.url for s in list_inputs(f"{url}/part-*")] == [f"{url}/part-0", f"{url}/part-1"]
    splits = compute_splits(url, split_size=64 * 1024, config=EmrfsConfig(read_block_size=20000))
    assert len(splits) > 5
    got = []
    for split in splits:
        for batch in read_text_batches(split, config=EmrfsConfig(read_block_size=20000)):
            got.extend(batch.column("line").to_pylist())
    assert got == lines + ["x", "y"]


def test_missing_bucket_and_key(s3_bucket):
    with pytest.raises(InputNotFoundError, match="no-such-bucket-x"):
        list_inputs("s3://no-such-bucket-x/in")
    with pytest.raises(InputNotFoundError, match=f"s3://{s3_bucket}/nope"):
        list_inputs(f"s3://{s3_bucket}/nope")


def test_parquet_row_group_splits_native_reads(s3_bucket):
    table = pa.table({"k": list(range(10000)), "v": [i * 0.5 for i in range(10000)]})
    fs, path = arrow_filesystem(f"s3://{s3_bucket}/t/data.parquet")
    with fs.open_output_stream(path) as f:
        pq.write_table(table, f, row_group_size=1000)
    splits = compute_splits(f"s3n://{s3_bucket}/t", split_size=1)
    assert [s.row_groups for s in splits] == [(i,) for i in range(10)]
    got = pa.concat_tables(read_parquet_split(s, columns=["k"]) for s in splits)
    assert got.column("k").to_pylist() == list(range(10000))
    few = pa.concat_tables(read_parquet_split(s, filter=pc.field("k") < 1500) for s in splits)
    assert few.num_rows == 1500


def test_sse_applied_to_every_write(client, s3_bucket):
    cfg = EmrfsConfig.from_properties({"fs.s3.enableServerSideEncryption": "true",
                                       "fs.s3a.multipart.size": "5M"})
    fs, path = resolve(f"s3://{s3_bucket}/enc/small", cfg)
    fs.pipe_file(path, b"x" * 100)
    with fs.open(f"{s3_bucket}/enc/big", "wb") as f:  # multipart through s3fs
        f.write(b"y" * (11 * 2**20))
    fs.copy(path, f"{s3_bucket}/enc/copied")
    c = OutputCommitter(f"s3://{s3_bucket}/enc/out", config=cfg)
    c.setup_job()
    with c.open_task_output(0, 0, "part-00000") as f:
        f.write(b"z" * (6 * 2**20))
    c.commit_job([c.commit_task(0, 0)])
    for key in ("enc/small", "enc/big", "enc/copied", "enc/out/part-00000", "enc/out/_SUCCESS"):
        head = client.head_object(Bucket=s3_bucket, Key=key)
        assert head.get("ServerSideEncryption") == "AES256", key


def test_sse_kms_key_id(client, s3_bucket):
    kms = boto3.client("kms", endpoint_url=client.meta.endpoint_url)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    cfg = EmrfsConfig.from_properties({"fs.s3.serverSideEncryption.kms.keyId": key_id})
    fs, path = resolve(f"s3://{s3_bucket}/kms/a", cfg)
    fs.pipe_file(path, b"secret data")
    head = client.head_object(Bucket=s3_bucket, Key="kms/a")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert key_id in head["SSEKMSKeyId"]


def test_committer_s3_success(client, s3_bucket):
    url = f"s3://{s3_bucket}/job/out"
    cfg = EmrfsConfig(multipart_part_size=5 * 2**20)
    c = OutputCommitter(url, config=cfg)
    c.setup_job()
    commits = []
    for t in range(3):
        with c.open_task_output(t, 0, f"part-r-{t:05d}") as f:
            f.write(bytes([65 + t]) * (5 * 2**20 + 17 * t))  # some with 2 parts
        commits.append(c.commit_task(t, 0))
    with c.open_task_output(3, 0, "part-r-00003"):
        pass  # an empty part is still a part
    commits.append(c.commit_task(3, 0))
    # Before the job commit nothing is visible outside _temporary/, uploads are pending.
    assert [k for k in keys(client, s3_bucket, "job/out/") if "_temporary" not in k] == []
    assert len(pending_uploads(client, s3_bucket)) == 3
    published = c.commit_job(commits)
    assert keys(client, s3_bucket, "job/out/") == [
        "job/out/_SUCCESS", "job/out/part-r-00000", "job/out/part-r-00001",
        "job/out/part-r-00002", "job/out/part-r-00003"]
    assert published[0] == f"{url}/part-r-00000"
    body = client.get_object(Bucket=s3_bucket, Key="job/out/part-r-00002")["Body"].read()
    assert body == b"C" * (5 * 2**20 + 34)
    assert pending_uploads(client, s3_bucket) == []
    with pytest.raises(OutputExistsError, match=url):
        OutputCommitter(url).setup_job()


def test_committer_s3_failed_job_leaves_nothing(client, s3_bucket):
    url = f"s3://{s3_bucket}/fail/out"
    c = OutputCommitter(url, config=EmrfsConfig(multipart_part_size=5 * 2**20))
    c.setup_job()
    for t in range(2):  # two tasks commit
        with c.open_task_output(t, 0, f"part-{t}") as f:
            f.write(b"data" * 1000)
        c.commit_task(t, 0)
    f = c.open_task_output(2, 0, "part-2")  # a third dies mid-write (a part uploaded)
    f.write(b"q" * (6 * 2**20))
    assert len(pending_uploads(client, s3_bucket)) == 3
    c.abort_job()
    assert keys(client, s3_bucket, "fail/") == []
    assert pending_uploads(client, s3_bucket) == []


def test_committer_s3_overwrite(client, s3_bucket):
    url = f"s3://{s3_bucket}/ow"
    client.put_object(Bucket=s3_bucket, Key="ow/old-part", Body=b"old")
    client.put_object(Bucket=s3_bucket, Key="ow/part-0", Body=b"old0")
    with pytest.raises(OutputExistsError):
        OutputCommitter(url).setup_job()
    c = OutputCommitter(url, overwrite=True)
    c.setup_job()
    with c.open_task_output(0, 0, "part-0") as f:
        f.write(b"new0")
    c.commit_job([c.commit_task(0, 0)])
    assert keys(client, s3_bucket, "ow/") == ["ow/_SUCCESS", "ow/part-0"]
    assert client.get_object(Bucket=s3_bucket, Key="ow/part-0")["Body"].read() == b"new0"


def test_multipart_threshold_and_part_size(client, s3_bucket):
    cfg = EmrfsConfig.from_properties({"fs.s3.multipart.threshold": "12M",
                                       "fs.s3.multipart.part.size": "5M"})
    fs, _ = resolve(f"s3://{s3_bucket}/", cfg)
    sizes = {"small": 7 * 2**20, "large": 13 * 2**20 + 5, "empty": 0}
    for name, size in sizes.items():
        with fs.open(f"{s3_bucket}/mp/{name}", "wb") as f:
            for i in range(0, size, 2**20):
                f.write(b"m" * min(2**20, size - i))
    etags = {n: client.head_object(Bucket=s3_bucket, Key=f"mp/{n}")["ETag"] for n in sizes}
    assert "-" not in etags["small"] and "-" not in etags["empty"]  # one PUT below threshold
    assert "-" in etags["large"]  # multipart at/above the threshold
    for name, size in sizes.items():
        assert client.head_object(Bucket=s3_bucket, Key=f"mp/{name}")["ContentLength"] == size


def test_committer_missing_bucket_is_a_clear_error(s3_server):
    with pytest.raises(InputNotFoundError, match="bucket 'no-such-bucket-y' does not exist"):
        OutputCommitter("s3://no-such-bucket-y/out").setup_job()


@pytest.mark.parametrize("native", [True, False])
def test_compressed_text_on_s3(client, s3_bucket, native):
    import bz2
    import gzip

    lines = [f"row {i}" for i in range(30000)]
    data = ("\n".join(lines) + "\n").encode()
    client.put_object(Bucket=s3_bucket, Key="z/a.gz", Body=gzip.compress(data))
    client.put_object(Bucket=s3_bucket, Key="z/b.bz2", Body=bz2.compress(data))
    cfg = EmrfsConfig(native_reads=native, read_block_size=50_000)
    splits = compute_splits(f"s3://{s3_bucket}/z", config=cfg)
    assert [s.format for s in splits] == ["compressed", "compressed"]
    for split in splits:
        got = [l for b in read_text_batches(split, config=cfg) for l in b.column("line").to_pylist()]
        assert got == lines


def test_text_splits_share_one_native_file_and_see_rewrites(client, s3_bucket):
    from rayemr.fs import blocks

    url = f"s3://{s3_bucket}/shared/data.txt"
    cfg = EmrfsConfig(read_block_size=4096)

    def read():
        splits = compute_splits(url, split_size=10_000, config=cfg)
        assert len(splits) > 3
        return [line for s in splits for b in read_text_batches(s, config=cfg)
                for line in b.column("line").to_pylist()]

    first = [f"v1 line {i}" for i in range(5000)]
    client.put_object(Bucket=s3_bucket, Key="shared/data.txt", Body="\n".join(first).encode())
    blocks.clear_open_files()
    assert read() == first
    assert [k[1] for k in blocks._OPEN] == [url]  # one open file for all the splits
    second = [f"v2 row {i}" for i in range(3000)]
    client.put_object(Bucket=s3_bucket, Key="shared/data.txt", Body="\n".join(second).encode())
    assert read() == second  # a new version (size, mtime) is opened again


def test_files_copied_and_moved_into_s3_whole(client, s3_bucket, tmp_path):
    from rayemr.fs import copy_file, move_file

    s3, path = resolve(f"s3://{s3_bucket}/load/a.txt")
    local, lpath = resolve(str(tmp_path / "a.txt"))
    local.pipe_file(lpath, b"0123456789" * 1000)
    copy_file(local, lpath, s3, path, chunk_bytes=4096)  # streamed through, then renamed
    copy_file(s3, path, s3, f"{s3_bucket}/load/b.txt")  # server-side on one S3
    move_file(local, lpath, s3, f"{s3_bucket}/load/c.txt")
    assert keys(client, s3_bucket, "load/") == ["load/a.txt", "load/b.txt", "load/c.txt"]
    for k in ("a", "b", "c"):
        body = client.get_object(Bucket=s3_bucket, Key=f"load/{k}.txt")["Body"].read()
        assert body == b"0123456789" * 1000
    assert not local.exists(lpath)
