"""MapReduce benchmarks side by side: word count and sort (TeraSort's work) at several input
sizes, every engine timed the same way, every answer checked.

    python bench/mapreduce.py                                  # 256M, 1G, 4G; everything
    python bench/mapreduce.py --sizes 64M --repeat 1 --no-readme          # a smoke test
    python bench/mapreduce.py --sizes 1G --only wordcount --engines rayemr_batch,duckdb_split
    python bench/mapreduce.py --data /tmp/mr-inputs      # inputs kept there between runs

Input: Zipf(1.3) words over a 200k-word vocabulary, fixed seed, 12 single-space separated
words a line (word count); gensort records from rayemr's TeraGen (sort). Each engine runs in a
process of its own: start-up (Ray, a Spark session) timed and reported apart, then per size one
untimed warm-up run (on the first ``--warmup-mb`` of the input, the same for every engine; 0:
the whole input) and ``--repeat`` timed runs, all recorded. Throughput = input bytes / wall
time. Every word count writes its (word, count) pairs to files, read back untimed and compared
with ``collections.Counter``'s; every sorted output is checked by TeraValidate (order, record
count and checksum equal to the input's). The memory of each engine's process tree is sampled
while it runs; rayemr's entries record whether Ray's workers loaded rayemr's C helpers
(without them the Python fallbacks run, and the row says so). Results merge into
``bench/results/mapreduce.json`` (one entry per engine and size, with its time and load),
then charts and the ``## mapreduce`` block of bench/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import common  # noqa: E402
import mr_engines as E  # noqa: E402
from mr_report import ENGINES, SORTS  # noqa: E402

MB = common.MB


def generate_text(path: str, size: int, seed: int = 1) -> int:
    """Zipf(1.3) words over a 200k-word vocabulary, 12 words a line, ``size`` bytes."""
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
    lens = rng.integers(2, 10, size=200_000)
    vocab_arr = np.array([bytes(letters[rng.integers(0, 26, size=n)]) for n in lens],
                         dtype=object)
    written = 0
    with open(path, "wb") as f:
        while written < size:
            idx = np.minimum(rng.zipf(1.3, size=1_200_000) - 1, len(vocab_arr) - 1)
            chunk = b"\n".join(b" ".join(row) for row in vocab_arr[idx].reshape(-1, 12)) + b"\n"
            if written + len(chunk) >= size:
                chunk = chunk[: size - written]
                chunk = chunk[: chunk.rfind(b"\n") + 1]
                f.write(chunk)
                return written + len(chunk)
            f.write(chunk)
            written += len(chunk)
    return written


def make_inputs(kind: str, sizes: list[int], warm_mb: int, folder: str) -> dict[str, str]:
    """``{size or "warm": path}``: text files, or TeraGen folders of 4 files each. An input
    already in ``folder`` (``--data``: kept from an earlier run) is used as it is; a new one
    is written under a temporary name first, so an interrupted run leaves none half-written.
    """
    out = {}
    for size in sorted(set(sizes)) + ["warm"]:
        n = warm_mb * MB if size == "warm" else size
        if size == "warm" and not warm_mb:
            continue
        path = out[str(size)] = os.path.join(folder, f"{kind}-{n}")
        if os.path.exists(path):
            print(f"# {kind} input {common.gib(n)}: {path} (kept)", flush=True)
            continue
        partial = path + ".partial"
        E.clean(partial)
        t0 = time.perf_counter()
        if kind == "wordcount":
            generate_text(partial, n)
        else:
            from rayemr.mapreduce.tera import teragen

            teragen(partial, n // 100, num_maps=4, runner="inline")
        os.rename(partial, path)
        print(f"# {kind} input {common.gib(n)} generated in {time.perf_counter() - t0:.0f} s",
              flush=True)
    return out


# -- one engine, in its own process ------------------------------------------------------------
def make_runner(key: str, args, folder: str):
    """Start what the engine needs (Ray, a Spark session); return its ``run(path, out)``."""
    split = args.split_mb
    if key.startswith("rayemr"):
        import rayemr

        rayemr.init(num_cpus=args.cpus)
        if key == "rayemr_terasort":
            return E.rayemr_terasort(split)
        src = E.WC_JOB if key == "rayemr_mrjob" else E.VEC_JOB
        return E.rayemr_job(E.load_job(src, folder, key), split)
    if key.startswith("spark"):
        spark = E.spark_session(args.cpus)
        return E.spark_rdd(spark) if key == "spark_rdd" else E.spark_df(spark)
    if key.startswith("polars"):
        os.environ.setdefault("POLARS_MAX_THREADS", str(args.cpus))
    return {"counter_bytes": E.counter_bytes, "counter_str": E.counter_str,
            "duckdb_split": E.duckdb_wordcount("string_split", args.cpus),
            "duckdb_regex": E.duckdb_wordcount("regex", args.cpus),
            "polars_split": E.polars_wordcount("split"),
            "polars_regex": E.polars_wordcount("regex"),
            "duckdb_sort": E.duckdb_sort(args.cpus), "polars_sort": E.polars_sort}[key]


def answer(kind: str, out: str) -> dict:
    """What the output says, untimed: a digest of the counts, or TeraValidate's verdict."""
    if kind == "wordcount":
        counts = E.read_counts(out)
        import hashlib

        text = "".join(f"{w}\t{n}\n" for w, n in sorted(counts.items()))
        return {"distinct": len(counts), "total": sum(counts.values()),
                "sha256": hashlib.sha256(text.encode()).hexdigest()}
    from rayemr.mapreduce.tera import teravalidate

    v = teravalidate(out, runner="inline")
    return {"records": v.records, "checksum": v.checksum, "errors": list(v.errors)}


