"""Firehose benchmark, side by side in one run (results go to bench/README.md).

1. JSON -> Parquet delivery throughput into a partitioned Hive table: N click events through
   rayemr's Firehose (in-process backend, write-ahead log on local disk, JQ partitioning by
   event type, conversion with the table's schema, Parquet objects into a local lake, partitions
   registered) vs pyarrow's own ``json.read_json`` + ``parquet.write_table`` on the same bytes
   (one table, no partitioning), both warmed up and timed the same way (best and median of
   ``--repeat``, runs interleaved); every answer checked (rows and sum of user_id per event type, read
   back); CPU time (the process's, over the same span) is reported too. rayemr runs with one
   producer and with four (puts of 500 records from threads:
   concurrent puts share the log's sync), and with the log flushed but not synced
   (survives the process, not the machine; pyarrow's file is not synced either). With
   ``--ray``, also through the default client backend: the stream a Ray actor, every put sent
   to its host's put port (``rayemr.firehose.direct``; the actor asked once where it is), 1
   and 4 producers, log synced; each stream warmed up with one untimed run of the same records
   (its host is a new process).
2. Latency from PutRecordBatch to rows visible in a Hive ``SELECT`` with a 1 s buffer interval
   (p50/p90 over several batches).
3. The same PutRecordBatch load against moto's Firehose (in-process ``mock_aws``, S3
   destination, no conversion or partitioning: what moto offers) for comparison; checked: no
   record failed, the objects hold every record's bytes.

    python bench/firehose.py [--records 200000] [--latency-rounds 10] [--repeat 3] [--ray]
"""
from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROLE = "arn:aws:iam::123456789012:role/bench"


