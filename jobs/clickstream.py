"""A click stream through Kinesis: a producer and a consumer written against boto3 only.

The producer puts every line of an Apache access log as one record (partition key: the
client's address, so one visitor's clicks stay in order); the consumer is a KCL-style record
processor counting hits per page and status, checkpointing as it goes. Point both at
rayemr's AWS endpoint (or at AWS):

    rayemr aws serve --backend local &
    python jobs/clickstream.py produce --endpoint-url http://127.0.0.1:4566 \
        rayemr/data/mapreduce/access.log
    python jobs/clickstream.py consume --endpoint-url http://127.0.0.1:4566 -o counts.txt
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter

import boto3

from rayemr.kinesis.consumer import LeaseService, RecordProcessor, Worker

LINE = re.compile(r'^(\S+) \S+ \S+ \[[^\]]+\] "\S+ (\S+)[^"]*" (\d{3}) ')


def kinesis(endpoint_url: str | None):
    return boto3.client("kinesis", endpoint_url=endpoint_url)


def produce(client, stream: str, paths: list[str], shards: int) -> int:
    """Create the stream if needed and put every log line; returns how many were stored."""
    try:
        client.create_stream(StreamName=stream, ShardCount=shards)
    except client.exceptions.ResourceInUseException:
        pass
    client.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 1})
    lines = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            lines += [line.rstrip("\n") for line in f if line.strip()]
    stored = 0
    for start in range(0, len(lines), 500):
        todo = [{"Data": line.encode(), "PartitionKey": line.split(" ", 1)[0]}
                for line in lines[start:start + 500]]
        while todo:  # PutRecords can fail per record (throttling): send those again
            out = client.put_records(StreamName=stream, Records=todo)
            stored += len(todo) - out["FailedRecordCount"]
            todo = [r for r, res in zip(todo, out["Records"]) if "ErrorCode" in res]
            if todo:
                time.sleep(0.5)
    return stored


class PageCounter(RecordProcessor):
    """Counts hits per (page, status) into a shared Counter."""

    def __init__(self, counts: Counter) -> None:
        self.counts = counts

    def process_records(self, records, checkpointer, millis_behind_latest):
        for record in records:
            m = LINE.match(record["Data"].decode("utf-8", errors="replace"))
            if m:
                self.counts[(m.group(2), m.group(3))] += 1
        checkpointer.checkpoint()


def consume(client, stream: str, app: str, idle_s: float, checkpoints: str | None) -> Counter:
    """Run one worker until no record has come for ``idle_s`` seconds."""
    counts: Counter = Counter()
    worker = Worker(app, stream, lambda: PageCounter(counts), client=client,
                    leases=LeaseService(app, checkpoints), poll_s=0.2, sync_s=2.0)
    last = {"n": -1, "at": time.monotonic()}

    def idle() -> bool:
        if worker.processed != last["n"]:
            last.update(n=worker.processed, at=time.monotonic())
        return time.monotonic() - last["at"] >= idle_s

    worker.run(until=idle)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint-url", default=None, help="rayemr's AWS endpoint")
    parser.add_argument("--stream", default="clicks")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("produce", help="put log lines as records")
    p.add_argument("paths", nargs="+")
    p.add_argument("--shards", type=int, default=2)
    c = sub.add_parser("consume", help="count hits per page and status")
    c.add_argument("-o", "--output", default="-")
    c.add_argument("--app", default="clickstream-counter")
    c.add_argument("--idle-seconds", type=float, default=5.0)
    c.add_argument("--checkpoints", default=None,
                   help="where the lease table persists (a folder or s3:// URL); default: "
                        "memory, so every run starts from the beginning")
    args = parser.parse_args(argv)
    client = kinesis(args.endpoint_url)
    if args.command == "produce":
        print(json.dumps({"stored": produce(client, args.stream, args.paths, args.shards)}))
        return 0
    counts = consume(client, args.stream, args.app, args.idle_seconds, args.checkpoints)
    text = "".join(f"{page}\t{status}\t{n}\n" for (page, status), n in sorted(counts.items()))
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
