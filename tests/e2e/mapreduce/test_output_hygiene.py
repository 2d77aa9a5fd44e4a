"""What a job file run on local Ray prints to a pipe: progress, counters, rayemr's own lines;
no Ray start-up notice, no colour codes, no ``(ActorName pid=...)`` lines."""
from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def test_job_file_on_local_ray_prints_clean_lines(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("RAY_ADDRESS", None)
    env.pop("RAY_COLOR_PREFIX", None)
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "jobs", "wordcount.py"), "-r", "local",
         os.path.join(ROOT, "rayemr", "data", "mapreduce", "text"), "-o", str(tmp_path / "o")],
        env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    err = proc.stderr
    assert "Token authentication" not in err
    assert "\x1b[" not in err and "\x1b[" not in proc.stdout
    assert " pid=" not in err, err
    assert "Counters: " in err and "MRWordCount: output in" in err
    for line in err.splitlines():  # the REST API's port, if 8088 was taken, is one plain line
        if "REST API" in line:
            assert line.startswith("YARN REST API at http://127.0.0.1:"), line
