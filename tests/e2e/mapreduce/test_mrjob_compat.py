"""Job files written for mrjob run unchanged with `rayemr mr` and give mrjob's output."""
from __future__ import annotations

import os
import subprocess
import sys

import mrjob  # noqa: F401 -- the test extra installs it; these tests compare with it
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
JOBS = os.path.join(HERE, "mrjob_jobs")
TEXT = os.path.join(HERE, "..", "..", "..", "rayemr", "data", "mapreduce", "text")


def mrjob_output(job: str, runner: str, *args: str) -> list[bytes]:
    proc = subprocess.run([sys.executable, os.path.join(JOBS, job), "-r", runner, *args],
                          capture_output=True, timeout=300, cwd=JOBS)
    assert proc.returncode == 0, proc.stderr.decode()
    return sorted(proc.stdout.splitlines())


def rayemr_output(job: str, *args: str) -> tuple[list[bytes], str]:
    proc = subprocess.run([sys.executable, "-m", "rayemr.cli", "mr", os.path.join(JOBS, job),
                           "-r", "inline", *args], capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    return sorted(proc.stdout.splitlines()), proc.stderr.decode()


def test_multistep_job_with_passthru_arg_and_counters():
    ours, err = rayemr_output("mr_top_words.py", TEXT, "--min-count", "3", "--num-reducers",
                              "3")
    assert ours == mrjob_output("mr_top_words.py", "inline", TEXT, "--min-count", "3")
    assert len(ours) > 5
    assert "\twords\n\t\tseen=247" in err  # the job's own counter, from mrjob's stderr lines


def test_sort_values_pickle_protocol_init_final():
    ours, err = rayemr_output("mr_secondary_sort.py", TEXT, "--num-reducers", "2")
    assert ours == mrjob_output("mr_secondary_sort.py", "inline", TEXT)
    assert "groups=" in err


def test_shell_steps_and_files(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("# a comment\nThe cat and the hat.\nOf mice and men, the cat\n")
    ours, _ = rayemr_output("mr_shell_steps.py", str(src))
    assert ours == mrjob_output("mr_shell_steps.py", "local", str(src))
    assert any(b'"cat"\t2' in line for line in ours)


def test_output_dir_written_through_committer(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "rayemr.cli", "mr",
                           os.path.join(JOBS, "mr_top_words.py"), "-r", "inline", TEXT,
                           "-o", str(out), "-q"], capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    assert sorted(os.listdir(out))[0] == "_SUCCESS"
    proc = subprocess.run([sys.executable, "-m", "rayemr.cli", "mr",
                           os.path.join(JOBS, "mr_top_words.py"), "-r", "inline", TEXT,
                           "-o", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "exists" in proc.stderr
    assert "Traceback" not in proc.stderr
