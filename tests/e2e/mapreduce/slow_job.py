"""A mrjob-style job slow enough to interrupt (each line takes half a second to map), and
its input: tests of Ctrl-C in `rayemr mr` and in gateway clients use both."""
from __future__ import annotations

from pathlib import Path

SLOW_JOB = '''
import time
from rayemr.mapreduce import MRJob


class Slow(MRJob):
    def mapper(self, _, line):
        time.sleep(0.5)
        yield line, 1

    def reducer(self, key, values):
        yield key, sum(values)


if __name__ == "__main__":
    Slow.run()
'''


def write_slow_job(folder: Path, lines: int, name: str = "Slow") -> tuple[Path, Path]:
    """``slow.py`` (its job class, and so its YARN application, named ``name``) and an input
    folder ``slow/`` of four files of ``lines`` lines in ``folder``."""
    job = folder / "slow.py"
    job.write_text(SLOW_JOB.replace("Slow", name))
    data = folder / "slow"
    data.mkdir()
    for i in range(4):
        (data / f"f{i}.txt").write_text("".join(f"line {i} {n}\n" for n in range(lines)))
    return job, data
