"""MapReduce benchmarks, side by side in one run (see bench/README.md, ## mapreduce).

    python bench/mapreduce.py                      # 1 GiB of Zipf words, everything
    python bench/mapreduce.py --size-mb 256 --only wordcount,terasort

Word count over generated text (fixed seed, Zipf-distributed words, whitespace tokens):
``collections.Counter`` in one process; rayemr's mrjob-style job and vectorized job on a local
Ray instance with 2 CPUs (through YARN containers); PySpark ``local[2]`` RDD and DataFrame;
DuckDB with 2 threads; mrjob's own local runner on a subset. Then TeraGen + TeraSort of the
same size, and the latency of a one-line job on the warm cluster. Throughput = input bytes /
wall time. Results print as a Markdown table.
"""
from __future__ import annotations

import argparse
import collections
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MB = 1 << 20


def generate_text(path: str, size: int, seed: int = 1) -> int:
    """Zipf(1.3) words over a 200k-word vocabulary, 12 words a line, ``size`` bytes."""
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
    lens = rng.integers(2, 10, size=200_000)
    vocab = [bytes(letters[rng.integers(0, 26, size=n)]) for n in lens]
    vocab_arr = np.array(vocab, dtype=object)
    written = 0
    with open(path, "wb") as f:
        while written < size:
            idx = np.minimum(rng.zipf(1.3, size=1_200_000) - 1, len(vocab) - 1)
            words = vocab_arr[idx].reshape(-1, 12)
            chunk = b"\n".join(b" ".join(row) for row in words) + b"\n"
            chunk = chunk[: size - written]
            if written + len(chunk) >= size:
                chunk = chunk[: chunk.rfind(b"\n") + 1]
                f.write(chunk)
                written += len(chunk)
                break
            f.write(chunk)
            written += len(chunk)
    return written


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def bench_counter_str(path):
    c = collections.Counter()
    with open(path, encoding="utf-8") as f:
        for line in f:
            c.update(line.split())
    return len(c)


def bench_counter(path):
    c = collections.Counter()
    with open(path, "rb") as f:
        for line in f:
            c.update(line.split())
    return len(c)


WC_JOB = '''
from rayemr.mapreduce import MRJob


class MRWordCount(MRJob):
    def mapper(self, _, line):
        for word in line.split():
            yield word, 1

    def combiner(self, word, counts):
        yield word, sum(counts)

    def reducer(self, word, counts):
        yield word, sum(counts)
'''

VEC_JOB = '''
import pyarrow as pa
import pyarrow.compute as pc
from rayemr.mapreduce import BatchJob


class WordCountVectorized(BatchJob):
    REDUCE = {"n": "count"}

    def map_batch(self, batch):
        words = pc.ascii_split_whitespace(batch["line"]).flatten()
        return pa.table({"key": words})
'''


def _job(src: str, tmp: str, name: str):
    from rayemr.mapreduce.loading import load_job_file

    path = os.path.join(tmp, f"{name}.py")
    with open(path, "w") as f:
        f.write(src)
    return load_job_file(path)


def bench_rayemr(job_cls, path, out, split_mb, reducers=2, yarn=True):
    from rayemr.mapreduce.runner import JobRunner

    job = job_cls(args=[])
    conf = {"mapreduce.input.fileinputformat.split.maxsize": str(split_mb * MB)}
    if not yarn:
        conf["rayemr.mapreduce.yarn"] = "false"
    with JobRunner(job, runner="local", inputs=[path], output_dir=out, num_reducers=reducers,
                   conf=conf) as r:
        r.run()
        n = sum(1 for _ in b"".join(r.cat_output()).splitlines())
    shutil.rmtree(out, ignore_errors=True)
    return n


def bench_duckdb(path):
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads TO 2")
    q = f"""SELECT count(*) FROM (SELECT w, count(*) FROM (
              SELECT unnest(string_split_regex(trim(line), '\\s+')) AS w
              FROM read_csv('{path}', columns={{'line': 'VARCHAR'}}, delim='\\x01',
                            header=false, quote='', escape='')) GROUP BY w)"""
    return con.execute(q).fetchone()[0]


def spark_session():
    from pyspark.sql import SparkSession

    return (SparkSession.builder.master("local[2]").appName("bench")
            .config("spark.driver.memory", "4g").config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate())


def bench_spark_rdd(spark, path):
    from operator import add

    rdd = spark.sparkContext.textFile(path)
    return rdd.flatMap(lambda line: line.split()).map(lambda w: (w, 1)).reduceByKey(add).count()


