"""A job failing on Ray leaves no output folder of its own, and keeps one that existed."""
from __future__ import annotations

import pytest

from rayemr.engine import TaskFailedError
from rayemr.mapreduce import MRJob
from rayemr.mapreduce.runner import JobRunner


class Raises(MRJob):
    def mapper(self, _, line):
        raise ValueError(f"cannot map {line!r}")
        yield line, 1  # pragma: no cover

    def reducer(self, key, counts):  # pragma: no cover
        yield key, sum(counts)


def test_failed_job_on_ray_removes_only_what_it_created(tmp_path, ray_local):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text("x\ny\n")
    made = tmp_path / "made" / "out"
    existing = tmp_path / "existing"
    existing.mkdir()
    for out in (made, existing):
        with pytest.raises(TaskFailedError, match="nothing was committed"):
            JobRunner(Raises(args=[]), runner="local", inputs=[str(src)], output_dir=str(out),
                      max_attempts=1, conf={"rayemr.mapreduce.yarn": "false"}).run()
    assert not (tmp_path / "made").exists()
    assert existing.is_dir() and list(existing.iterdir()) == []
