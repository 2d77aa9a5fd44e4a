"""Scheduler benchmarks (one run prints both; results go to bench/README.md ``## scheduler``).

(a) The pure scheduling core (no Ray): 1,000 simulated nodes, 100 applications in four
    queues, every application heartbeating with completed containers and new asks; reports
    container grants per second (target >= 5,000/s).
(b) 2,000 no-op containers through the ResourceManager + NodeManagers (one application whose
    ApplicationMaster asks for them in batches and runs a no-op task in each), against 2,000
    plain Ray tasks with the same CPU, measured side by side, alternating, in one Ray instance
    (target: YARN time <= 1.5x plain Ray), once with each resource calculator: YARN's default
    (memory only, so the RM grants every container at once and Ray queues their tasks) and the
    dominant resource calculator (vcores counted exactly: each task waits for a grant).

    python bench/scheduler.py [--only core|containers] [--repeat 3] [--calculator both]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time

P = "yarn.scheduler.capacity."


# -- (a) the pure core ----------------------------------------------------------------------
def bench_core(nodes: int = 1000, apps: int = 100, seconds: float = 3.0, seed: int = 1) -> dict:
    from rayemr.yarn import ApplicationSpec, CapacitySchedulerConfig, ContainerRequest, Resource
    from rayemr.yarn.scheduler import LaunchAM, SchedulerCore

    conf = CapacitySchedulerConfig.from_properties({
        P + "root.queues": "prod,dev,adhoc,etl", P + "root.prod.capacity": 40,
        P + "root.dev.capacity": 20, P + "root.adhoc.capacity": 10, P + "root.etl.capacity": 30,
        P + "root.dev.maximum-capacity": 60, P + "root.adhoc.ordering-policy": "fair",
        P + "root.prod.user-limit-factor": 2, P + "root.dev.user-limit-factor": 3,
        P + "root.etl.user-limit-factor": 2, P + "root.adhoc.user-limit-factor": 5,
        P + "maximum-am-resource-percent": 0.5,
    })
    rng = random.Random(seed)
    core = SchedulerCore(conf, cluster_ts=1)
    for i in range(nodes):
        core.add_node(f"node{i:04d}", f"10.0.{i // 250}.{i % 250}", 16, 65536)
    queues = ["prod", "dev", "adhoc", "etl"]
    app_ids = [core.submit(ApplicationSpec(f"app{i}", queue=queues[i % 4], user=f"u{i % 7}",
                                           am_resource=Resource(1, 1024), groups=()))
               for i in range(apps)]
    core.schedule()
    for ins in core.take_instructions():
        if isinstance(ins, LaunchAM):
            core.am_launched(ins.app_id)
    sizes = [Resource(1, 1024), Resource(1, 2048), Resource(2, 4096)]
    held: dict[str, list[str]] = {a: [] for a in app_ids}
    for a in app_ids:  # every app wants far more than its share
        resp = core.allocate(a, [ContainerRequest(rng.choice(sizes), 2000)])
        held[a].extend(c.container_id for c in resp.allocated)
    start_grants, t0 = core.grants, time.perf_counter()
    rounds = 0
    while time.perf_counter() - t0 < seconds:
        for a in app_ids:
            done = held[a][: max(1, len(held[a]) // 4)]  # a quarter of its tasks finished
            held[a] = held[a][len(done):]
            resp = core.allocate(a, [ContainerRequest(rng.choice(sizes), len(done))],
                                 completed=done)
            held[a].extend(c.container_id for c in resp.allocated)
        rounds += 1
    elapsed = time.perf_counter() - t0
    grants = core.grants - start_grants
    return {"nodes": nodes, "apps": apps, "grants": grants, "seconds": elapsed,
            "grants_per_s": grants / elapsed, "heartbeats": rounds * apps,
            "containers_running": len(core.containers)}


# -- (b) containers through RM + NMs vs plain Ray tasks --------------------------------------
def noop():
    return None


def am_run_noops(amrm, n):
    """Ask for ``n`` 1-vcore containers, run a no-op task in each, wait for all."""
    import ray

    from rayemr.yarn import ContainerRequest, Resource

    asks, refs, running, launched = [ContainerRequest(Resource(1, 64), n)], [], [], 0
    while launched < n:
        resp = amrm.allocate(asks)
        asks = []
        for c in resp.allocated:
            ref = amrm.launch(c, noop)
            refs.append(ref)
            running.append(ref)
            launched += 1
        if not resp.allocated and running:  # heartbeat again once some tasks have finished
            _, running = ray.wait(running, num_returns=min(len(running), 64), timeout=0.05,
                                  fetch_local=False)
    ray.get(refs)
    return launched


def bench_containers(n: int = 2000, repeat: int = 3, calculator: str = "default") -> dict:
    import ray

    import rayemr
    import rayemr.yarn as yarn
    from rayemr.yarn import ApplicationSpec, Resource

    rayemr.init(num_cpus=2)
    yarn.start({"yarn.resourcemanager.webapp.address": "127.0.0.1:0",
                P + "resource-calculator": calculator,
                P + "maximum-am-resource-percent": "0.5"})
    client = yarn.YarnClient()
    plain = ray.remote(noop).options(num_cpus=1)
    ray.get([plain.remote() for _ in range(200)])  # warm the worker pool
    client.result(client.submit(ApplicationSpec("warmup", am_resource=Resource(0, 512)),
                                am_run_noops, 100))
    ray_times, yarn_times = [], []
    def run_plain() -> None:
        t = time.perf_counter()
        ray.get([plain.remote() for _ in range(n)])
        ray_times.append(time.perf_counter() - t)

    def run_yarn() -> None:
        t = time.perf_counter()
        # the AM waits: it holds memory, not a vcore (see docs/yarn.md)
        app = client.submit(ApplicationSpec("noops", am_resource=Resource(0, 512)),
                            am_run_noops, n)
        assert client.result(app) == n
        yarn_times.append(time.perf_counter() - t)

    for i in range(repeat):  # alternate which goes first
        for run in ((run_plain, run_yarn) if i % 2 == 0 else (run_yarn, run_plain)):
            run()
    yarn.stop()
    rayemr.shutdown()
    r, y = statistics.median(ray_times), statistics.median(yarn_times)
    return {"n": n, "calculator": calculator, "ray_s": ray_times, "yarn_s": yarn_times,
            "ray_median_s": r, "yarn_median_s": y, "ratio": y / r}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("core", "containers"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--containers", type=int, default=2000, help="(b) no-op containers")
    parser.add_argument("--calculator", choices=("both", "default", "dominant"), default="both",
                        help="(b) with YARN's default (memory-only) calculator, the dominant "
                             "resource calculator (exact vcores), or both (the default)")
    args = parser.parse_args(argv)
    ok = True
    if args.only in (None, "core"):
        res = bench_core(seconds=args.seconds)
        met = res["grants_per_s"] >= 5000
        ok &= met
        print(f"(a) core: {res['nodes']} nodes, {res['apps']} apps: {res['grants']} grants in "
              f"{res['seconds']:.2f} s = {res['grants_per_s']:,.0f} grants/s "
              f"({res['heartbeats']} heartbeats; target >= 5,000/s: {'met' if met else 'NOT met'})")
    if args.only in (None, "containers"):
        calculators = ("default", "dominant") if args.calculator == "both" else (args.calculator,)
        rows = []
        for calc in calculators:
            res = bench_containers(n=args.containers, repeat=args.repeat, calculator=calc)
            met = res["ratio"] <= 1.5
            ok &= met
            rows.append((res, met))
            fmt = lambda xs: ", ".join(f"{x:.2f}" for x in xs)  # noqa: E731
            print(f"(b) {res['n']} no-op containers ({calc} calculator): plain Ray "
                  f"[{fmt(res['ray_s'])}] s, RM+NMs [{fmt(res['yarn_s'])}] s; median ratio "
                  f"{res['ratio']:.2f}x (target <= 1.5x: {'met' if met else 'NOT met'})",
                  flush=True)
        print("\n| resource calculator | plain Ray, median s | RM + NMs, median s | ratio "
              "| target <= 1.5x |\n|---|---:|---:|---:|---|")
        for res, met in rows:
            name = {"default": "default (memory only: all containers granted at once)",
                    "dominant": "dominant (vcores exact: 2 containers at a time on 2 CPUs)"}
            print(f"| {name[res['calculator']]} | {res['ray_median_s']:.2f} | "
                  f"{res['yarn_median_s']:.2f} | {res['ratio']:.2f}x | "
                  f"{'met' if met else 'not met'} |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
