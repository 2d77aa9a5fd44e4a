"""`rayemr demo` from the command line, from any directory: the README's first command."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def _expected(name: str) -> list[tuple]:
    with open(os.path.join(ROOT, "jobs", "expected", f"{name}.txt")) as f:
        return [tuple(json.loads(p) for p in line.rstrip("\n").split("\t")) for line in f
                if line.strip()]


def _check_results(out: str) -> None:
    lines = [line.split() for line in out.splitlines()]
    for (kind, name), (hits, nbytes) in _expected("loganalysis"):
        assert name.split() + [str(hits), f"{nbytes:,}"] in lines, (kind, name, out)
    counts = dict(_expected("wordcount"))
    flat = " ".join(out.split())
    best = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    for rank, (word, n) in enumerate(best[:10], start=1):
        assert f"{rank}. {word} {n}" in flat
    long_words = [(w, n) for w, n in best if len(w) >= 6][:5]
    for word, n in long_words:
        assert [word, str(n)] in lines


def _run(args, cwd, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "rayemr.cli", "demo", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=str(cwd),
                          env=env)


def test_demo_inline_from_another_directory(tmp_path):
    proc = _run(["-r", "inline", "--folder", str(tmp_path / "demo")], tmp_path)
    assert proc.returncode == 0, proc.stderr
    _check_results(proc.stdout)
    assert (tmp_path / "demo" / "output" / "wordcount").is_dir()


def test_demo_rejects_bad_arguments(tmp_path):
    proc = _run(["--top", "0"], tmp_path)
    assert proc.returncode != 0
    assert proc.stderr.strip().count("\n") == 0 and "--top" in proc.stderr


@pytest.mark.slow
def test_demo_fresh_start_is_quiet_and_complete(tmp_path):
    """What a new user sees: Ray started here, a cluster, four steps, results, exit 0, and
    no log noise on either stream."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    # YARN's usual REST port taken: the ResourceManager logs a warning, which must not show
    busy = socket.socket()
    try:
        busy.bind(("127.0.0.1", 8088))
        busy.listen()
    except OSError:
        pass  # taken already
    try:
        proc = _run(["--num-cpus", "2", "--folder", str(tmp_path / "demo")], tmp_path,
                    env=env, timeout=600)
    finally:
        busy.close()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    _check_results(out)
    for n, state in enumerate(["COMPLETED", "COMPLETED", "FAILED", "COMPLETED"], start=1):
        assert any(line.startswith(f"  {n}. ") and state in line for line in out.splitlines())
    assert "Starting Ray (local mode)" in out and "TERMINATED" in out
    noise = [line for line in (out + proc.stderr).splitlines()
             if "WARNING" in line or " INFO " in line or "pid=" in line]
    assert not noise, noise
    assert proc.stderr.strip() == ""


def test_demo_refuses_a_folder_with_an_earlier_run(tmp_path, capsys):
    from rayemr.cli import main

    folder = tmp_path / "demo"
    (folder / "output" / "wordcount").mkdir(parents=True)  # what a run leaves
    for runner in ("inline", "local"):  # refused before Ray starts
        assert main(["demo", "-r", runner, "--folder", str(folder)]) == 1
        out, err = capsys.readouterr()
        assert err.strip() == (f"rayemr demo: {folder} already holds a demo run "
                               f"(output); give another folder or remove it")
        assert "Starting Ray" not in out


def test_emr_demo_is_the_same_command(tmp_path, capsys):
    from rayemr.cli import main

    assert main(["emr", "demo", "-r", "inline", "--folder", str(tmp_path / "d")]) == 0
    _check_results(capsys.readouterr().out)
