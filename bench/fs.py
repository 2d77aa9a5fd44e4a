"""EMRFS read throughput against plain s3fs and pyarrow's native S3, side by side in one run.

Starts moto's S3 server in a subprocess on loopback, uploads a Parquet file and a text file of
``--size`` bytes each, then reads both through

- EMRFS: ``compute_splits`` + ``read_parquet_split`` / ``read_text_batches`` (text split into
  Arrow line batches, exactly what a map task gets),
- plain s3fs: ``pq.read_table(path, filesystem=s3fs)`` / ``S3File.read`` in chunks,
- pyarrow native: ``pq.read_table(path, filesystem=pyarrow.fs.S3FileSystem)`` / input stream,

interleaved, ``--repeat`` times, and prints MB/s (median) and EMRFS / fastest-other ratios.

    python bench/fs.py                 # 1 GiB each
    python bench/fs.py --size 256M     # smaller
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from rayemr.fs import EmrfsConfig, compute_splits, read_parquet_split, read_text_batches
from rayemr.fs.config import parse_size
from rayemr.fs.parquet import clear_footer_cache
from rayemr.fs.resolve import clear_cache

CHUNK = 64 * 2**20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("moto server did not start")


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


def arrow_s3(endpoint: str) -> pafs.S3FileSystem:
    return pafs.S3FileSystem(endpoint_override=endpoint.split("://")[1], scheme="http",
                             region="us-east-1", access_key="testing", secret_key="testing-secret",
                             allow_bucket_creation=True)


def s3fs_fs(endpoint: str):
    import s3fs

    return s3fs.S3FileSystem(endpoint_url=endpoint, key="testing", secret="testing-secret",
                             skip_instance_cache=True)


# -- readers: each returns (bytes read, rows or lines) ---------------------------------------
def emrfs_parquet(url, size, cfg):
    clear_footer_cache()
    rows = sum(read_parquet_split(s, config=cfg).num_rows
               for s in compute_splits(url, config=cfg))
    return size, rows


def s3fs_parquet(url, size, endpoint):
    return size, pq.read_table(url.split("://", 1)[1], filesystem=s3fs_fs(endpoint)).num_rows


def arrow_parquet(url, size, endpoint):
    return size, pq.read_table(url.split("://", 1)[1], filesystem=arrow_s3(endpoint)).num_rows


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


def s3fs_text(url, size, endpoint):
    with s3fs_fs(endpoint).open(url.split("://", 1)[1], "rb", block_size=CHUNK) as f:
        return size, count_lines(f)


def arrow_text(url, size, endpoint):
    with arrow_s3(endpoint).open_input_stream(url.split("://", 1)[1]) as f:
        return size, count_lines(f)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1G", help="bytes per file (default 1G)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1,
                        help="untimed reads per reader first (sessions, pools, caches)")
    parser.add_argument("--read-block", default="64M",
                        help="EMRFS fs.s3.read.block.size for text splits (default 64M)")
    parser.add_argument("--only", choices=("parquet", "text"))
    args = parser.parse_args(argv)
    size = parse_size("--size", args.size)

    proc, endpoint = start_moto()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop the server
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing-secret",
                      AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint,
                      AWS_EC2_METADATA_DISABLED="true")
    os.environ.pop("AWS_ENDPOINT_URL_S3", None)
    clear_cache()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            s3 = arrow_s3(endpoint)
            s3.create_dir("bench")
            files = {}
            kinds = [args.only] if args.only else ["parquet", "text"]
            for kind in kinds:
                local = os.path.join(tmp, f"data.{'parquet' if kind == 'parquet' else 'txt'}")
                t0 = time.time()
                (make_parquet if kind == "parquet" else make_text)(local, size)
                actual = os.path.getsize(local)
                pafs.copy_files(local, f"bench/{os.path.basename(local)}",
                                destination_filesystem=s3)
                os.remove(local)
                files[kind] = (f"s3://bench/{os.path.basename(local)}", actual)
                print(f"{kind}: {actual / 2**20:.0f} MiB generated and uploaded in "
                      f"{time.time() - t0:.0f} s", flush=True)
            cfg = EmrfsConfig.from_properties({"fs.s3.read.block.size": args.read_block})
            readers = {
                "parquet": [("EMRFS", emrfs_parquet, cfg), ("s3fs", s3fs_parquet, endpoint),
                            ("pyarrow S3", arrow_parquet, endpoint)],
                "text": [("EMRFS", emrfs_text, cfg), ("s3fs", s3fs_text, endpoint),
                         ("pyarrow S3", arrow_text, endpoint)],
            }
            results: dict[tuple[str, str], list[float]] = {}
            counts: dict[tuple[str, str], int] = {}
            for _ in range(args.warmup):
                for kind in kinds:
                    for name, fn, arg in readers[kind]:
                        fn(*files[kind], arg)
            for rep in range(args.repeat):
                for kind in kinds:
                    url, nbytes = files[kind]
                    order = readers[kind][rep % 3:] + readers[kind][:rep % 3]  # rotate
                    for name, fn, arg in order:
                        t0 = time.perf_counter()
                        nread, count = fn(url, nbytes, arg)
                        dt = time.perf_counter() - t0
                        results.setdefault((kind, name), []).append(nread / dt / 1e6)
                        prev = counts.setdefault((kind, name), count)
                        assert prev == count, (kind, name, prev, count)
                        print(f"  rep {rep + 1} {kind:7s} {name:10s} {nread / dt / 1e6:8.1f} MB/s"
                              f"  ({count} {'rows' if kind == 'parquet' else 'lines'})",
                              flush=True)
            print()
            print(f"| file ({size / 2**20:.0f} MiB) | EMRFS MB/s | s3fs MB/s | pyarrow S3 MB/s "
                  "| EMRFS / fastest other |")
            print("|---|---|---|---|---|")
            for kind in kinds:
                med = {name: statistics.median(results[(kind, name)])
                       for name, _, _ in readers[kind]}
                best_other = max(med["s3fs"], med["pyarrow S3"])
                print(f"| {kind} | {med['EMRFS']:.0f} | {med['s3fs']:.0f} | "
                      f"{med['pyarrow S3']:.0f} | {med['EMRFS'] / best_other:.2f}x |")
                lines = {counts[(kind, n)] for n, _, _ in readers[kind]}
                if len(lines) != 1:
                    print(f"  WARNING: {kind} readers disagree on the count: {lines}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
