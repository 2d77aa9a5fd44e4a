"""The operation state machine: its one table, walked edge by edge."""
from __future__ import annotations

import itertools

import pytest

from rayemr.core.errors import InvalidStateTransition
from rayemr.core.statemachine import Tracked
from rayemr.hive.server.operation import OPERATION, Operation, OpState

ALLOWED = list(OPERATION.rows())


def test_the_table_is_hives():
    assert {(src, dst) for src, _, dst in ALLOWED} == {
        (OpState.INITIALIZED, OpState.PENDING), (OpState.INITIALIZED, OpState.RUNNING),
        (OpState.INITIALIZED, OpState.CANCELED), (OpState.INITIALIZED, OpState.CLOSED),
        (OpState.PENDING, OpState.RUNNING), (OpState.PENDING, OpState.CANCELED),
        (OpState.PENDING, OpState.CLOSED), (OpState.PENDING, OpState.ERROR),
        (OpState.RUNNING, OpState.FINISHED), (OpState.RUNNING, OpState.ERROR),
        (OpState.RUNNING, OpState.CANCELED), (OpState.RUNNING, OpState.CLOSED),
        (OpState.FINISHED, OpState.CLOSED), (OpState.ERROR, OpState.CLOSED),
        (OpState.CANCELED, OpState.CLOSED)}
    assert OPERATION.final == {OpState.CLOSED}


@pytest.mark.parametrize("src,event,dst", ALLOWED,
                         ids=[f"{s.name}-{e}-{d.name}" for s, e, d in ALLOWED])
def test_every_allowed_transition(src, event, dst):
    t = Tracked(OPERATION, "op", src)
    assert t.fire(event) == src and t.state == dst
    assert t.story()[-1][1:] == (src.value, dst.value, event)


FORBIDDEN = [(src, event) for src, event in itertools.product(OpState, sorted(OPERATION.events))
             if not OPERATION.allows(src, event)]


@pytest.mark.parametrize("src,event", FORBIDDEN[::3],
                         ids=[f"{s.name}-{e}" for s, e in FORBIDDEN[::3]])
def test_a_sample_of_forbidden_transitions(src, event):
    t = Tracked(OPERATION, "op-1", src)
    with pytest.raises(InvalidStateTransition, match=f"op-1: cannot go from {src.name}"):
        t.fire(event)
    assert t.state == src


def test_the_forbidden_sample_is_real():
    assert len(FORBIDDEN) >= 20  # e.g. a closed operation cannot start, finish or fail
    assert (OpState.CLOSED, "start") in FORBIDDEN and (OpState.FINISHED, "cancel") in FORBIDDEN


def test_an_operation_keeps_its_story():
    op = Operation(0, has_result_set=False)
    op.mark_pending()
    op.cancel()
    op.close()
    assert [(f, t, e) for _, f, t, e in op.story()] == [
        (OpState.INITIALIZED.value, OpState.PENDING.value, "submit"),
        (OpState.PENDING.value, OpState.CANCELED.value, "cancel"),
        (OpState.CANCELED.value, OpState.CLOSED.value, "close")]
