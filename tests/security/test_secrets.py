"""Secrets never leave: not through SET, substitution, settings, argv, reprs or URLs."""
from __future__ import annotations

import os
import stat

import pytest

SECRET_KEY = "cAnArYsEcReTkEy0123456789"
DB_PASSWORD = "cAnArYdBpAsSwOrD"


@pytest.fixture
def cluster_hs2(tmp_path, ray_local):
    """The HiveServer2 an EMR cluster starts, with credentials in its configuration.

    On a cluster it runs in an actor, so Ray is up before any session runs a stage; here
    too (Ray started from a handler thread would die with that thread).
    """
    from rayemr.emr.configurations import parse_configurations
    from rayemr.emr.services import HiveServer2Service

    config = parse_configurations([
        {"Classification": "core-site", "Properties": {
            "fs.s3a.access.key": "AKIACANARY", "fs.s3a.secret.key": SECRET_KEY,
            "io.file.buffer.size": "65536"}},
        {"Classification": "hive-site", "Properties": {
            "javax.jdo.option.ConnectionPassword": DB_PASSWORD,
            "hive.exec.dynamic.partition.mode": "nonstrict"}},
    ], source="test")
    # what the cluster hands its HiveServer2: every site file's values as session defaults
    defaults = {**config.classification("core-site"), **config.classification("hive-site")}
    service = HiveServer2Service(config.classification("hive-site"), "127.0.0.1", 0,
                                 str(tmp_path / "metastore.db"), str(tmp_path / "warehouse"),
                                 defaults)
    yield service
    service.stop()


#: Statements that would show a session's credentials.
SETTING_READS = (
    "SET", "SET -v", "SET fs.s3a.secret.key", "SET hiveconf:fs.s3a.secret.key",
    "SET javax.jdo.option.ConnectionPassword", "SET fs.s3a.access.key",
    "SELECT '${hiveconf:javax.jdo.option.ConnectionPassword}'",
    "SELECT '${hiveconf:fs.s3a.secret.key}'", "SELECT '${fs.s3a.secret.key}'",
    "SET hivevar:k=hiveconf:fs.s3a.secret.key", "SELECT '${${hivevar:k}}'",
    "SELECT '${hivevar:k}'",
)
#: Statements that would show the server's environment.
ENVIRONMENT_READS = (
    "SET rayemr.hive.a b=$", "SET hivevar:d=$",
    "SELECT '${rayemr.hive.a b}{env:AWS_SECRET_ACCESS_KEY}'",
    "SELECT '${hivevar:d}{env:AWS_SECRET_ACCESS_KEY}'",
    "SELECT '${env:AWS_SECRET_ACCESS_KEY}'", "SELECT '${ENV:AWS_SECRET_ACCESS_KEY}'",
    "SELECT '${system:user.home}'", "SET env:AWS_SECRET_ACCESS_KEY",
    "SET env:HOME=/tmp",
)


def _leaks(text: str) -> bool:
    return SECRET_KEY in text or DB_PASSWORD in text or "AKIACANARY" in text


def test_a_cluster_session_shows_no_credentials(cluster_hs2, attempt):
    from pyhive import hive

    with hive.connect("127.0.0.1", port=cluster_hs2.port) as conn:
        cur = conn.cursor()
        outcomes = [attempt(cur, sql) for sql in SETTING_READS]
        for out in outcomes:
            assert not _leaks(out.text()), out
        # the settings a session needs are still there
        cur.execute("SET hive.exec.dynamic.partition.mode")
        assert cur.fetchall() == [("hive.exec.dynamic.partition.mode=nonstrict",)]
        cur.execute("SET fs.s3a.secret.key")
        assert cur.fetchall() == [("fs.s3a.secret.key is a hidden config",)]


