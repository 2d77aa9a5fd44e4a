"""Hive tables on the loopback S3 endpoint: MSCK REPAIR, partition pruning, INSERT OVERWRITE
through the S3 committer, and queries run as stages on Ray."""
from __future__ import annotations

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import io

import pytest

from rayemr.core.errors import RayEmrError
from rayemr.hive.session import HiveSession


def rows(result):
    return [tuple(r.values()) for r in result.table.to_pylist()]


def _put_parquet(client, bucket: str, key: str, table: pa.Table) -> None:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    client.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())


@pytest.fixture
def s3_hive(s3_bucket, s3_server, tmp_path):
    client = boto3.client("s3", endpoint_url=s3_server)
    for dt, n in (("2020-01-01", 2), ("2020-01-02", 3), ("2020-01-03", 1)):
        for part in range(2):
            _put_parquet(client, s3_bucket, f"events/dt={dt}/part-{part}.parquet",
                         pa.table({"id": list(range(n)), "v": [f"{dt}-{part}-{i}"
                                                              for i in range(n)]}))
    client.put_object(Bucket=s3_bucket, Key="logs/dt=2020-01-01/a.txt", Body=b"1,x\n2,\\N\n")
    session = HiveSession(metastore_path=str(tmp_path / "ms.db"),
                          warehouse=f"s3://{s3_bucket}/warehouse", runner="inline")
    yield session, client, s3_bucket
    session.close()


def test_msck_repair_and_partition_pruning(s3_hive):
    session, _, bucket = s3_hive
    session.execute(f"CREATE EXTERNAL TABLE events (id int, v string) PARTITIONED BY "
                    f"(dt string) STORED AS PARQUET LOCATION 's3://{bucket}/events/'")
    assert rows(session.execute("SHOW PARTITIONS events")) == []
    r = session.execute("MSCK REPAIR TABLE events")
    assert r.rows_affected == 3
    assert rows(session.execute("SHOW PARTITIONS events")) == [
        ("dt=2020-01-01",), ("dt=2020-01-02",), ("dt=2020-01-03",)]
    r = session.execute("SELECT dt, count(*) FROM events WHERE dt = '2020-01-02' GROUP BY dt")
    assert rows(r) == [("2020-01-02", 6)]
    assert session.last_inputs == [f"s3://{bucket}/events/dt=2020-01-02/part-0.parquet",
                                   f"s3://{bucket}/events/dt=2020-01-02/part-1.parquet"]
    assert session.last_counters["HIVE"]["FILES_READ"] == 2
    assert any("1 of 3 partitions" in line for line in r.log)
    assert rows(session.execute("SELECT count(*) FROM events")) == [(12,)]


def test_text_table_on_s3(s3_hive):
    session, _, bucket = s3_hive
    session.execute(f"CREATE EXTERNAL TABLE logs (a int, b string) PARTITIONED BY (dt string) "
                    f"ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' "
                    f"LOCATION 's3://{bucket}/logs'")
    session.execute("ALTER TABLE logs ADD PARTITION (dt='2020-01-01')")
    assert rows(session.execute("SELECT * FROM logs ORDER BY a")) == [
        (1, "x", "2020-01-01"), (2, None, "2020-01-01")]


def test_insert_overwrite_on_s3_and_failure_keeps_contents(s3_hive):
    session, client, bucket = s3_hive
    session.execute("CREATE TABLE t (a int, s string) PARTITIONED BY (dt string) "
                    "STORED AS PARQUET")
    session.execute("INSERT INTO t PARTITION (dt='d1') SELECT 1, 'x' UNION ALL SELECT 2, 'y'")
    session.execute("INSERT INTO t PARTITION (dt='d1') SELECT 3, 'z'")
    assert rows(session.execute("SELECT count(*) FROM t")) == [(3,)]
    keys_before = sorted(o["Key"] for o in client.list_objects_v2(
        Bucket=bucket, Prefix="warehouse/t/")["Contents"])
    with pytest.raises(RayEmrError, match="boom"):
        session.execute("INSERT OVERWRITE TABLE t PARTITION (dt='d1') "
                        "SELECT CASE WHEN a = 3 THEN raise_error('boom') ELSE a END, s FROM t")
    keys_after = sorted(o["Key"] for o in client.list_objects_v2(
        Bucket=bucket, Prefix="warehouse/t/")["Contents"])
    assert keys_after == keys_before
    assert rows(session.execute("SELECT a FROM t ORDER BY a")) == [(1,), (2,), (3,)]
    session.execute("INSERT OVERWRITE TABLE t PARTITION (dt='d1') SELECT 9, 'n'")
    assert rows(session.execute("SELECT a, s, dt FROM t")) == [(9, "n", "d1")]
    uploads = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert uploads == []


def test_queries_run_on_ray_match_inline(s3_hive, ray_local):
    session, _, bucket = s3_hive
    session.execute(f"CREATE EXTERNAL TABLE events (id int, v string) PARTITIONED BY "
                    f"(dt string) STORED AS PARQUET LOCATION 's3://{bucket}/events'")
    session.execute("MSCK REPAIR TABLE events")
    queries = ["SELECT dt, count(*), max(v) FROM events GROUP BY dt ORDER BY dt",
               "SELECT e.id, count(*) FROM events e JOIN events f ON e.v = f.v "
               "WHERE e.dt > '2020-01-01' GROUP BY e.id ORDER BY e.id",
               "SELECT v FROM events WHERE id = 2"]
    inline = [rows(session.execute(q)) for q in queries]
    session.execute("SET rayemr.hive.runner=ray")
    session.execute("SET rayemr.hive.smalljob.maxbytes=0")
    # plain Ray tasks: the Hive stages, not YARN's application lifecycle, are under test here
    session.execute("SET rayemr.hive.yarn=false")
    assert session.runner == "ray"
    on_ray = [rows(session.execute(q)) for q in queries]
    assert on_ray == inline


