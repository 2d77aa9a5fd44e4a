"""The Ray runner: same output as inline, failures on Ray, a node lost mid-job."""
from __future__ import annotations

import os
import threading
import time

import pytest

from rayemr.core.waiting import wait_for
from rayemr.engine import TaskFailedError
from rayemr.mapreduce import MRJob
from rayemr.mapreduce.runner import JobRunner


class SlowWordCount(MRJob):
    def configure_args(self):
        super().configure_args()
        self.add_passthru_arg("--delay", type=float, default=0.0)

    def mapper(self, _, line):
        time.sleep(self.options.delay)
        for w in line.split():
            yield w, 1

    def combiner(self, w, c):
        yield w, sum(c)

    def reducer(self, w, c):
        yield w, sum(c)


class Boom(MRJob):
    def mapper(self, _, line):
        if "boom" in line:
            raise ValueError(f"bad record {line!r}")
        yield line, 1

    def reducer(self, k, v):
        yield k, sum(v)


def _make_input(d, files: int, lines: int) -> str:
    os.makedirs(d, exist_ok=True)
    for f in range(files):
        with open(os.path.join(d, f"part-{f:03d}.txt"), "w") as out:
            for i in range(lines):
                out.write(f"w{(f * 7 + i) % 13} w{i % 5} common\n")
    return d


def _run(job, src, out, runner, reducers=3, **kw):
    with JobRunner(job, runner=runner, inputs=[src], output_dir=out, num_reducers=reducers,
                   **kw) as r:
        r.run()
        return sorted(b"".join(r.cat_output()).splitlines()), r.counters()[0]


def test_ray_runner_matches_inline_and_fails_cleanly(tmp_path, ray_local):
    src = _make_input(str(tmp_path / "in"), files=4, lines=50)
    inline, _ = _run(SlowWordCount(args=[]), src, str(tmp_path / "a"), "inline")
    on_ray, counters = _run(SlowWordCount(args=[]), src, str(tmp_path / "b"), "local")
    assert on_ray == inline and len(inline) == 14
    assert counters["Job Counters"]["Launched map tasks"] == 4

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "ok.txt").write_text("fine\n")
    (bad / "broken.txt").write_text("fine\nboom here\n")
    out = tmp_path / "c"
    with pytest.raises(TaskFailedError) as info:
        _run(Boom(args=[]), str(bad), str(out), "local", max_attempts=2)
    assert "broken.txt:0+" in str(info.value)
    assert "bad record 'boom here'" in info.value.user_traceback
    assert info.value.counters["Job Counters"]["Failed map task attempts"] == 2
    assert not out.exists() or [p for p in os.listdir(out) if not p.startswith(".")] == []


@pytest.mark.slow
def test_losing_a_worker_node_mid_job_gives_identical_output(tmp_path, ray_cluster):
    import rayemr.yarn as yarn
    from rayemr.yarn import NodeState

    cluster = ray_cluster
    workers = [cluster.add_node(num_cpus=1) for _ in range(3)]
    cluster.wait_for_nodes()
    src = _make_input(str(tmp_path / "in"), files=12, lines=20)
    expected, _ = _run(SlowWordCount(args=[]), src, str(tmp_path / "clean"), "inline")

    maps_done = threading.Event()  # a few maps finished, most still to run
    lost: list[str] = []

    def progress(p) -> None:
        if p.stages and p.stages[0][1] >= 3:
            maps_done.set()

    def kill_one() -> None:
        assert maps_done.wait(300), "the job never got three maps done"
        (app,) = yarn.YarnClient().list(states=["RUNNING"])
        victim = next(w for w in workers if w.node_id != app.am_node)  # not the AM's node
        cluster.remove_node(victim, allow_graceful=False)
        lost.append(victim.node_id)

    killer = threading.Thread(target=kill_one)
    killer.start()
    got, counters = _run(SlowWordCount(args=["--delay", "0.05"]), src, str(tmp_path / "ray"),
                         "ray", progress=progress)
    killer.join()
    assert got == expected
    assert lost, "no node was removed while the job ran"
    # the loss reached the job: attempts on the node failed, or maps whose output lived there
    # ran again (Hadoop's rule), and the job still produced the same output
    jobs = counters["Job Counters"]
    assert (jobs.get("Failed map task attempts", 0) + jobs.get("Failed reduce task attempts", 0)
            + jobs.get("Re-run map tasks (output lost)", 0)) > 0, jobs
    client = yarn.YarnClient()
    wait_for(lambda: any(r.node_id == lost[0] and r.state == NodeState.LOST
                         for r in client.nodes()), 60, what="the removed node LOST")


def test_killing_the_application_stops_it_and_commits_nothing(tmp_path, ray_local):
    from rayemr.core.errors import ClusterError
    from rayemr.engine import run_graph

    src = _make_input(str(tmp_path / "in"), files=6, lines=40)
    out = tmp_path / "out"
    runner = JobRunner(SlowWordCount(args=["--delay", "0.1"]), runner="local", inputs=[src],
                       output_dir=str(out), num_reducers=2)
    graph, committer = runner.plan()
    t0 = time.monotonic()
    with pytest.raises(ClusterError, match="killed"):
        run_graph(graph, runner="ray", committer=committer,
                  cancel=lambda: time.monotonic() - t0 > 3.0)
    assert time.monotonic() - t0 < 60
    assert not out.exists() or [p for p in os.listdir(out) if not p.startswith(".")] == []