def worker(args) -> int:
    inputs = json.loads(args.inputs)
    out: dict = {"engine": args.worker, "sizes": {}}

    def save() -> None:
        Path(args.out).write_text(json.dumps(out))

    folder = tempfile.mkdtemp(prefix=f"rayemr-bench-{args.worker}-", dir=args.tmp)
    target = os.path.join(folder, "out")
    with common.MemorySampler() as mem:
        t0 = time.perf_counter()
        run = make_runner(args.worker, args, folder)
        out["startup_s"] = time.perf_counter() - t0
        if args.worker.startswith("rayemr"):  # what the tasks run: C helpers or fallbacks
            helpers = out["c_helpers"] = E.ray_c_helpers()
            if not all(helpers.values()):
                print(f"# {args.worker}: C helpers not loaded in Ray's workers {helpers}: "
                      "the fallbacks run (build them: python setup.py build_ext --inplace)",
                      flush=True)
        for size, path in inputs.items():
            if size == "warm":
                continue
            entry = out["sizes"][size] = {"times": [], "when": common.machine()["when"],
                                          "load": [common.load1()]}
            save()
            try:
                for i in range(args.warmup + args.repeat):
                    E.clean(target)
                    src = inputs.get("warm", path) if i < args.warmup else path
                    mem.reset()
                    t = time.perf_counter()
                    run(src, target)
                    dt = time.perf_counter() - t
                    entry["peak_memory_bytes"] = max(entry.get("peak_memory_bytes", 0),
                                                     mem.reset())
                    if i >= args.warmup:
                        entry["times"].append(dt)
                        print(f"{args.worker:16s} {common.gib(int(size)):>8s} run "
                              f"{i - args.warmup + 1}: {dt:7.2f} s "
                              f"{int(size) / MB / dt:7.1f} MB/s", flush=True)
                entry["answer"] = answer(args.kind, target)
            except Exception as exc:  # noqa: BLE001 - reported per engine and size
                entry["error"] = f"{type(exc).__name__}: {str(exc).strip()[:300]}"
                print(f"{args.worker} {size}: FAILED {entry['error']}", flush=True)
            entry["load"].append(common.load1())
            E.clean(target)
            save()
    shutil.rmtree(folder, ignore_errors=True)
    return 0


def run_engine(key: str, kind: str, inputs: dict, args, argv: list[str], tmp: str) -> dict:
    out = os.path.join(tmp, f"{key}.json")
    cmd = [sys.executable, __file__, *argv, "--worker", key, "--kind", kind, "--inputs",
           json.dumps(inputs), "--out", out]
    proc = subprocess.run(cmd)
    res = json.loads(Path(out).read_text()) if os.path.exists(out) else {"sizes": {}}
    if proc.returncode:
        res["crashed"] = f"exited with code {proc.returncode}"
        for entry in res["sizes"].values():
            if "answer" not in entry:
                entry.setdefault("error", res["crashed"])
    return res


def check_answers(kind: str, results: dict, reference: dict) -> None:
    """Mark every entry: ``equal``/``differs`` (word count, against Counter's counts) or
    ``valid``/``INVALID`` (sort: ordered, and the input's record count and checksum)."""
    for res in results.values():
        for size, entry in res["sizes"].items():
            got, ref = entry.get("answer"), reference.get(size)
            if got is None or ref is None:
                entry["check"] = "failed" if got is None else "no reference"
            elif kind == "terasort":
                ok = not got["errors"] and \
                    (got["records"], got["checksum"]) == (ref["records"], ref["checksum"])
                entry["check"] = "valid" if ok else "INVALID"
            else:
                entry["check"] = "equal" if got["sha256"] == ref["sha256"] else "differs"


def reference_answers(kind: str, inputs: dict, results: dict, tmp: str) -> dict:
    """Per size: the input's record count and checksum (sort), or ``collections.Counter``'s
    counts (word count: from its run, or computed here, untimed)."""
    ref = {}
    for size, path in inputs.items():
        if size == "warm":
            continue
        if kind == "terasort":
            ref[size] = answer(kind, path)
            continue
        got = results.get("counter_bytes", {}).get("sizes", {}).get(size, {}).get("answer")
        if got is None:
            target = os.path.join(tmp, "reference-counts")
            E.counter_bytes(path, target)
            got = answer(kind, target)
            E.clean(target)
        ref[size] = got
    return ref


