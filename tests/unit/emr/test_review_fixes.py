"""Edge validation and ordering in the EMR layer: step states, wait order, unknown step ids,
relative paths resolved at submission, the default work dir (no Ray)."""
from __future__ import annotations

import itertools
import os

import pytest

from rayemr.core.errors import InputNotFoundError, UserError
from rayemr.emr.controller import default_emr_home
from rayemr.emr.stepqueue import StepQueue
from rayemr.emr.steps import StepSpec, StepState, parse_step_states, resolve_local_paths


def make_queue():
    counter = itertools.count(1)
    return StepQueue(make_id=lambda: f"s-{next(counter)}")


def cmd(name):
    return {"Type": "COMMAND", "Name": name, "Args": ["true"]}


# ------------------------------------------------------------------------- step states

def test_step_states_are_parsed_case_insensitively():
    assert parse_step_states(["completed", "FAILED"]) == (StepState.COMPLETED,
                                                          StepState.FAILED)
    assert parse_step_states(None) == ()


def test_bad_step_state_is_a_one_line_user_error_naming_it_and_the_choices():
    with pytest.raises(UserError) as info:
        parse_step_states(["COMPLETED", "BOGUS"])
    text = str(info.value)
    assert "'BOGUS'" in text and "\n" not in text
    for state in StepState:
        assert state.value in text


def test_cluster_states_are_parsed_and_a_bad_one_names_the_choices():
    from rayemr.emr.clusterstate import ClusterState, parse_cluster_states

    assert parse_cluster_states(["waiting", "TERMINATED"]) == (ClusterState.WAITING,
                                                               ClusterState.TERMINATED)
    assert parse_cluster_states(None) == ()
    with pytest.raises(UserError) as info:
        parse_cluster_states(["RUNNING", "BOGUS"])
    text = str(info.value)
    assert "'BOGUS'" in text and "\n" not in text and "TERMINATED_WITH_ERRORS" in text


def test_queue_list_refuses_a_bad_state():
    q = make_queue()
    q.add([cmd("a")])
    with pytest.raises(UserError, match="BOGUS"):
        q.list(["BOGUS"])


# ----------------------------------------------------------------------- wait ordering

def test_in_order_follows_the_ids_given_and_else_submission_order():
    q = make_queue()
    load, count, notify = q.add([cmd("load"), cmd("count"), cmd("notify")])
    assert [s.spec.name for s in q.in_order(None)] == ["load", "count", "notify"]
    assert [s.id for s in q.in_order([load, count, notify])] == [load, count, notify]
    assert [s.id for s in q.in_order([notify, load])] == [notify, load]
    assert [s.id for s in q.list()] == [notify, count, load]  # list-steps: newest first


def test_in_order_names_every_unknown_id():
    q = make_queue()
    (a,) = q.add([cmd("a")])
    with pytest.raises(InputNotFoundError) as info:
        q.in_order([a, "s-NOPE", "s-GONE"])
    assert "s-NOPE" in str(info.value) and "s-GONE" in str(info.value)


# ------------------------------------------------------------- paths at submission time

def test_mapreduce_job_file_inputs_and_output_resolve_against_the_submitter(tmp_path):
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "wc.py").write_text("")
    (tmp_path / "data").mkdir()
    spec = StepSpec.from_any("Type=MAPREDUCE,Name=wc,Args=[jobs/wc.py,data,s3://b/in,"
                             "-o,out,-r,local,--conf,k=v,--queue,data]")
    args = resolve_local_paths(spec, str(tmp_path)).args
    assert args == (str(tmp_path / "jobs" / "wc.py"), str(tmp_path / "data"), "s3://b/in",
                    "-o", str(tmp_path / "out"), "-r", "local", "--conf", "k=v",
                    "--queue", "data")
    eq = StepSpec.from_any({"Type": "MAPREDUCE", "Args": ["/abs/wc.py", "--output-dir=o"]})
    assert resolve_local_paths(eq, str(tmp_path)).args == ("/abs/wc.py",
                                                           f"--output-dir={tmp_path / 'o'}")


def test_hive_script_resolves_and_urls_and_commands_are_unchanged(tmp_path):
    hive = StepSpec.from_any("Type=HIVE,Args=[-f,./report.q,-d,IN=data]")
    assert resolve_local_paths(hive, str(tmp_path)).args == (
        "-f", str(tmp_path / "report.q"), "-d", "IN=data")
    remote = StepSpec.from_any("Type=MAPREDUCE,Args=[s3://b/wc.py,s3://b/in,-o,s3://b/out]")
    assert resolve_local_paths(remote, str(tmp_path)) is remote
    command = StepSpec.from_any("Type=COMMAND,Args=[ls,jobs]")
    assert resolve_local_paths(command, str(tmp_path)) is command


# ------------------------------------------------------------------------ work dir home

def test_default_work_dir_follows_rayemr_home(monkeypatch, tmp_path):
    monkeypatch.setenv("RAYEMR_HOME", str(tmp_path / "home"))
    assert default_emr_home() == str(tmp_path / "home" / "emr")
    monkeypatch.delenv("RAYEMR_HOME")
    assert default_emr_home() == os.path.join(os.path.expanduser("~"), ".rayemr", "emr")
