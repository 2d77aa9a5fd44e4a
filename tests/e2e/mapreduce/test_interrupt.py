"""Ctrl-C during `rayemr mr`: the output folder is left with nothing in it, no _temporary/."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.e2e.mapreduce.slow_job import SLOW_JOB, write_slow_job

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))



def test_ctrl_c_leaves_no_temporary_files(tmp_path):
    job, data = write_slow_job(tmp_path, lines=40)
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=ROOT, PYTHONUNBUFFERED="1")
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rayemr.cli", "mr", str(job), str(data), "-o", str(out),
         "--conf", "mapreduce.input.fileinputformat.split.maxsize=64"],
        env=env, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        seen = ""
        while "map 0%" not in seen and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            seen += line
        assert "map 0%" in seen, seen
        time.sleep(1.0)  # tasks are writing attempt files now
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    time.sleep(2.0)  # anything still running would have written by now
    leftovers = sorted(str(p.relative_to(tmp_path)) for p in out.rglob("*")) \
        if out.exists() else []
    assert leftovers == [], leftovers


def _agents(pids: list[int]) -> list[int]:
    found = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"agent" in f.read():
                    found.append(pid)
        except OSError:
            continue
    return found


def test_ctrl_c_while_ray_starts_leaves_no_process(tmp_path, marked_processes):
    """Ctrl-C while Ray starts: the command ends and every process it had started ends
    with it (not a minute later)."""
    from rayemr.core.waiting import wait_for
    from rayemr.runtime import _descendants

    job = tmp_path / "slow.py"
    job.write_text(SLOW_JOB)
    (tmp_path / "in.txt").write_text("a\n")
    env = dict(os.environ, PYTHONPATH=ROOT, PYTHONUNBUFFERED="1", **marked_processes.env)
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rayemr.cli", "mr", str(job), str(tmp_path / "in.txt"),
         "-o", str(tmp_path / "out")],
        env=env, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Ray's raylet has started its agents (they outlived an interrupted start before)
        wait_for(lambda: _agents(_descendants(proc.pid)) or proc.poll() is not None, 120,
                 interval=0.02, what="Ray's agents")
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "rayemr mr: interrupted"
    wait_for(lambda: not marked_processes(), 30, interval=0.2,
             what="every process the command started to end")
