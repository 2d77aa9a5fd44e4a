"""Every state machine of rayemr, walked: each allowed transition, and the forbidden ones.

The machines are found in the source (any module-level ``NAME = Machine(...)`` under
``rayemr/``), so a new one (a Kinesis shard, a Firehose delivery stream, a streaming job) is
walked here without being listed.
"""
from __future__ import annotations

import ast
import importlib
from enum import Enum
from pathlib import Path

import pytest

from rayemr.core.errors import InvalidStateTransition
from rayemr.core.statemachine import UNKNOWN, Machine, Tracked

ROOT = Path(__file__).resolve().parents[3]


def _machine_names() -> list[tuple[str, str]]:
    """``(module, name)`` of every module-level ``name = Machine(...)`` in the package."""
    found = []
    for path in sorted((ROOT / "rayemr").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in tree.body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Call):
                func = node.value.func
                if getattr(func, "id", getattr(func, "attr", None)) != "Machine":
                    continue
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
                found += [(module, t.id) for t in targets if isinstance(t, ast.Name)]
    return found


MACHINES = _machine_names()


def _load(module: str, name: str) -> Machine:
    machine = getattr(importlib.import_module(module), name)
    assert isinstance(machine, Machine), f"{module}.{name} is not a Machine"
    return machine


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 1.0
        return self.t


def test_the_known_machines_are_found():
    names = {n for _, n in MACHINES}
    assert {"APP_MACHINE", "CONTAINER_MACHINE", "NODE_MACHINE", "TASK_MACHINE",
            "CLUSTER_MACHINE", "STEP_MACHINE"} <= names, names
    assert len(MACHINES) >= 7


@pytest.mark.parametrize("module,name", MACHINES, ids=[f"{m}.{n}" for m, n in MACHINES])
def test_every_allowed_transition_walks(module, name):
    machine = _load(module, name)
    rows = list(machine.rows())
    assert rows, f"{name} has no transitions"
    for src, event, dst in rows:
        obj = Tracked(machine, "key-1", src, clock=Clock())
        assert obj.can(event, dst)
        assert obj.fire(event, dst) is src
        assert obj.state is dst and obj.story()[-1][1:] == (src.value, dst.value, event)
        assert dst in obj.entered
        if len(machine.targets(src, event)) == 1:  # the table decides the target alone
            again = Tracked(machine, "key-1", src)
            again.fire(event)
            assert again.state is dst


@pytest.mark.parametrize("module,name", MACHINES, ids=[f"{m}.{n}" for m, n in MACHINES])
def test_every_forbidden_transition_raises_and_changes_nothing(module, name):
    machine = _load(module, name)
    checked = 0
    for src in sorted(machine.states, key=lambda s: str(s.value)):
        for event in sorted(machine.events):
            targets = machine.targets(src, event)
            wrong = [(None, UNKNOWN)] if not targets else [
                (d, d.name) for d in sorted(machine.states - targets, key=lambda s: str(s.value))]
            for to, shown in wrong:
                obj = Tracked(machine, "key-7", src)
                with pytest.raises(InvalidStateTransition) as info:
                    obj.fire(event, to)
                err = info.value
                assert (err.kind, err.key, err.from_state, err.event) == (
                    machine.kind, "key-7", src, event)
                assert str(err) == (f"{machine.kind} key-7: cannot go from {src.name} to "
                                    f"{shown} on {event}")
                assert obj.state is src and obj.story() == []
                checked += 1
    assert checked > 0
    for state in machine.final:  # a final state has no way out
        assert not any(machine.targets(state, e) for e in machine.events)


@pytest.mark.parametrize("module,name", MACHINES, ids=[f"{m}.{n}" for m, n in MACHINES])
def test_every_state_of_the_enum_is_in_the_table(module, name):
    machine = _load(module, name)
    enum_cls = type(next(iter(machine.states)))
    assert issubclass(enum_cls, Enum)
    assert set(enum_cls) == set(machine.states), set(enum_cls) ^ set(machine.states)
