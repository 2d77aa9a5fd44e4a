"""Mistakes refused before any cluster starts: Ray is made to fail, so reaching it shows."""
from __future__ import annotations

import io
import os
import socket
import sys

import pytest

import rayemr.runtime
from rayemr.cli import main

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
WORDCOUNT = os.path.join(ROOT, "jobs", "wordcount.py")
TEXT = os.path.join(ROOT, "rayemr", "data", "mapreduce", "text")


@pytest.fixture
def no_ray(monkeypatch):
    """Any attempt to start or join Ray fails the test."""
    def refuse(*_a, **_k):
        raise AssertionError("Ray was started before the mistake was found")

    monkeypatch.setattr(rayemr.runtime, "init", refuse)


def one_line(own_stderr) -> str:
    err = own_stderr()
    assert len(err) == 1, err
    return err[0]


def test_existing_output_names_overwrite(no_ray, tmp_path, own_stderr):
    out = tmp_path / "out"
    out.mkdir()
    (out / "part-00000").write_text("old\n")
    assert main(["mr", WORDCOUNT, TEXT, "-o", str(out)]) == 1
    assert one_line(own_stderr) == (f"rayemr mr: Output directory {out} already exists (choose a "
                                "new location, or pass --overwrite to replace it)")
    assert (out / "part-00000").read_text() == "old\n"


def test_missing_input(no_ray, tmp_path, own_stderr):
    assert main(["mr", WORDCOUNT, str(tmp_path / "nope"), "-o", str(tmp_path / "o")]) == 1
    assert one_line(own_stderr) == f"rayemr mr: {tmp_path / 'nope'}: no such file or directory"
    assert not (tmp_path / "o").exists()


def test_no_input(no_ray, tmp_path, own_stderr):
    assert main(["mr", WORDCOUNT, "-o", str(tmp_path / "o")]) == 1
    assert one_line(own_stderr) == ("rayemr mr: no input: name one or more input paths or URLs "
                                "(- reads standard input)")


def test_misspelled_input_bucket(no_ray, s3_bucket, tmp_path, own_stderr):
    bad = f"s3://{s3_bucket}-typo/logs/"
    assert main(["mr", WORDCOUNT, bad, "-o", str(tmp_path / "o")]) == 1
    assert one_line(own_stderr) == f"rayemr mr: {bad}: bucket '{s3_bucket}-typo' does not exist"


def test_job_file_run_directly_checks_first(no_ray, tmp_path, capsys):
    from rayemr.mapreduce.loading import load_job_file
    from rayemr.mapreduce.runner import run_job_cli

    cls = load_job_file(WORDCOUNT)
    out = tmp_path / "out"
    out.mkdir()
    (out / "x").write_text("x")
    err = io.StringIO()
    job = cls(args=["-r", "local", TEXT, "-o", str(out)])
    assert run_job_cli(job, out=io.StringIO(), err=err) == 1
    assert "pass --overwrite" in err.getvalue()


def test_stdin_is_read_for_dash(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"to be or not to be\n")))
    assert main(["mr", WORDCOUNT, "-r", "inline", "-q", "-"]) == 0
    lines = sorted(capsys.readouterr().out.splitlines())
    assert lines == ['"be"\t2', '"not"\t1', '"or"\t1', '"to"\t2']


def test_hiveserver2_port_in_use(no_ray, own_stderr):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["hiveserver2", "--port", str(port)]) == 1
    line = one_line(own_stderr)
    assert line.startswith(f"rayemr hiveserver2: cannot listen on 127.0.0.1:{port}: ")
    assert "--port" in line
