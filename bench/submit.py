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
import resource
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
            timeout: float = 1800) -> tuple[float, float, subprocess.CompletedProcess]:
        """Wall seconds, the process's own CPU seconds (user + system), its result."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        proc = subprocess.run(argv, cwd=self.tmp, env=env or self.env, capture_output=True,
                              timeout=timeout)
        seconds = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{argv} failed ({proc.returncode}): "
                               f"{proc.stderr.decode(errors='replace')[-2000:]}")
        return seconds, cpu, proc

    def rayemr(self, *argv: str, **kw):
        return self.run([sys.executable, "-m", "rayemr.cli", *argv], **kw)


def fixed_costs(b: Bench, attached_env: dict, runs: int
                ) -> dict[str, list[tuple[float, float]]]:
    """(wall, client CPU) seconds per case. The gateway cases and the attach-per-job cases
    run as two blocks, each interleaved with ``python -c pass`` and warmed up once: every
    attached process is a new Ray job whose worker processes the cluster starts and stops,
    load that would otherwise fall on the gateway runs next to them."""
    with open(os.path.join(b.tmp, "one.txt"), "w") as f:
        f.write("hello world\n")
    with open(os.path.join(b.tmp, "oneline.py"), "w") as f:
        f.write(ONE_LINE_JOB)
    job = [sys.executable, "oneline.py", "-r", "local", "-q", "one.txt", "-o", "OUT"]
    hive = [sys.executable, "-m", "rayemr.cli", "hive", "-S", "-e", "SELECT 1"]
    blocks = (
        {"python -c pass (gateway block)": ([sys.executable, "-c", "pass"], b.env),
         "one-line job, gateway": (job, b.env),
         "hive SELECT 1, gateway": (hive, b.env)},
        {"python -c pass (attach block)": ([sys.executable, "-c", "pass"], b.env),
         "one-line job, attach per job": (job, attached_env),
         "hive SELECT 1, attach per job": (hive, attached_env)},
    )
    times: dict[str, list[tuple[float, float]]] = {}
    for n, cases in enumerate(blocks):
        for i in range(runs + 1):  # the first round warms up and is not counted
            for c, (name, (argv, env)) in enumerate(cases.items()):
                out = f"one-out-{n}-{i}-{c}"
                seconds, cpu, proc = b.run([a.replace("OUT", out) for a in argv], env=env)
                if argv is hive:
                    assert proc.stdout.decode().strip() == "1", proc.stdout
                elif argv is job:
                    assert read_counts(os.path.join(b.tmp, out)) == {b"hello world": 1}
                if i:
                    times.setdefault(name, []).append((seconds, cpu))
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


def word_count(b: Bench, attached_env: dict, size_mb: int, split_mb: int, wc_runs: int
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
    cases = (("Counter, fresh process", [sys.executable, "counter.py", "words.txt",
                                         "counts.tsv"], b.env),
             ("word count, gateway", job + ["wc-gateway"], b.env),
             ("word count, attach per job", job + ["wc-attached"], attached_env))
    runs: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for i in range(wc_runs):  # interleaved: each round sees about the same load
        for name, argv, env in cases:
            if i:
                shutil.rmtree(os.path.join(b.tmp, argv[-1]), ignore_errors=True)
            seconds, _, _ = b.run(argv, env=env)
            runs[name].append(seconds)
            print(f"  {name:<32} {seconds:7.2f} s", flush=True)
    for name, ts in runs.items():
        out[name] = statistics.median(ts)
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
    p.add_argument("--wc-runs", type=int, default=3, help="word count rounds (median)")
    p.add_argument("--skip-wordcount", action="store_true")
    a = p.parse_args()
    compileall.compile_dir(os.path.join(ROOT, "rayemr"), quiet=1)
    tmp = tempfile.mkdtemp(prefix="rayemr-bench-submit-")
    b = Bench(tmp)
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}; load average {load_average()}", flush=True)
    try:
        seconds, _, _ = b.rayemr("start", "--num-cpus", "2", "--hiveserver2-port", "0",
                                 "--rest-port", "0", timeout=600)
        print(f"rayemr start: {seconds:.1f} s", flush=True)
        with open(os.path.join(b.env["RAYEMR_HOME"], "cluster.json")) as f:
            ray_address = json.load(f)["ray_address"]
        attached = dict(b.env, RAY_ADDRESS=ray_address)
        times = fixed_costs(b, attached, a.runs)
        print(f"fixed cost, fresh process ({a.runs} runs; load average {load_average()}):")
        print(f"  {'':<34} {'wall median':>11} {'best':>7} {'client CPU':>10}")
        for name, ts in times.items():
            wall = [t for t, _ in ts]
            cpu = [c for _, c in ts]
            print(f"  {name:<34} {statistics.median(wall) * 1000:8.0f} ms "
                  f"{min(wall) * 1000:4.0f} ms {statistics.median(cpu) * 1000:7.0f} ms",
                  flush=True)
        result = {"fixed_ms": {k: [[round(t * 1000), round(c * 1000)] for t, c in v]
                               for k, v in times.items()}}
        if not a.skip_wordcount:
            print(f"word count, {a.size_mb} MiB (load average {load_average()}):", flush=True)
            wc = word_count(b, attached, a.size_mb, a.split_mb, a.wc_runs)
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
