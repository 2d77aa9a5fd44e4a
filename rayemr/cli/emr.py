"""``rayemr emr``: EMR's cluster and step commands, with the AWS CLI's flags and JSON output.

    rayemr emr create-cluster --name etl --configurations file://conf.json \\
        --bootstrap-actions Path=s3://b/setup.sh,Args=[x] --log-uri s3://b/logs \\
        --steps Type=HIVE,Name=load,Args=[-f,s3://b/load.q] --auto-terminate
    rayemr emr add-steps --cluster-id j-... --steps Type=COMMAND,Name=ls,Args=[ls,-l]
    rayemr emr list-steps --cluster-id j-...
    rayemr emr describe-step --cluster-id j-... --step-id s-...
    rayemr emr cancel-steps --cluster-id j-... --step-ids s-...
    rayemr emr describe-cluster --cluster-id j-...
    rayemr emr terminate-clusters --cluster-ids j-...

Without a running Ray cluster (no ``--address``/``RAY_ADDRESS``) ``create-cluster`` runs in
the foreground in local mode: it prints the cluster id and how to reach it, runs the steps and
stays up until it terminates (``--auto-terminate``, an idle timeout, or Ctrl-C). Every other
command joins the running cluster (``--address``, ``RAY_ADDRESS``, else the one ``ray start``
runs on this machine).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from rayemr.cli.text import plain
from rayemr.core.errors import ConfigError, UserError


def _out(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))
    sys.stdout.flush()


def _json_or_shorthand(values: list[str], what: str) -> list[Any]:
    """AWS CLI style list values: shorthand items, a JSON list, or file:// JSON."""
    items: list[Any] = []
    for v in values:
        text = v.strip()
        if text.startswith("file://") or text.startswith("s3://"):
            from rayemr.emr import storage

            text = storage.read_text(text, what=what).strip()
        if text.startswith(("[", "{")):
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{what}: not valid JSON: {exc.msg}") from None
            items.extend(data if isinstance(data, list) else [data])
        else:
            items.append(text)
    return items


def _idle_timeout(args) -> float | None:
    if args.idle_timeout is not None:
        return args.idle_timeout
    if args.auto_termination_policy:
        text = args.auto_termination_policy.strip()
        if text.startswith("{"):
            value = json.loads(text).get("IdleTimeout")
        else:
            key, _, value = text.partition("=")
            if key.strip() != "IdleTimeout":
                raise ConfigError("--auto-termination-policy expects IdleTimeout=SECONDS")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"--auto-termination-policy: IdleTimeout must be seconds, "
                              f"got {value!r}") from None
    return None


def _applications(values: list[str] | None) -> tuple[str, ...]:
    if not values:
        return ("Hadoop", "Hive")
    out = []
    for v in values:
        out.append(v.split("=", 1)[1] if v.startswith("Name=") else v)
    return tuple(out)


def _cluster_from_args(args, *, keep_alive: bool, hs2_port: int | None):
    from rayemr.emr import Cluster

    return Cluster(
        name=args.name,
        configurations=args.configurations,
        bootstrap_actions=_json_or_shorthand(args.bootstrap_actions or [], "bootstrap actions"),
        steps=_json_or_shorthand(args.steps or [], "steps"),
        log_uri=args.log_uri,
        idle_timeout=_idle_timeout(args),
        keep_alive=keep_alive,
        applications=_applications(args.applications),
        hiveserver2_port=hs2_port,
        work_dir=args.work_dir,
        num_cpus=getattr(args, "num_cpus", None),
    )


def _attached() -> bool:
    return bool(os.environ.get("RAY_ADDRESS"))


def cmd_create_cluster(args) -> int:
    keep_alive = not args.auto_terminate
    cluster = _cluster_from_args(args, keep_alive=keep_alive, hs2_port=args.hiveserver2_port)
    if _attached():
        cluster.start()
        _out({"ClusterId": cluster.id})
        _print_endpoints(cluster.id, cluster.describe()["Cluster"])
        return 0
    # Local mode: Ray lives as long as this process, so the cluster runs in the foreground.
    cluster.start()
    desc = cluster.describe()["Cluster"]
    _out({"ClusterId": cluster.id})
    print(f"rayemr emr: cluster {cluster.id} is {desc['Status']['State']} in local mode; "
          f"other shells reach it with RAY_ADDRESS={desc['RayAddress']} "
          f"rayemr emr ... --cluster-id {cluster.id}", file=sys.stderr)
    _print_endpoints(cluster.id, desc)
    try:
        if keep_alive and cluster.spec.idle_timeout_s is None:
            print("rayemr emr: press Ctrl-C to terminate it", file=sys.stderr)
        _follow_until_terminated(cluster)
        final = cluster.wait_terminated(timeout=None)
    except KeyboardInterrupt:
        final = cluster.terminate(wait=True)
    steps = cluster.list_steps()
    cluster.close()
    _out({**final, "Steps": steps})
    return _exit_code(final, steps)


