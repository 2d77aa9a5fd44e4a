"""``rayemr demo``: an EMR-style cluster on this machine running the bundled steps.

The cluster has configurations (two YARN queues, the MapReduce queue and reducer count, a
Hive metastore and warehouse of its own, an environment export) and a bootstrap action. Its
steps, run one at a time as EMR runs them:

1. MapReduce: access-log analysis (hits and bytes per status and per hour) of the bundled log;
2. MapReduce: word count of the bundled text;
3. a command that fails on purpose, with ``ActionOnFailure=CONTINUE``;
4. Hive: a table over the word count's output, queried for its most frequent long words.

The cluster terminates itself when the steps are done. Everything it writes (outputs, step
logs, metastore) goes into one folder, so nothing outside it changes. ``run_demo()`` prints
what happens and returns a :class:`DemoResult`; ``run_jobs_inline()`` computes the same
results in this process, without Ray (``rayemr demo -r inline``).
"""
from __future__ import annotations

import glob
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from rayemr.mapreduce import examples

#: The Hive step: the word count's output ("word"<TAB>count, JSON-quoted keys) as a table.
HIVE_Q = """\
-- The word-count step's output ("word"<TAB>count) as an external table,
-- queried for the most frequent words of at least ${hivevar:MIN_LETTERS} letters.
CREATE EXTERNAL TABLE word_counts (word STRING, n STRING)
  ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'
  WITH SERDEPROPERTIES ("separatorChar" = "\\t", "quoteChar" = "\\"")
  LOCATION '${hivevar:WORDS}';
SELECT word, CAST(n AS INT) AS n FROM word_counts
  WHERE length(word) >= ${hivevar:MIN_LETTERS}
  ORDER BY n DESC, word LIMIT ${hivevar:TOP};
"""

BOOTSTRAP_SH = """\
#!/bin/bash
# Runs on every node before it takes work (and on nodes that join later).
echo "node $(hostname) ready for $DEMO_NAME ($RAYEMR_CLUSTER_ID), python $(python3 -c 'import platform; print(platform.python_version())' 2>/dev/null || echo '?')"
"""

MIN_LETTERS = 6
HIVE_TOP = 5
QUEUE = "etl"
REDUCERS = 2

LOG_STEP = "Log analysis (MapReduce)"
WORDS_STEP = "Word count (MapReduce)"
FAIL_STEP = "A check that fails on purpose"
HIVE_STEP = "Frequent long words (Hive)"
#: The state each step is meant to end in.
PLANNED = {LOG_STEP: "COMPLETED", WORDS_STEP: "COMPLETED", FAIL_STEP: "FAILED",
           HIVE_STEP: "COMPLETED"}


@dataclass
class DemoResult:
    """What the demo computed and how its cluster ended."""

    folder: str
    #: ``("status", "200")`` / ``("hour", "2026-11-24 09:00")`` -> ``(hits, bytes)``.
    log_analysis: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    word_counts: dict[str, int] = field(default_factory=dict)
    #: The Hive step's rows: (word, count), most frequent first.
    hive_rows: list[tuple[str, int]] = field(default_factory=list)
    cluster: dict[str, Any] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def step_states(self) -> dict[str, str]:
        return {s["Name"]: s["Status"]["State"] for s in self.steps}

    @property
    def ok(self) -> bool:
        """Every step ended as planned and the cluster terminated cleanly."""
        return (self.step_states == PLANNED
                and self.cluster.get("Status", {}).get("State") == "TERMINATED")


# ------------------------------------------------------------------------- the cluster

def demo_paths(folder: str) -> dict[str, str]:
    """Where the demo's scripts, outputs, logs, metastore and warehouse go in ``folder``."""
    paths = {name: os.path.join(folder, name) for name in
             ("frequent_words.q", "bootstrap.sh", "warehouse", "logs", "work")}
    paths["loganalysis"] = os.path.join(folder, "output", "loganalysis")
    paths["wordcount"] = os.path.join(folder, "output", "wordcount")
    return paths


def check_fresh(folder: str) -> None:
    """``OutputExistsError`` if ``folder`` holds an earlier run's output or metastore."""
    from rayemr.core.errors import OutputExistsError

    for name in ("output", "metastore.db"):
        if os.path.exists(os.path.join(folder, name)):
            raise OutputExistsError(f"{folder} already holds a demo run ({name}); "
                                    f"give another folder or remove it")


