"""`rayemr yarn logs -applicationId ID`: every container's stdout, stderr and syslog."""
from __future__ import annotations

import pytest

from rayemr.cli import main
from rayemr.mapreduce import MRJob
from rayemr.mapreduce.runner import JobRunner


class Chatty(MRJob):
    def mapper(self, _, line):
        import logging
        import sys

        print(f"mapper saw {line}")
        print(f"warning about {line}", file=sys.stderr)
        logging.getLogger("chatty").warning("logged %s", line)
        yield line, 1

    def reducer(self, key, values):
        print(f"reducer got {key}")
        yield key, sum(values)


@pytest.fixture
def finished_app(ray_local, tmp_path):
    (tmp_path / "in.txt").write_text("alpha\nbeta\n")
    job = Chatty(args=[str(tmp_path / "in.txt")])
    with JobRunner(job, runner="ray", output_dir=str(tmp_path / "out"),
                   num_reducers=1) as runner:
        runner.run()
        return ray_local.address, runner.result.app_id


def test_logs_of_every_container(finished_app, capsys):
    address, app_id = finished_app
    assert main(["yarn", "--address", address, "logs", "-applicationId", app_id]) == 0
    out = capsys.readouterr().out
    blocks = out.split("Container: ")[1:]
    assert len(blocks) == 2  # one map task, one reduce task
    assert all("LogAggregationType: AGGREGATED" in b for b in blocks)
    assert "mapper saw alpha" in out and "mapper saw beta" in out
    assert "warning about beta" in out and "reducer got alpha" in out
    assert "WARNING" in out and "chatty: logged alpha" in out
    lines = out.splitlines()
    for log_type in ("stdout", "stderr", "syslog"):
        assert lines.count(f"LogType:{log_type}") == 2
        assert lines.count(f"End of LogType:{log_type}") == 2


def test_one_container_and_log_type(finished_app, capsys):
    address, app_id = finished_app
    main(["yarn", "--address", address, "logs", "-applicationId", app_id])
    first = capsys.readouterr().out.split("Container: ")[1].split(" on ")[0]
    assert main(["yarn", "--address", address, "logs", "-applicationId", app_id,
                 "-containerId", first, "-log_files", "stdout"]) == 0
    out = capsys.readouterr().out
    assert out.count("Container: ") == 1 and "LogType:stderr" not in out
    assert out.splitlines().count("LogType:stdout") == 1


def test_unknown_application_is_one_line(ray_local, own_stderr):
    code = main(["yarn", "--address", ray_local.address, "logs", "-applicationId",
                 "application_1_9999"])
    err = own_stderr()
    assert code == 1 and len(err) == 1 and "application_1_9999" in err[0], err
