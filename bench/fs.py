"""EMRFS read throughput against plain s3fs and pyarrow's native S3, side by side in one run.

Starts a real S3-compatible server on loopback (s3rver from npm by default, installed under
``~/.cache/rayemr-bench`` on first use; or moto's server), uploads a Parquet file and a text
file of ``--size`` bytes each, then reads both through

- EMRFS: ``compute_splits`` + ``read_parquet_split`` / ``read_text_batches`` (text split into
  Arrow line batches, exactly what a map task gets),
- plain s3fs: ``pq.read_table(path, filesystem=s3fs)`` / ``S3File.read`` in chunks,
- pyarrow native: ``pq.read_table(path, filesystem=pyarrow.fs.S3FileSystem)`` / input stream,

each reader with one client made once for the whole run (as EMRFS keeps its own), one untimed
warm-up read each, then interleaved with rotating order, ``--repeat`` times; it prints MB/s
(medians), the EMRFS / fastest-other ratio of the medians and of every repetition, the load
average, and fails if the readers disagree on the rows or lines read.

    python bench/fs.py                 # 1 GiB each, s3rver
    python bench/fs.py --size 256M --server moto
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from rayemr.fs import EmrfsConfig, compute_splits, read_parquet_split, read_text_batches
from rayemr.fs.config import parse_size
from rayemr.fs.parquet import clear_footer_cache
from rayemr.fs.resolve import clear_cache

CHUNK = 64 * 2**20
PART = 64 * 2**20
S3RVER_VERSION = "3.7.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(proc: subprocess.Popen, port: int, what: str) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with code {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{what} did not start")


@dataclass
class Server:
    proc: subprocess.Popen
    endpoint: str
    key: str
    secret: str


def start_moto(datadir: str) -> Server:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(proc, port, "moto server")
    return Server(proc, f"http://127.0.0.1:{port}", "testing", "testing-secret")


def s3rver_bin() -> str:
    """The s3rver script, installed with npm under the bench cache on first use."""
    cache = os.environ.get("RAYEMR_BENCH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "rayemr-bench")
    script = os.path.join(cache, "node_modules", "s3rver", "bin", "s3rver.js")
    if not os.path.exists(script):
        if not shutil.which("npm"):
            raise SystemExit("--server s3rver needs node and npm (or use --server moto)")
        print(f"installing s3rver@{S3RVER_VERSION} under {cache} ...", flush=True)
        subprocess.run(["npm", "install", "--prefix", cache, "--no-audit", "--no-fund",
                        "--loglevel=error", f"s3rver@{S3RVER_VERSION}"], check=True,
                       stdout=subprocess.DEVNULL)
    return script


def start_s3rver(datadir: str) -> Server:
    script = s3rver_bin()
    port = free_port()
    proc = subprocess.Popen(["node", script, "-d", datadir, "-a", "127.0.0.1", "-p", str(port),
                             "-s", "--no-vhost-buckets"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(proc, port, "s3rver")
    return Server(proc, f"http://127.0.0.1:{port}", "S3RVER", "S3RVER")


SERVERS = {"s3rver": start_s3rver, "moto": start_moto}


def server_cpu(server: Server) -> float:
    """CPU seconds (user + system) the server process has used so far (Linux /proc)."""
    try:
        with open(f"/proc/{server.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def upload(server: Server, local: str, bucket: str, key: str) -> int:
    """Multipart upload of a local file with plain botocore; returns the stored size.

    Checksums only when required: s3rver does not decode aws-chunked bodies, which botocore
    and the AWS C++ SDK send when they add a checksum trailer.
    """
    import botocore.session
    from botocore.config import Config

    client = botocore.session.get_session().create_client(
        "s3", endpoint_url=server.endpoint, region_name="us-east-1",
        aws_access_key_id=server.key, aws_secret_access_key=server.secret,
        config=Config(request_checksum_calculation="when_required",
                      response_checksum_validation="when_required",
                      s3={"addressing_style": "path"}))
    try:
        client.create_bucket(Bucket=bucket)
    except client.exceptions.ClientError as exc:
        if "BucketAlready" not in str(exc):
            raise
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = []
    with open(local, "rb") as f:
        while chunk := f.read(PART):
            n = len(parts) + 1
            etag = client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=n,
                                      Body=chunk)["ETag"]
            parts.append({"ETag": etag, "PartNumber": n})
    client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id,
                                     MultipartUpload={"Parts": parts})
    return client.head_object(Bucket=bucket, Key=key)["ContentLength"]


def make_text(path: str, size: int) -> None:
    words = np.array([w.encode() for w in (
        "the quick brown fox jumps over lazy dog emr hadoop hive ray arrow s3 split line "
        "record reader committer yarn map reduce shuffle").split()], dtype=object)
    rng = np.random.default_rng(1)
    with open(path, "wb") as f:
        written = 0
        while written < size:
            picks = words[rng.integers(0, len(words), size=(20000, 12))]
            block = b"".join(b" ".join(row) + b"\n" for row in picks)
            block = block[: size - written] if written + len(block) > size else block
            f.write(block)
            written += len(block)


def make_parquet(path: str, size: int) -> int:
    rng = np.random.default_rng(2)
    rows_per_group = 1_000_000
    tags = pa.array([f"tag-{i}" for i in range(100)])
    rows = 0
    with pq.ParquetWriter(path, pa.schema([("id", pa.int64()), ("x", pa.float64()),
                                           ("y", pa.int64()), ("tag", pa.string())]),
                          compression="snappy") as writer:
        while os.path.exists(path) and os.path.getsize(path) < size - 8 * 2**20:
            n = rows_per_group
            table = pa.table({
                "id": pa.array(np.arange(rows, rows + n, dtype=np.int64)),
                "x": pa.array(rng.random(n)),
                "y": pa.array(rng.integers(0, 2**62, n)),
                "tag": tags.take(pa.array(rng.integers(0, 100, n))),
            })
            writer.write_table(table, row_group_size=n)
            rows += n
    return rows


def arrow_s3(server: Server) -> pafs.S3FileSystem:
    return pafs.S3FileSystem(endpoint_override=server.endpoint.split("://")[1], scheme="http",
                             region="us-east-1", access_key=server.key, secret_key=server.secret)


def s3fs_fs(server: Server):
    import s3fs

    return s3fs.S3FileSystem(endpoint_url=server.endpoint, key=server.key,
                             secret=server.secret, skip_instance_cache=True)


# -- readers: each returns (bytes read, rows or lines) ---------------------------------------
def emrfs_parquet(url, size, cfg):
    clear_footer_cache()
    rows = sum(read_parquet_split(s, config=cfg).num_rows
               for s in compute_splits(url, config=cfg))
    return size, rows


def s3fs_parquet(url, size, fs):
    return size, pq.read_table(url.split("://", 1)[1], filesystem=fs).num_rows


def arrow_parquet(url, size, fs):
    return size, pq.read_table(url.split("://", 1)[1], filesystem=fs).num_rows


def emrfs_text(url, size, cfg):
    lines = 0
    for split in compute_splits(url, config=cfg):
        for batch in read_text_batches(split, config=cfg):
            lines += batch.num_rows
    return size, lines


def count_lines(f) -> int:
    """Lines in a stream (a last line without a newline counts), read in CHUNK pieces."""
    lines, last = 0, b"\n"
    while chunk := f.read(CHUNK):
        lines += chunk.count(b"\n")
        last = chunk[-1:]
    return lines + (last != b"\n")


def s3fs_text(url, size, fs):
    with fs.open(url.split("://", 1)[1], "rb", block_size=CHUNK) as f:
        return size, count_lines(f)


def arrow_text(url, size, fs):
    with fs.open_input_stream(url.split("://", 1)[1]) as f:
        return size, count_lines(f)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1G", help="bytes per file (default 1G)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1,
                        help="untimed reads per reader first (sessions, pools, caches)")
    parser.add_argument("--server", choices=sorted(SERVERS), default="s3rver",
                        help="loopback S3 server (default s3rver; moto copies the whole "
                             "object for every ranged GET)")
    parser.add_argument("--read-block", default=None,
                        help="EMRFS fs.s3.read.block.size for text splits (default: EMRFS's)")
    parser.add_argument("--only", choices=("parquet", "text"))
    args = parser.parse_args(argv)
    size = parse_size("--size", args.size)

    tmp = tempfile.mkdtemp(prefix="rayemr-bench-fs-")
    server, failed = None, False
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop the server
    try:
        server = SERVERS[args.server](os.path.join(tmp, "s3"))
        os.environ.update(AWS_ACCESS_KEY_ID=server.key, AWS_SECRET_ACCESS_KEY=server.secret,
                          AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=server.endpoint,
                          AWS_EC2_METADATA_DISABLED="true")
        os.environ.pop("AWS_ENDPOINT_URL_S3", None)
        clear_cache()
        print(f"S3 server: {args.server} at {server.endpoint}; load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        files = {}
        kinds = [args.only] if args.only else ["parquet", "text"]
        for kind in kinds:
            local = os.path.join(tmp, f"data.{'parquet' if kind == 'parquet' else 'txt'}")
            t0 = time.time()
            (make_parquet if kind == "parquet" else make_text)(local, size)
            actual = os.path.getsize(local)
            stored = upload(server, local, "bench", os.path.basename(local))
            if stored != actual:
                raise SystemExit(f"{kind}: server stored {stored} bytes of {actual}")
            os.remove(local)
            files[kind] = (f"s3://bench/{os.path.basename(local)}", actual)
            print(f"{kind}: {actual / 2**20:.0f} MiB generated and uploaded in "
                  f"{time.time() - t0:.0f} s", flush=True)
        props = {"fs.s3.read.block.size": args.read_block} if args.read_block else {}
        cfg = EmrfsConfig.from_properties(props)
        # every reader keeps one client for the whole run, as EMRFS keeps its own
        s3fs_client, arrow_client = s3fs_fs(server), arrow_s3(server)
        readers = {
            "parquet": [("EMRFS", emrfs_parquet, cfg), ("s3fs", s3fs_parquet, s3fs_client),
                        ("pyarrow S3", arrow_parquet, arrow_client)],
            "text": [("EMRFS", emrfs_text, cfg), ("s3fs", s3fs_text, s3fs_client),
                     ("pyarrow S3", arrow_text, arrow_client)],
        }
        results: dict[tuple[str, str], list[float]] = {}
        ratios: dict[str, list[float]] = {}
        counts: dict[tuple[str, str], int] = {}
        cpu: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(args.warmup):
            for kind in kinds:
                for name, fn, arg in readers[kind]:
                    fn(*files[kind], arg)
        for rep in range(args.repeat):
            for kind in kinds:
                url, nbytes = files[kind]
                order = readers[kind][rep % 3:] + readers[kind][:rep % 3]  # rotate
                speeds = {}
                for name, fn, arg in order:
                    c0, s0, t0 = time.process_time(), server_cpu(server), time.perf_counter()
                    nread, count = fn(url, nbytes, arg)
                    dt = time.perf_counter() - t0
                    gib = nread / 2**30
                    cpu.setdefault((kind, name), []).append(
                        ((time.process_time() - c0) / gib, (server_cpu(server) - s0) / gib))
                    speeds[name] = nread / dt / 1e6
                    results.setdefault((kind, name), []).append(speeds[name])
                    prev = counts.setdefault((kind, name), count)
                    assert prev == count, (kind, name, prev, count)
                ratio = speeds["EMRFS"] / max(speeds["s3fs"], speeds["pyarrow S3"])
                ratios.setdefault(kind, []).append(ratio)
                print(f"  rep {rep + 1} {kind:7s} " + "  ".join(
                    f"{name} {speeds[name]:6.1f}" for name, _, _ in readers[kind])
                    + f" MB/s  ratio {ratio:.2f}x  load {os.getloadavg()[0]:.2f}", flush=True)
        print()
        print(f"| file ({size / 2**20:.0f} MiB, {args.server}) | EMRFS MB/s | s3fs MB/s | "
              "pyarrow S3 MB/s | EMRFS / fastest other (medians) | per-repeat ratios |")
        print("|---|---|---|---|---|---|")
        for kind in kinds:
            med = {name: statistics.median(results[(kind, name)])
                   for name, _, _ in readers[kind]}
            best_other = max(med["s3fs"], med["pyarrow S3"])
            ratio = med["EMRFS"] / best_other
            print(f"| {kind} | {med['EMRFS']:.0f} | {med['s3fs']:.0f} | "
                  f"{med['pyarrow S3']:.0f} | {ratio:.2f}x "
                  f"({'met' if ratio >= 0.9 else 'NOT met'}) | "
                  f"{', '.join(f'{r:.2f}' for r in ratios[kind])} |")
            lines = {counts[(kind, n)] for n, _, _ in readers[kind]}
            if len(lines) != 1:
                print(f"  ERROR: {kind} readers disagree on the count: {lines}")
                failed = True
        print()
        print("CPU seconds per GiB read (medians; client = this process, all threads; server = "
              "the S3 server process):")
        for kind in kinds:
            print(f"  {kind:7s} " + "   ".join(
                f"{name}: client {statistics.median(c for c, _ in cpu[(kind, name)]):.2f}, "
                f"server {statistics.median(s for _, s in cpu[(kind, name)]):.2f}"
                for name, _, _ in readers[kind]))
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if server is not None:
            server.proc.terminate()
            server.proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