def events(n: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    types = ("click", "view", "purchase", "scroll")
    return [json.dumps({"user_id": rng.randrange(10**6), "url": f"/product/{rng.randrange(10**4)}",
                        "referrer": rng.choice(["google", "direct", "ads", "mail"]),
                        "price": round(rng.random() * 100, 2), "ts": "2024-05-01 10:00:00",
                        "event_type": types[i % 4]}).encode() for i in range(n)]


DDL = ("CREATE EXTERNAL TABLE {table} (user_id bigint, url string, referrer string, price double,"
       " ts timestamp) PARTITIONED BY (event_type string) STORED AS PARQUET LOCATION '{loc}'")


def destination(interval: int, size_mb: int = 128, table: str = "clicks") -> dict:
    return {"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::lake",
            "Prefix": table + "/event_type=!{partitionKeyFromQuery:event_type}/",
            "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
            "BufferingHints": {"SizeInMBs": size_mb, "IntervalInSeconds": interval},
            "DynamicPartitioningConfiguration": {"Enabled": True},
            "ProcessingConfiguration": {"Enabled": True, "Processors": [{
                "Type": "MetadataExtraction", "Parameters": [
                    {"ParameterName": "MetadataExtractionQuery",
                     "ParameterValue": "{event_type: .event_type}"},
                    {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]}]},
            "DataFormatConversionConfiguration": {
                "SchemaConfiguration": {"DatabaseName": "default", "TableName": table},
                "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
                "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {}}}}}


def expected(records: list[bytes]) -> dict[str, tuple[int, int]]:
    """The answer every engine must give: per event type, the records and their users' sum."""
    out: dict[str, tuple[int, int]] = {}
    for r in records:
        d = json.loads(r)
        n, total = out.get(d["event_type"], (0, 0))
        out[d["event_type"]] = (n + 1, total + d["user_id"])
    return out


def setup(root: Path, wal_sync: str = "fsync", backend: str = "local"):
    from rayemr.firehose import client
    from rayemr.firehose.settings import FirehoseSettings
    from rayemr.hive.session import HiveSession

    (root / "lake" / "lake").mkdir(parents=True)
    session = HiveSession(metastore_path=str(root / "ms.db"), warehouse=str(root / "wh"),
                          runner="inline")
    session.execute(DDL.format(table="clicks", loc=root / "lake" / "lake" / "clicks"))
    settings = FirehoseSettings(location=str(root / "fh"), bucket_root=str(root / "lake"),
                                metastore_path=str(root / "ms.db"), warehouse=str(root / "wh"),
                                wal_sync=wal_sync)
    return client(backend, settings), session


def rayemr_throughput(records: list[bytes], producers: int = 1, wal_sync: str = "fsync"
                      ) -> tuple[float, float, dict[str, tuple[int, int]]]:
    """Every record put (PutRecordBatch of 500, by ``producers`` threads taking batches in
    turn) and delivered (flush): seconds, CPU seconds of the process meanwhile, and what a
    Hive query answers afterwards (per partition: rows, sum of user_id)."""
    with tempfile.TemporaryDirectory() as d:
        fh, session = setup(Path(d), wal_sync)
        fh.create_delivery_stream(DeliveryStreamName="t",
                                  ExtendedS3DestinationConfiguration=destination(900))
        elapsed, cpu = deliver(fh, "t", records, producers)
        answer = per_event_type(session, "clicks")
        fh.close()
        return elapsed, cpu, answer


def deliver(fh, name: str, records: list[bytes], producers: int) -> tuple[float, float]:
    """Seconds and process CPU seconds to put every record and flush the stream."""
    starts = iter(range(0, len(records), 500))
    lock = threading.Lock()

    def produce() -> None:
        while True:
            with lock:
                i = next(starts, None)
            if i is None:
                return
            answer = fh.put_record_batch(DeliveryStreamName=name,
                                         Records=[{"Data": r} for r in records[i:i + 500]])
            assert answer["FailedPutCount"] == 0

    c0, t0 = time.process_time(), time.perf_counter()
    threads = [threading.Thread(target=produce) for _ in range(producers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fh.flush(name)
    return time.perf_counter() - t0, time.process_time() - c0


def per_event_type(session, table: str) -> dict[str, tuple[int, int]]:
    rows = session.execute(f"SELECT event_type, count(*), sum(user_id) FROM {table} "
                           "GROUP BY event_type").table.to_pylist()
    return {r["event_type"]: tuple(v for k, v in r.items() if k != "event_type") for r in rows}


def ray_throughput(records: list[bytes], repeat: int
                   ) -> tuple[dict[int, list[float]], dict[int, list[float]]]:
    """The default client backend: the stream is a Ray actor (a local Ray instance of 2 CPUs,
    started as ``rayemr.runtime.init`` starts one), every put sent to its host's put port; 1
    and 4 producers, log synced. Seconds per run (each run a new stream into a new table,
    warmed up first like every other engine here: its host is a process of its own, so the
    same records are put and delivered once first), every answer checked; and the seconds of
    those first runs (a new host's cold process), reported apart."""
    from rayemr import runtime

    runtime.init(num_cpus=2, log_to_driver=False)
    try:
        with tempfile.TemporaryDirectory() as d:
            root = Path(d)
            fh, session = setup(root, backend="ray")
            out: dict[int, list[float]] = {p: [] for p in RAY_PRODUCERS}
            cold: dict[int, list[float]] = {p: [] for p in RAY_PRODUCERS}
            runs = [(1, records[:5000])]  # the first run warms the actor's process up
            runs += [(p, records) for _ in range(repeat) for p in RAY_PRODUCERS]
            for k, (producers, part) in enumerate(runs):
                table = f"clicks_{k}"
                session.execute(DDL.format(table=table, loc=root / "lake" / "lake" / table))
                fh.create_delivery_stream(
                    DeliveryStreamName=f"r{k}",
                    ExtendedS3DestinationConfiguration=destination(900, table=table))
                first, _ = deliver(fh, f"r{k}", part, producers)  # the host's first run
                elapsed, _ = deliver(fh, f"r{k}", part, producers)
                assert per_event_type(session, table) == {
                    key: (2 * n, 2 * total) for key, (n, total) in expected(part).items()}
                fh.delete_delivery_stream(DeliveryStreamName=f"r{k}")
                if k:
                    out[producers].append(elapsed)
                    cold[producers].append(first)
            return out, cold
    finally:
        runtime.shutdown()


def pyarrow_throughput(records: list[bytes]
                       ) -> tuple[float, float, dict[str, tuple[int, int]]]:
    import pyarrow.json as pj
    import pyarrow.parquet as pq

    c0, t0 = time.process_time(), time.perf_counter()
    table = pj.read_json(io.BytesIO(b"\n".join(records)))
    with tempfile.TemporaryDirectory() as d:
        pq.write_table(table, os.path.join(d, "out.parquet"))
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        back = pq.read_table(os.path.join(d, "out.parquet"))
    groups = back.group_by("event_type").aggregate([("user_id", "count"), ("user_id", "sum")])
    return elapsed, cpu, {r["event_type"]: (r["user_id_count"], r["user_id_sum"])
                          for r in groups.to_pylist()}


def latency(rounds: int) -> list[float]:
    out = []
    with tempfile.TemporaryDirectory() as d:
        fh, session = setup(Path(d))
        fh.create_delivery_stream(DeliveryStreamName="lat",
                                  ExtendedS3DestinationConfiguration=destination(1))
        for k in range(rounds):
            batch = [json.dumps({"user_id": k, "url": "/x", "event_type": "click",
                                 "ts": "2024-05-01 10:00:00"}).encode()] * 100
            t0 = time.perf_counter()
            fh.put_record_batch(DeliveryStreamName="lat", Records=[{"Data": r} for r in batch])
            q = f"SELECT count(*) FROM clicks WHERE user_id = {k}"
            while session.execute(q).table.column(0)[0].as_py() < 100:
                time.sleep(0.02)
            out.append(time.perf_counter() - t0)
        fh.close()
    return out


def moto_throughput(records: list[bytes]) -> float:
    """Seconds to put every record; checked: none failed, and the objects moto wrote hold
    exactly the records' bytes."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="lake")
        fh = boto3.client("firehose", region_name="us-east-1")
        fh.create_delivery_stream(DeliveryStreamName="m", ExtendedS3DestinationConfiguration={
            "RoleARN": ROLE, "BucketARN": "arn:aws:s3:::lake", "Prefix": "clicks/",
            "BufferingHints": {"SizeInMBs": 128, "IntervalInSeconds": 900}})
        t0 = time.perf_counter()
        for i in range(0, len(records), 500):
            answer = fh.put_record_batch(DeliveryStreamName="m",
                                         Records=[{"Data": r} for r in records[i:i + 500]])
            assert answer["FailedPutCount"] == 0
        elapsed = time.perf_counter() - t0
        s3 = boto3.client("s3", region_name="us-east-1")
        size = sum(o["Size"] for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket="lake") for o in page.get("Contents", []))
        assert size == sum(map(len, records)), (size, sum(map(len, records)))
        return elapsed


#: (producer threads, write-ahead log sync) of the throughput runs
MODES = ((1, "fsync"), (4, "fsync"), (1, "flush"))
#: producer threads of the runs on Ray
RAY_PRODUCERS = (1, 4)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--latency-rounds", type=int, default=10)
    ap.add_argument("--moto-records", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs each")
    ap.add_argument("--ray", action="store_true",
                    help="also through the default client backend (a stream actor on Ray)")
    args = ap.parse_args()
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(k, "bench")
    load_start = os.getloadavg()[0]
    records = events(args.records)
    answer = expected(records)
    mb = sum(map(len, records)) / 1e6
    rayemr_throughput(records[:5000])  # warm-up: imports, jq, pyarrow
    pyarrow_throughput(records[:5000])
    times: dict[tuple[int, str], list[float]] = {mode: [] for mode in MODES}
    cpus: dict[tuple[int, str], list[float]] = {mode: [] for mode in MODES}
    p_times, p_cpus = [], []
    for _ in range(args.repeat):  # interleaved, so a busy moment hits both sides
        p_time, p_cpu, p_answer = pyarrow_throughput(records)
        assert p_answer == answer, p_answer
        p_times.append(p_time)
        p_cpus.append(p_cpu)
        for mode in MODES:
            r_time, r_cpu, r_answer = rayemr_throughput(records, *mode)
            assert r_answer == answer, (mode, r_answer)
            times[mode].append(r_time)
            cpus[mode].append(r_cpu)
    p_time, p_cpu = min(p_times), statistics.median(p_cpus)
    p_median = statistics.median(p_times)
    ray_times, ray_cold = ray_throughput(records, args.repeat) if args.ray else ({}, {})
    lat = sorted(latency(args.latency_rounds))
    m_time = moto_throughput(records[:args.moto_records])
    print(f"records {len(records)} ({mb:.1f} MB JSON), best of {args.repeat}, "
          f"load average {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    print(f"pyarrow read_json + write_table: {p_time:.2f}s ({len(records) / p_time:,.0f} rec/s)"
          f", median {p_median:.2f}s, CPU {p_cpu:.2f}s (median)")
    for (producers, sync), r_times in times.items():
        r_time, r_cpu = min(r_times), statistics.median(cpus[(producers, sync)])
        r_median = statistics.median(r_times)
        print(f"rayemr Firehose JSON->Parquet, partitioned Hive table, {producers} producer(s), "
              f"log {sync}: {r_time:.2f}s ({len(records) / r_time:,.0f} rec/s), "
              f"ratio {p_time / r_time:.2f}x; median {r_median:.2f}s, ratio of medians "
              f"{p_median / r_median:.2f}x; CPU {r_cpu:.2f}s (median), "
              f"CPU ratio {p_cpu / r_cpu:.2f}x")
    for producers, r_times in ray_times.items():
        r_time, r_median = min(r_times), statistics.median(r_times)
        print(f"rayemr Firehose on Ray (a stream actor, puts to its put port), {producers} "
              f"producer(s), log fsync: {r_time:.2f}s ({len(records) / r_time:,.0f} rec/s), "
              f"ratio {p_time / r_time:.2f}x; median {r_median:.2f}s, ratio of medians "
              f"{p_median / r_median:.2f}x")
    for producers, r_times in ray_cold.items():
        r_time, r_median = min(r_times), statistics.median(r_times)
        print(f"  the same, first run of a new stream (its host's process cold), {producers} "
              f"producer(s): {r_time:.2f}s, ratio {p_time / r_time:.2f}x; median "
              f"{r_median:.2f}s, ratio of medians {p_median / r_median:.2f}x")
    print(f"PutRecordBatch -> visible in Hive, 1 s interval: p50 {statistics.median(lat):.2f}s "
          f"p90 {lat[math.ceil(len(lat) * .9) - 1]:.2f}s max {lat[-1]:.2f}s ({len(lat)} rounds)")
    print(f"moto Firehose PutRecordBatch (no conversion/partitioning): "
          f"{args.moto_records / m_time:,.0f} rec/s")


if __name__ == "__main__":
    main()
