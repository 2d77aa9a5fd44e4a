"""wait_for: returns the condition's first truthy value, or fails naming what it waited for."""
from __future__ import annotations

import pytest

from rayemr.core.waiting import wait_for


def test_returns_the_first_truthy_value():
    calls = []

    def third_time():
        calls.append(1)
        return len(calls) >= 3 and "ready"

    assert wait_for(third_time, 10, interval=0) == "ready"
    assert len(calls) == 3


def test_a_condition_already_true_is_called_once():
    calls = []
    assert wait_for(lambda: calls.append(1) or 7, 0) == 7
    assert calls == [1]


def test_timeout_names_what_was_awaited_and_the_last_value():
    with pytest.raises(TimeoutError) as info:
        wait_for(lambda: [], 0, what="the output folder")
    assert str(info.value) == "waited 0 s for the output folder; last value []"


def test_timeout_names_a_function_by_its_name():
    def queue_empty():
        return False

    with pytest.raises(TimeoutError, match="for queue_empty; last value False"):
        wait_for(queue_empty, 0)


def test_negative_timeout_is_refused():
    with pytest.raises(ValueError, match="timeout"):
        wait_for(lambda: True, -1)
