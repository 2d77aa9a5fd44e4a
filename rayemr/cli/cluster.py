"""``rayemr start`` / ``rayemr stop`` / ``rayemr status``: a cluster that stays up.

``start`` launches the cluster's process (``rayemr.gateway.daemon``) in the background: a
local Ray instance (or the Ray cluster at ``--address``, such as the head of ``ray up``),
YARN with its REST API, HiveServer2 and the gateway, recorded in ``$RAYEMR_HOME/cluster.json``.
From then on every command, ``python job.py``, ``rayemr.hive.connect()`` and
``rayemr.emr.Cluster`` use it (saying so in one line), and ``rayemr mr``, ``rayemr hive -e``
and ``rayemr yarn`` run through its gateway without starting Ray themselves. ``stop`` stops
it and everything it started; ``status`` shows its nodes, queues, running applications and
endpoints.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from rayemr.cli.text import plain
from rayemr.client import state
from rayemr.core.errors import ClusterError, UserError

#: How long ``start`` waits for the cluster to come up, and ``stop`` for it to end.
START_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 120.0
DAEMON = "rayemr.gateway.daemon"


def register(subparsers) -> None:
    p = subparsers.add_parser("start", help="start a cluster that stays up (Ray, YARN, "
                                            "HiveServer2, REST API, gateway)",
                              description=plain(__doc__),
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--num-cpus", type=int, default=None,
                   help="CPUs of the local Ray instance (default: all)")
    p.add_argument("--memory", type=int, default=None, metavar="BYTES",
                   help="task memory of the local Ray instance (default: Ray's)")
    p.add_argument("--hiveserver2-port", type=int, default=10000, metavar="PORT",
                   help="HiveServer2's loopback port (default 10000; 0 = any free one)")
    p.add_argument("--rest-port", type=int, default=8088, metavar="PORT",
                   help="YARN REST API's loopback port (default 8088; 0 = any free one)")
    p.set_defaults(func=cmd_start)

    p = subparsers.add_parser("stop", help="stop the cluster 'rayemr start' started")
    p.set_defaults(func=cmd_stop)

    p = subparsers.add_parser("status", help="the running cluster: nodes, queues, running "
                                             "applications, endpoints")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_status)


def cmd_start(args) -> int:
    running = state.running()
    if running is not None:
        print(f"rayemr: a cluster is already running ({running.describe()})", file=sys.stderr)
        return 0
    address = os.environ.get("RAY_ADDRESS")
    if not address:  # a taken port fails now, not after Ray's start (a `ray up` head's own
        # HiveServer2 may hold it: the cluster then skips starting one)
        from rayemr.cli.hiveserver2 import check_port_free

        try:
            check_port_free("127.0.0.1", args.hiveserver2_port)
        except UserError as exc:
            raise UserError(f"HiveServer2: {exc.message}",
                            hint="pass --hiveserver2-port 0 for any free port") from None
    home = state.home()
    os.makedirs(os.path.join(home, "logs"), exist_ok=True)
    log_file = os.path.join(home, "logs", "cluster.log")
    argv = [sys.executable, "-m", DAEMON, "--hiveserver2-port", str(args.hiveserver2_port),
            "--rest-port", str(args.rest_port)]
    if args.num_cpus is not None:
        argv += ["--num-cpus", str(args.num_cpus)]
    if args.memory is not None:
        argv += ["--memory", str(args.memory)]
    if address:
        argv += ["--address", address]
    env = dict(os.environ, RAYEMR_CLUSTER_LOG=log_file, PYTHONUNBUFFERED="1")
    env.pop("RAY_ADDRESS", None)
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                env=env, start_new_session=True, close_fds=True)
    print(f"rayemr: starting a cluster (log: {log_file})...", file=sys.stderr, flush=True)
    try:
        info = _wait_started(proc, log_file)
    except KeyboardInterrupt:  # Ctrl-C: the half-started cluster stops what it started
        _stop_daemon(proc.pid)
        state.remove(proc.pid)
        raise
    print(f"rayemr: cluster started: {info.describe()}", file=sys.stderr)
    print(f"rayemr: every command uses it now; 'rayemr status' shows it, 'rayemr stop' "
          "stops it", file=sys.stderr)
    return 0


def _wait_started(proc: subprocess.Popen, log_file: str) -> state.ClusterInfo:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        info = state.read()
        if info is not None and info.pid == proc.pid and state.reachable(
                info.gateway_host, info.gateway_port):
            return info
        if proc.poll() is not None:
            raise ClusterError(f"the cluster did not start: {_last_error(log_file)}",
                               hint=f"see {log_file}")
        time.sleep(0.2)
    proc.terminate()
    raise ClusterError(f"the cluster did not start within {START_TIMEOUT_S:g}s",
                       hint=f"see {log_file}")


def _last_error(log_file: str) -> str:
    try:
        with open(log_file, errors="replace") as f:
            lines = [ln.strip() for ln in f.read().splitlines()[-200:] if ln.strip()]
    except OSError:
        return "no log"
    for line in reversed(lines):
        if "did not start" in line or "Error" in line:
            return line.split(": ", 2)[-1][:300]
    return lines[-1][:300] if lines else "no log"


def cmd_stop(args) -> int:
    info = state.read()
    if info is None or not state.alive(info.pid):
        state.remove()
        print("rayemr: no cluster is running", file=sys.stderr)
        return 0
    if not _is_daemon(info.pid):
        state.remove()
        raise UserError(f"process {info.pid} in {state.cluster_file()} is not a rayemr "
                        "cluster; the stale file was removed")
    _stop_daemon(info.pid, stop_children=info.started_ray)
    state.remove(info.pid)
    print("rayemr: cluster stopped", file=sys.stderr)
    return 0


def _stop_daemon(pid: int, stop_children: bool = True) -> None:
    """SIGTERM to the cluster's process (it stops its services in order), then whatever it
    had started and is still running (nothing of a ``ray up`` cluster it only joined)."""
    from rayemr.runtime import _descendants, _stop_processes

    children = _descendants(pid)
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while state.alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if state.alive(pid):
        _stop_processes([pid])
    left = [p for p in children if state.alive(p)]
    if left and stop_children:
        _stop_processes(left)


def _is_daemon(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return DAEMON.encode() in f.read()
    except OSError:
        return True  # no /proc: trust the file


def cmd_status(args) -> int:
    import json

    from rayemr.client.gateway import Gateway

    info = state.running()
    if info is None:
        if os.environ.get("RAY_ADDRESS"):
            return _status_attached(args)
        print("rayemr: no cluster is running (start one with 'rayemr start'; or give "
              "--address of a Ray cluster, e.g. the head of 'ray up')", file=sys.stderr)
        return 1
    status = Gateway(info).ask("status")
    status.pop("ok", None)
    return _print_status(args, status)


def _status_attached(args) -> int:
    """A cluster made with ``ray up`` (or ``ray start``): ask its YARN directly."""
    import rayemr
    from rayemr.cli.clusterstatus import collect

    ray_info = rayemr.init()
    return _print_status(args, collect({"ray": ray_info.address}))


def _print_status(args, status: dict) -> int:
    import json

    from rayemr.cli.clusterstatus import format_status

    out = getattr(args, "stdout", None) or sys.stdout
    if args.json:
        out.write(json.dumps(status, indent=2) + "\n")
    else:
        out.write(format_status(status))
    return 0
