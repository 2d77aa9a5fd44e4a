"""What every benchmark in bench/ shares: timing (warm-up, then N timed runs, all recorded),
peak memory of a process tree, machine conditions, results as JSON under bench/results/, and
generated blocks of bench/README.md.

The benchmarks are scripts (``python bench/tpch.py``); they import this module as ``common``
(their folder is first on ``sys.path``).
"""
from __future__ import annotations

import json
import os
import platform
import re
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
MB = 1 << 20


# -- timing ----------------------------------------------------------------------------------
@dataclass
class Timed:
    """``warmup`` untimed runs, then ``times`` of the timed runs; ``result`` is the last run's."""

    times: list[float]
    result: Any = None

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def warm_then_time(fn: Callable[[], Any], runs: int, warmup: int = 1) -> Timed:
    """Run ``fn`` ``warmup`` times untimed, then ``runs`` times timed (every engine the same)."""
    for _ in range(warmup):
        fn()
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return Timed(times, out)


def spread(times: list[float]) -> str:
    """``median (min-max)`` in seconds, for tables."""
    if len(times) == 1:
        return f"{times[0]:.2f}"
    return f"{statistics.median(times):.2f} ({min(times):.2f}-{max(times):.2f})"


# -- machine ---------------------------------------------------------------------------------
def load1() -> float:
    try:
        return round(os.getloadavg()[0], 1)
    except OSError:
        return float("nan")


def machine() -> dict[str, Any]:
    """Where and when: CPUs, memory, Python, load average (other work may share the machine)."""
    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpus": os.cpu_count(),
            "memory_bytes": mem, "python": platform.python_version(),
            "machine": platform.machine(), "load_start": load1(), "c_helpers": c_helpers()}


#: rayemr's optional C extensions (``setup.py``) -> the function each provides
C_HELPERS = {"rayemr.mapreduce._grouping": "Groups", "rayemr.fs._lines": "newlines"}


def c_helpers() -> dict[str, bool]:
    """Which of rayemr's C extensions this process loads. Without them the Python and numpy
    fallbacks run: an MRJob word count's map takes about 1.4x the CPU, so rayemr's figures
    are only comparable between runs with the same helpers."""
    from rayemr.core.native import optional

    return {mod: optional(mod, name) is not None for mod, name in C_HELPERS.items()}


# -- memory ----------------------------------------------------------------------------------
def _tree_memory(root: int) -> tuple[int, int]:
    """(private + largest shared mapping, plain RSS sum) over ``root`` and its descendants.

    Private memory (RssAnon) is summed; shared memory (RssShmem: Ray's object store, mapped
    by the raylet and every worker that touches it) is counted once, as its largest mapping.
    Libraries and page cache (RssFile) are shared by every process and left out. Plain RSS
    (the second figure) counts shared pages once per process, an upper bound.
    """
    import psutil

    try:
        procs = [psutil.Process(root)]
        procs += procs[0].children(recursive=True)
    except psutil.Error:
        return 0, 0
    anon = shm = rss = 0
    for p in procs:
        try:
            with open(f"/proc/{p.pid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if line.startswith("Rss")
                              or line.startswith("VmRSS"))
        except OSError:
            continue
        kb = {k: int(v.split()[0]) * 1024 for k, v in fields.items()}
        anon += kb.get("RssAnon", 0)
        shm = max(shm, kb.get("RssShmem", 0))
        rss += kb.get("VmRSS", 0)
    return anon + shm, rss


class MemorySampler:
    """Samples the memory of a process tree (this process and its children by default: a
    local Ray cluster started here, a Spark JVM) every ``interval`` seconds in a thread.

    ``peak`` is the largest sample since the last ``reset()``; ``peak_all`` since the start.
    Reading ``/proc/<pid>/status`` costs well under a millisecond per sample.
    """

    def __init__(self, root: int | None = None, interval: float = 0.1) -> None:
        self.root = root or os.getpid()
        self.interval = interval
        self.peak = self.peak_all = self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="mem-sampler")

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def sample(self) -> None:
        used, rss = _tree_memory(self.root)
        self.peak = max(self.peak, used)
        self.peak_all = max(self.peak_all, used)
        self.peak_rss = max(self.peak_rss, rss)

    def reset(self) -> int:
        """The peak since the last reset (after one last sample), and start a new one."""
        self.sample()
        peak, self.peak = self.peak, 0
        return peak

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


def ray_object_store_stats() -> dict[str, float]:
    """Ray's aggregate object store figures (MiB): in use now, spilled and restored so far."""
    import ray
    from ray._private.internal_api import memory_summary

    text = memory_summary(address=ray.get_runtime_context().gcs_address, stats_only=True)
    out = {}
    for key, pattern in (("plasma_mib", r"Plasma memory usage (\d+) MiB"),
                         ("spilled_mib", r"Spilled (\d+) MiB"),
                         ("restored_mib", r"Restored (\d+) MiB")):
        m = re.search(pattern, text)
        out[key] = float(m.group(1)) if m else 0.0
    return out


def gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.1f} GiB" if nbytes >= 2**30 else f"{nbytes / MB:.0f} MiB"


# -- results ---------------------------------------------------------------------------------
def results_path(name: str) -> Path:
    return RESULTS / f"{name}.json"


def write_results(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = results_path(name)
    path.write_text(json.dumps(data, indent=1, sort_keys=False, default=str) + "\n")
    return path


def read_results(name: str) -> dict[str, Any] | None:
    path = results_path(name)
    return json.loads(path.read_text()) if path.exists() else None


# -- bench/README.md -------------------------------------------------------------------------
def replace_block(name: str, text: str, readme: Path = HERE / "README.md") -> bool:
    """Put ``text`` between ``<!-- name:begin -->`` and ``<!-- name:end -->`` in ``readme``;
    prose outside the markers stays. False (and nothing written) if the markers are missing."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    current = readme.read_text()
    i, j = current.find(begin), current.find(end)
    if i < 0 or j < i:
        print(f"{readme.name}: no {begin} ... {end} block; not updated", file=sys.stderr)
        return False
    readme.write_text(current[:i + len(begin)] + "\n" + text.strip("\n") + "\n" + current[j:])
    return True


def report_main(block: str, text: Callable[[], str], doc: str | None) -> int:
    """The command line of a ``*_report.py``: print the block; with ``--write`` also put it
    into bench/README.md."""
    import argparse

    p = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    p.add_argument("--write", action="store_true", help="update bench/README.md too")
    args = p.parse_args()
    out = text()
    print(out)
    if args.write:
        replace_block(block, out)
    return 0


@dataclass
class Table:
    """A Markdown table built row by row."""

    header: list[str]
    align: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)

    def add(self, *cells: Any) -> None:
        self.rows.append([str(c) for c in cells])

    def __str__(self) -> str:
        align = self.align or ["---"] + ["---:"] * (len(self.header) - 1)
        lines = ["| " + " | ".join(self.header) + " |", "|" + "|".join(align) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(lines)