def prepare(folder: str) -> dict[str, str]:
    """Write the demo's scripts into ``folder``; returns :func:`demo_paths`.

    Refuses a folder holding an earlier run's output or metastore (the jobs would find their
    output there and the Hive table defined), rather than mixing two runs.
    """
    check_fresh(folder)
    os.makedirs(folder, exist_ok=True)
    paths = demo_paths(folder)
    for name, text in (("frequent_words.q", HIVE_Q), ("bootstrap.sh", BOOTSTRAP_SH)):
        with open(paths[name], "w") as f:
            f.write(text)
    return paths


def configurations(folder: str) -> list[dict[str, Any]]:
    """The demo cluster's configuration classifications (EMR's JSON)."""
    return [
        {"Classification": "capacity-scheduler", "Properties": {
            "yarn.scheduler.capacity.root.queues": f"default,{QUEUE}",
            "yarn.scheduler.capacity.root.default.capacity": "40",
            f"yarn.scheduler.capacity.root.{QUEUE}.capacity": "60",
            f"yarn.scheduler.capacity.root.{QUEUE}.maximum-capacity": "100"}},
        {"Classification": "mapred-site", "Properties": {
            "mapreduce.job.queuename": QUEUE, "mapreduce.job.reduces": str(REDUCERS)}},
        {"Classification": "hive-site", "Properties": {
            "javax.jdo.option.ConnectionURL": f"jdbc:sqlite:{folder}/metastore.db",
            "hive.metastore.warehouse.dir": os.path.join(folder, "warehouse")}},
        {"Classification": "hadoop-env", "Configurations": [
            {"Classification": "export", "Properties": {"DEMO_NAME": "rayemr-demo"}}]},
    ]


def steps(paths: dict[str, str]) -> list[dict[str, Any]]:
    """The demo's four steps."""
    return [
        {"Type": "MAPREDUCE", "Name": LOG_STEP, "ActionOnFailure": "CANCEL_AND_WAIT",
         "Args": [examples.job_path("loganalysis"), examples.ACCESS_LOG,
                  "-o", paths["loganalysis"]]},
        {"Type": "MAPREDUCE", "Name": WORDS_STEP, "ActionOnFailure": "CANCEL_AND_WAIT",
         "Args": [examples.job_path("wordcount"), examples.TEXT_DIR,
                  "-o", paths["wordcount"]]},
        {"Type": "COMMAND", "Name": FAIL_STEP, "ActionOnFailure": "CONTINUE",
         "Args": ["bash", "-c", "echo 'this step fails on purpose' >&2; exit 1"]},
        {"Type": "HIVE", "Name": HIVE_STEP, "ActionOnFailure": "CANCEL_AND_WAIT",
         "Args": ["-f", paths["frequent_words.q"], "-d", f"WORDS={paths['wordcount']}",
                  "-d", f"MIN_LETTERS={MIN_LETTERS}", "-d", f"TOP={HIVE_TOP}"]},
    ]


def demo_cluster(folder: str, *, num_cpus: int | None = None, address: str | None = None):
    """The demo's ``Cluster`` (not started): configurations, a bootstrap action, 4 steps."""
    from rayemr.emr.cluster import Cluster

    paths = prepare(folder)
    return Cluster(name="rayemr-demo", configurations=configurations(folder),
                   bootstrap_actions=[{"Name": "hello", "ScriptBootstrapAction": {
                       "Path": paths["bootstrap.sh"], "Args": []}}],
                   steps=steps(paths), log_uri=paths["logs"], work_dir=paths["work"],
                   keep_alive=False, applications=["Hadoop", "Hive"], num_cpus=num_cpus,
                   address=address)


def quiet_ray() -> None:
    """Keep Ray's start-up notices off the demo's output (warnings stay for real problems)."""
    logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(
        logging.ERROR)