def _follow_until_terminated(cluster) -> None:
    """Print each step as it starts, progresses and ends, until the cluster terminates."""
    from rayemr.emr.follow import follow

    def show(event) -> None:
        print(f"rayemr emr: {event.line()}", file=sys.stderr, flush=True)

    follow(cluster, show)


def _print_endpoints(cluster_id: str, desc: dict[str, Any]) -> None:
    """Where the cluster's services listen (the port chosen for --hiveserver2-port 0)."""
    for service in desc.get("Services", []):
        if service.get("Name") == "HiveServer2" and service.get("State") == "RUNNING":
            print(f"rayemr emr: HiveServer2 of {cluster_id} listening on "
                  f"{service.get('Detail')}", file=sys.stderr, flush=True)


def _exit_code(final: dict[str, Any], steps: list[dict[str, Any]]) -> int:
    """0 only when the cluster terminated normally and no step FAILED."""
    failed = [f"{s['Name']} ({s['Id']})" for s in steps if s["Status"]["State"] == "FAILED"]
    if failed:
        print(f"rayemr emr: {len(failed)} step(s) FAILED: {', '.join(failed)}",
              file=sys.stderr)
    ok = final["Cluster"]["Status"]["State"] == "TERMINATED"
    return 0 if ok and not failed else 1


def cmd_start_services(args) -> int:
    """The head node's start command: one long-lived cluster with HiveServer2, idempotent."""
    from rayemr.emr import Cluster

    for c in Cluster.list(states=["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"]):
        if c["Name"] == args.name:
            _out({"ClusterId": c["Id"], "AlreadyRunning": True})
            return 0
    cluster = _cluster_from_args(args, keep_alive=True, hs2_port=args.hiveserver2_port)
    cluster.start()
    _out({"ClusterId": cluster.id})
    return 0


def cmd_stop_services(args) -> int:
    from rayemr.emr import Cluster

    stopped = []
    for c in Cluster.list():
        handle = Cluster.attach(c["Id"])
        handle.close()
        stopped.append(c["Id"])
    _out({"Stopped": stopped})
    return 0


def cmd_describe_cluster(args) -> int:
    from rayemr.emr import Cluster

    _out(Cluster.attach(args.cluster_id).describe())
    return 0


def cmd_list_clusters(args) -> int:
    from rayemr.emr import Cluster

    from rayemr.emr.clusterstate import parse_cluster_states

    states = [s.value for s in parse_cluster_states(args.cluster_states)] or None
    if args.active:
        states = ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING", "TERMINATING"]
    _out({"Clusters": Cluster.list(states=states)})
    return 0


def cmd_terminate_clusters(args) -> int:
    from rayemr.emr import Cluster

    for cid in args.cluster_ids:
        Cluster.attach(cid).terminate(wait=not args.no_wait)
    return 0


def cmd_add_steps(args) -> int:
    from rayemr.emr import Cluster

    steps = _json_or_shorthand(args.steps, "steps")
    if not steps:
        raise UserError("--steps: give at least one step")
    _out({"StepIds": Cluster.attach(args.cluster_id).add_steps(steps)})
    return 0


def cmd_list_steps(args) -> int:
    from rayemr.emr import Cluster
    from rayemr.emr.steps import parse_step_states

    parse_step_states(args.step_states)  # a bad state fails before joining the cluster
    steps = Cluster.attach(args.cluster_id).list_steps(args.step_states, args.step_ids)
    _out({"Steps": steps})
    return 0


def cmd_describe_step(args) -> int:
    from rayemr.emr import Cluster

    _out(Cluster.attach(args.cluster_id).describe_step(args.step_id))
    return 0


def cmd_cancel_steps(args) -> int:
    from rayemr.emr import Cluster

    _out({"CancelStepsInfoList": Cluster.attach(args.cluster_id).cancel_steps(args.step_ids)})
    return 0


def cmd_wait(args) -> int:
    from rayemr.emr import Cluster

    cluster = Cluster.attach(args.cluster_id)
    if args.condition == "step-complete":
        if not args.step_id:
            raise UserError("wait step-complete needs --step-id")
        (step,) = cluster.wait([args.step_id], timeout=args.timeout)
        state = step["Status"]["State"]
        if state != "COMPLETED":
            print(f"rayemr emr: step {args.step_id} is {state}", file=sys.stderr)
            return 1
        return 0
    desc = cluster.wait_terminated(timeout=args.timeout)
    return 0 if desc["Cluster"]["Status"]["State"].startswith("TERMINATED") else 1


