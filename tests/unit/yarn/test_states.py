"""State machines: every transition outside the tables raises, naming id, states and event."""
from __future__ import annotations

import itertools

import pytest

from rayemr.core.errors import InvalidStateTransition
from rayemr.yarn.states import (APP_TRANSITIONS, CONTAINER_TRANSITIONS, LOG_LENGTH,
                                NODE_TRANSITIONS, AppState, ContainerState, NodeState, Tracked)

MACHINES = [(AppState, APP_TRANSITIONS), (ContainerState, CONTAINER_TRANSITIONS),
            (NodeState, NODE_TRANSITIONS)]
EVENTS = sorted({e for _, table in MACHINES for evs in table.values() for e in evs})


class Thing(Tracked):
    KIND = "thing"

    def __init__(self, table, state):
        self.TABLE = table
        self._init_tracking(state)

    @property
    def key(self):
        return "thing_1"


@pytest.mark.parametrize("states, table", MACHINES, ids=lambda x: getattr(x, "__name__", ""))
def test_every_transition_not_in_the_table_raises(states, table):
    allowed = checked = 0
    for src, dst in itertools.product(states, states):
        for event in EVENTS:
            obj = Thing(table, src)
            if event in table.get((src, dst), ()):
                obj.transition(dst, event)
                assert obj.state == dst and obj.story()[-1][1:] == (src.value, dst.value, event)
                allowed += 1
                continue
            with pytest.raises(InvalidStateTransition) as info:
                obj.transition(dst, event)
            err = info.value
            assert (err.key, err.from_state, err.to_state, err.event) == ("thing_1", src, dst, event)
            assert f"thing thing_1: cannot go from {src.value} to {dst.value} on {event}" == str(err)
            assert obj.state == src
            checked += 1
    assert allowed == sum(len(v) for v in table.values()) and checked > allowed


def test_final_states_have_no_way_out():
    for src in (AppState.FINISHED, AppState.FAILED, AppState.KILLED):
        assert not [k for k in APP_TRANSITIONS if k[0] == src]
    for src in ContainerState:
        if src.final:
            assert not [k for k in CONTAINER_TRANSITIONS if k[0] == src]


def test_transition_log_is_bounded():
    obj = Thing(NODE_TRANSITIONS, NodeState.RUNNING)
    for _ in range(LOG_LENGTH):
        obj.transition(NodeState.UNHEALTHY, "HEALTH_REPORT")
        obj.transition(NodeState.RUNNING, "HEALTH_REPORT")
    assert len(obj.story()) == LOG_LENGTH
    assert obj.story()[-1][1:] == ("UNHEALTHY", "RUNNING", "HEALTH_REPORT")


def test_error_pickles():
    import pickle

    err = InvalidStateTransition("application", "application_1_0001", AppState.KILLED,
                                 AppState.RUNNING, "AM_LAUNCHED")
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.key == "application_1_0001"
