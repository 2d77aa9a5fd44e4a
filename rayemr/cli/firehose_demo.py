"""The click-stream demo: a producer -> Firehose with dynamic partitioning by event type ->
a partitioned Parquet Hive table -> a Hive query over the last minutes' clicks.

Everything stays on this machine: the "bucket" is a folder (``bucket_root``), the metastore
and the stream's log are in the demo's work folder. Exits 0 when the query returns exactly the
records the producer sent.
"""
from __future__ import annotations

import json
import random
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

EVENT_TYPES = ("click", "view", "purchase", "scroll")
QUERY = ("SELECT event_type, count(*) AS events, count(DISTINCT user_id) AS users "
         "FROM clicks WHERE ts >= '{since}' GROUP BY event_type ORDER BY event_type")


def clicks(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    return [{"user_id": rng.randrange(500), "url": f"/product/{rng.randrange(100)}",
             "event_type": rng.choices(EVENT_TYPES, (50, 30, 5, 15))[0],
             "ts": (now - timedelta(seconds=rng.randrange(120))).isoformat(sep=" ",
                                                                          timespec="seconds")}
            for _ in range(n)]


def run(records: int = 3000, workdir: str | None = None, backend: str = "ray") -> int:
    from rayemr.firehose import client
    from rayemr.firehose.settings import FirehoseSettings
    from rayemr.hive.session import HiveSession

    root = Path(workdir or tempfile.mkdtemp(prefix="rayemr-firehose-demo-"))
    lake = root / "lake"
    (lake / "demo-bucket").mkdir(parents=True, exist_ok=True)
    session = HiveSession(metastore_path=str(root / "metastore.db"),
                          warehouse=str(root / "warehouse"), runner="inline")
    session.execute("DROP TABLE IF EXISTS clicks")
    session.execute(f"CREATE EXTERNAL TABLE clicks (user_id int, url string, ts timestamp) "
                    f"PARTITIONED BY (event_type string) STORED AS PARQUET "
                    f"LOCATION '{lake / 'demo-bucket' / 'clicks'}'")
    settings = FirehoseSettings(location=str(root / "firehose"), bucket_root=str(lake),
                                metastore_path=str(root / "metastore.db"),
                                warehouse=str(root / "warehouse"))
    fh = client(backend, settings)
    name = f"clickstream-{int(time.time())}"
    try:
        fh.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/demo",
            "BucketARN": "arn:aws:s3:::demo-bucket",
            "Prefix": "clicks/event_type=!{partitionKeyFromQuery:event_type}/",
            "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/",
            "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 1},
            "DynamicPartitioningConfiguration": {"Enabled": True},
            "ProcessingConfiguration": {"Enabled": True, "Processors": [{
                "Type": "MetadataExtraction", "Parameters": [
                    {"ParameterName": "MetadataExtractionQuery",
                     "ParameterValue": "{event_type: .event_type}"},
                    {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]}]},
            "DataFormatConversionConfiguration": {
                "SchemaConfiguration": {"DatabaseName": "default", "TableName": "clicks"},
                "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
                "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {}}}}})
        print(f"delivery stream {name} -> Hive table default.clicks at {lake}/demo-bucket/clicks")
        sent = clicks(records)
        t0 = time.time()
        for i in range(0, len(sent), 500):
            r = fh.put_record_batch(DeliveryStreamName=name, Records=[
                {"Data": json.dumps(c).encode()} for c in sent[i:i + 500]])
            if r["FailedPutCount"]:
                print(f"{r['FailedPutCount']} record(s) not accepted")
                return 1
        print(f"put {len(sent)} click events in {time.time() - t0:.2f}s")
        since = (datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(minutes=5))
        query = QUERY.format(since=since.isoformat(sep=" ", timespec="seconds"))
        want = Counter(c["event_type"] for c in sent)
        deadline = time.time() + 60
        while True:
            table = session.execute(query).table.to_pylist()
            got = {r["event_type"]: r["events"] for r in table}
            if got == dict(want) or time.time() > deadline:
                break
            time.sleep(0.2)
        print(f"visible in Hive {time.time() - t0:.2f}s after the first put:\n{query}")
        for r in table:
            print(f"  {r['event_type']:<10} {r['events']:>6} events {r['users']:>5} users")
        m = fh.metrics(name)[name]
        print(f"delivered {int(m['DeliveredRecords'])} records in "
              f"{int(m['DeliveredObjects'])} Parquet objects, "
              f"{int(m['PartitionsRegistered'])} partitions registered; work folder {root}")
        fh.delete_delivery_stream(DeliveryStreamName=name)
        return 0 if got == dict(want) else 1
    finally:
        fh.close()
        session.close()
