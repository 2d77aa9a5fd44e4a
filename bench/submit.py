"""Submitting to a cluster that stays up (``rayemr start``), from fresh processes.

Side by side in one run, on a warm 2-CPU cluster (private ``RAYEMR_HOME``, free ports):

- fixed cost of a one-line mrjob-style job (``python oneline.py -r local in -o out``) and of
  ``rayemr hive -S -e "SELECT 1"``, each a fresh process: through the cluster's gateway, and
  the attach-per-job path (``RAY_ADDRESS`` set: the process joins Ray and drives the job);
  a bare ``python -c pass`` for reference;
- a mrjob-style word count over ``--size-mb`` MiB of Zipf text from a fresh process, through
  the gateway and attached, against a fresh process counting the same file with
  ``collections.Counter`` and writing its counts (answers checked: same words, same total).

Bytecode is compiled first (as ``pip install`` does), so fresh processes do not compile
rayemr's sources. Run: ``python bench/submit.py [--size-mb 240] [--runs 7]``.
"""
from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MB = 1 << 20

ONE_LINE_JOB = '''
from rayemr.mapreduce import MRJob


class OneLine(MRJob):
    def mapper(self, _, line):
        yield line, 1

    def reducer(self, key, values):
        yield key, sum(values)


if __name__ == "__main__":
    OneLine.run()
'''

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


if __name__ == "__main__":
    MRWordCount.run()
'''

COUNTER = '''
import collections, sys
c = collections.Counter()
with open(sys.argv[1], "rb") as f:
    for line in f:
        c.update(line.split())
with open(sys.argv[2], "wb") as out:
    out.writelines(b"%s\\t%d\\n" % kv for kv in c.items())
