"""Delivery streams on Ray: the control plane and one restartable actor per stream.

The fault tests run on a 3-node local cluster: the delivery actor is killed, then the node it
runs on is removed, while records are being put; afterwards every acknowledged record is in S3
(duplicates counted), no object is partial, and no multipart upload is left incomplete."""
from __future__ import annotations

import threading
import time
from dataclasses import replace

import boto3
import pytest

from rayemr.firehose import client
from tests.integration.firehose.conftest import s3_dest


def _records_in(bucket: str, prefix: str) -> list[str]:
    s3 = boto3.client("s3")
    out: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read().decode()
            lines = body.split("\n")
            assert lines[-1] == "", f"{o['Key']} is not whole"  # every record ends in \n
            out.extend(lines[:-1])
    return out


def _cleanup(c, name):
    try:
        c.delete_delivery_stream(DeliveryStreamName=name)
    except Exception:  # noqa: BLE001 - best effort
        pass


def test_stream_on_ray_delivers_and_reports_metrics(ray_local, lake):
    settings, _, bucket = lake
    c = client("ray", settings)
    name = f"ray-{bucket[-6:]}"
    try:
        c.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration=s3_dest(
            bucket, Prefix="r/", BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1}))
        r = c.put_record_batch(DeliveryStreamName=name,
                               Records=[{"Data": f"{i}\n".encode()} for i in range(50)])
        assert r["FailedPutCount"] == 0
        end = time.time() + 30
        while len(_records_in(bucket, "r/")) < 50 and time.time() < end:
            time.sleep(0.2)
        assert sorted(_records_in(bucket, "r/"), key=int) == [str(i) for i in range(50)]
        m = c.metrics(name)[name]
        assert m["IncomingRecords"] == 50 and m["DeliveredRecords"] == 50
        assert m["DeliveryLatencyP50"] is not None
        from rayemr.yarn.rest import route

        doc = route(None, f"/ws/v1/cluster/firehose/{name}", {})["deliveryStream"]
        assert doc["name"] == name and doc["DeliveredRecords"] == 50
        listed = route(None, "/ws/v1/cluster/firehose", {})["deliveryStreams"]["deliveryStream"]
        assert name in [s["name"] for s in listed]
    finally:
        _cleanup(c, name)


def _fault_run(ray_cluster, lake, kill_node: bool):
    import ray

    settings, _, bucket = lake
    # the log on S3: a node's local disk does not outlive the node
    settings = replace(settings, location=f"s3://{bucket}/firehose-state")
    for _ in range(3):
        ray_cluster.add_node(num_cpus=1)
    ray_cluster.wait_for_nodes()
    c = client("ray", settings)
    name = "faults"
    c.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration=s3_dest(
        bucket, Prefix="f/", BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1}))
    acked: list[str] = []
    stop = threading.Event()

    def produce():
        i = 0
        while not stop.is_set() and i < 4000:
            batch = [f"{i + k}" for k in range(20)]
            try:
                r = c.put_record_batch(DeliveryStreamName=name,
                                       Records=[{"Data": f"{v}\n".encode()} for v in batch])
            except Exception:  # noqa: BLE001 - unacknowledged: the producer moves on
                i += 20
                continue
            acked.extend(v for v, resp in zip(batch, r["RequestResponses"]) if "RecordId" in resp)
            i += 20

    t = threading.Thread(target=produce)
    t.start()
    time.sleep(3)
    handle = c._service._route(name)
    ray.kill(handle, no_restart=False)  # the actor's process dies; Ray restarts it
    time.sleep(3)
    if kill_node:
        info = [a for a in ray.util.state.list_actors(filters=[("state", "=", "ALIVE")])
                if a.name.startswith(f"firehose-{name}-")]
        node = next(n for n in ray_cluster.worker_nodes if n.node_id == info[0].node_id)
        ray_cluster.remove_node(node)
        time.sleep(3)
    stop.set()
    t.join(timeout=120)
    c.flush(name)
    delivered = _records_in(bucket, "f/")
    metrics = c.metrics(name)[name]
    uploads = boto3.client("s3").list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    _cleanup(c, name)
    return acked, delivered, metrics, uploads


@pytest.mark.slow
@pytest.mark.parametrize("kill_node", [False, True])
def test_acknowledged_records_survive_actor_and_node_loss(ray_cluster, lake, kill_node):
    acked, delivered, metrics, uploads = _fault_run(ray_cluster, lake, kill_node)
    assert acked and set(acked) <= set(delivered)
    duplicates = len(delivered) - len(set(delivered))
    print(f"acknowledged {len(acked)}, delivered {len(delivered)}, duplicates {duplicates}, "
          f"recoveries {metrics['Recoveries']}, recovered {metrics['RecoveredRecords']}")
    # metrics are the restarted actor's own: it replayed what its predecessor had buffered
    assert metrics["RecoveredRecords"] > 0
    assert uploads == []
