"""A job class imported from a folder only the submitting process has on sys.path: the
task processes cannot import it, and the error says so and what to do."""
from __future__ import annotations

import sys

import pytest

from rayemr.core.errors import UserError
from rayemr.mapreduce.source import JobSource

JOB = '''
from rayemr.mapreduce import MRJob


class PathOnlyJob(MRJob):
    def mapper(self, _, line):
        yield line, 1

    def reducer(self, key, values):
        yield key, sum(values)
'''


def test_unimportable_job_module_is_named_with_a_hint():
    with pytest.raises(UserError) as info:
        JobSource("Job", (), module="rayemr_no_such_job_module").job_class()
    msg = str(info.value)
    assert "module 'rayemr_no_such_job_module' cannot be imported in the task process" in msg
    assert "PYTHONPATH" in msg


def test_make_runner_with_a_class_from_sys_path_only(ray_local, tmp_path, monkeypatch):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "rayemr_pathonly_job.py").write_text(JOB)
    (tmp_path / "in.txt").write_text("a\nb\na\n")
    monkeypatch.syspath_prepend(str(folder))
    from rayemr_pathonly_job import PathOnlyJob

    job = PathOnlyJob(args=["-r", "local", str(tmp_path / "in.txt"), "-o",
                            str(tmp_path / "out"), "--max-attempts", "1"])
    try:
        with job.make_runner() as runner, pytest.raises(UserError) as info:
            runner.run()
    finally:
        sys.modules.pop("rayemr_pathonly_job", None)
    assert "module 'rayemr_pathonly_job' cannot be imported in the task process" in str(
        info.value)
    assert not (tmp_path / "out").exists()
