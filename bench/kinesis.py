"""Kinesis benchmark: PutRecords throughput and put-to-get latency, side by side in one run.

1. **Python client** (``rayemr.kinesis.client()``, shards as Ray actors, local-disk logs with
   fsync per group, and with flush only): PutRecords of 500 records of 1 KiB from 8 producer
   threads sharing one client (which sends the puts it has for a shard at once as one call,
   two calls per shard in flight), on streams of 1, 2 and 4 shards (throughput limits lifted:
   ``rayemr:limits=unlimited``). Goal: >= 100,000 records/s.
2. **HTTP with boto3**: one boto3 client in its own process sends the same PutRecords calls
   for the same time to (a) a no-op endpoint that reads the request and answers a canned
   PutRecords reply (what boto3 alone can serialize and send: the ceiling), (b) ``rayemr aws
   serve`` (its own process; streams on Ray, and in-process with ``--backend local``) and
   (c) moto's Kinesis server (its own process). Goal: rayemr >= 0.5x the ceiling and ahead of
   moto.
3. **Put-to-get latency**: one record every 10 ms, read by a reader polling GetRecords
   (limits lifted), p50 and p99 from the put call to the record's arrival at the reader, for
   local-disk logs and for S3 logs (moto's S3 on loopback) with group commit.

Every answer is checked: no failed record, and the records the stream holds afterwards equal
the records acknowledged.

Usage: python bench/kinesis.py [--seconds 5] [--shards 1,2,4] [--producers 8] [--write]
Prints Markdown; ``--write`` puts it under ``## kinesis`` in bench/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ACCESS_KEY, SECRET_KEY = "AKIDBENCH", "bench-secret"
RECORD = 1024
BATCH = 500


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def batch(seed: int = 0) -> list[dict]:
    payload = os.urandom(RECORD)
    return [{"Data": payload, "PartitionKey": f"user-{seed}-{i}"} for i in range(BATCH)]


def load() -> float:
    return os.getloadavg()[0]


# -- 1. the Python client ---------------------------------------------------------------------
#: The local-disk durability modes of part 1: (label, rayemr.kinesis.fsync).
DURABILITY = [("fsync per group", True), ("flush only (`rayemr.kinesis.fsync=false`)", False)]


def python_client(client, shards: int, seconds: float, producers: int) -> dict:
    name = f"bench-{shards}-{uuid.uuid4().hex[:6]}"
    client.create_stream(StreamName=name, ShardCount=shards,
                         Tags={"rayemr:limits": "unlimited"})
    records = [batch(i) for i in range(producers)]
    for r in records:  # warm up every shard actor and this client's route
        client.put_records(StreamName=name, Records=r)
    acked = [0] * producers
    failed = [0] * producers
    stop = time.perf_counter() + seconds

    def produce(i: int) -> None:
        while time.perf_counter() < stop:
            out = client.put_records(StreamName=name, Records=records[i])
            failed[i] += out["FailedRecordCount"]
            acked[i] += BATCH - out["FailedRecordCount"]

    start = time.perf_counter()
    threads = [threading.Thread(target=produce, args=(i,)) for i in range(producers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    stored = stored_records(name) - producers * BATCH
    client.delete_stream(StreamName=name)
    return {"shards": shards, "records": sum(acked), "seconds": elapsed,
            "rate": sum(acked) / elapsed, "failed": sum(failed), "stored": stored}


def stored_records(name: str) -> int:
    import ray

    from rayemr.kinesis import actors

    control = ray.get_actor(actors.CONTROL_NAME, namespace=actors.NAMESPACE)
    return sum(s["Records"] for s in ray.get(control.call.remote("stats", name)))


# -- 2. HTTP with boto3 ------------------------------------------------------------------------
class _Noop(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    reply = json.dumps({"FailedRecordCount": 0, "Records": [
        {"SequenceNumber": "4" * 56, "ShardId": "shardId-000000000000"}] * BATCH}).encode()

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(self.reply)))
        self.end_headers()
        self.wfile.write(self.reply)

    def log_message(self, *args) -> None:
        pass


def boto3_load(url: str, stream: str, seconds: float) -> dict:
    """The load generator (run in its own process): one boto3 client, sequential calls."""
    import boto3
    from botocore.config import Config

    client = boto3.client("kinesis", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                          config=Config(retries={"max_attempts": 1}))
    records = batch(7)
    for _ in range(3):
        client.put_records(StreamName=stream, Records=records)  # warm up the connection
    calls = acked = failed = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        out = client.put_records(StreamName=stream, Records=records)
        calls += 1
        failed += out["FailedRecordCount"]
        acked += BATCH - out["FailedRecordCount"]
    elapsed = time.perf_counter() - start
    return {"calls": calls, "records": acked, "failed": failed, "seconds": elapsed,
            "rate": acked / elapsed, "warmup": 3 * BATCH}


def run_load(url: str, stream: str, seconds: float) -> dict:
    proc = subprocess.run([sys.executable, __file__, "_load", url, stream, str(seconds)],
                          capture_output=True, text=True, env=bench_env(), timeout=600)
    if proc.returncode:
        raise RuntimeError(f"load generator failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def bench_env() -> dict:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
           "AWS_DEFAULT_REGION": "us-east-1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                       os.environ.get("PYTHONPATH")]))}
    return env


def count_via_boto3(url: str, stream: str) -> int:
    import boto3

    client = boto3.client("kinesis", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    total = 0
    for shard in client.list_shards(StreamName=stream)["Shards"]:
        it = client.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"],
                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            page = client.get_records(ShardIterator=it, Limit=10000)
            total += len(page["Records"])
            if not page["Records"]:
                break
            it = page.get("NextShardIterator")
    return total


def start_server(cmd: list[str], ready: str, env: dict) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    deadline = time.time() + 120
    while time.time() < deadline:
        line = proc.stdout.readline()
        m = re.search(ready, line)
        if m:
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep draining
            return proc, m.group(1)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"{cmd[:4]} did not start")


def http_targets(seconds: float, moto_url: str, ray_address: str, location: str) -> list[dict]:
    out = []
    noop = ThreadingHTTPServer(("127.0.0.1", 0), _Noop)
    threading.Thread(target=noop.serve_forever, daemon=True).start()
    try:
        # the no-op endpoint lives in this process (idle otherwise): boto3's ceiling
        r = run_load(f"http://127.0.0.1:{noop.server_address[1]}", "noop", seconds)
        out.append({"target": "no-op endpoint (boto3 alone)", **r, "stored": None})
    finally:
        noop.shutdown()
    for backend in ("ray", "local"):
        env = {**bench_env(), "RAY_ADDRESS": ray_address}
        loc = f"{location}/endpoint-{backend}"
        proc, url = start_server(
            [sys.executable, "-m", "rayemr.cli", "aws", "serve", "--port", "0", "--backend",
             backend, "--conf", f"rayemr.kinesis.location={loc}",
             "--conf", "rayemr.kinesis.limits=unlimited"], r"at (http://[\d.:]+)", env)
        try:
            import boto3

            client = boto3.client("kinesis", endpoint_url=url, region_name="us-east-1",
                                  aws_access_key_id=ACCESS_KEY,
                                  aws_secret_access_key=SECRET_KEY)
            if backend == "ray":
                name = "bench-http"
                try:
                    client.create_stream(StreamName=name, ShardCount=1)
                except client.exceptions.ResourceInUseException:
                    pass
            else:
                name = "bench-http"
                client.create_stream(StreamName=name, ShardCount=1)
            r = run_load(url, name, seconds)
            stored = count_via_boto3(url, name) - r["warmup"]
            client.delete_stream(StreamName=name)
            out.append({"target": f"rayemr aws serve --backend {backend}", **r,
                        "stored": stored})
        finally:
            proc.terminate()
            proc.wait(timeout=60)
            if backend == "ray":
                from rayemr.kinesis import actors

                actors.shutdown()
    import boto3

    moto = boto3.client("kinesis", endpoint_url=moto_url, region_name="us-east-1",
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    moto.create_stream(StreamName="bench-moto", ShardCount=1)
    r = run_load(moto_url, "bench-moto", seconds)
    out.append({"target": "moto server (Kinesis)", **r,
                "stored": count_via_boto3(moto_url, "bench-moto") - r["warmup"]})
    return out


# -- 3. put-to-get latency ---------------------------------------------------------------------
def latency(client, n: int = 300, every: float = 0.01) -> dict:
    name = f"lat-{uuid.uuid4().hex[:6]}"
    client.create_stream(StreamName=name, ShardCount=1, Tags={"rayemr:limits": "unlimited"})
    sid = "shardId-000000000000"
    it = client.get_shard_iterator(StreamName=name, ShardId=sid,
                                   ShardIteratorType="LATEST")["ShardIterator"]
    seen: list[float] = []
    done = threading.Event()

    def reader() -> None:
        nonlocal it
        while not done.is_set():
            page = client.get_records(ShardIterator=it, Limit=1000)
            now = time.perf_counter()
            seen.extend(now - float(r["Data"]) for r in page["Records"])
            it = page["NextShardIterator"]
            if len(seen) >= n:
                return

    t = threading.Thread(target=reader)
    t.start()
    for _ in range(n):
        client.put_record(StreamName=name, Data=repr(time.perf_counter()).encode(),
                          PartitionKey="k")
        time.sleep(every)
    t.join(timeout=120)
    done.set()
    client.delete_stream(StreamName=name)
    ms = sorted(x * 1000 for x in seen)
    return {"n": len(ms), "p50": statistics.median(ms),
            "p99": ms[min(len(ms) - 1, int(len(ms) * 0.99))]}


# -- the run ------------------------------------------------------------------------------------
def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_load":
        print(json.dumps(boto3_load(sys.argv[2], sys.argv[3], float(sys.argv[4]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--shards", default="1,2,4")
    parser.add_argument("--producers", type=int, default=8)
    parser.add_argument("--latency-records", type=int, default=300)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    os.environ.update({"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"})
    moto_port = free_port()
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(moto_port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    moto_url = f"http://127.0.0.1:{moto_port}"
    os.environ["AWS_ENDPOINT_URL_S3"] = moto_url  # S3 logs of the latency run, for Ray too
    loads = [load()]
    tmp = tempfile.mkdtemp(prefix="rayemr-kinesis-bench-")
    try:
        wait_port(moto_port)
        import boto3
        import ray

        import rayemr
        import rayemr.kinesis as kinesis
        from rayemr.kinesis import actors

        rayemr.init(num_cpus=2)
        address = ray.get_runtime_context().gcs_address
        py = []
        for mode, fsync in DURABILITY:
            client = kinesis.client("ray", kinesis.KinesisSettings(
                location=f"{tmp}/ray-{int(fsync)}", fsync=fsync))
            for s in args.shards.split(","):
                py.append({"mode": mode, **python_client(client, int(s), args.seconds,
                                                         args.producers)})
                print(py[-1], file=sys.stderr)
            actors.shutdown()
        loads.append(load())
        http = http_targets(args.seconds, moto_url, address, tmp)
        print(http, file=sys.stderr)
        loads.append(load())
        lat = {}
        client = kinesis.client("ray", kinesis.KinesisSettings(location=f"{tmp}/lat"))
        lat["local disk (fsync, group commit)"] = latency(client, args.latency_records)
        actors.shutdown()
        boto3.client("s3", endpoint_url=moto_url).create_bucket(Bucket="bench")
        client = kinesis.client("ray", kinesis.KinesisSettings(location="s3://bench/kinesis"))
        lat["S3 (moto on loopback, group commit 20 ms)"] = latency(client,
                                                                   args.latency_records)
        actors.shutdown()
        loads.append(load())
    finally:
        moto.terminate()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    text = report(py, http, lat, loads, args)
    print(text)
    if args.write:
        write_section(text)
    return 0


def wait_port(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("moto server did not start")


def report(py, http, lat, loads, args) -> str:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [f"`python bench/kinesis.py --seconds {args.seconds:g} --shards {args.shards} "
             f"--producers {args.producers}` ({when}; 2 cores shared with other work, load "
             f"average {', '.join(f'{x:.1f}' for x in loads)} at the start and after each "
             "part)", "",
             f"PutRecords of {BATCH} records of 1 KiB through the Python client "
             f"({args.producers} producer threads, shards as Ray actors, local-disk logs "
             "written by group commit, limits lifted); fsync survives power loss, flush only "
             "survives the actor or process dying:", "",
             "| local-disk log | shards | records/s | records | failed | stored = acknowledged |",
             "|---|---:|---:|---:|---:|:---:|"]
    for r in py:
        lines.append(f"| {r['mode']} | {r['shards']} | {r['rate']:,.0f} | {r['records']:,} "
                     f"| {r['failed']} | {'yes' if r['stored'] == r['records'] else 'NO'} |")
    ceiling = http[0]["rate"]
    lines += ["", "The same PutRecords calls from one boto3 client (its own process, one call "
              "at a time) to each endpoint, one after another:", "",
              "| endpoint | records/s | calls | x no-op ceiling | failed | stored = acknowledged |",
              "|---|---:|---:|---:|---:|:---:|"]
    for r in http:
        stored = "—" if r["stored"] is None else ("yes" if r["stored"] == r["records"]
                                                 else f"NO ({r['stored']})")
        lines.append(f"| {r['target']} | {r['rate']:,.0f} | {r['calls']} | "
                     f"{r['rate'] / ceiling:.2f}x | {r['failed']} | {stored} |")
    lines += ["", "Put-to-get latency (one record every 10 ms, a reader polling GetRecords, "
              "Python client on Ray):", "", "| logs | records | p50 (ms) | p99 (ms) |",
              "|---|---:|---:|---:|"]
    for mode, r in lat.items():
        lines.append(f"| {mode} | {r['n']} | {r['p50']:.1f} | {r['p99']:.1f} |")
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    path = ROOT / "bench" / "README.md"
    body = path.read_text()
    section = "## kinesis\n\n" + text
    if "## kinesis\n" in body:
        body = re.sub(r"## kinesis\n.*?(?=\n## |\Z)", section, body, flags=re.S)
    else:
        body = body.rstrip("\n") + "\n\n" + section
    path.write_text(body)


if __name__ == "__main__":
    sys.exit(main())
