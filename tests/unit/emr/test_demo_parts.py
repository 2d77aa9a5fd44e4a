"""The demo's parts without Ray: its configuration and steps are valid, its result readers
and printer show what the jobs wrote."""
from __future__ import annotations

import io
import json
import os

import pytest

from rayemr.core.errors import OutputExistsError
from rayemr.emr import demo
from rayemr.emr.configurations import load_configurations
from rayemr.emr.steps import StepSpec, StepType

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def test_configurations_and_steps_are_valid(tmp_path):
    config = load_configurations(demo.configurations(str(tmp_path)))
    assert config.get("mapred-site", "mapreduce.job.queuename") == demo.QUEUE
    assert config.environment["DEMO_NAME"] == "rayemr-demo"
    paths = demo.prepare(str(tmp_path))
    specs = [StepSpec.from_any(s) for s in demo.steps(paths)]
    assert [s.type for s in specs] == [StepType.MAPREDUCE, StepType.MAPREDUCE,
                                       StepType.COMMAND, StepType.HIVE]
    assert [s.name for s in specs] == list(demo.PLANNED)
    for spec in specs[:2]:
        assert os.path.isfile(spec.args[0]) and os.path.exists(spec.args[1])
    assert os.path.isfile(paths["frequent_words.q"]) and os.access(paths["bootstrap.sh"],
                                                                    os.R_OK)


def test_a_used_folder_is_refused(tmp_path):
    (tmp_path / "metastore.db").write_text("")
    with pytest.raises(OutputExistsError, match="already holds a demo run"):
        demo.prepare(str(tmp_path))


def _write_parts(folder, name):
    os.makedirs(folder)
    with open(os.path.join(ROOT, "jobs", "expected", f"{name}.txt")) as f:
        lines = f.read().splitlines(keepends=True)
    half = len(lines) // 2  # two reducers' parts
    for i, chunk in enumerate((lines[:half], lines[half:])):
        with open(os.path.join(folder, f"part-0000{i}"), "w") as f:
            f.writelines(chunk)
    return [tuple(json.loads(p) for p in line.rstrip("\n").split("\t")) for line in lines]


def test_readers_and_printer(tmp_path):
    logs = _write_parts(str(tmp_path / "logs"), "loganalysis")
    words = _write_parts(str(tmp_path / "words"), "wordcount")
    result = demo.DemoResult(folder=str(tmp_path))
    result.log_analysis = demo.read_log_analysis(str(tmp_path / "logs"))
    result.word_counts = demo.read_word_counts(str(tmp_path / "words"))
    assert result.log_analysis == {tuple(k): tuple(v) for k, v in logs}
    assert result.word_counts == dict(words)
    hive_stdout = "".join(f"{w}\t{n}\n" for w, n in demo.frequent_long_words(dict(words)))
    result.hive_rows = demo.parse_hive_rows("noise line\n" + hive_stdout)
    assert result.hive_rows == demo.frequent_long_words(dict(words))
    assert all(len(w) >= demo.MIN_LETTERS for w, _ in result.hive_rows)

    out = io.StringIO()
    demo.print_results(out, result, top=4)
    text = out.getvalue()
    rows = [line.split() for line in text.splitlines()]
    status = {k[1]: v for k, v in result.log_analysis.items() if k[0] == "status"}
    for code, (hits, nbytes) in status.items():
        assert [code, str(hits), f"{nbytes:,}"] in rows
    best = sorted(result.word_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:4]
    flat = " ".join(text.split())
    for rank, (word, n) in enumerate(best, start=1):
        assert f"{rank}. {word} {n}" in flat
    assert f"{best[3][0]} {best[3][1]}" in flat and "5." not in flat  # --top 4
    for word, n in result.hive_rows:
        assert [word, str(n)] in rows
    assert not result.ok  # no steps, no cluster: not a finished run
