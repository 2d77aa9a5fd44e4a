"""The HiveServer2 and the steps of an EMR cluster whose configurations hold credentials.

A cluster in local mode is started with S3 keys in ``core-site``, the metastore password in
``hive-site`` and a password in ``hadoop-env``. A pyhive client attacks its HiveServer2
(settings, substitutions, the environment, file functions); two Hive steps and a command
step run. While all of that runs, the command line of every process the test started is
read over and over; afterwards the client's answers, the steps' logs and every file the
cluster wrote are searched for the credentials. The step that needs one still gets it (as
its environment).
"""
from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from pyhive import hive

from tests.security.conftest import _attempt, fill_paths, write_canary_files
from tests.security.test_file_functions import READS
from tests.security.test_secrets import ENVIRONMENT_READS, SETTING_READS
from tests.security.test_server_process import ArgvWatch

KEY_ID = "AKIAEMRCANARY4F7W"
SECRET_KEY = "emr-secret-key-canary-0c61"
DB_PASSWORD = "emr-db-password-canary-5a9e"
ENV_PASSWORD = "emr-env-password-canary-77d2"
CANARIES = (KEY_ID, SECRET_KEY, DB_PASSWORD, ENV_PASSWORD)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _found(data: bytes | str) -> list[str]:
    text = data.decode(errors="replace") if isinstance(data, bytes) else data
    return [c for c in CANARIES if c in text]


@pytest.fixture
def watch(monkeypatch):
    # the watch also looks for the test session's worker secret; these canaries too
    monkeypatch.setattr("tests.security.test_server_process._canaries",
                        lambda: tuple(c.encode() for c in CANARIES))
    w = ArgvWatch()
    w.start()
    yield w
    w.stop()


def test_a_cluster_keeps_its_credentials(ray_local, tmp_path, watch):
    from rayemr.emr import Cluster

    (tmp_path / "outside").mkdir()
    write_canary_files(tmp_path / "outside", "not-a-credential")
    script = tmp_path / "q.hql"
    script.write_text("SET;\nSET -v;\nSET fs.s3a.secret.key;\nSELECT count(*) FROM t;\n")
    expand = tmp_path / "expand.hql"
    expand.write_text("SELECT '${hiveconf:fs.s3a.secret.key}', "
                      "'${hiveconf:javax.jdo.option.ConnectionPassword}';\n")
    configurations = [
        {"Classification": "core-site", "Properties": {
            "fs.s3a.access.key": KEY_ID, "fs.s3a.secret.key": SECRET_KEY}},
        {"Classification": "hive-site", "Properties": {
            "javax.jdo.option.ConnectionURL": f"jdbc:sqlite:{tmp_path}/ms.db",
            "hive.metastore.warehouse.dir": str(tmp_path / "warehouse"),
            "javax.jdo.option.ConnectionPassword": DB_PASSWORD}},
        {"Classification": "hadoop-env", "Configurations": [
            {"Classification": "export", "Properties": {"DB_PASSWORD": ENV_PASSWORD}}]},
    ]
    seen: list[str] = []
    with Cluster(name="secrets", configurations=configurations, hiveserver2_port=0,
                 work_dir=str(tmp_path / "work")) as cluster:
        seen.append(repr(cluster.spec))
        host, port = [s for s in cluster.describe()["Cluster"]["Services"]
                      if s["Name"] == "HiveServer2"][0]["Detail"].rsplit(":", 1)
        with hive.connect(host=host, port=int(port)) as conn:
            cur = conn.cursor()
            cur.execute("CREATE TABLE t (a string)")
            cur.execute("INSERT OVERWRITE TABLE t SELECT 'x'")
            for sql in (*SETTING_READS, *ENVIRONMENT_READS,
                        *(fill_paths(r, tmp_path / "outside") for r in READS)):
                seen.append(_attempt(cur, sql).text())
            cur.execute("SET fs.s3a.secret.key")
            assert cur.fetchall() == [("fs.s3a.secret.key is a hidden config",)]
        hive_step, expand_step, command_step = ids = cluster.add_steps([
            {"Type": "HIVE", "Name": "hive", "ActionOnFailure": "CONTINUE",
             "Args": ["-f", str(script)]},
            {"Type": "HIVE", "Name": "expand", "ActionOnFailure": "CONTINUE",
             "Args": ["-f", str(expand)]},
            # the operator's own command gets hadoop-env's exports as its environment
            {"Type": "COMMAND", "Name": "uses-password", "ActionOnFailure": "CONTINUE",
             "Args": ["bash", "-c", 'sleep 1; test "$(printf %s "$DB_PASSWORD" | sha256sum '
                      f'| cut -c1-64)" = {_sha256(ENV_PASSWORD)} && echo password-present']},
        ])
        steps = cluster.wait(ids, timeout=300)
        states = {s["Name"]: s["Status"]["State"] for s in steps}
        outputs = {i: cluster.step_output(i) for i in ids}
        assert states == {"hive": "COMPLETED", "expand": "FAILED",
                          "uses-password": "COMPLETED"}, [
            (o["stderr"][-1000:], o["controller"][-1000:]) for o in outputs.values()]
        assert "password-present" in outputs[command_step]["stdout"]
        assert "fs.s3a.secret.key is a hidden config" in outputs[hive_step]["stdout"]
        assert "hidden" in outputs[expand_step]["stderr"], outputs[expand_step]
        for step_id in ids:
            seen.append(repr(cluster.describe_step(step_id)))
            seen.append(repr(outputs[step_id]))
    watch.stop()
    assert watch.scans >= 10
    steps_seen = [a for a in watch.commands if b"rayemr.cli\x00hive\x00-f" in a]
    assert len(steps_seen) == 2, [a[:100] for a in watch.commands]
    assert not watch.hits, watch.hits
    leaks = [(s[:300], _found(s)) for s in seen if _found(s)]
    assert not leaks, leaks
    for base, _, files in os.walk(tmp_path):
        for name in files:
            path = Path(base, name)
            if path.is_symlink():
                continue
            found = _found(path.read_bytes())
            private = stat.S_IMODE(path.stat().st_mode) & 0o077 == 0
            assert not found or private, (path, found)
