"""Step command lines and log handling (no Ray)."""
from __future__ import annotations

import sys

from rayemr.emr.configurations import parse_configurations
from rayemr.emr.runner import StepInputs, StepProcess, step_command
from rayemr.emr.steps import StepSpec

CONF = parse_configurations([
    {"Classification": "hive-site", "Properties": {"hive.exec.reducers.max": "5"}},
    {"Classification": "mapred-site", "Properties": {"mapreduce.job.reduces": "3",
                                                     "mapreduce.job.queuename": "etl"}},
    {"Classification": "core-site", "Properties": {"fs.s3.maxRetries": "7"}},
])
RAYEMR = [sys.executable, "-m", "rayemr.cli"]


def test_hive_step_command_carries_hive_site_and_vars():
    spec = StepSpec.from_any({"Type": "HIVE", "Args": [
        "-f", "s3://b/q.q", "-d", "IN=s3://b/in", "--hiveconf", "hive.exec.reducers.max=9"]})
    cmd = step_command(spec, CONF, StepInputs(hive_script="/tmp/q.q"))
    assert cmd[:6] == RAYEMR + ["hive", "-f", "/tmp/q.q"]
    assert cmd[cmd.index("--hivevar") + 1] == "IN=s3://b/in"
    confs = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--hiveconf"]
    assert "hive.exec.reducers.max=9" in confs  # the step's own value wins
    assert "hive.exec.reducers.max=5" not in confs
    assert "fs.s3.maxRetries=7" in confs


def test_mapreduce_step_command_carries_mapred_site_and_queue():
    spec = StepSpec.from_any({"Type": "MAPREDUCE", "Args": ["s3://b/job.py", "s3://b/in",
                                                           "-o", "s3://b/out"]})
    cmd = step_command(spec, CONF, StepInputs(job_file="/tmp/job.py"))
    assert cmd[:6] == RAYEMR + ["mr", "/tmp/job.py", "s3://b/in"]
    assert cmd[cmd.index("--queue") + 1] == "etl"
    assert "mapreduce.job.reduces=3" in cmd
    spec2 = StepSpec.from_any({"Type": "MAPREDUCE", "Args": ["j.py", "--queue", "adhoc"]})
    assert step_command(spec2, CONF).count("--queue") == 1


def test_command_step_uses_this_rayemr():
    spec = StepSpec.from_any({"Type": "COMMAND", "Args": ["rayemr", "fs", "ls", "/"]})
    assert step_command(spec, CONF) == RAYEMR + ["fs", "ls", "/"]
    spec = StepSpec.from_any({"Type": "COMMAND", "Args": ["echo", "x"]})
    assert step_command(spec, CONF) == ["echo", "x"]


def test_step_process_logs_and_exit_code(tmp_path):
    proc = StepProcess("s-1", ["bash", "-c", "echo out; echo err >&2; exit 5"],
                       str(tmp_path / "w"), {"PATH": "/usr/bin:/bin"},
                       log_prefix=str(tmp_path / "logs"))
    assert proc.run() == 5
    assert (tmp_path / "logs" / "stdout").read_text() == "out\n"
    assert (tmp_path / "logs" / "stderr").read_text() == "err\n"
    assert "exit code 5" in (tmp_path / "logs" / "controller").read_text()


def test_secrets_are_not_written_to_the_controller_log(tmp_path):
    proc = StepProcess("s-1", ["true", "fs.s3a.secret.key=hunter2"], str(tmp_path), {},
                       log_prefix=None)
    proc.run()
    assert "hunter2" not in (tmp_path / "controller").read_text()


def test_killing_a_step_stops_its_children(tmp_path):
    import os
    import threading

    ready = tmp_path / "ready"
    os.mkfifo(ready)
    proc = StepProcess("s-1", ["bash", "-c", f"sleep 30 & echo $! > {ready}; wait"],
                       str(tmp_path), {}, log_prefix=None)
    t = threading.Thread(target=proc.run)
    t.start()
    with open(ready) as f:  # blocks until the step's child runs
        assert int(f.read()) > 0
    proc.kill()
    t.join(timeout=15)
    assert not t.is_alive() and proc.killed


def test_run_step_gives_the_process_to_its_caller_and_names_a_failure(tmp_path):
    from rayemr.emr.runner import run_step

    seen = []
    spec = StepSpec.from_any({"Type": "COMMAND", "Args": ["bash", "-c", "echo boom >&2; exit 3"]})
    code, reason = run_step("s-1", spec, CONF, folder=str(tmp_path / "a"),
                            env={"PATH": "/usr/bin:/bin"}, log_prefix=None, started=seen.append)
    assert (code, reason) == (3, "exit code 3: boom") and seen[0].step_id == "s-1"
    missing = StepSpec.from_any({"Type": "HIVE", "Args": ["-f", str(tmp_path / "nope.q")]})
    code, reason = run_step("s-2", missing, CONF, folder=str(tmp_path / "b"), env={},
                            log_prefix=str(tmp_path / "logs"))
    assert code == 1 and "nope.q" in reason and "\n" not in reason
    assert "nope.q" in (tmp_path / "logs" / "stderr").read_text()
