"""Delivery streams on Ray: the control plane and one restartable actor per stream.

The fault tests run on a 3-node local cluster: the delivery actor is killed, then the node it
runs on is removed, while records are being put; afterwards every acknowledged record is in S3
(duplicates counted), no object is partial, and no multipart upload is left incomplete."""
from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import replace

import boto3
import pytest

from rayemr.core.waiting import wait_for
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


@contextlib.contextmanager
def _ray_stream(lake, prefix: str):
    """(client, name, bucket) of a stream on Ray into ``prefix``, 1 s interval; deleted after."""
    settings, _, bucket = lake
    c = client("ray", settings)
    name = f"{prefix}-{bucket[-6:]}"
    try:
        c.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration=s3_dest(
            bucket, Prefix=f"{prefix}/", BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1}))
        yield c, name, bucket
    finally:
        _cleanup(c, name)


def test_stream_on_ray_delivers_and_reports_metrics(ray_local, lake):
    with _ray_stream(lake, "r") as (c, name, bucket):
        r = c.put_record_batch(DeliveryStreamName=name,
                               Records=[{"Data": f"{i}\n".encode()} for i in range(50)])
        assert r["FailedPutCount"] == 0
        wait_for(lambda: len(_records_in(bucket, "r/")) >= 50, 30, interval=0.2)
        assert sorted(_records_in(bucket, "r/"), key=int) == [str(i) for i in range(50)]
        m = c.metrics(name)[name]
        assert m["IncomingRecords"] == 50 and m["DeliveredRecords"] == 50
        assert m["DirectPuts"] == 1 and m["DirectPutConnections"] == 1  # no actor call
        assert m["DeliveryLatencyP50"] is not None
        from rayemr.yarn.rest import route

        doc = route(None, f"/ws/v1/cluster/firehose/{name}", {})["deliveryStream"]
        assert doc["name"] == name and doc["DeliveredRecords"] == 50
        listed = route(None, "/ws/v1/cluster/firehose", {})["deliveryStreams"]["deliveryStream"]
        assert name in [s["name"] for s in listed]


def test_a_hosts_placement_warns_nobody(ray_local):
    """Where a host runs and whether Ray restarted it, read without Ray's deprecation warning
    (its own property reads a deprecated field), which would reach the user's console."""
    import ray

    @ray.remote(num_cpus=0)
    class Probe:
        def placement(self):
            import warnings

            from rayemr.firehose.host import _placement

            with warnings.catch_warnings():
                warnings.simplefilter("error")
                return _placement()

    probe = Probe.remote()
    try:
        got = ray.get(probe.placement.remote())
    finally:
        ray.kill(probe)
    assert got["HostRestarted"] is False and got["HostNode"]


def test_puts_go_through_ray_when_the_put_port_is_out_of_reach(ray_local, lake, monkeypatch):
    """A firewall between the nodes: the client cannot connect to the host's put port, so
    its puts fall back to actor calls (once, with a warning) and are delivered all the same."""
    from rayemr.firehose import pools

    def blocked(endpoint):
        raise ConnectionRefusedError(f"{endpoint.host}:{endpoint.port} refused")

    monkeypatch.setattr(pools, "PutConnection", blocked)
    monkeypatch.setattr(pools.DirectPuts, "ATTEMPTS", 2)
    with _ray_stream(lake, "fw") as (c, name, bucket):
        for k in range(3):
            r = c.put_record_batch(DeliveryStreamName=name,
                                   Records=[{"Data": f"{k}-{i}\n".encode()} for i in range(10)])
            assert r["FailedPutCount"] == 0
        wait_for(lambda: len(_records_in(bucket, "fw/")) >= 30, 30, interval=0.2)
        assert len(set(_records_in(bucket, "fw/"))) == 30
        m = c.metrics(name)[name]
        assert m["IncomingRecords"] == 30 and m["DirectPuts"] == 0


MiB = 1024 * 1024
PAD = "x" * 2000  # records of ~2 KB: objects of several MiB, published as multipart uploads


