"""`rayemr demo`: a cluster runs the bundled steps end to end; its printed results are the
jobs' checked-in expected output."""
from __future__ import annotations

import io
import json
import os

from rayemr.emr.demo import HIVE_STEP, PLANNED, frequent_long_words, run_demo

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def expected(name: str) -> list[tuple]:
    with open(os.path.join(ROOT, "jobs", "expected", f"{name}.txt")) as f:
        return [tuple(json.loads(part) for part in line.rstrip("\n").split("\t"))
                for line in f if line.strip()]


def expected_log_analysis() -> dict:
    return {tuple(k): tuple(v) for k, v in expected("loganalysis")}


def expected_word_counts() -> dict:
    return dict(expected("wordcount"))


def test_demo_cluster_runs_the_bundled_steps(ray_local, tmp_path):
    out = io.StringIO()
    result = run_demo(out, folder=str(tmp_path))
    text = out.getvalue()
    assert result.step_states == PLANNED, text
    assert result.cluster["Status"]["State"] == "TERMINATED", text
    assert result.ok

    # the jobs' results are the checked-in expected output ...
    assert result.log_analysis == expected_log_analysis()
    assert result.word_counts == expected_word_counts()
    assert result.hive_rows == frequent_long_words(expected_word_counts())
    assert len(result.hive_rows) == 5
    # ... and printed
    lines = [line.split() for line in text.splitlines()]
    for (kind, name), (hits, nbytes) in expected_log_analysis().items():
        assert name.split() + [str(hits), f"{nbytes:,}"] in lines, (kind, name)
    for word, n in result.hive_rows:
        assert [word, str(n)] in lines
    top = sorted(expected_word_counts().items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    flat = " ".join(text.split())
    for rank, (word, n) in enumerate(top, start=1):
        assert f"{rank}. {word} {n}" in flat

    # each step's state, the bootstrap action's output, the queue from mapred-site
    for i, (name, state) in enumerate(PLANNED.items(), start=1):
        assert any(line.startswith(f"  {i}. {name}") and state in line
                   for line in text.splitlines()), (name, text)
    assert "node " in text and "ready for rayemr-demo" in text  # bootstrap stdout
    for step in result.steps:  # mapred-site's queue reached MapReduce and Hive alike
        if step["Name"] != "A check that fails on purpose":
            assert step["Applications"] and all(
                a["Queue"] == "etl" for a in step["Applications"]), step
            line = [ln for ln in text.splitlines() if step["Name"] in ln][0]
            assert "(queue etl)" in line, line
    # nothing from Ray's own logging
    assert "WARNING" not in text and " INFO " not in text and "pid=" not in text

    # step logs under the log URI, as EMR lays them out; MapReduce ran with 2 reducers
    cid = result.cluster["Id"]
    for step in result.steps:
        folder = tmp_path / "logs" / cid / "steps" / step["Id"]
        assert (folder / "controller").exists() and (folder / "stderr").exists()
        if step["Name"] == HIVE_STEP:
            assert (folder / "stdout").read_text().splitlines()[0].split("\t")[0] == \
                result.hive_rows[0][0]
    assert len(list((tmp_path / "output" / "wordcount").glob("part-*"))) == 2
    assert (tmp_path / "logs" / cid / "cluster.json").exists()
