"""`rayemr demo` prints the log analysis and word count of the bundled data."""
from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def test_demo_inline_from_another_directory(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "rayemr.cli", "demo", "-r", "inline"],
                          capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "map 100% reduce 100%" in out
    # numbers agree with the checked-in expected output of jobs/loganalysis.py
    with open(os.path.join(ROOT, "jobs", "expected", "loganalysis.txt")) as f:
        first = f.read().splitlines()
    status_200 = [line for line in first if line.startswith('["status", "200"]')][0]
    hits = status_200.split("\t")[1].strip("[]").split(",")[0]
    assert any(line.split()[:2] == ["200", hits] for line in out.splitlines())
    assert any(line.split() == ["the", "20"] for line in out.splitlines())