def cmd_demo(args) -> int:
    from rayemr.cli.demo import main

    return main(args)


def cmd_create_security_group(args) -> int:
    from rayemr.emr.aws import create_security_group

    def warn(text: str) -> None:
        print(f"rayemr emr: WARNING: {text}", file=sys.stderr, flush=True)

    result = create_security_group(args.config, vpc_id=args.vpc_id, ssh_cidr=args.ssh_cidr,
                                   region=args.region, warn=warn)
    _out(result)
    for change in result["Changes"]:
        print(f"rayemr emr: security group {result['GroupId']}: {change}", file=sys.stderr)
    return 0


def cmd_metastore_backup(args) -> int:
    from rayemr.emr import backup

    if args.every is None:
        size = backup.backup(args.to, args.metastore)
        print(f"rayemr emr: metastore backed up to {args.to} ({size} bytes)", file=sys.stderr)
        return 0
    backup.backup_every(args.to, args.every, args.metastore)
    return 0


def cmd_metastore_restore(args) -> int:
    from rayemr.emr import backup

    path = args.metastore or backup.default_metastore()
    if backup.restore(args.source, path, force=args.force):
        print(f"rayemr emr: metastore {path} restored from {args.source}", file=sys.stderr)
    else:
        print(f"rayemr emr: metastore {path} left as it is (no snapshot at {args.source}, "
              "or a metastore is already there: --force replaces it)", file=sys.stderr)
    return 0


def _cluster_options(p: argparse.ArgumentParser, *, default_name: str) -> None:
    p.add_argument("--name", default=default_name, help="cluster name")
    p.add_argument("--configurations", metavar="JSON|FILE|URL",
                   help="EMR configuration classifications: JSON text, a file, file:// or s3://")
    p.add_argument("--bootstrap-actions", nargs="+", metavar="ACTION",
                   help="Path=SCRIPT,Args=[...],Name=N (repeatable), or JSON / file://")
    p.add_argument("--steps", nargs="+", metavar="STEP",
                   help="Type=HIVE|MAPREDUCE|COMMAND,Name=N,ActionOnFailure=A,Args=[...], "
                        "or JSON / file://")
    p.add_argument("--log-uri", help="where step and bootstrap logs go (s3:// or a path)")
    p.add_argument("--applications", nargs="+", metavar="Name=APP",
                   help="Name=Hadoop Name=Hive (default: both)")
    p.add_argument("--idle-timeout", type=float, metavar="SECONDS",
                   help="terminate after this long without steps")
    p.add_argument("--auto-termination-policy", metavar="IdleTimeout=SECONDS",
                   help="EMR's spelling of --idle-timeout")
    p.add_argument("--work-dir", help="the master's folder for step files "
                                      "(default $RAYEMR_HOME/emr/<cluster-id>, "
                                      "else ~/.rayemr/emr/<cluster-id>)")


