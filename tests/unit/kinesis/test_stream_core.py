"""StreamCore: lineage of splits and merges, uniform scaling, errors, persistence."""
from __future__ import annotations

import pytest

from rayemr.kinesis.errors import (
    InvalidArgumentException, LimitExceededException, ResourceInUseException,
    ResourceNotFoundException, ValidationException,
)
from rayemr.kinesis.hashkeys import MAX_HASH_KEY, check_cover, even_ranges
from rayemr.kinesis.stream import STREAM, StreamCore, StreamStatus

from tests.unit.kinesis.sim import Clock, Sim


def test_split_closes_the_parent_and_opens_two_children():
    sim = Sim(1, Clock())
    sim.put("a", b"1")
    sim.clock.tick(1)
    sim.split("shardId-000000000000", 2**127)
    parent = sim.stream.shard("shardId-000000000000")
    a, b = sim.stream.shard("shardId-000000000001"), sim.stream.shard("shardId-000000000002")
    assert not parent.open and parent.ending_position is not None
    assert parent.hash_range.start == 0 and parent.hash_range.end == MAX_HASH_KEY  # as AWS shows
    assert (a.parent, b.parent, a.adjacent_parent) == (parent.shard_id, parent.shard_id, None)
    assert a.hash_range.end + 1 == b.hash_range.start == 2**127
    assert a.starting_position > parent.ending_position
    wire = parent.to_wire()
    assert "EndingSequenceNumber" in wire["SequenceNumberRange"]
    check_cover([m.hash_range for m in sim.stream.open_shards()])


def test_a_closed_shard_cannot_be_resharded_again():
    sim = Sim(2, Clock())
    sim.split("shardId-000000000000", 2**126)
    with pytest.raises(InvalidArgumentException, match="already been merged or split"):
        sim.split("shardId-000000000000", 2**125)
    with pytest.raises(InvalidArgumentException, match="already been merged or split"):
        sim.merge("shardId-000000000000", "shardId-000000000001")


def test_split_key_must_lie_strictly_inside():
    sim = Sim(2, Clock())
    start = sim.stream.shard("shardId-000000000001").hash_range.start
    for key in (start, start + 1, MAX_HASH_KEY):
        with pytest.raises(InvalidArgumentException, match="NewStartingHashKey"):
            sim.split("shardId-000000000001", key)
    with pytest.raises(ValidationException, match="newStartingHashKey"):
        sim.stream.plan_split("shardId-000000000001", "12x", 100)
    with pytest.raises(ResourceNotFoundException, match="shardId-000000000009"):
        sim.stream.plan_split("shardId-000000000009", "5", 100)
    with pytest.raises(LimitExceededException):
        sim.stream.plan_split("shardId-000000000001", str(start + 5), 2)


def test_merge_needs_adjacent_open_shards():
    sim = Sim(3, Clock())
    with pytest.raises(InvalidArgumentException, match="not an adjacent pair"):
        sim.merge("shardId-000000000000", "shardId-000000000002")
    sim.merge("shardId-000000000001", "shardId-000000000000")
    child = sim.stream.shard("shardId-000000000003")
    assert (child.parent, child.adjacent_parent) == ("shardId-000000000001",
                                                     "shardId-000000000000")
    assert child.hash_range.start == 0


@pytest.mark.parametrize("start,target", [(1, 2), (2, 3), (3, 5), (4, 8), (4, 2), (5, 3),
                                          (3, 4), (7, 4)])
def test_uniform_scaling_reaches_even_ranges_through_splits_and_merges(start, target):
    sim = Sim(start, Clock())
    sim.stream.plan_update(target, "UNIFORM_SCALING", 1000)
    sim.stream.start_update(target, sim.clock())
    steps = 0
    while (step := sim.stream.next_uniform_step(target)) is not None:
        sim._apply(step)
        steps += 1
        assert sim.stream.status.state is StreamStatus.UPDATING
    sim.stream.end_update(sim.clock())
    assert sim.stream.status.state is StreamStatus.ACTIVE
    assert [m.hash_range for m in sorted(sim.stream.open_shards(),
                                         key=lambda m: m.hash_range.start)] == even_ranges(target)
    for m in sim.stream.listed():
        for p in m.parents:
            assert not sim.stream.shard(p).open


def test_update_shard_count_bounds():
    sim = Sim(4, Clock())
    with pytest.raises(LimitExceededException):
        sim.stream.plan_update(9, "UNIFORM_SCALING", 1000)
    with pytest.raises(LimitExceededException):
        sim.stream.plan_update(1, "UNIFORM_SCALING", 1000)
    with pytest.raises(ValidationException, match="scalingType"):
        sim.stream.plan_update(5, "RANDOM", 1000)


def test_resharding_needs_an_active_stream():
    sim = Sim(2, Clock())
    sim.stream.start_update(3, sim.clock())
    with pytest.raises(ResourceInUseException, match="not ACTIVE, instead in state UPDATING"):
        sim.stream.plan_split("shardId-000000000000", str(2**100), 100)


def test_stream_state_table():
    rows = {(s.value, e, d.value) for s, e, d in STREAM.rows()}
    assert ("CREATING", "CREATED", "ACTIVE") in rows and ("UPDATING", "UPDATED", "ACTIVE") in rows
    assert all(d != "CREATING" for _, _, d in rows)


def test_retention_bounds_and_expiry():
    sim = Sim(1, Clock())
    s = sim.stream
    with pytest.raises(InvalidArgumentException, match="too short"):
        s.set_retention(23, increase=False)
    with pytest.raises(InvalidArgumentException, match="too long"):
        s.set_retention(8761, increase=True)
    s.set_retention(48, increase=True)
    with pytest.raises(InvalidArgumentException, match="Use DecreaseRetentionPeriod"):
        s.set_retention(30, increase=True)
    with pytest.raises(InvalidArgumentException, match="Use IncreaseRetentionPeriod"):
        s.set_retention(50, increase=False)
    sim.split("shardId-000000000000", 2**127)
    assert s.expire_due(sim.clock() + 47 * 3600) == []
    assert s.expire_due(sim.clock() + 48 * 3600) == ["shardId-000000000000"]
    assert [m.shard_id for m in s.listed()] == ["shardId-000000000001", "shardId-000000000002"]


def test_persistence_round_trip_keeps_lineage_and_intent():
    sim = Sim(2, Clock())
    sim.split("shardId-000000000001", 2**127 + 2**120)
    plan = sim.stream.plan_merge("shardId-000000000000", "shardId-000000000002")
    sim.stream.begin(plan, sim.clock())
    back = StreamCore.from_dict(sim.stream.to_dict())
    assert back.to_dict() == sim.stream.to_dict()
    assert back.resharding == plan and back.status.state is StreamStatus.UPDATING
    assert [m.to_wire() for m in back.listed()] == [m.to_wire() for m in sim.stream.listed()]