def run_demo(out: TextIO = sys.stdout, *, folder: str | None = None,
             num_cpus: int | None = None, address: str | None = None,
             top: int = 10) -> DemoResult:
    """Start the demo cluster, run its steps, print what happens and the jobs' results."""
    import ray

    import rayemr

    folder = os.path.abspath(folder or tempfile.mkdtemp(prefix="rayemr-demo-"))
    check_fresh(folder)
    t0 = time.perf_counter()
    w = _Writer(out)
    w("rayemr demo: an EMR-style cluster on Ray, running MapReduce and Hive steps\n")
    address = address or os.environ.get("RAY_ADDRESS") or None
    if not ray.is_initialized():
        quiet_ray()
        from rayemr.client import state

        started = state.running() if not address else None
        w("Starting Ray (local mode)..." if not (address or started) else
          f"Joining Ray at {address or started.ray_address}...", end="")
        t = time.perf_counter()
        # workers' and actors' log lines stay in Ray's log files, off the demo's output
        info = rayemr.init(address, num_cpus=num_cpus, log_to_driver=False)
        w(f" ready in {time.perf_counter() - t:.1f}s ({info.num_cpus:g} CPUs)")
    cluster = demo_cluster(folder, num_cpus=num_cpus, address=address)
    w(f'Creating cluster "{cluster.spec.name}"...', end="")
    t = time.perf_counter()
    try:
        cluster.start()
    except Exception:
        w(" failed")
        raise
    desc = cluster.describe()["Cluster"]
    w(f" {cluster.id} ready in {time.perf_counter() - t:.1f}s")
    _print_cluster(w, desc, folder)
    result = DemoResult(folder=folder)
    try:
        result.steps = _follow_steps(w, cluster)
        final = cluster.wait_terminated(timeout=600)["Cluster"]
        result.cluster = final
        hive = [s for s in result.steps if s["Name"] == HIVE_STEP]
        if hive and hive[0]["Status"]["State"] == "COMPLETED":
            result.hive_rows = parse_hive_rows(cluster.step_output(hive[0]["Id"])["stdout"])
    finally:
        cluster.close()
    paths = demo_paths(folder)
    if os.path.isdir(paths["loganalysis"]):
        result.log_analysis = read_log_analysis(paths["loganalysis"])
    if os.path.isdir(paths["wordcount"]):
        result.word_counts = read_word_counts(paths["wordcount"])
    w("")
    print_results(w, result, top=top)
    result.seconds = time.perf_counter() - t0
    status = result.cluster.get("Status", {})
    reason = status.get("StateChangeReason", {}).get("Message", "")
    w(f"Cluster {cluster.id or ''} {status.get('State', '?')}"
      + (f" ({reason})" if reason else "") + f"; {result.seconds:.1f}s in all.")
    w(f"Step logs: {os.path.join(paths['logs'], str(result.cluster.get('Id', '')), 'steps')}"
      f"/<step-id>/{{stdout,stderr,controller}}")
    if not result.ok:
        w("Some steps did not end as planned: " + ", ".join(
            f"{name} {state}" for name, state in result.step_states.items()
            if PLANNED.get(name) != state))
    w("Next: docs/emr.md (clusters, steps, cluster.yaml on EC2), "
      "docs/mapreduce.md (writing jobs)")
    return result


class _Writer:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def isatty(self) -> bool:
        return bool(getattr(self.out, "isatty", lambda: False)())

    def __call__(self, text: str = "", end: str = "\n") -> None:
        self.out.write(text + end)
        self.out.flush()


def _print_cluster(w: _Writer, desc: dict[str, Any], folder: str) -> None:
    w(f"  configurations  capacity-scheduler: queues default 40%, {QUEUE} 60%")
    w(f"                  mapred-site: jobs go to queue {QUEUE}, {REDUCERS} reducers each")
    w("                  hive-site: metastore and warehouse in the demo folder")
    nodes = desc.get("Nodes", [])
    for node in nodes:
        for action in node.get("BootstrapActions", []):
            text = (action.get("Stdout") or action.get("Stderr") or "").strip()
            w(f"  bootstrap       {action['Name']!r} on {node.get('Hostname') or node['NodeId'][:8]}"
              f" (exit {action.get('ExitCode')}): {text.splitlines()[-1] if text else ''}")
    services = "; ".join(f"{s['Name']}: {s['Detail'] or s['State'].lower()}"
                         for s in desc.get("Services", []))
    w(f"  services        {services or 'none'}")
    w(f"  folder          {folder}")
    w("")


