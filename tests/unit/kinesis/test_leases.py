"""The lease table's conditional updates and the lease taker's choices (pure)."""
from __future__ import annotations

from rayemr.kinesis.leases import SHARD_END, Lease, LeaseTable, LeaseTaker


def table(*ids, **owners):
    return LeaseTable(Lease(i, owner=owners.get(i)) for i in ids)


def test_take_renew_checkpoint_are_conditional():
    t = table("s0")
    got = t.take("s0", "a", 0)
    assert got.owner == "a" and got.counter == 1 and got.owner_switches == 1
    assert t.take("s0", "b", 0) is None  # b observed an old counter
    assert t.renew("s0", "b") is None and t.renew("s0", "a").counter == 2
    assert t.checkpoint("s0", "b", "123") is None
    assert t.checkpoint("s0", "a", "123").checkpoint == "123"
    done = t.checkpoint("s0", "a", SHARD_END)
    assert done.finished and done.owner is None
    assert t.take("s0", "b", done.counter) is None  # finished leases stay finished
    assert LeaseTable.from_dict(t.to_dict()).list() == t.list()


def test_expiry_is_judged_by_the_observer_clock():
    taker = LeaseTaker("b", failover_s=10)
    leases = [Lease("s0", owner="a", counter=5)]
    assert taker.plan(leases, now=100) == []  # first sight
    assert taker.plan(leases, now=109) == []
    assert [x.shard_id for x in taker.plan(leases, now=110)] == ["s0"]
    moved = [Lease("s0", owner="a", counter=6)]
    assert taker.plan(moved, now=111) == []  # a renewed: alive again


def test_even_share_and_one_steal():
    taker = LeaseTaker("b", failover_s=10)
    leases = [Lease(f"s{i}", owner="a", counter=1) for i in range(4)]
    taker.observe(leases, 0)
    stolen = taker.plan(leases, now=1)
    assert len(stolen) == 1  # a holds 4 > share 2: steal one per round
    leases = [Lease("s0", owner="a", counter=1), Lease("s1", owner="a", counter=1),
              Lease("s2", counter=1), Lease("s3", counter=1)]
    assert {x.shard_id for x in taker.plan(leases, now=2)} == {"s2", "s3"}


def test_children_wait_for_their_parents():
    taker = LeaseTaker("w", failover_s=10)
    leases = [Lease("p"), Lease("c1", parents=("p",)), Lease("c2", parents=("p", "q"))]
    assert [x.shard_id for x in taker.plan(leases, now=0)] == ["p"]
    finished = [Lease("p", checkpoint=SHARD_END), Lease("c1", parents=("p",)),
                Lease("c2", parents=("p", "q"))]  # q expired from the stream: no lease
    assert {x.shard_id for x in taker.plan(finished, now=0)} == {"c1", "c2"}
