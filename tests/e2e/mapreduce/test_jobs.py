"""Every example in jobs/ against its checked-in expected output."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rayemr.mapreduce.loading import load_job_file
from rayemr.mapreduce.runner import JobRunner

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
JOBS = os.path.join(ROOT, "jobs")
DATA = os.path.join(ROOT, "rayemr", "data", "mapreduce")

CASES = {
    "wordcount": ([], [os.path.join(DATA, "text")]),
    "wordcount_vectorized": ([], [os.path.join(DATA, "text")]),
    "grep": (["--pattern", "sea|truth"], [os.path.join(DATA, "text")]),
    "topn": (["--n", "5"], [os.path.join(DATA, "text")]),
    "join": ([], [os.path.join(JOBS, "data", "join")]),
    "loganalysis": ([], [os.path.join(DATA, "access.log")]),
}


def expected(name: str) -> list[bytes]:
    with open(os.path.join(JOBS, "expected", f"{name}.txt"), "rb") as f:
        return sorted(f.read().splitlines())


def run_job(name: str, tmp_path, runner: str = "inline", reducers: int | None = None):
    args, inputs = CASES[name]
    cls = load_job_file(os.path.join(JOBS, f"{name}.py"))
    job = cls(args=args + inputs)
    out = str(tmp_path / f"{name}-out")
    with JobRunner(job, runner=runner, output_dir=out, num_reducers=reducers) as r:
        r.run()
        lines = sorted(b"".join(r.cat_output()).splitlines())
        return lines, r.counters()[0], out


@pytest.mark.parametrize("name", sorted(CASES))
def test_job_inline_matches_expected(name, tmp_path):
    lines, counters, out = run_job(name, tmp_path, reducers=3)
    assert lines == expected(name)
    assert os.path.exists(os.path.join(out, "_SUCCESS"))
    assert counters["Map-Reduce Framework"]["Map input records"] > 0


@pytest.mark.parametrize("name", ["wordcount", "wordcount_vectorized", "topn", "loganalysis"])
def test_job_on_ray_matches_expected(name, tmp_path, ray_local):
    lines, counters, _ = run_job(name, tmp_path, runner="local", reducers=2)
    assert lines == expected(name)
    assert counters["Job Counters"]["Launched map tasks"] >= 1


def test_job_script_command_line(tmp_path):
    out = tmp_path / "wc"
    proc = subprocess.run([sys.executable, os.path.join(JOBS, "wordcount.py"), "-r", "inline",
                           os.path.join(DATA, "text"), "-o", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "map 100% reduce 100%" in proc.stderr and "Map input records=" in proc.stderr
    parts = sorted(p for p in os.listdir(out) if p.startswith("part-r-"))
    data = b"".join(open(out / p, "rb").read() for p in parts)
    assert sorted(data.splitlines()) == expected("wordcount")


def _records(folder: str) -> list[bytes]:
    """The 100-byte records of a folder's part files, in part order."""
    data = b"".join(open(os.path.join(folder, p), "rb").read()
                    for p in sorted(os.listdir(folder)) if p.startswith("part-"))
    assert len(data) % 100 == 0
    return [data[i:i + 100] for i in range(0, len(data), 100)]


def _tera(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, os.path.join(JOBS, script), *args],
                          capture_output=True, text=True, timeout=300)


def test_tera_jobs_sort_and_validate(tmp_path):
    """jobs/teragen.py, terasort.py and teravalidate.py as users run them: the validation
    report is the checked-in one, and the output is the input's records in key order."""
    src, dst = str(tmp_path / "in"), str(tmp_path / "out")
    gen = _tera("teragen.py", "5000", src, "--maps", "3", "-r", "inline")
    assert gen.returncode == 0, gen.stderr
    assert "Counters:" in gen.stdout and "Map output records=5000" in gen.stdout
    sort = _tera("terasort.py", src, dst, "--reducers", "3", "-r", "inline")
    assert sort.returncode == 0, sort.stderr
    check = _tera("teravalidate.py", dst, "--input", src, "-r", "inline")
    assert check.returncode == 0, check.stdout + check.stderr
    with open(os.path.join(JOBS, "expected", "teravalidate.txt")) as f:
        assert check.stdout == f.read()
    # checked without tera.py: the same records, sorted by their 10-byte keys
    records_in, records_out = _records(src), _records(dst)
    assert len(records_out) == 5000 and sorted(records_out) == sorted(records_in)
    keys = [r[:10] for r in records_out]
    assert keys == sorted(keys)
    assert records_in != records_out  # the input was not in order already
    parts = [p for p in os.listdir(dst) if p.startswith("part-r-")]
    assert len(parts) == 3 and all(os.path.getsize(os.path.join(dst, p)) for p in parts)
    # the validator can fail: the generated input is out of order
    unsorted = _tera("teravalidate.py", src, "-r", "inline")
    assert unsorted.returncode == 1, unsorted.stdout
    assert "ERROR" in unsorted.stdout and unsorted.stdout.endswith("FAILED\n")


def test_terasort_checksums_match_the_expected_report(tmp_path):
    """The library calls behind the scripts: input and output checksums equal the one in
    the checked-in report (not only each other)."""
    from rayemr.mapreduce.tera import teragen, terasort, teravalidate

    with open(os.path.join(JOBS, "expected", "teravalidate.txt")) as f:
        fields = dict(kv.split("=") for kv in f.readline().split())
    want = (int(fields["records"]), int(fields["checksum"], 16))
    src, dst = str(tmp_path / "in"), str(tmp_path / "out")
    teragen(src, 5000, num_maps=3, runner="inline")
    terasort(src, dst, num_reducers=3, runner="inline", split_size=100_000)
    v_in = teravalidate(src, runner="inline")
    v_out = teravalidate(dst, runner="inline", split_size=100_000)
    assert v_out.ok, v_out.errors
    assert (v_in.records, v_in.checksum) == want
    assert (v_out.records, v_out.checksum) == want
    assert not v_in.ok  # generated data is not sorted: the validator can fail


@pytest.mark.parametrize("name", sorted(CASES))
def test_docstring_command_reproduces_expected(name, tmp_path):
    """The command at the top of each job file gives jobs/expected/<name>.txt (run inline,
    from the repository's root, into a fresh output folder)."""
    import shlex

    with open(os.path.join(JOBS, f"{name}.py")) as f:
        doc = f.read().split('"""')[1]
    (line,) = [ln.strip() for ln in doc.splitlines()
               if ln.strip().startswith(f"python jobs/{name}.py")]
    argv = shlex.split(line)[2:]
    argv[argv.index("-r") + 1] = "inline"
    argv[argv.index("-o") + 1] = str(tmp_path / "out")
    argv = [os.path.join(ROOT, a) if os.path.exists(os.path.join(ROOT, a)) else a
            for a in argv]
    cls = load_job_file(os.path.join(JOBS, f"{name}.py"))
    with JobRunner(cls(args=argv)) as r:
        r.run()
        assert sorted(b"".join(r.cat_output()).splitlines()) == expected(name)