def register(subparsers) -> None:
    emr = subparsers.add_parser("emr", help="EMR clusters and steps on Ray",
                                description=plain(__doc__),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = emr.add_subparsers(dest="emr_command", metavar="COMMAND")
    emr.set_defaults(func=lambda a: (emr.print_help(), 2)[1])
    _register_clusters(sub)
    _register_steps(sub)
    _register_tools(sub)


def _cluster_id(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cluster-id", required=True, metavar="ID", help="the cluster (j-...)")


def _register_clusters(sub) -> None:
    p = sub.add_parser("create-cluster", help="create a cluster (and run its steps)")
    _cluster_options(p, default_name="rayemr")
    p.add_argument("--auto-terminate", action="store_true",
                   help="terminate once the steps are done")
    p.add_argument("--hiveserver2-port", type=int, default=None, metavar="PORT",
                   help="also serve HiveServer2 on loopback at this port (0 = any free one)")
    p.add_argument("--num-cpus", type=int, default=None,
                   help="local mode: CPUs of the local Ray instance (default: all)")
    p.set_defaults(func=cmd_create_cluster)

    p = sub.add_parser("start-services", help="the head node's long-lived cluster "
                                              "(cluster.yaml runs this)")
    _cluster_options(p, default_name="rayemr")
    p.add_argument("--hiveserver2-port", type=int, default=10000, metavar="PORT",
                   help="HiveServer2's loopback port (default 10000)")
    p.set_defaults(func=cmd_start_services)

    p = sub.add_parser("stop-services", help="terminate and remove every cluster")
    p.set_defaults(func=cmd_stop_services)

    p = sub.add_parser("describe-cluster", help="a cluster's state, configurations and "
                                                "services, as JSON")
    _cluster_id(p)
    p.set_defaults(func=cmd_describe_cluster)

    p = sub.add_parser("list-clusters", help="the clusters on this Ray cluster")
    p.add_argument("--active", action="store_true",
                   help="only clusters not yet terminated")
    p.add_argument("--cluster-states", nargs="+", metavar="STATE",
                   help="only these states (STARTING, RUNNING, WAITING, TERMINATED, ...)")
    p.set_defaults(func=cmd_list_clusters)

    p = sub.add_parser("terminate-clusters", help="terminate clusters (running steps are "
                                                  "cancelled)")
    p.add_argument("--cluster-ids", nargs="+", required=True, metavar="ID",
                   help="the clusters to terminate")
    p.add_argument("--no-wait", action="store_true", help="return before they terminated")
    p.set_defaults(func=cmd_terminate_clusters)


def _register_steps(sub) -> None:
    p = sub.add_parser("add-steps", help="queue steps on a running cluster")
    _cluster_id(p)
    p.add_argument("--steps", nargs="+", required=True, metavar="STEP",
                   help="Type=HIVE|MAPREDUCE|COMMAND,Name=N,ActionOnFailure=A,Args=[...], "
                        "or JSON / file://")
    p.set_defaults(func=cmd_add_steps)

    p = sub.add_parser("list-steps", help="a cluster's steps, newest first")
    _cluster_id(p)
    p.add_argument("--step-states", nargs="+", metavar="STATE",
                   help="only PENDING, RUNNING, COMPLETED, CANCELLED or FAILED steps")
    p.add_argument("--step-ids", nargs="+", metavar="ID", help="only these steps")
    p.set_defaults(func=cmd_list_steps)

    p = sub.add_parser("describe-step", help="one step's state, times, logs and YARN "
                                             "applications")
    _cluster_id(p)
    p.add_argument("--step-id", required=True, metavar="ID", help="the step (s-...)")
    p.set_defaults(func=cmd_describe_step)

    p = sub.add_parser("cancel-steps", help="cancel pending (or running) steps")
    _cluster_id(p)
    p.add_argument("--step-ids", nargs="+", required=True, metavar="ID",
                   help="the steps to cancel")
    p.set_defaults(func=cmd_cancel_steps)

    p = sub.add_parser("wait", help="wait step-complete | cluster-terminated")
    p.add_argument("condition", choices=["step-complete", "cluster-terminated"],
                   help="what to wait for")
    _cluster_id(p)
    p.add_argument("--step-id", metavar="ID", help="step-complete: the step")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="give up after this long (default: wait as long as it takes)")
    p.set_defaults(func=cmd_wait)


def _register_tools(sub) -> None:
    p = sub.add_parser("demo", help="the same as 'rayemr demo': a cluster running MapReduce, "
                                    "command and Hive steps on bundled data")
    from rayemr.cli.demo import add_arguments

    add_arguments(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("metastore-backup", help="copy the metastore to S3 (once, or "
                                                "every N seconds)")
    p.add_argument("--to", required=True, metavar="URL", help="where the snapshot goes, "
                   "e.g. s3://bucket/rayemr/metastore.db")
    p.add_argument("--metastore", metavar="PATH",
                   help="the metastore file (default $RAYEMR_HOME/metastore.db)")
    p.add_argument("--every", type=float, metavar="SECONDS",
                   help="keep running, backing up at this interval")
    p.set_defaults(func=cmd_metastore_backup)

    p = sub.add_parser("metastore-restore", help="put the S3 snapshot of the metastore in "
                                                 "place (before the services start)")
    p.add_argument("--from", dest="source", required=True, metavar="URL",
                   help="the snapshot metastore-backup made")
    p.add_argument("--metastore", metavar="PATH",
                   help="the metastore file (default $RAYEMR_HOME/metastore.db)")
    p.add_argument("--force", action="store_true", help="replace an existing metastore")
    p.set_defaults(func=cmd_metastore_restore)

    p = sub.add_parser("create-security-group",
                       help="the cluster.yaml security group: node-to-node traffic and SSH "
                            "from one CIDR only")
    p.add_argument("config", help="cluster.yaml")
    p.add_argument("--vpc-id", help="default: the region's default VPC")
    p.add_argument("--ssh-cidr", help="override the SSH source CIDR in cluster.yaml")
    p.add_argument("--region", help="override provider.region")
    p.set_defaults(func=cmd_create_security_group)
