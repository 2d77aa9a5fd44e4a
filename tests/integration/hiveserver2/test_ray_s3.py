"""The server over Hive sessions that run stages on Ray, reading a table on the S3 endpoint."""
from __future__ import annotations

import io
import time

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from TCLIService.ttypes import TOperationState


# Slow: Ray start plus YARN admission; in a long shared test run the application has waited
# for admission indefinitely, so the test polls with a deadline rather than hang.
@pytest.mark.slow
def test_pyhive_query_over_s3_table_on_ray(ray_local, s3_bucket, s3_server, start_hs2):
    s3 = boto3.client("s3", endpoint_url=s3_server)
    for i in range(2):
        buf = io.BytesIO()
        pq.write_table(pa.table({"k": [f"k{j % 3}" for j in range(i * 50, i * 50 + 50)],
                                 "v": pa.array(range(i * 50, i * 50 + 50), pa.int64())}), buf)
        s3.put_object(Bucket=s3_bucket, Key=f"events/part-{i}.parquet", Body=buf.getvalue())
    srv = start_hs2(session_options={"runner": "ray"})
    with srv.connect() as conn:
        cur = conn.cursor()
        cur.execute(f"CREATE EXTERNAL TABLE events (k string, v bigint) STORED AS PARQUET "
                    f"LOCATION 's3://{s3_bucket}/events'")
        cur.execute("SELECT k, count(*), sum(v) FROM events GROUP BY k ORDER BY k",
                    async_=True)
        deadline = time.monotonic() + 180
        while cur.poll().operationState in (TOperationState.INITIALIZED_STATE,
                                            TOperationState.PENDING_STATE,
                                            TOperationState.RUNNING_STATE):
            if time.monotonic() > deadline:
                cur.cancel()
                pytest.fail("the query on the Ray runner did not finish within 180 s")
            time.sleep(0.1)
        rows = cur.fetchall()
    expected = {}
    for j in range(100):
        n, s = expected.get(f"k{j % 3}", (0, 0))
        expected[f"k{j % 3}"] = (n + 1, s + j)
    assert rows == [(k, n, s) for k, (n, s) in sorted(expected.items())]