def latency(args) -> dict:
    """A one-line word count on the warm cluster, through YARN and as plain Ray tasks."""
    import rayemr

    rayemr.init(num_cpus=args.cpus)
    folder = tempfile.mkdtemp(prefix="rayemr-bench-latency-", dir=args.tmp)
    path = os.path.join(folder, "one.txt")
    Path(path).write_text("hello world hello\n")
    job = E.load_job(E.WC_JOB, folder, "wc")
    out = {}
    for yarn in (True, False):
        run = E.rayemr_job(job, 64, reducers=1, yarn=yarn)
        times = []
        for i in range(7):
            target = os.path.join(folder, f"o-{yarn}-{i}")
            t = time.perf_counter()
            run(path, target)
            times.append(time.perf_counter() - t)
        out["yarn" if yarn else "plain_ray"] = times[1:]
    rayemr.shutdown()
    shutil.rmtree(folder, ignore_errors=True)
    return out


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="256M,1G,4G")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per engine and size")
    p.add_argument("--warmup", type=int, default=1, help="untimed runs first")
    p.add_argument("--warmup-mb", type=int, default=64,
                   help="warm-up input: the first MiB of the data (0: the whole input)")
    p.add_argument("--split-mb", type=int, default=64)
    p.add_argument("--mrjob-mb", type=int, default=32, help="input of mrjob's local runner")
    p.add_argument("--cpus", type=int, default=2)
    p.add_argument("--only", default="wordcount,terasort,latency,mrjob")
    p.add_argument("--engines", default="", help="comma list (default: all): "
                   + ",".join([*ENGINES, *SORTS]))
    p.add_argument("--note", default="")
    p.add_argument("--no-readme", action="store_true")
    p.add_argument("--tmp", default=None, help="folder for inputs and outputs")
    p.add_argument("--data", default=None, help="folder that keeps the generated inputs "
                   "between runs (default: generated in --tmp and removed)")
    for hidden in ("--worker", "--kind", "--inputs", "--out"):
        p.add_argument(hidden, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    from rayemr.fs.config import parse_size

    import mr_report

    sizes = [parse_size("--sizes", s) for s in args.sizes.split(",") if s]
    only = set(args.only.split(","))
    chosen = set(filter(None, args.engines.split(",")))
    report = common.read_results("mapreduce") or {}
    report.update(common.machine(), benchmark="mapreduce", note=args.note,
                  settings={"split_mb": args.split_mb, "cpus": args.cpus,
                            "repeat": args.repeat, "warmup_mb": args.warmup_mb})
    tmp = tempfile.mkdtemp(prefix="rayemr-bench-mr-", dir=args.tmp)
    try:
        for kind, table in (("wordcount", ENGINES), ("terasort", SORTS)):
            keys = [k for k in table if not chosen or k in chosen]
            if kind not in only or not keys:
                continue
            inputs = make_inputs(kind, sizes, args.warmup_mb, args.data or tmp)
            results = {k: run_engine(k, kind, inputs, args, argv, tmp) for k in keys}
            check_answers(kind, results, reference_answers(kind, inputs, results, tmp))
            section = report.setdefault(kind, {})
            for k, res in results.items():
                entry = section.setdefault(k, {"label": table[k], "sizes": {}})
                entry.update(label=table[k], startup_s=res.get("startup_s"))
                if "c_helpers" in res:
                    entry["c_helpers"] = res["c_helpers"]
                entry["sizes"].update(res["sizes"])
            if not args.data:
                for p in inputs.values():
                    E.clean(p)
        if "latency" in only:
            report["latency"] = {"when": common.machine()["when"], **latency(args)}
        if "mrjob" in only:
            report["mrjob"] = mrjob_subset(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    path = common.write_results("mapreduce", report)
    print(f"results: {path}")
    import charts

    for kind in ("wordcount", "terasort"):
        charts.throughput_chart(report, kind, common.RESULTS / f"{kind}_throughput.png")
    text = mr_report.markdown(report)
    print(text)
    if not args.no_readme:
        common.replace_block("mapreduce", text)
    return 0


def mrjob_subset(args, tmp: str) -> dict:
    """mrjob's own local runner on ``--mrjob-mb`` of the text (it runs at ~1-2 MB/s)."""
    path = os.path.join(tmp, "mrjob-input")
    size = generate_text(path, args.mrjob_mb * MB)
    target = os.path.join(tmp, "mrjob-out")
    t = time.perf_counter()
    E.mrjob_local(path, target, tmp)
    dt = time.perf_counter() - t
    counts = E.read_counts(target)
    c = {}
    with open(path, "rb") as f:
        for line in f:
            for w in line.split():
                c[w.decode()] = c.get(w.decode(), 0) + 1
    return {"bytes": size, "times": [dt], "check": "equal" if counts == c else "differs",
            "when": common.machine()["when"]}


if __name__ == "__main__":
    sys.exit(main())
