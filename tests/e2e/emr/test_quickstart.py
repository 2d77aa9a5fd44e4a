"""docs/emr.md's quick start, run as written (from the repository's root)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def quickstart_command() -> str:
    text = (ROOT / "docs" / "emr.md").read_text()
    section = text.split("## Quick start (local mode)", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return "\n".join(line for line in block.splitlines() if not line.startswith("#"))


def test_docs_quick_start_runs_every_step(tmp_path):
    command = quickstart_command()
    for path in ("./emr-logs", "./emr-out"):
        assert path in command
        command = command.replace(path, str(tmp_path / path[2:]))
    assert "rayemr/emr/examples/report.q" in command and (ROOT / "rayemr/emr/examples/report.q"
                                                         ).exists()
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(RAYEMR_HOME=str(tmp_path / "home"), PYTHONPATH=str(ROOT),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    command = command.replace("rayemr emr", f"{sys.executable} -m rayemr.cli emr", 1)
    proc = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=420)
    assert proc.returncode == 0, proc.stderr[-3000:]
    first, end = json.JSONDecoder().raw_decode(proc.stdout)
    final = json.loads(proc.stdout[end:])
    states = {s["Name"]: s["Status"]["State"] for s in final["Steps"]}
    assert states == {"hello": "COMPLETED", "wordcount": "COMPLETED", "report": "COMPLETED"}
    report = next(s for s in final["Steps"] if s["Name"] == "report")
    out = tmp_path / "emr-logs" / first["ClusterId"] / "steps" / report["Id"] / "stdout"
    day, lines, words = out.read_text().split()
    assert day == "2024-01-01" and int(lines) > 0 and int(words) > int(lines)
    assert (tmp_path / "emr-out" / "wordcount" / "_SUCCESS").exists()
