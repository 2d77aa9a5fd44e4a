"""``rayemr yarn``: the ``yarn`` command against the ResourceManager of a running cluster.

    rayemr yarn application -list [-appStates STATES] | -status APP_ID | -kill APP_ID
    rayemr yarn queue -status QUEUE
    rayemr yarn node -list [-all]
    rayemr yarn logs -applicationId APP_ID [-containerId ID] [-log_files stdout,stderr,syslog]
    rayemr yarn start [--conf FILE] [--webapp-address HOST:PORT]  |  rayemr yarn stop

It attaches to the Ray cluster at ``--address`` (default ``RAY_ADDRESS``, else the cluster
started on this machine) and never starts a Ray instance of its own.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone

from rayemr.cli.text import plain
from rayemr.core.errors import ClusterError, UserError

DEFAULT_STATES = ("SUBMITTED", "ACCEPTED", "RUNNING")


def register(subparsers) -> None:
    parser = subparsers.add_parser("yarn", help="applications, queues and nodes (yarn CLI)",
                                   description=plain(__doc__),
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--address", default=None,
                        help="Ray cluster address (default: RAY_ADDRESS, else 'auto')")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    sub = parser.add_subparsers(dest="yarn_command", metavar="CMD", required=True)
    # --json may also follow the command (`rayemr yarn application -list --json`)
    json_after = {"dest": "json", "action": "store_true", "default": argparse.SUPPRESS,
                  "help": "print JSON instead of tables"}

    p = sub.add_parser("application", help="list, inspect or kill applications")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("-list", action="store_true", help="list applications")
    group.add_argument("-status", metavar="APP_ID", help="report one application")
    group.add_argument("-kill", metavar="APP_ID", help="kill an application")
    p.add_argument("-appStates", metavar="STATES", default=None,
                   help="with -list: comma-separated states, or ALL "
                        "(default SUBMITTED,ACCEPTED,RUNNING)")
    p.add_argument("-queue", metavar="QUEUE", default=None, help="with -list: only this queue")
    p.add_argument("--json", **json_after)
    p.set_defaults(func=_application)

    p = sub.add_parser("queue", help="report a queue")
    p.add_argument("-status", metavar="QUEUE", required=True,
                   help="the queue: capacity, use, applications, ACLs")
    p.add_argument("--json", **json_after)
    p.set_defaults(func=_queue)

    p = sub.add_parser("node", help="list NodeManagers")
    p.add_argument("-list", action="store_true", required=True, help="list the NodeManagers")
    p.add_argument("-all", action="store_true", help="include LOST and DECOMMISSIONED nodes")
    p.add_argument("--json", **json_after)
    p.set_defaults(func=_node)

    p = sub.add_parser("logs", help="the aggregated logs (stdout, stderr, syslog) of an "
                                    "application's containers")
    p.add_argument("-applicationId", required=True, metavar="APP_ID",
                   help="the application (application_...)")
    p.add_argument("-containerId", metavar="CONTAINER_ID", help="only this container")
    p.add_argument("-log_files", "-logFiles", dest="log_files", metavar="TYPES",
                   help="comma-separated log types: stdout,stderr,syslog (default: all)")
    p.set_defaults(func=_logs)

    p = sub.add_parser("start", help="start the ResourceManager on the cluster (idempotent)")
    p.add_argument("--conf", metavar="FILE", help="capacity-scheduler XML/properties/JSON")
    p.add_argument("--webapp-address", metavar="HOST:PORT", default=None,
                   help="REST API address (default 127.0.0.1:8088)")
    p.set_defaults(func=_start)

    p = sub.add_parser("stop", help="stop YARN (ResourceManager, NodeManagers, AMs)")
    p.set_defaults(func=_stop)


# -- attaching ------------------------------------------------------------------------------
def _attach(args) -> None:
    import rayemr

    address = args.address or os.environ.get("RAY_ADDRESS") or "auto"
    rayemr.init(address)


def _client(args):
    import ray

    from rayemr.yarn import YarnClient
    from rayemr.runtime import NAMESPACE
    from rayemr.yarn.app_master import RM_NAME

    _attach(args)
    try:
        ray.get_actor(RM_NAME, namespace=NAMESPACE)
    except ValueError:
        raise ClusterError("YARN is not running on this Ray cluster",
                           hint="start it with `rayemr yarn start`") from None
    return YarnClient()


# -- commands -------------------------------------------------------------------------------
def _application(args) -> int:
    out = _stdout(args)
    client = _client(args)
    if args.kill:
        client.kill(args.kill)
        print(f"Killed application {args.kill}", file=out)
        return 0
    if args.status:
        report = client.status(args.status)
        if args.json:
            print(json.dumps({"app": report.to_dict()}, indent=2), file=out)
        else:
            _print_report(report, out)
        return 0
    states = _states(args.appStates)
    reports = client.list(states=states, queue=args.queue)
    if args.json:
        print(json.dumps({"apps": [r.to_dict() for r in reports]}, indent=2), file=out)
        return 0
    print(f"Total number of applications (application-types: [] and states: "
          f"[{', '.join(states)}]):{len(reports)}", file=out)
    rows = [("Application-Id", "Application-Name", "Application-Type", "User", "Queue",
             "State", "Final-State", "Progress", "Tracking-URL")]
    for r in reports:
        rows.append((r.app_id, r.name, r.app_type, r.user, r.queue, r.state.value,
                     r.final_status.value, f"{r.progress * 100:.0f}%", "N/A"))
    _table(rows, out)
    return 0


def _states(text: str | None) -> list[str]:
    from rayemr.yarn import AppState

    if not text:
        return list(DEFAULT_STATES)
    wanted = [s.strip().upper() for s in text.split(",") if s.strip()]
    if "ALL" in wanted:
        return [s.value for s in AppState]
    bad = [s for s in wanted if s not in {a.value for a in AppState}]
    if bad:
        raise UserError(f"-appStates: unknown state {bad[0]!r}",
                        hint="valid: ALL, " + ", ".join(a.value for a in AppState))
    return wanted


def _print_report(r, out) -> None:
    fmt = lambda t: (datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")  # noqa: E731
                     if t else "N/A")
    print("Application Report : ", file=out)
    for key, value in (
            ("Application-Id", r.app_id), ("Application-Name", r.name),
            ("Application-Type", r.app_type), ("User", r.user), ("Queue", r.queue),
            ("Application Priority", r.priority),
            ("Application Tags", ",".join(r.tags)), ("Start-Time", fmt(r.submit_time)),
            ("Launch-Time", fmt(r.start_time)), ("Finish-Time", fmt(r.finish_time)),
            ("Progress", f"{r.progress * 100:.0f}%"), ("State", r.state.value),
            ("Final-State", r.final_status.value), ("AM Host", r.am_node or "N/A"),
            ("Running Containers", r.running_containers),
            ("Aggregate Resource Allocation",
             f"{r.memory_seconds} MB-seconds, {r.vcore_seconds} vcore-seconds"),
            ("Diagnostics", r.diagnostics)):
        print(f"\t{key} : {value}", file=out)


def _queue(args) -> int:
    out = _stdout(args)
    info = _client(args).queue(args.status)
    if args.json:
        print(json.dumps(info, indent=2), file=out)
        return 0
    print("Queue Information : ", file=out)
    print(f"Queue Name : {info['queueName']}", file=out)
    print(f"\tQueue Path : {info['queuePath']}", file=out)
    print(f"\tState : {info['state']}", file=out)
    print(f"\tCapacity : {info['capacity']:.1f}%", file=out)
    print(f"\tCurrent Capacity : {info['usedCapacity']:.1f}%", file=out)
    print(f"\tMaximum Capacity : {info['maxCapacity']:.1f}%", file=out)
    print(f"\tAbsolute Capacity : {info['absoluteCapacity']:.1f}%", file=out)
    print(f"\tAbsolute Maximum Capacity : {info['absoluteMaxCapacity']:.1f}%", file=out)
    used = info["resourcesUsed"]
    print(f"\tUsed Resources : <memory:{used['memory']}, vCores:{used['vCores']:g}>",
          file=out)
    if "numApplications" in info:
        print(f"\tApplications : {info['numApplications']} "
              f"({info['numActiveApplications']} active, "
              f"{info['numPendingApplications']} pending)", file=out)
        print(f"\tOrdering Policy : {info['orderingPolicy']}", file=out)
        print(f"\tUser Limit Factor : {info['userLimitFactor']:g}", file=out)
        print(f"\tMaximum AM Resource Percent : {info['maxAMResourcePercent']:g}", file=out)
        print(f"\tSubmit ACL : {info['aclSubmitApplications']!r}", file=out)
    else:
        print("\tChild Queues : " + ", ".join(q["queueName"] for q in info["queues"]["queue"]),
              file=out)
    return 0


def _node(args) -> int:
    from rayemr.yarn import NodeState

    out = _stdout(args)
    nodes = _client(args).nodes()
    if not args.all:
        nodes = [n for n in nodes if n.state in (NodeState.RUNNING, NodeState.UNHEALTHY,
                                                  NodeState.NEW)]
    if args.json:
        print(json.dumps({"nodes": [n.to_dict() for n in nodes]}, indent=2), file=out)
        return 0
    print(f"Total Nodes:{len(nodes)}", file=out)
    rows = [("Node-Id", "Node-State", "Node-Address", "Number-of-Running-Containers",
             "Used", "Capability")]
    for n in nodes:
        rows.append((n.node_id, n.state.value, n.address, n.num_containers, str(n.used),
                     str(n.capability)))
    _table(rows, out)
    return 0


def _start(args) -> int:
    import rayemr.yarn as yarn
    from rayemr.yarn import YarnConfig
    from rayemr.yarn.config import CapacitySchedulerConfig

    _attach(args)
    props: dict = {}
    if args.webapp_address:
        props["yarn.resourcemanager.webapp.address"] = args.webapp_address
    cfg = YarnConfig.from_properties(props)
    if args.conf:
        from dataclasses import replace

        cfg = replace(cfg, scheduler=CapacitySchedulerConfig.from_file(args.conf))
    handle = yarn.start(cfg)
    print(f"ResourceManager running (cluster {handle.cluster_ts}); REST API at "
          f"{handle.rest_url}", file=_stdout(args))
    return 0


def _stop(args) -> int:
    import rayemr.yarn as yarn

    _attach(args)
    yarn.stop()
    print("YARN stopped", file=_stdout(args))
    return 0


def _stdout(args):
    """Where the command prints: the caller's stream (the gateway's) or stdout."""
    return getattr(args, "stdout", None) or sys.stdout


def _logs(args) -> int:
    from rayemr.yarn.logs import format_logs

    out = _stdout(args)
    report, logs = _client(args).logs(args.applicationId)
    if args.containerId:
        logs = [c for c in logs if c.container_id == args.containerId]
        if not logs:
            raise UserError(f"container {args.containerId} of {args.applicationId} has no "
                            "logs", hint="without -containerId every container is shown")
    if not logs:
        state = report.state.value
        why = ("they are aggregated as its containers finish" if not report.state.final
               else "its containers printed nothing or ran before logs were kept")
        print(f"Application {args.applicationId} ({state}) has no container logs: {why}",
              file=sys.stderr)
        return 0 if report.state.final else 1
    types = [t.strip() for t in (args.log_files or "").split(",") if t.strip()] or None
    out.write(format_logs(logs, types))
    out.flush()
    return 0


def _table(rows: list[tuple], out=None) -> None:
    out = out or sys.stdout
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        out.write("\t".join(str(v).rjust(w) for v, w in zip(r, widths)).rstrip() + "\n")