def test_environment_is_never_substituted(target, attempt, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    with target.connect() as conn:
        cur = conn.cursor()
        outcomes = [attempt(cur, sql) for sql in ENVIRONMENT_READS]
        for out in outcomes:
            assert SECRET_KEY not in out.text(), out


@pytest.mark.parametrize("sql", [
    "SET/**/hive.metastore.warehouse.dir=/etc",
    "SET\thive.metastore.warehouse.dir=/etc",
    "SET\rfs.s3a.secret.key=x",
    "set hiveconf:hive.metastore.warehouse.dir=/etc",
    "SET fs.s3a.endpoint=http://evil.example",
    "SET hive.conf.hidden.list=",
    "SET rayemr.hiveserver2.allow.paths=/",
    "SET rayemr.hive.transform.commands=sh",
    "SET hive.exec.pre.hooks=evil.Hook",
])
def test_restricted_settings_are_refused_however_written(target, attempt, sql):
    with target.connect() as conn:
        cur = conn.cursor()
        out = attempt(cur, sql)
        assert out.refused and out.state == "42501", out
        cur.execute("SET hive.metastore.warehouse.dir")
        assert "/etc" not in repr(cur.fetchall())


def test_step_commands_pass_secrets_outside_argv(tmp_path):
    from rayemr.emr.configurations import parse_configurations
    from rayemr.emr.runner import StepProcess, step_command
    from rayemr.emr.steps import StepSpec

    config = parse_configurations([
        {"Classification": "core-site", "Properties": {
            "fs.s3a.access.key": "AKIACANARY", "fs.s3a.secret.key": SECRET_KEY}},
        {"Classification": "hive-site", "Properties": {
            "javax.jdo.option.ConnectionPassword": DB_PASSWORD}}], source="test")
    script = tmp_path / "q.hql"
    script.write_text("SELECT 1;\n")
    spec = StepSpec(type="HIVE", args=("-f", str(script)), name="q")
    proc = StepProcess("s-1", step_command(spec, config), str(tmp_path / "step"), {},
                       log_prefix=None)
    assert not _leaks(" ".join(proc.cmd)), proc.cmd
    secret_files = [p for p in (tmp_path / "step").iterdir() if p.name.startswith("secret")]
    assert len(secret_files) == 1
    assert stat.S_IMODE(os.stat(secret_files[0]).st_mode) == 0o600
    assert DB_PASSWORD in secret_files[0].read_text()
    assert proc.env["AWS_SECRET_ACCESS_KEY"] == SECRET_KEY
    assert proc.env["AWS_ACCESS_KEY_ID"] == "AKIACANARY"
    controller = (tmp_path / "step" / "controller")
    proc.note("x")
    assert not _leaks(controller.read_text())


def test_reprs_redact(tmp_path):
    from rayemr.emr.configurations import parse_configurations
    from rayemr.emr.controller import ClusterSpec

    config = parse_configurations([
        {"Classification": "core-site", "Properties": {"fs.s3a.secret.key": SECRET_KEY}},
        {"Classification": "hive-site", "Properties": {
            "javax.jdo.option.ConnectionPassword": DB_PASSWORD}},
        {"Classification": "hadoop-env", "Configurations": [
            {"Classification": "export", "Properties": {"DB_PASSWORD": DB_PASSWORD}}]},
    ], source="test")
    for obj in (config, ClusterSpec(config=config)):
        assert not _leaks(repr(obj)) and not _leaks(str(obj)), repr(obj)


@pytest.mark.parametrize("sql", [
    "CREATE EXTERNAL TABLE u1 (a string) LOCATION 's3://AKIACANARY:{secret}@bucket/x'",
    "CREATE EXTERNAL TABLE u2 (a string) LOCATION 's3a://AKIACANARY:{secret}@bucket/x'",
    "CREATE DATABASE u3 LOCATION 's3://AKIACANARY:{secret}@bucket/db'",
    "LOAD DATA INPATH 's3://AKIACANARY:{secret}@bucket/f' INTO TABLE t",
])
def test_urls_with_credentials_are_refused_and_not_echoed(target, attempt, sql):
    with target.connect() as conn:
        cur = conn.cursor()
        out = attempt(cur, sql.format(secret=SECRET_KEY))
        assert out.refused and not _leaks(out.text()), out
        cur.execute("SHOW TABLES")
        assert ("u1",) not in cur.fetchall()


def test_local_sessions_refuse_urls_with_credentials_too(tmp_path):
    from rayemr.core.errors import UserError
    from rayemr.hive.session import HiveSession

    s = HiveSession(metastore_path=str(tmp_path / "m.db"), warehouse=str(tmp_path / "wh"),
                    runner="inline")
    with pytest.raises(UserError) as info:
        s.execute(f"CREATE EXTERNAL TABLE u (a string) LOCATION "
                  f"'s3://AKIACANARY:{SECRET_KEY}@bucket/x'")
    assert not _leaks(str(info.value))
    assert s.metastore.list_tables("default") == []


def test_emr_step_urls_with_credentials_are_refused():
    from rayemr.core.errors import ConfigError
    from rayemr.emr.steps import StepSpec

    with pytest.raises(ConfigError) as info:
        StepSpec(type="HIVE", args=("-f", f"s3://AKIACANARY:{SECRET_KEY}@b/q.hql"), name="q")
    assert not _leaks(str(info.value))