def _follow_steps(w: _Writer, cluster) -> list[dict[str, Any]]:
    """Print each step as it starts and ends (they run one at a time); on a terminal, the
    running step's line shows its YARN application's progress as it moves."""
    from rayemr.emr.follow import step_progress

    w("Steps (one at a time, as EMR runs them):")
    shown: dict[str, str] = {}
    width = max(len(n) for n in PLANNED) + 2
    known: dict[str, str] = {}
    live = w.isatty()
    moving = ""  # the progress text on the running step's line
    while True:
        # returns as soon as a step changes (on a terminal, soon enough to show progress)
        steps = cluster.watch_steps(known, timeout=0.5 if live else 30.0)
        known = {s["Id"]: s["Status"]["State"] for s in steps}
        for i, s in enumerate(steps, start=1):
            state = s["Status"]["State"]
            before = shown.get(s["Id"])
            prefix = f"  {i}. {s['Name']:<{width}}"
            if state == "RUNNING" and before == "RUNNING" and live:
                text = step_progress(s["Id"])
                if text and text != moving:
                    w("\r" + prefix + text.ljust(len(moving)), end="")
                    moving = text
            if before == state or before in ("COMPLETED", "FAILED", "CANCELLED"):
                continue
            if state == "RUNNING" and before in (None, "PENDING"):
                w(prefix, end="")
            elif state in ("COMPLETED", "FAILED", "CANCELLED"):
                if before != "RUNNING":
                    w(prefix, end="")
                elif moving:
                    w("\r" + prefix + " " * len(moving) + "\r" + prefix, end="")
                    moving = ""
                w(_step_summary(s, cluster))
            shown[s["Id"]] = state
        done = steps and all(s["Status"]["State"] in ("COMPLETED", "FAILED", "CANCELLED")
                             for s in steps)
        if done:
            return steps
        if cluster.state in ("TERMINATED", "TERMINATED_WITH_ERRORS"):
            return list(reversed(cluster.list_steps()))


def _step_summary(step: dict[str, Any], cluster) -> str:
    state = step["Status"]["State"]
    tl = step["Status"].get("Timeline", {})
    secs = (tl["EndDateTime"] - tl["StartDateTime"]) if "StartDateTime" in tl and \
        "EndDateTime" in tl else 0.0
    text = f"{state:<10}{secs:5.1f}s"
    apps = step.get("Applications") or []
    if apps:
        queues = sorted({a["Queue"] for a in apps if a.get("Queue")})
        text += "  " + ", ".join(a["Id"] for a in apps) + (
            f" (queue {'/'.join(queues)})" if queues else "")
    planned = PLANNED.get(step["Name"])
    if state == "FAILED" and planned == "FAILED":
        text += "  as planned; ActionOnFailure=CONTINUE runs the next step"
    elif state != "COMPLETED":
        reason = step["Status"].get("StateChangeReason", {}).get("Message", "")
        text += f"  {reason}" if reason else ""
        try:
            tail = cluster.step_output(step["Id"])["stderr"].strip().splitlines()[-3:]
        except Exception:  # noqa: BLE001 - the summary carries on without it
            tail = []
        if state == "FAILED" and not (tail and tail[-1].strip() in reason):
            for line in tail:
                text += f"\n       | {line}"
    return text


# ------------------------------------------------------------------------ the results

def _part_lines(folder: str):
    for path in sorted(glob.glob(os.path.join(folder, "part-*"))):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield line.rstrip("\n")


def read_log_analysis(folder: str) -> dict[tuple[str, str], tuple[int, int]]:
    """The log-analysis job's output (JSON key and value per line)."""
    out = {}
    for line in _part_lines(folder):
        key, _, value = line.partition("\t")
        kind, name = json.loads(key)
        hits, nbytes = json.loads(value)
        out[(kind, name)] = (int(hits), int(nbytes))
    return out


def read_word_counts(folder: str) -> dict[str, int]:
    """The word-count job's output (``"word"<TAB>count``)."""
    out = {}
    for line in _part_lines(folder):
        key, _, value = line.partition("\t")
        out[json.loads(key)] = int(json.loads(value))
    return out


