"""Bad job settings fail up front with one line; a failed job leaves no folder of its own.

Inline runner and the ``rayemr`` command in this process (no Ray).
"""
from __future__ import annotations

import inspect
import logging

import pytest

from rayemr.cli import main
from rayemr.runtime import RAY_NOTICE_LOGGERS
from rayemr.core.errors import ConfigError
from rayemr.engine import TaskFailedError
from rayemr.mapreduce import MRJob
from rayemr.mapreduce.runner import JobRunner


class WC(MRJob):
    def mapper(self, _, line):
        for w in line.split():
            yield w, 1

    def reducer(self, w, counts):
        yield w, sum(counts)


#: The same word count as a job file, for the CLI tests.
JOB_FILE = "from rayemr.mapreduce import MRJob\n\n\n" + inspect.getsource(WC)


class Raises(MRJob):
    def mapper(self, _, line):
        raise ValueError("cannot map this record")
        yield line, 1  # pragma: no cover

    def reducer(self, key, counts):  # pragma: no cover
        yield key, sum(counts)


@pytest.fixture
def src(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.txt").write_bytes(b"a b\nb c\n")
    return str(d)


@pytest.mark.parametrize("key,value", [
    ("mapreduce.job.reduces", "abc"),
    ("mapred.reduce.tasks", "two"),
    ("mapreduce.input.fileinputformat.split.maxsize", "lots"),
    ("mapreduce.map.maxattempts", "many"),
    ("mapreduce.task.io.sort.mb", "big"),
    ("mapreduce.map.memory.mb", "1g"),
    ("mapreduce.reduce.memory.mb", "2.5"),
])
def test_non_numeric_conf_is_a_config_error_naming_key_and_value(src, tmp_path, key, value):
    out = tmp_path / "o"
    with pytest.raises(ConfigError) as info:
        JobRunner(WC(args=[]), inputs=[src], output_dir=str(out), conf={key: value}).run()
    assert key in str(info.value) and repr(value) in str(info.value)
    assert "\n" not in str(info.value)
    assert not out.exists()


@pytest.mark.parametrize("kwargs,what", [
    ({"num_reducers": 0}, "--num-reducers"),
    ({"conf": {"mapreduce.job.reduces": "0"}}, "mapreduce.job.reduces"),
])
def test_zero_reducers_rejected_saying_how_to_write_a_map_only_job(src, tmp_path, kwargs,
                                                                   what):
    with pytest.raises(ConfigError) as info:
        JobRunner(WC(args=[]), inputs=[src], output_dir=str(tmp_path / "o"), **kwargs)
    msg = str(info.value)
    assert msg.startswith(f"{what} must be at least 1, got 0")
    assert "map-only" in msg and "no reducer" in msg


@pytest.mark.parametrize("n", [0, -2])
def test_max_attempts_below_one_rejected(src, tmp_path, n):
    with pytest.raises(ConfigError, match=rf"--max-attempts must be at least 1, got {n}$"):
        JobRunner(WC(args=[]), inputs=[src], output_dir=str(tmp_path / "o"), max_attempts=n)


def test_explicit_counts_are_used(src, tmp_path):
    r = JobRunner(WC(args=[]), inputs=[src], output_dir=str(tmp_path / "o"), num_reducers=3,
                  max_attempts=1)
    assert (r.num_reducers, r.max_attempts) == (3, 1)


@pytest.mark.parametrize("option", [
    ["--conf", "mapreduce.job.reduces=abc"],
    ["--conf", "mapreduce.input.fileinputformat.split.maxsize=lots"],
    ["--num-reducers", "0"],
    ["--max-attempts", "0"],
])
def test_cli_reports_bad_settings_in_one_line(src, tmp_path, capsys, option):
    job = tmp_path / "wc.py"
    job.write_text(JOB_FILE)
    out = tmp_path / "o"
    rc = main(["mr", str(job), src, "-o", str(out), "-r", "inline", "-q", *option])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.count("\n") == 1 and err.startswith("rayemr mr: ")
    assert "Traceback" not in err and option[1].split("=")[0] in err
    assert not out.exists()


def test_failed_job_removes_the_output_folders_it_created(src, tmp_path):
    out = tmp_path / "new" / "deeper" / "out"
    with pytest.raises(TaskFailedError, match="nothing was committed"):
        JobRunner(Raises(args=[]), inputs=[src], output_dir=str(out), max_attempts=1).run()
    assert not (tmp_path / "new").exists()


def test_failed_job_keeps_an_output_folder_that_existed(src, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(TaskFailedError):
        JobRunner(Raises(args=[]), inputs=[src], output_dir=str(out), max_attempts=1).run()
    assert out.is_dir() and list(out.iterdir()) == []


def test_failed_job_keeps_a_parent_that_gained_other_files(src, tmp_path):
    out = tmp_path / "made" / "out"

    class RaisesAndWrites(Raises):
        def mapper(self, _, line):
            (tmp_path / "made" / "other.txt").write_text("someone else's")
            raise ValueError("cannot map this record")
            yield line, 1  # pragma: no cover

    with pytest.raises(TaskFailedError):
        JobRunner(RaisesAndWrites(args=[]), inputs=[src], output_dir=str(out),
                  max_attempts=1).run()
    assert not out.exists()
    assert (tmp_path / "made" / "other.txt").read_text() == "someone else's"


def test_successful_job_output_is_kept(src, tmp_path):
    out = tmp_path / "new" / "out"
    with JobRunner(WC(args=[]), inputs=[src], output_dir=str(out)) as r:
        r.run()
    assert (out / "_SUCCESS").exists()


def test_cli_keeps_ray_start_up_notices_quiet_unless_verbose():
    loggers = [logging.getLogger(n) for n in RAY_NOTICE_LOGGERS]
    try:
        for lg in loggers:
            lg.setLevel(logging.NOTSET)
        main(["-v"])
        assert all(lg.level == logging.NOTSET for lg in loggers)
        main([])
        assert all(lg.level == logging.ERROR for lg in loggers)
    finally:
        for lg in loggers:
            lg.setLevel(logging.NOTSET)


def test_quieted_logger_is_the_one_ray_warns_on():
    from ray._private.authentication import authentication_token_setup as setup

    assert setup.logger.name in RAY_NOTICE_LOGGERS
