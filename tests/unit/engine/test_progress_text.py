"""Progress as the CLI shows it: map/reduce percentages, stage counts, live on a terminal."""
from __future__ import annotations

import io

from rayemr.engine.schedule import Progress
from rayemr.mapreduce.runner import progress_printer


def test_stage_counts_only_for_several_stages():
    assert Progress(0.5, 0.0, (("Stage-1", 1, 2),)).stage_counts() == ""
    p = Progress(1.0, 0.25, (("Stage-1", 4, 4), ("Stage-2", 1, 4), ("Stage-3", 0, 1)))
    assert p.stage_counts() == "stages 1/3 done, Stage-2 1/4 tasks"


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_printer_prints_lines_on_a_pipe_and_rewrites_one_on_a_terminal():
    pipe = io.StringIO()
    show = progress_printer(pipe, "Job")
    show(Progress(0.5, 0.0, (("Stage-1", 1, 2), ("Stage-2", 0, 1))))
    show(Progress(1.0, 1.0, (("Stage-1", 2, 2), ("Stage-2", 1, 1))))
    lines = pipe.getvalue().splitlines()
    assert len(lines) == 2 and "Job: map 50% reduce 0% (stages 0/2 done, Stage-1 1/2 tasks)" \
        in lines[0]
    tty = Tty()
    show = progress_printer(tty, "Job")
    show(Progress(0.5, 0.0, (("Stage-1", 1, 2),)))
    show(Progress(1.0, 0.0, (("Stage-1", 2, 2),)))  # map-only: complete at map 100%
    text = tty.getvalue()
    assert text.count("\r") == 2 and text.endswith("map 100% reduce 0%\n")
