"""The state-machine kernel: tables keyed by event, tracked objects with a bounded story."""
from __future__ import annotations

import pickle
from enum import Enum

import pytest

from rayemr.core.errors import InvalidStateTransition
from rayemr.core.statemachine import Machine, Tracked


class Light(str, Enum):
    RED = "RED"
    GREEN = "GREEN"
    AMBER = "AMBER"
    BROKEN = "BROKEN"


LIGHT = Machine("light", [
    (Light.RED, "GO", Light.GREEN),
    (Light.GREEN, "SLOW", Light.AMBER),
    (Light.AMBER, "STOP", Light.RED),
    ((Light.RED, Light.GREEN, Light.AMBER), "FAIL", Light.BROKEN),
    (Light.AMBER, "REPAIR", Light.RED),
    (Light.AMBER, "REPAIR", Light.GREEN),
], final={Light.BROKEN})


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        self.t += 1
        return self.t


def test_every_allowed_row_is_walkable():
    rows = list(LIGHT.rows())
    assert len(rows) == 8
    for src, event, dst in rows:
        obj = Tracked(LIGHT, "l1", src, now=0.0)
        assert obj.can(event, dst)
        assert obj.fire(event, dst, now=1.0) is src and obj.state is dst


@pytest.mark.parametrize("src,event", [(Light.RED, "STOP"), (Light.GREEN, "GO"),
                                       (Light.RED, "REPAIR"), (Light.AMBER, "NOPE")])
def test_forbidden_transitions_name_object_states_and_event(src, event):
    obj = Tracked(LIGHT, "l7", src)
    with pytest.raises(InvalidStateTransition) as e:
        obj.fire(event)
    msg = str(e.value)
    assert "light l7" in msg and src.name in msg and event in msg
    assert obj.state is src and obj.story() == []
    assert pickle.loads(pickle.dumps(e.value)).key == "l7"


def test_a_target_outside_the_table_is_refused_even_when_the_event_is_known():
    obj = Tracked(LIGHT, "l2", Light.AMBER)
    with pytest.raises(InvalidStateTransition, match="AMBER to BROKEN on REPAIR"):
        obj.fire("REPAIR", Light.BROKEN)


def test_several_targets_need_a_choice():
    obj = Tracked(LIGHT, "l3", Light.AMBER)
    with pytest.raises(ValueError, match="say which"):
        obj.fire("REPAIR")
    obj.fire("REPAIR", Light.GREEN)
    assert obj.state is Light.GREEN


def test_story_is_bounded_and_entry_times_come_from_the_clock():
    clock = Clock()
    obj = Tracked(LIGHT, "l4", Light.RED, clock=clock, story_length=3)
    for event in ("GO", "SLOW", "STOP", "GO", "SLOW"):
        obj.fire(event)
    assert [s[3] for s in obj.story()] == ["STOP", "GO", "SLOW"]
    assert obj.entered[Light.RED] == 101.0 and obj.entered[Light.GREEN] == 102.0
    obj.fire("FAIL")
    assert obj.final and not obj.can("REPAIR")


def test_final_states_may_not_leave():
    with pytest.raises(ValueError, match="final states have outgoing"):
        Machine("m", [(Light.RED, "GO", Light.GREEN), (Light.GREEN, "GO", Light.RED)],
                final={Light.GREEN})


def test_restore_bypasses_the_table_for_recovery_only():
    obj = Tracked(LIGHT, "l5", Light.RED)
    obj.restore(Light.AMBER, story=[(1.0, "GREEN", "AMBER", "SLOW")])
    assert obj.state is Light.AMBER and obj.story()[-1][3] == "SLOW"
    with pytest.raises(ValueError):
        Tracked(LIGHT, "l6", "PURPLE")  # type: ignore[arg-type]
