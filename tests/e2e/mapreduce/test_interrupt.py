"""Ctrl-C during `rayemr mr`: the output folder is left with nothing in it, no _temporary/."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

SLOW_JOB = '''
import time
from rayemr.mapreduce import MRJob


class Slow(MRJob):
    def mapper(self, _, line):
        time.sleep(0.5)
        yield line, 1

    def reducer(self, key, values):
        yield key, sum(values)


if __name__ == "__main__":
    Slow.run()
'''


def test_ctrl_c_leaves_no_temporary_files(tmp_path):
    job = tmp_path / "slow.py"
    job.write_text(SLOW_JOB)
    data = tmp_path / "in"
    data.mkdir()
    for i in range(4):
        (data / f"f{i}.txt").write_text("".join(f"line {i} {n}\n" for n in range(40)))
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
