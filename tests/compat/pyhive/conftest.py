"""PyHive's own suite against ``rayemr hiveserver2`` as a user starts it.

One server per test session: ``rayemr hiveserver2 --port 0`` with every other setting at its
default (Ray runner, default metastore and warehouse under a ``$RAYEMR_HOME`` of its own).
Its fixtures are built by upstream's ``scripts/make_test_tables.sh``, whose ``hive`` is a
shim on ``PATH`` running ``rayemr hive`` over the same metastore and warehouse. The upstream
modules import their shared cases as ``pyhive.tests.*``, which the installed PyHive does not
ship; that package name is pointed at this folder.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
STARTUP_SECONDS = 300

#: Upstream tests that need what cannot exist here, with the reason.
NOT_APPLICABLE = {
    "test_ldap_connection": "needs sudo to swap /etc/hive/conf/hive-site.xml and restart a "
                            "system hive-server2 service with LDAP (PyHive's CI machine); "
                            "rayemr's LDAP mode is tested in tests/integration/hiveserver2/"
                            "test_auth.py",
    "test_custom_connection": "needs sudo to swap /etc/hive/conf/hive-site.xml and restart a "
                              "system hive-server2 service with a Java CUSTOM authenticator "
                              "(PyHive's CI machine); rayemr's CUSTOM mode is tested in "
                              "tests/integration/hiveserver2/test_auth.py",
}


def _alias_pyhive_tests() -> None:
    import pyhive

    if "pyhive.tests" not in sys.modules:
        package = types.ModuleType("pyhive.tests")
        package.__path__ = [str(HERE)]
        sys.modules["pyhive.tests"] = package
        pyhive.tests = package


_alias_pyhive_tests()


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).parent == HERE and item.name in NOT_APPLICABLE:
            item.add_marker(pytest.mark.skip(reason=NOT_APPLICABLE[item.name]))


def _environment(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["RAYEMR_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.pop("RAY_ADDRESS", None)
    return env


def _hive_shim(bin_dir: Path) -> None:
    """``hive`` for upstream's scripts: ``rayemr hive`` on the server's metastore and
    warehouse (in this process, so each script does not start a Ray of its own)."""
    bin_dir.mkdir()
    shim = bin_dir / "hive"
    shim.write_text("#!/bin/sh\n"
                    f"exec {shlex.quote(sys.executable)} -m rayemr.cli hive --runner inline "
                    "--silent \"$@\"\n")
    shim.chmod(0o755)


def _make_fixtures(env: dict[str, str]) -> None:
    """Run the scripts make_test_tables.sh lists, in its order, each checked: upstream's
    wrapper has no ``set -e``, so a failing script would go unnoticed."""
    wrapper = (HERE / "scripts" / "make_test_tables.sh").read_text()
    scripts = re.findall(r"^\$\(dirname \$0\)/(make_\w+\.sh)$", wrapper, re.M)
    assert scripts, "make_test_tables.sh lists no scripts"
    for script in scripts:
        done = subprocess.run(["bash", str(HERE / "scripts" / script)], env=env,
                              capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise RuntimeError(f"{script} failed:\n{done.stderr[-4000:]}")


def _wait_for_port(proc: subprocess.Popen, out: Path, err: Path) -> int:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        m = re.search(r"listening on [\d.]+:(\d+)", out.read_text(errors="replace"))
        if m:
            return int(m.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise RuntimeError("rayemr hiveserver2 did not start:\n"
                       + err.read_text(errors="replace")[-3000:])


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _start_server(root: Path, env: dict[str, str], attempts: int = 3
                  ) -> tuple[subprocess.Popen, int]:
    """``rayemr hiveserver2 --port 0`` and its port; started again (a bounded number of
    times) only when Ray itself did not come up, which a loaded machine can cause."""
    for attempt in range(1, attempts + 1):
        out, err = root / f"hiveserver2.{attempt}.out", root / f"hiveserver2.{attempt}.err"
        with open(out, "w") as o, open(err, "w") as e:
            proc = subprocess.Popen([sys.executable, "-m", "rayemr.cli", "hiveserver2",
                                     "--port", "0"], env=env, stdout=o, stderr=e,
                                    stdin=subprocess.DEVNULL)
        try:
            return proc, _wait_for_port(proc, out, err)
        except RuntimeError as exc:
            _stop(proc)
            if "Ray did not start" not in str(exc) or attempt == attempts:
                raise
    raise AssertionError("unreachable")


@pytest.fixture(scope="session", autouse=True)
def pyhive_server():
    """The server and upstream's fixture tables; the tests find it by PYHIVE_TEST_PORT."""
    root = Path(tempfile.mkdtemp(prefix="rayemr-pyhive-"))
    env = _environment(root / "home")
    proc = None
    try:
        proc, port = _start_server(root, env)
        _hive_shim(root / "bin")
        (root / "tmp").mkdir()
        env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["TMPDIR"] = str(root / "tmp")
        _make_fixtures(env)
        os.environ["PYHIVE_TEST_PORT"] = str(port)
        yield port
    finally:
        os.environ.pop("PYHIVE_TEST_PORT", None)
        if proc is not None:
            _stop(proc)
        shutil.rmtree(root, ignore_errors=True)