'''


def _generate_text():
    spec = importlib.util.spec_from_file_location("bench_mapreduce",
                                                  os.path.join(HERE, "mapreduce.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_text


def load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


class Bench:
    def __init__(self, tmp: str) -> None:
        self.tmp = tmp
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("RAY_ADDRESS", "PYTHONDONTWRITEBYTECODE", "RAYEMR_NO_CLUSTER")}
        self.env.update(RAYEMR_HOME=os.path.join(tmp, "home"), PYTHONPATH=ROOT)

    def run(self, argv: list[str], *, env: dict | None = None, check: bool = True,
            timeout: float = 1800) -> tuple[float, subprocess.CompletedProcess]:
        t = time.perf_counter()
        proc = subprocess.run(argv, cwd=self.tmp, env=env or self.env, capture_output=True,
                              timeout=timeout)
        seconds = time.perf_counter() - t
        if check and proc.returncode != 0:
            raise RuntimeError(f"{argv} failed ({proc.returncode}): "
                               f"{proc.stderr.decode(errors='replace')[-2000:]}")
        return seconds, proc

    def rayemr(self, *argv: str, **kw):
        return self.run([sys.executable, "-m", "rayemr.cli", *argv], **kw)


def fixed_costs(b: Bench, attached_env: dict, runs: int) -> dict[str, list[float]]:
    with open(os.path.join(b.tmp, "one.txt"), "w") as f:
        f.write("hello world\n")
    with open(os.path.join(b.tmp, "oneline.py"), "w") as f:
        f.write(ONE_LINE_JOB)
    cases = {
        "python -c pass": ([sys.executable, "-c", "pass"], b.env),
        "one-line job, gateway": ([sys.executable, "oneline.py", "-r", "local", "-q",
                                   "one.txt", "-o", "OUT"], b.env),
        "hive SELECT 1, gateway": ([sys.executable, "-m", "rayemr.cli", "hive", "-S", "-e",
                                    "SELECT 1"], b.env),
        "one-line job, attach per job": ([sys.executable, "oneline.py", "-r", "local", "-q",
                                          "one.txt", "-o", "OUT"], attached_env),
        "hive SELECT 1, attach per job": ([sys.executable, "-m", "rayemr.cli", "hive", "-S",
                                           "-e", "SELECT 1"], attached_env),
    }
    times: dict[str, list[float]] = {k: [] for k in cases}
    for i in range(runs + 1):  # the first round warms up and is not counted
        for name, (argv, env) in cases.items():
            argv = [a.replace("OUT", f"one-out-{i}-{len(times[name])}") for a in argv]
            seconds, proc = b.run(argv, env=env)
            if "SELECT 1" in name:
                assert proc.stdout.decode().strip() == "1", proc.stdout
            if i:
                times[name].append(seconds)
    return times


def read_counts(folder: str) -> dict[bytes, int]:
    counts: dict[bytes, int] = {}
    for name in sorted(os.listdir(folder)):
        if not name.startswith("part-"):
            continue
        with open(os.path.join(folder, name), "rb") as f:
            for line in f:
                key, value = line.rstrip(b"\n").split(b"\t")
                counts[json.loads(key).encode()] = int(value)
    return counts


def word_count(b: Bench, attached_env: dict, size_mb: int, split_mb: int
               ) -> dict[str, float]:
    path = os.path.join(b.tmp, "words.txt")
    size = _generate_text()(path, size_mb * MB)
    with open(os.path.join(b.tmp, "wc.py"), "w") as f:
        f.write(WC_JOB)
    with open(os.path.join(b.tmp, "counter.py"), "w") as f:
        f.write(COUNTER)
    split = f"mapreduce.input.fileinputformat.split.maxsize={split_mb * MB}"
    job = [sys.executable, "wc.py", "-r", "local", "-q", "words.txt", "--num-reducers", "2",
           "--conf", split, "-o"]
    out: dict[str, float] = {"size_mb": size / MB}
    b.run([sys.executable, "counter.py", "words.txt", "counts-warm.tsv"])  # page cache
    for name, argv, env in (
            ("Counter, fresh process", [sys.executable, "counter.py", "words.txt",
                                        "counts.tsv"], b.env),
            ("word count, gateway", job + ["wc-gateway"], b.env),
            ("word count, attach per job", job + ["wc-attached"], attached_env)):
        seconds, _ = b.run(argv, env=env)
        out[name] = seconds
        print(f"  {name:<32} {seconds:7.2f} s", flush=True)
    expected: dict[bytes, int] = {}
    with open(os.path.join(b.tmp, "counts.tsv"), "rb") as f:
        for line in f:
            key, value = line.rstrip(b"\n").split(b"\t")
            expected[key] = int(value)
    for folder in ("wc-gateway", "wc-attached"):
        got = read_counts(os.path.join(b.tmp, folder))
        assert got == expected, f"{folder}: {len(got)} words vs Counter's {len(expected)}"
    out["words"] = len(expected)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size-mb", type=int, default=240)
    p.add_argument("--split-mb", type=int, default=32)
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--skip-wordcount", action="store_true")
    a = p.parse_args()
    compileall.compile_dir(os.path.join(ROOT, "rayemr"), quiet=1)
    tmp = tempfile.mkdtemp(prefix="rayemr-bench-submit-")
    b = Bench(tmp)
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}; load average {load_average()}", flush=True)
    try:
        seconds, _ = b.rayemr("start", "--num-cpus", "2", "--hiveserver2-port", "0",
                              "--rest-port", "0", timeout=600)
        print(f"rayemr start: {seconds:.1f} s", flush=True)
        with open(os.path.join(b.env["RAYEMR_HOME"], "cluster.json")) as f:
            ray_address = json.load(f)["ray_address"]
        attached = dict(b.env, RAY_ADDRESS=ray_address)
        times = fixed_costs(b, attached, a.runs)
        print("fixed cost (fresh process, wall seconds; median / best of "
              f"{a.runs}; load average {load_average()}):")
        for name, ts in times.items():
            print(f"  {name:<32} {statistics.median(ts) * 1000:7.0f} ms "
                  f"{min(ts) * 1000:7.0f} ms", flush=True)
        result = {"fixed_ms": {k: [round(t * 1000) for t in v] for k, v in times.items()}}
        if not a.skip_wordcount:
            print(f"word count, {a.size_mb} MiB (load average {load_average()}):", flush=True)
            wc = word_count(b, attached, a.size_mb, a.split_mb)
            counter = wc["Counter, fresh process"]
            for name in ("word count, gateway", "word count, attach per job"):
                print(f"  Counter / {name}: {counter / wc[name]:.2f}x", flush=True)
            result["wordcount"] = wc
        result["load_average_end"] = load_average()
        print(json.dumps(result), flush=True)
    finally:
        b.rayemr("stop", check=False, timeout=300)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