def _producer(c, name: str, acked: list[str], stop: threading.Event, limit: int):
    """Puts numbered records until stopped; keeps those the stream acknowledged."""
    def run():
        i = 0
        while not stop.is_set() and i < limit:
            batch = [str(i + k) for k in range(100)]
            i += 100
            try:
                r = c.put_record_batch(DeliveryStreamName=name, Records=[
                    {"Data": f"{v} {PAD}\n".encode()} for v in batch])
            except Exception:  # noqa: BLE001 - unacknowledged: the producer moves on
                continue
            acked.extend(v for v, resp in zip(batch, r["RequestResponses"]) if "RecordId" in resp)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _fault_run(settings, bucket, name, kill, *, limit):
    """Create a stream with multipart objects, put ``limit`` records, ``kill()`` once a third
    of them are acknowledged; returns (acknowledged, delivered, metrics, incomplete uploads,
    restarted)."""
    from rayemr.fs.config import EmrfsConfig

    settings = replace(settings, location=f"s3://{bucket}/firehose-state",
                       emrfs=EmrfsConfig(multipart_threshold=5 * MiB,
                                         multipart_part_size=5 * MiB))
    c = client("ray", settings)
    c.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration=s3_dest(
        bucket, Prefix="f/", BufferingHints={"SizeInMBs": 6, "IntervalInSeconds": 2}))
    acked: list[str] = []
    stop = threading.Event()
    t = _producer(c, name, acked, stop, limit)
    try:
        wait_for(lambda: len(acked) >= limit // 3, 180, what="a third acknowledged")
        kill(c)
        wait_for(lambda: not t.is_alive(), 300, interval=0.2, what="the producer's end")
    finally:
        stop.set()
        t.join(timeout=180)
    c.flush(name)
    delivered = [line.split(" ", 1)[0] for line in _records_in(bucket, "f/")]
    metrics = c.metrics(name)[name]
    restarted = metrics.get("HostRestarted")
    uploads = boto3.client("s3").list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    _cleanup(c, name)
    return acked, delivered, metrics, uploads, restarted


def _check(acked, delivered, metrics, uploads, restarted):
    duplicates = len(delivered) - len(set(delivered))
    print(f"acknowledged {len(acked)}, delivered {len(delivered)}, duplicates {duplicates}, "
          f"restarted {restarted}, recovered {metrics['RecoveredRecords']}, "
          f"redelivered {metrics['RedeliveredRecords']}")
    assert acked, "nothing was acknowledged"
    missing = set(acked) - set(delivered)
    assert not missing, f"{len(missing)} acknowledged record(s) lost, e.g. {sorted(missing)[:5]}"
    assert uploads == [], "incomplete multipart uploads were left"
    assert restarted is True, "the delivery actor was never restarted"
    # the restarted host logged its own start: it replayed the log
    assert metrics["Recoveries"] >= 1


def _kill_actor(c):
    import ray

    ray.kill(c._service._route("kills"), no_restart=False)  # its process dies; Ray restarts it


def test_acknowledged_records_survive_a_killed_delivery_actor(ray_local, lake):
    """Default selection: one node, the actor killed once mid-stream."""
    settings, _, bucket = lake
    _check(*_fault_run(settings, bucket, "kills", _kill_actor, limit=6000))


@pytest.mark.slow
@pytest.mark.parametrize("kill_node", [False, True])
def test_acknowledged_records_survive_actor_and_node_loss(ray_cluster, lake, kill_node):
    """3 worker nodes offer the delivery resource (the head, which cannot be lost, does
    not); the actor is killed, then (kill_node) the node it was restarted on is removed."""
    import ray

    settings, _, bucket = lake
    settings = replace(settings, host_resources=(("firehose", 0.01),))
    for _ in range(3):
        ray_cluster.add_node(num_cpus=1, resources={"firehose": 1})
    ray_cluster.wait_for_nodes()

    def kill(c):
        _kill_actor(c)
        if kill_node:
            node_id = c.metrics("kills")["kills"]["HostNode"]  # answered once restarted
            node = next(n for n in ray_cluster.worker_nodes if n.node_id == node_id)
            ray_cluster.remove_node(node)

    _check(*_fault_run(settings, bucket, "kills", kill, limit=30000))


def test_kinesis_source_survives_a_killed_delivery_actor(ray_local, lake, tmp_path):
    """Records put to a Kinesis stream on Ray, read by a delivery stream on Ray whose actor is
    killed mid-stream: every record Kinesis acknowledged is in S3; what the restarted consumer
    read again is counted (and skipped), duplicates in S3 are counted."""
    import ray

    import rayemr.kinesis as kinesis
    from rayemr.kinesis import actors
    from tests.integration.firehose.conftest import ROLE

    settings, _, bucket = lake
    k = kinesis.client("ray", kinesis.KinesisSettings(location=str(tmp_path / "kinesis")))
    c = client("ray", replace(settings, location=f"s3://{bucket}/firehose-state"))
    name = f"ks-{bucket[-6:]}"
    try:
        k.create_stream(StreamName="src", ShardCount=2)
        arn = k.describe_stream_summary(StreamName="src")["StreamDescriptionSummary"][
            "StreamARN"]
        c.create_delivery_stream(
            DeliveryStreamName=name, DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={"KinesisStreamARN": arn, "RoleARN": ROLE},
            ExtendedS3DestinationConfiguration=s3_dest(
                bucket, Prefix="ks/", BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1}))
        acked: list[str] = []

        def produce(first: int, n: int) -> None:
            """As a Kinesis producer does: records refused by a shard's write limit (1,000
            records a second) are put again until taken."""
            for i in range(first, first + n, 100):
                batch = [str(v) for v in range(i, i + 100)]
                for _ in range(100):
                    out = k.put_records(StreamName="src", Records=[
                        {"Data": f"{v}\n".encode(), "PartitionKey": v} for v in batch])
                    acked.extend(v for v, r in zip(batch, out["Records"])
                                 if "SequenceNumber" in r)
                    batch = [v for v, r in zip(batch, out["Records"])
                             if "SequenceNumber" not in r]
                    if not batch:
                        break
                    time.sleep(0.1)

        produce(0, 1500)
        wait_for(lambda: c.metrics(name)[name]["IncomingRecords"] >= 500, 120)
        # the host (_route refuses puts to a Kinesis-sourced stream); Ray restarts it
        ray.kill(c._service.control.route(name)[2], no_restart=False)
        produce(1500, 1500)
        wait_for(lambda: not set(acked) - set(_records_in(bucket, "ks/")), 180,
                 interval=0.5, what="every acknowledged record in S3")
        delivered = _records_in(bucket, "ks/")
        m = c.metrics(name)[name]
        duplicates = len(delivered) - len(set(delivered))
        print(f"acknowledged by Kinesis {len(acked)}, delivered {len(delivered)}, duplicates "
              f"{duplicates}, read again {m['SourceRecordsReadAgain']}, redelivered "
              f"{m['RedeliveredRecords']}, restarted {m.get('HostRestarted')}")
        assert len(acked) == 3000
        missing = set(acked) - set(delivered)
        assert not missing, f"{len(missing)} acknowledged record(s) lost"
        assert m.get("HostRestarted") is True and m["Recoveries"] >= 1
        assert duplicates <= m["RedeliveredRecords"]  # every duplicate is counted
    finally:
        _cleanup(c, name)
        actors.shutdown()
