"""The process ``rayemr start`` leaves running: Ray, YARN, HiveServer2, REST API, gateway.

    python -m rayemr.gateway.daemon [--num-cpus N] [--memory BYTES] [--address ADDR]
        [--hiveserver2-port P] [--rest-port P] [--gateway-port P]

It starts a local Ray instance (or joins the one at ``--address``, e.g. the head of a
``ray up`` cluster), YARN with its REST API, HiveServer2 over the default metastore and the
gateway, then writes ``$RAYEMR_HOME/cluster.json``. SIGTERM or SIGINT (``rayemr stop``)
stops them in reverse order: the gateway, HiveServer2, YARN, then Ray if it started Ray;
whatever it started and is still running then is stopped too, and the file is removed.
"""
from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import sys
import threading

from rayemr.client import state

log = logging.getLogger("rayemr.gateway")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m rayemr.gateway.daemon")
    p.add_argument("--num-cpus", type=int, default=None)
    p.add_argument("--memory", type=int, default=None)
    p.add_argument("--address", default=None)
    p.add_argument("--hiveserver2-port", type=int, default=10000)
    p.add_argument("--rest-port", type=int, default=8088)
    p.add_argument("--gateway-port", type=int, default=0)
    return p.parse_args(argv)


class Daemon:
    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.stopping = threading.Event()
        self.token = secrets.token_urlsafe(32)
        self.started_ray = False
        self.yarn_started = False
        self.hs2 = None
        self.gateway = None
        self.endpoints: dict[str, str] = {}

    # -- start ------------------------------------------------------------------------------
    def start(self) -> state.ClusterInfo:
        o = self.options
        info = self._start_ray()
        self.started_ray = info.started_locally
        self._go_on()
        rest = self._start_yarn()
        self._go_on()
        hs2 = self._start_hiveserver2()
        self._go_on()
        from rayemr.gateway.server import GatewayServer

        self.gateway = GatewayServer(self.token, port=o.gateway_port, status=self.status,
                                     on_stop=self.stopping.set)
        port = self.gateway.start()
        self.endpoints = {"ray": info.address, "gateway": f"127.0.0.1:{port}",
                          "hiveserver2": hs2, "rest": rest}
        from rayemr.hive.metastore import default_home

        home = default_home()
        cluster = state.ClusterInfo(
            pid=os.getpid(), ray_address=info.address, gateway_host="127.0.0.1",
            gateway_port=port, token=self.token, started_ray=self.started_ray,
            hiveserver2=hs2, rest_url=rest, metastore=str(home / "metastore.db"),
            warehouse=str(home / "warehouse"), num_cpus=info.num_cpus,
            log_file=os.environ.get("RAYEMR_CLUSTER_LOG", ""))
        state.write(cluster)
        log.info("cluster running: %s", cluster.describe())
        return cluster

    def _go_on(self) -> None:
        """Between start-up steps: SIGTERM (``rayemr start`` interrupted) ends the start."""
        if self.stopping.is_set():
            raise KeyboardInterrupt("stopped while starting")

    def _start_ray(self):
        """Start (or join) Ray. A local start is tried twice: on a loaded machine Ray gives
        its raylet a fixed 30 s to register, and a second try usually makes it."""
        import rayemr
        from rayemr.core.errors import ClusterError

        o = self.options
        for attempt in (1, 2):
            try:
                return rayemr.init(o.address, num_cpus=o.num_cpus, memory=o.memory)
            except ClusterError as exc:
                if o.address or attempt == 2 or self.stopping.is_set():
                    raise
                log.warning("%s; trying once more", exc)
        raise AssertionError("unreachable")

    def _start_yarn(self) -> str:
        import rayemr.yarn as yarn
        from rayemr.yarn import YarnConfig

        if yarn.is_running():  # a cluster's own YARN (ray up): used as it is, never stopped
            return yarn.start().rest_url
        props = {"yarn.resourcemanager.webapp.address": f"127.0.0.1:{self.options.rest_port}"}
        self.yarn_started = True
        return yarn.start(YarnConfig.from_properties(props)).rest_url

    def _start_hiveserver2(self) -> str:
        from rayemr.hive.server import HiveServer2, ServerConfig

        from rayemr.core.errors import ConfigError

        config = ServerConfig(host="127.0.0.1", port=self.options.hiveserver2_port)
        server = HiveServer2(config)
        try:
            port = server.start()
        except ConfigError as exc:
            if self.started_ray:  # our own cluster: the port was asked for, say so
                raise ConfigError(f"HiveServer2: {exc}",
                                  hint="pass --hiveserver2-port 0 for any free port") from None
            log.warning("HiveServer2 not started (%s); the cluster's own may serve", exc)
            return ""
        self.hs2 = server
        return f"127.0.0.1:{port}"

    def status(self) -> dict:
        from rayemr.cli.clusterstatus import collect

        return collect(self.endpoints)

    # -- stop -------------------------------------------------------------------------------
    def stop(self) -> None:
        from rayemr.runtime import _descendants, _stop_processes

        children = _descendants(os.getpid())
        for what, fn in (("gateway", self._stop_gateway), ("HiveServer2", self._stop_hs2),
                         ("YARN", self._stop_yarn), ("Ray", self._stop_ray)):
            try:
                fn()
            except Exception:  # noqa: BLE001 -- stop the rest anyway
                log.warning("stopping %s failed", what, exc_info=True)
        left = [p for p in children if state.alive(p)]
        if left and self.started_ray:
            _stop_processes(left)
        state.remove(os.getpid())
        log.info("cluster stopped")

    def _stop_gateway(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()

    def _stop_hs2(self) -> None:
        if self.hs2 is not None:
            self.hs2.stop()

    def _stop_yarn(self) -> None:
        if self.yarn_started:
            import rayemr.yarn as yarn

            yarn.stop()

    def _stop_ray(self) -> None:
        import rayemr

        rayemr.shutdown()


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ[state.DISABLE_ENV] = "1"  # this process is the cluster, never its client
    daemon = Daemon(options)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: daemon.stopping.set())
    try:
        daemon.start()
    except BaseException as exc:
        log.error("the cluster did not start: %s", exc)
        daemon.stop()
        return 1
    print("ready", flush=True)
    while not daemon.stopping.wait(1.0):
        pass
    daemon.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
