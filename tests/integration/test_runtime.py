"""Local mode: a second process attaches to the running cluster instead of starting one."""
from __future__ import annotations

import os
import subprocess
import sys


def test_second_process_attaches_via_ray_address(ray_local):
    assert ray_local.started_locally and ray_local.num_cpus == 2
    env = dict(os.environ, RAY_ADDRESS=ray_local.address)
    env.pop("RAY_AUTH_MODE", None)  # rayemr must set it itself when Ray's token file exists
    code = ("import rayemr, ray; info = rayemr.init(); "
            "print(info.started_locally, info.address, int(info.num_cpus))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    started, address, cpus = out.stdout.split()[-3:]
    assert (started, address, cpus) == ("False", ray_local.address, "2")


def test_init_twice_returns_current_connection(ray_local):
    import rayemr

    again = rayemr.init(num_cpus=1)
    assert again.address == ray_local.address


def test_tasks_run_at_the_drivers_priority(ray_local):
    """Ray's default niceness of 15 for workers is not applied to a local instance."""
    import ray

    @ray.remote
    def niceness() -> int:
        return os.nice(0)

    assert ray.get(niceness.remote()) == os.nice(0)