def bench_spark_df(spark, path):
    from pyspark.sql import functions as F

    df = spark.read.text(path)
    words = df.select(F.explode(F.split(F.trim(df.value), r"\s+")).alias("w"))
    return words.groupBy("w").count().count()


def bench_mrjob(path, tmp):
    job = os.path.join(tmp, "mrjob_wc.py")
    with open(job, "w") as f:
        f.write(WC_JOB.replace("from rayemr.mapreduce import MRJob", "from mrjob.job import MRJob")
                + "\nif __name__ == '__main__':\n    MRWordCount.run()\n")
    proc = subprocess.run([sys.executable, job, "-r", "local", path, "--num-cores", "2"],
                          capture_output=True, timeout=3600)
    if proc.returncode:
        raise RuntimeError(proc.stderr.decode()[-2000:])
    return len(proc.stdout.splitlines())


def bench_terasort(tmp, size, split_mb):
    from rayemr.mapreduce.tera import teragen, terasort, teravalidate

    src, dst = os.path.join(tmp, "tera-in"), os.path.join(tmp, "tera-out")
    records = size // 100
    gen_s, _ = timed(lambda: teragen(src, records, num_maps=4))
    sort_s, _ = timed(lambda: terasort(src, dst, num_reducers=4, split_size=split_mb * MB))
    val_s, check = timed(lambda: teravalidate(dst, split_size=split_mb * MB))
    if check.ok:
        source = teravalidate(src, split_size=split_mb * MB)
        if (source.records, source.checksum) != (check.records, check.checksum):
            check = type(check)(check.records, check.checksum,
                                ("checksum or record count differs from the input",))
    shutil.rmtree(src, ignore_errors=True)
    shutil.rmtree(dst, ignore_errors=True)
    return gen_s, sort_s, val_s, check


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def summary(rows: list, latency: dict) -> list[str]:
    """The issue's targets, as ratios of the throughputs measured side by side."""
    mbs = {name: rate for name, _s, rate, _n in rows}

    def ratio(a: str, b: str, target: float, what: str) -> str:
        if a not in mbs or b not in mbs:
            return f"- {what}: not measured"
        r = mbs[a] / mbs[b]
        return f"- {what}: {r:.2f}x (target >= {target:g}x): {'met' if r >= target else 'NOT met'}"

    out = [ratio(MRSTYLE, COUNTER_STR, 1.0, "MRJob word count / Counter (str lines)"),
           ratio(MRSTYLE, COUNTER_BYTES, 1.0, "MRJob word count / Counter (bytes lines)"),
           ratio(MRSTYLE, SPARK_RDD, 1.0, "MRJob word count / PySpark RDD"),
           ratio(VECTOR, DUCKDB, 0.5, "BatchJob word count / DuckDB"),
           ratio(VECTOR, SPARK_DF, 2.0, "BatchJob word count / PySpark DataFrame")]
    if "TeraSort" in mbs:
        r = mbs["TeraSort"]
        out.append(f"- TeraSort: {r:.1f} MB/s (target >= 50): {'met' if r >= 50 else 'NOT met'}")
    for how, times in latency.items():
        med = sorted(times[1:])[len(times[1:]) // 2] * 1000
        out.append(f"- one-line job, warm cluster, {how}: median {med:.0f} ms, best "
                   f"{min(times[1:]) * 1000:.0f} ms (target <= 100 ms): "
                   f"{'met' if med <= 100 else 'NOT met'}")
    return out


COUNTER_STR = "collections.Counter, str lines (1 process)"
COUNTER_BYTES = "collections.Counter, bytes lines (1 process)"
MRSTYLE = "rayemr MRJob word count (2 CPUs)"
VECTOR = "rayemr BatchJob word count (2 CPUs)"
DUCKDB = "DuckDB SQL word count (2 threads)"
SPARK_RDD = "PySpark RDD word count (local[2])"
SPARK_DF = "PySpark DataFrame word count (local[2])"


def bench_one_line(tmp, job_cls, yarn=True):
    path = os.path.join(tmp, "one.txt")
    with open(path, "w") as f:
        f.write("hello world hello\n")
    times = []
    for i in range(6):
        s, _ = timed(lambda: bench_rayemr(job_cls, path, os.path.join(tmp, f"one-{i}"), 64, 1,
                                          yarn=yarn))
        times.append(s)
    return times


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--size-mb", type=int, default=1024)
    p.add_argument("--split-mb", type=int, default=64)
    p.add_argument("--mrjob-mb", type=int, default=32, help="subset for mrjob's local runner")
    p.add_argument("--only", default="", help="comma list: counter,mrstyle,vectorized,duckdb,"
                                               "spark_rdd,spark_df,mrjob,terasort,latency")
    p.add_argument("--tmp", default=None)
    a = p.parse_args()
    only = set(filter(None, a.only.split(",")))
    want = (lambda k: not only or k in only)

    import rayemr

    tmp = tempfile.mkdtemp(prefix="rayemr-bench-", dir=a.tmp)
    rows = []
    latency: dict[str, list[float]] = {}
    started = time.perf_counter()
    try:
        path = os.path.join(tmp, "words.txt")
        size = generate_text(path, a.size_mb * MB)
        print(f"# input: {size / MB:.0f} MiB of Zipf words; machine: {platform.machine()}, "
              f"{os.cpu_count()} CPUs, Python {platform.python_version()}; load average "
              f"{load_average()}", flush=True)

        def add(name, secs, nbytes=size, note=""):
            rows.append((name, secs, nbytes / MB / secs, note))
            print(f"{name:<40} {secs:8.2f} s {nbytes / MB / secs:8.1f} MB/s  {note}", flush=True)

        rayemr.init(num_cpus=2)
        wc_cls = _job(WC_JOB, tmp, "wc")
        vec_cls = _job(VEC_JOB, tmp, "vec")
        warm = os.path.join(tmp, "warm.txt")
        with open(warm, "w") as f:
            f.write("warm up the cluster and the YARN services\n")
        bench_rayemr(wc_cls, warm, os.path.join(tmp, "warm-out"), a.split_mb)
        if want("counter"):
            s, n = timed(lambda: bench_counter(path))
            add(COUNTER_BYTES, s, note=f"{n} words")
        if want("mrstyle"):
            s, n = timed(lambda: bench_rayemr(wc_cls, path, os.path.join(tmp, "o1"), a.split_mb))
            add(MRSTYLE, s, note=f"{n} words")
        if want("counter"):
            s, n = timed(lambda: bench_counter_str(path))
            add(COUNTER_STR, s, note=f"{n} words")
        if want("vectorized"):
            s, n = timed(lambda: bench_rayemr(vec_cls, path, os.path.join(tmp, "o2"),
                                              a.split_mb))
            add(VECTOR, s, note=f"{n} words")
        if want("latency"):
            for yarn in (True, False):
                times = bench_one_line(tmp, wc_cls, yarn)
                best = min(times[1:])
                how = "YARN application" if yarn else "plain Ray tasks"
                latency[how] = times
                rows.append((f"one-line job, warm cluster ({how})", best, 0, ""))
                print(f"one-line job on the warm cluster, {how}: median "
                      f"{sorted(times[1:])[len(times[1:]) // 2] * 1000:.0f} ms, best "
                      f"{best * 1000:.0f} ms ({', '.join(f'{t * 1000:.0f}' for t in times)})",
                      flush=True)
        if want("terasort"):
            gen_s, sort_s, val_s, check = bench_terasort(tmp, size, a.split_mb)
            add("TeraGen", gen_s)
            add("TeraSort", sort_s, note="validated OK" if check.ok else
                f"VALIDATION FAILED {check.errors[:2]}")
            add("TeraValidate", val_s)
        rayemr.shutdown()
        if want("duckdb"):
            s, n = timed(lambda: bench_duckdb(path))
            add(DUCKDB, s, note=f"{n} words")
        if (want("spark_rdd") or want("spark_df")) and not _installed("pyspark"):
            print("PySpark is not installed (pip install 'rayemr[bench]'): skipped", flush=True)
        elif want("spark_rdd") or want("spark_df"):
            spark = spark_session()
            try:
                if want("spark_rdd"):
                    s, n = timed(lambda: bench_spark_rdd(spark, path))
                    add(SPARK_RDD, s, note=f"{n} words")
                if want("spark_df"):
                    s, n = timed(lambda: bench_spark_df(spark, path))
                    add(SPARK_DF, s, note=f"{n} words")
            finally:
                spark.stop()
        if want("mrjob") and not _installed("mrjob"):
            print("mrjob is not installed (pip install 'rayemr[bench]'): skipped", flush=True)
        elif want("mrjob"):
            sub = os.path.join(tmp, "subset.txt")
            with open(path, "rb") as f, open(sub, "wb") as g:
                data = f.read(a.mrjob_mb * MB)
                g.write(data[: data.rfind(b"\n") + 1])
            n_sub = os.path.getsize(sub)
            s, n = timed(lambda: bench_mrjob(sub, tmp))
            add(f"mrjob local runner ({n_sub / MB:.0f} MiB subset)", s, n_sub, f"{n} words")
        print(f"\n# targets ({time.perf_counter() - started:.0f} s in all; load average "
              f"{load_average()})")
        print("\n".join(summary(rows, latency)), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
