"""Hypothesis: whatever happens, grants never exceed a node's or a queue's maximum."""
from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from rayemr.core.errors import UserError
from rayemr.yarn import (ApplicationSpec, CapacitySchedulerConfig, ContainerRequest,
                         ContainerState, Resource)
from rayemr.yarn.resources import DEFAULT_CALCULATOR, DOMINANT_CALCULATOR
from rayemr.yarn.scheduler import EPS, LaunchAM, SchedulerCore

P = "yarn.scheduler.capacity."

queue_trees = st.tuples(st.integers(1, 99), st.integers(0, 100), st.integers(0, 100),
                        st.sampled_from([0.5, 1, 2, 10]),
                        st.sampled_from(["fifo", "fair"]))
resources = st.builds(Resource, st.sampled_from([0, 0.5, 1, 2, 3]),
                      st.sampled_from([64, 256, 1000, 3000]))
ops = st.lists(st.one_of(
    st.tuples(st.just("submit"), st.sampled_from(["a", "b", "c"]), st.sampled_from(["u1", "u2"])),
    st.tuples(st.just("ask"), st.integers(0, 5), resources, st.integers(1, 40)),
    st.tuples(st.just("done"), st.integers(0, 5), st.integers(0, 10)),
    st.tuples(st.just("finish"), st.integers(0, 5)),
    st.tuples(st.just("kill"), st.integers(0, 5)),
    st.tuples(st.just("node"), st.integers(1, 8), st.integers(512, 16000)),
), min_size=5, max_size=60)


def build(tree, calc):
    a_cap, b_share, b_max_extra, ulf, order = tree
    b_cap = (100 - a_cap) * b_share // 100
    c_cap = 100 - a_cap - b_cap
    return CapacitySchedulerConfig.from_properties({
        P + "root.queues": "a,p", P + "root.a.capacity": a_cap, P + "root.p.capacity": 100 - a_cap,
        P + "root.a.maximum-capacity": min(100, a_cap + b_max_extra),
        P + "root.p.queues": "b,c",
        P + "root.p.b.capacity": b_cap * 100 / (100 - a_cap),
        P + "root.p.c.capacity": c_cap * 100 / (100 - a_cap),
        P + "root.p.maximum-capacity": max(100 - a_cap, 100 - b_max_extra),
        P + "root.a.user-limit-factor": ulf, P + "root.p.b.user-limit-factor": ulf,
        P + "root.p.c.user-limit-factor": ulf, P + "root.p.b.ordering-policy": order,
        P + "maximum-am-resource-percent": 0.5, P + "resource-calculator": calc,
    })


def check_invariants(core):
    for n in core.nodes.values():
        assert n.used_mb <= n.cap_mb, n.node_id
        if core.calc.dominant:
            assert n.used_vc <= n.cap_vc + EPS, n.node_id
        for cid in n.containers:
            assert core.containers[cid].container.resource.vcores <= n.cap_vc + EPS
    for q in core.queues.values():
        m = q.conf.abs_max_capacity
        assert q.used_mb <= m * core.total_mb + 1e-3, (q.path, q.used_mb, m * core.total_mb)
        if core.calc.dominant:
            assert q.used_vc <= m * core.total_vc + 1e-3, q.path
        assert q.used_mb == sum(c.container.resource.memory_mb for c in core.containers.values()
                                if q.path == c.app.queue.path or
                                c.app.queue.path.startswith(q.path + "."))


@settings(max_examples=150, deadline=None)
@given(queue_trees, st.sampled_from([DEFAULT_CALCULATOR, DOMINANT_CALCULATOR]), ops)
@example(  # the first ask cannot be placed; the second one must still fit the queue's maximum
    (9, 8, 9, 10, "fifo"), DOMINANT_CALCULATOR,
    [("submit", "b", "u1"), ("ask", 1, Resource(1, 256), 4), ("ask", 1, Resource(0, 3000), 2),
     ("node", 3, 512), ("finish", 0)])
def test_grants_never_exceed_node_or_queue_maximum(tree, calc, operations):
    core = SchedulerCore(build(tree, calc), cluster_ts=1)
    core.add_node("n0", "h0", 4, 8000)
    apps: list[str] = []
    for q, u in (("a", "u1"), ("b", "u2"), ("c", "u1"), ("b", "u1")):
        try:
            apps.append(core.submit(ApplicationSpec("x", queue=q, user=u, groups=(),
                                                    am_resource=Resource(0.5, 256))))
        except UserError:
            pass  # a queue with capacity 0 admits no applications
    for op in operations:
        kind = op[0]
        try:
            if kind == "submit":
                apps.append(core.submit(ApplicationSpec("x", queue=op[1], user=op[2],
                                                        am_resource=Resource(0.5, 256), groups=())))
            elif kind == "node":
                core.add_node(f"n{len(core.nodes)}", "h", op[1], op[2])
            elif apps:
                app = apps[op[1] % len(apps)]
                if kind == "ask":
                    core.allocate(app, [ContainerRequest(op[2], op[3])])
                elif kind == "done":
                    info = core.apps[app]
                    held = [cid for cid, c in info.containers.items()
                            if c.state == ContainerState.ACQUIRED][: op[2]]
                    core.allocate(app, completed=held)
                elif kind == "finish":
                    core.finish(app, "SUCCEEDED")
                elif kind == "kill":
                    core.kill(app)
        except UserError:
            pass  # requests larger than any node / killing a finished app: rejected cleanly
        core.schedule()
        for ins in core.take_instructions():
            if isinstance(ins, LaunchAM):
                core.am_launched(ins.app_id)
        check_invariants(core)
