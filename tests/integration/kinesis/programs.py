"""Helpers the fault tests ship to Ray: a record processor and the actor it reports to."""
from __future__ import annotations

import time

import ray

from rayemr.kinesis.consumer import RecordProcessor


@ray.remote(num_cpus=0)
class Collector:
    """Every record any consumer processed, duplicates included."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []

    def add(self, items: list[bytes]) -> None:
        self.seen.extend(items)

    def count(self) -> int:
        return len(set(self.seen))

    def all(self) -> list[bytes]:
        return list(self.seen)


class Reporting(RecordProcessor):
    """Reports each batch to the collector, then checkpoints."""

    def __init__(self, collector) -> None:
        self.collector = collector

    def process_records(self, records, checkpointer, millis_behind_latest):
        ray.get(self.collector.add.remote([r["Data"] for r in records]))
        checkpointer.checkpoint()


def produce(client, stream: str, n: int, batch: int = 50, during=None) -> list[bytes]:
    """Put ``n`` unique records, retrying refused ones until acknowledged; ``during(i)`` runs
    before batch ``i`` (to break things mid-stream). Returns the acknowledged payloads."""
    acked: list[bytes] = []
    for i, start in enumerate(range(0, n, batch)):
        if during is not None:
            during(i)
        todo = [{"Data": f"rec-{j:06d}".encode(), "PartitionKey": f"user-{j % 17}"}
                for j in range(start, min(n, start + batch))]
        deadline = time.monotonic() + 180
        while todo:
            try:
                out = client.put_records(StreamName=stream, Records=todo)
            except Exception as exc:  # noqa: BLE001 - the whole call failed: try again
                if time.monotonic() > deadline:
                    raise
                code = getattr(exc, "response", {}).get("Error", {}).get("Code")
                assert code in ("InternalFailure", "InternalFailureException"), exc
                time.sleep(0.5)
                continue
            acked += [r["Data"] for r, res in zip(todo, out["Records"]) if "SequenceNumber" in res]
            todo = [r for r, res in zip(todo, out["Records"]) if "ErrorCode" in res]
            if todo:
                time.sleep(0.2)
    return acked

