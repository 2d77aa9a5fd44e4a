"""State machines: every transition outside the tables raises, naming id, states and event."""
from __future__ import annotations

import pickle

import pytest

from rayemr.core.errors import InvalidStateTransition
from rayemr.core.statemachine import STORY_LENGTH, Tracked
from rayemr.yarn.states import (APP_MACHINE, CONTAINER_MACHINE, NODE_MACHINE, AppState,
                                ContainerState, NodeState)

MACHINES = [(AppState, APP_MACHINE), (ContainerState, CONTAINER_MACHINE),
            (NodeState, NODE_MACHINE)]
EVENTS = sorted({e for _, machine in MACHINES for e in machine.events})


@pytest.mark.parametrize("states, machine", MACHINES, ids=lambda x: getattr(x, "__name__", ""))
def test_every_transition_not_in_the_table_raises(states, machine):
    allowed = checked = 0
    for src in states:
        for dst in states:
            for event in EVENTS:
                obj = Tracked(machine, "thing_1", src)
                if machine.allows(src, event, dst):
                    obj.fire(event, dst)
                    assert obj.state == dst and obj.story()[-1][1:] == (src.value, dst.value,
                                                                        event)
                    allowed += 1
                    continue
                with pytest.raises(InvalidStateTransition) as info:
                    obj.fire(event, dst)
                err = info.value
                assert (err.key, err.from_state, err.to_state, err.event) == (
                    "thing_1", src, dst, event)
                assert str(err) == (f"{machine.kind} thing_1: cannot go from {src.value} to "
                                    f"{dst.value} on {event}")
                assert obj.state == src
                checked += 1
    assert allowed == len(list(machine.rows())) and checked > allowed


def test_yarn_event_names_and_final_states_have_no_way_out():
    assert {"SUBMIT", "APP_ACCEPTED", "AM_LAUNCHED", "ATTEMPT_FAILED", "AM_FINISHED", "KILL",
            "RECOVER"} <= APP_MACHINE.events
    for src in (AppState.FINISHED, AppState.FAILED, AppState.KILLED):
        assert src in APP_MACHINE.final
        assert not [e for e in EVENTS if APP_MACHINE.targets(src, e)]
    for src in ContainerState:
        if src.final:
            assert not [e for e in EVENTS if CONTAINER_MACHINE.targets(src, e)]


def test_transition_log_is_bounded():
    obj = Tracked(NODE_MACHINE, "thing_1", NodeState.RUNNING)
    for _ in range(STORY_LENGTH):
        obj.fire("HEALTH_REPORT", NodeState.UNHEALTHY)
        obj.fire("HEALTH_REPORT", NodeState.RUNNING)
    assert len(obj.story()) == STORY_LENGTH
    assert obj.story()[-1][1:] == ("UNHEALTHY", "RUNNING", "HEALTH_REPORT")


def test_error_pickles():
    err = InvalidStateTransition("application", "application_1_0001", AppState.KILLED,
                                 AppState.RUNNING, "AM_LAUNCHED")
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.key == "application_1_0001"
