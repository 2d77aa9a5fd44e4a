"""Following steps: the events create-cluster and the demo print (no Ray)."""
from __future__ import annotations

from rayemr.emr.follow import StepWatcher


def step(sid, name, state, created, start=None, end=None):
    tl = {"CreationDateTime": created}
    if start is not None:
        tl["StartDateTime"] = start
    if end is not None:
        tl["EndDateTime"] = end
    return {"Id": sid, "Name": name, "Status": {"State": state, "Timeline": tl}}


def test_state_changes_then_progress_then_end():
    w = StepWatcher()
    first = [step("s-2", "count", "PENDING", 2), step("s-1", "hello", "RUNNING", 1, 10)]
    assert [e.line() for e in w.update(first)] == ["step 1/2 hello (s-1) RUNNING"]
    assert w.update(first) == []  # nothing changed
    now = [step("s-2", "count", "RUNNING", 2, 12), step("s-1", "hello", "COMPLETED", 1, 10, 11.5)]
    lines = [e.line() for e in w.update(now, {"s-2": "application_1_0002 map 50% reduce 0%"})]
    assert lines == ["step 1/2 hello (s-1) COMPLETED in 1.5s", "step 2/2 count (s-2) RUNNING",
                     "step 2/2 count (s-2): application_1_0002 map 50% reduce 0%"]
    assert w.update(now, {"s-2": "application_1_0002 map 50% reduce 0%"}) == []
    end = [step("s-2", "count", "FAILED", 2, 12, 15), now[1]]
    assert [e.line() for e in w.update(end)] == ["step 2/2 count (s-2) FAILED in 3.0s"]


def test_a_step_that_ran_between_two_looks_is_shown_starting_and_ending():
    w = StepWatcher()
    w.update([step("s-1", "quick", "PENDING", 1)])
    lines = [e.line() for e in w.update([step("s-1", "quick", "COMPLETED", 1, 5, 5.2)])]
    assert lines == ["step 1/1 quick (s-1) RUNNING", "step 1/1 quick (s-1) COMPLETED in 0.2s"]
    cancelled = StepWatcher().update([step("s-2", "never", "CANCELLED", 1)])
    assert [e.state for e in cancelled] == ["CANCELLED"]  # it never ran


def test_steps_added_together_are_numbered_in_submission_order_not_by_id():
    # one add-steps call gives its steps one creation time; their ids are random
    steps = [step("s-Z", "first", "RUNNING", 1, 2), step("s-A", "second", "PENDING", 1)]
    assert [e.line() for e in StepWatcher().update(steps)] == ["step 1/2 first (s-Z) RUNNING"]