def test_multi_task_insert_on_s3_failure_leaves_nothing(s3_hive):
    """Three map tasks write their parts as pending multipart uploads; when the last fails,
    the job abort drops them: previous partitions intact, no uploads left, no staging."""
    session, client, bucket = s3_hive
    session.execute(f"CREATE EXTERNAL TABLE events (id int, v string) PARTITIONED BY "
                    f"(dt string) STORED AS PARQUET LOCATION 's3://{bucket}/events/'")
    session.execute("MSCK REPAIR TABLE events")
    session.execute("SET hive.exec.dynamic.partition.mode=nonstrict")
    session.execute("SET rayemr.hive.smalljob.maxbytes=0")
    session.execute("CREATE TABLE t (id int, v string) PARTITIONED BY (dt string) "
                    "STORED AS PARQUET")
    r = session.execute("INSERT INTO t PARTITION (dt) SELECT id, v, dt FROM events")
    assert r.rows_affected == 12
    keys = lambda: sorted(o["Key"] for o in client.list_objects_v2(  # noqa: E731
        Bucket=bucket, Prefix="warehouse/t/").get("Contents", []))
    before = keys()
    # one part file per map task (6 files) and partition folder
    assert len(before) == 6 and all("/dt=2020-01-0" in k for k in before)
    with pytest.raises(RayEmrError, match="boom"):
        session.execute("INSERT OVERWRITE TABLE t PARTITION (dt) SELECT CASE WHEN "
                        "v = '2020-01-03-1-0' THEN raise_error('boom') ELSE id END, v, dt "
                        "FROM events")
    assert keys() == before
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    r = session.execute("INSERT OVERWRITE TABLE t PARTITION (dt) SELECT id + 100, v, dt "
                        "FROM events WHERE dt = '2020-01-02'")
    assert r.rows_affected == 6
    assert rows(session.execute("SELECT dt, min(id), count(*) FROM t GROUP BY dt "
                                "ORDER BY dt")) == [
        ("2020-01-01", 0, 4), ("2020-01-02", 100, 6), ("2020-01-03", 0, 2)]


def test_big_parquet_on_s3_is_split_by_row_groups(s3_hive):
    session, client, bucket = s3_hive
    n = 30_000
    t = pa.table({"id": pa.array(range(n), pa.int64()), "g": [i % 5 for i in range(n)]})
    buf = io.BytesIO()
    pq.write_table(t, buf, row_group_size=5_000)
    client.put_object(Bucket=bucket, Key="big/one.parquet", Body=buf.getvalue())
    session.execute(f"CREATE EXTERNAL TABLE big (id bigint, g int) STORED AS PARQUET "
                    f"LOCATION 's3://{bucket}/big'")
    session.execute("SET mapreduce.input.fileinputformat.split.maxsize=20000")
    session.execute("SET rayemr.hive.smalljob.maxbytes=0")
    r = session.execute("SELECT g, count(*), sum(id) FROM big WHERE id >= 1000 GROUP BY g "
                        "ORDER BY g")
    assert [(g, c, int(s)) for g, c, s in rows(r)] == [
        (g, sum(1 for i in range(1000, n) if i % 5 == g),
         sum(i for i in range(1000, n) if i % 5 == g)) for g in range(5)]
    assert session.last_counters["Job Counters"]["Launched map tasks"] > 1


def test_dynamic_partitions_on_s3_finish_after_an_interrupted_publish(s3_hive, monkeypatch):
    """The publish plan is one PUT on S3; moves interrupted after it are finished by the
    next INSERT, leaving no staging objects behind."""
    from rayemr.core.errors import StorageError
    from rayemr.hive import publish

    session, client, bucket = s3_hive
    session.execute("SET hive.exec.dynamic.partition.mode=nonstrict")
    session.execute("CREATE TABLE d (a int) PARTITIONED BY (dt string) STORED AS PARQUET")
    session.execute("INSERT INTO d PARTITION (dt) SELECT 1, 'x' UNION ALL SELECT 2, 'y' "
                    "UNION ALL SELECT 3, 'z'")
    real_move, moved = publish._move, []

    def crash_after_one(src, dst):
        if moved:
            raise OSError("connection reset")
        real_move(src, dst)
        moved.append(dst)

    monkeypatch.setattr(publish, "_move", crash_after_one)
    with pytest.raises(StorageError, match="next INSERT"):
        session.execute("INSERT OVERWRITE TABLE d PARTITION (dt) "
                        "SELECT a * 10, dt FROM d")
    monkeypatch.undo()
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="warehouse/d/")
            ["Contents"]]
    assert any(publish.PLAN_FILE in k for k in keys)
    session.execute("INSERT INTO d PARTITION (dt='w') SELECT 0")
    assert rows(session.execute("SELECT a, dt FROM d ORDER BY a")) == [
        (0, "w"), (10, "x"), (20, "y"), (30, "z")]
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="warehouse/d/")
            ["Contents"]]
    assert not any(publish.STAGING_PREFIX in k for k in keys), keys