def parse_hive_rows(stdout: str) -> list[tuple[str, int]]:
    rows = []
    for line in stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and parts[1].strip().lstrip("-").isdigit():
            rows.append((parts[0], int(parts[1])))
    return rows


def frequent_long_words(word_counts: dict[str, int], min_letters: int = MIN_LETTERS,
                        top: int = HIVE_TOP) -> list[tuple[str, int]]:
    """What the Hive step's query answers, computed in Python."""
    rows = [(w, n) for w, n in word_counts.items() if len(w) >= min_letters]
    return sorted(rows, key=lambda r: (-r[1], r[0]))[:top]


def print_results(w, result: DemoResult, *, top: int = 10) -> None:
    """The jobs' results as readable tables."""
    if callable(getattr(w, "write", None)):
        w = _Writer(w)
    if result.log_analysis:
        w(f"Log analysis: hits and bytes per status and per hour "
          f"({os.path.basename(examples.ACCESS_LOG)}, bundled)")
        w(f"  {'status':<8}{'hits':>7}{'bytes':>13}")
        for (kind, name), (hits, nbytes) in sorted(result.log_analysis.items()):
            if kind == "status":
                w(f"  {name:<8}{hits:>7}{nbytes:>13,}")
        w(f"  {'hour':<18}{'hits':>7}{'bytes':>13}")
        for (kind, name), (hits, nbytes) in sorted(result.log_analysis.items()):
            if kind == "hour":
                w(f"  {name:<18}{hits:>7}{nbytes:>13,}")
        w("")
    if result.word_counts:
        counts = result.word_counts
        n_files = len([f for f in os.listdir(examples.TEXT_DIR) if not f.startswith((".", "_"))])
        w(f"Word count: {sum(counts.values())} words, {len(counts)} distinct, in {n_files} "
          f"bundled texts; the {min(top, len(counts))} most frequent:")
        best = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        half = (len(best) + 1) // 2
        for i in range(half):
            cells = [f"{j + 1:>4}. {best[j][0]:<12}{best[j][1]:>4}"
                     for j in (i, i + half) if j < len(best)]
            w("    ".join(cells))
        w("")
    if result.hive_rows:
        w(f"Hive over the word counts: the most frequent words of {MIN_LETTERS}+ letters")
        w(f"  {'word':<14}{'count':>6}")
        for word, n in result.hive_rows:
            w(f"  {word:<14}{n:>6}")
        w("")


# ------------------------------------------------------------------- without a cluster

def run_jobs_inline(folder: str | None = None) -> DemoResult:
    """The same results in this process: both MapReduce jobs and the Hive query, no Ray."""
    from rayemr.mapreduce.runner import JobRunner

    folder = os.path.abspath(folder or tempfile.mkdtemp(prefix="rayemr-demo-"))
    paths = prepare(folder)
    result = DemoResult(folder=folder)
    t0 = time.perf_counter()
    for job, inputs, out in ((examples.MRLogAnalysis(args=[]), [examples.ACCESS_LOG],
                              paths["loganalysis"]),
                             (examples.MRWordCount(args=[]), [examples.TEXT_DIR],
                              paths["wordcount"])):
        with JobRunner(job, runner="inline", inputs=inputs, output_dir=out,
                       num_reducers=REDUCERS, overwrite=True) as r:
            r.run()
    result.log_analysis = read_log_analysis(paths["loganalysis"])
    result.word_counts = read_word_counts(paths["wordcount"])
    from rayemr.hive import connect

    conn = connect(runner="inline", metastore_path=os.path.join(folder, "metastore.db"),
                   warehouse=paths["warehouse"],
                   hivevars={"WORDS": paths["wordcount"], "MIN_LETTERS": str(MIN_LETTERS),
                             "TOP": str(HIVE_TOP)})
    cur = conn.cursor()
    for statement in _statements(HIVE_Q):
        cur.execute(statement)
    result.hive_rows = [(str(r[0]), int(r[1])) for r in cur.fetchall()]
    conn.close()
    result.seconds = time.perf_counter() - t0
    return result


def _statements(script: str) -> list[str]:
    lines = [ln for ln in script.splitlines() if not ln.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
