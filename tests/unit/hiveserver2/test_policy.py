"""The pieces of a remote session's policy: roots, settings, variables, TRANSFORM commands."""
from __future__ import annotations

import os

import pytest

from rayemr.core.errors import AccessDeniedError, ConfigError, UserError
from rayemr.core.secrets import HIDDEN
from rayemr.hive import policy as pol
from rayemr.hive.sql.lexer import split_statements
from rayemr.hive.variables import substitute


@pytest.mark.parametrize("sql,count", [
    ("SELECT 1", 1), ("SELECT 1;", 1), ("SELECT ';'", 1), ('SELECT ";" -- ; x\n', 1),
    ("SELECT 1; SELECT 2", 2), ("/* ; */ SELECT `a;b` FROM t;;", 1),
    ("SELECT 'it\\'s;'", 1), ("", 0), (" ; -- nothing\n", 0),
    ("SELECT 1 --\r; SELECT 2", 2),  # a -- comment ends at \r, as in Hive and sqlglot
    ("SELECT 1 -- \u2028; SELECT 2", 1),  # and not at a unicode line separator
])
def test_split_statements(sql, count):
    assert len(split_statements(sql)) == count


def _sub(text, hv=None, hc=None, env=None):
    return substitute(text, hv or {}, hc or {}, hidden=HIDDEN, environ=env)


def test_substitution_follows_hive():
    hv, hc = {"a": "1", "b": "${hivevar:a}2"}, {"x.y": "conf"}
    assert _sub("${hivevar:b} ${a} ${hiveconf:x.y} ${x.y} ${nope} ${a b}", hv, hc) == \
        "12 1 conf conf ${nope} ${a b}"
    assert _sub("${env:HOME}", env={"HOME": "/h"}) == "/h"  # a local session
    with pytest.raises(UserError, match="settle"):
        _sub("${a}", {"a": "${a}x"})


@pytest.mark.parametrize("text,values", [
    ("${env:HOME}", {}), ("${system:user.dir}", {}), ("${ENV:PATH}", {}),
    ("${Env:PATH}", {}), ("${v}", {"v": "${env:HOME}"}),
    ("${a}{env:HOME}", {"a": "$"}), ("${${hivevar:n}}", {"n": "env:HOME"}),
])
def test_remote_sessions_never_expand_the_environment(text, values):
    with pytest.raises(AccessDeniedError):
        _sub(text, values)


def test_hidden_settings_never_expand():
    hc = {"fs.s3a.secret.key": "s3cr3t", "javax.jdo.option.ConnectionPassword": "pw",
          "my.api.token": "tok"}
    for text in ("${hiveconf:fs.s3a.secret.key}", "${fs.s3a.secret.key}",
                 "${hiveconf:javax.jdo.option.ConnectionPassword}", "${hiveconf:my.api.token}"):
        with pytest.raises(AccessDeniedError, match="hidden"):
            _sub(text, {}, hc, env=os.environ)


def test_settings_allowlist_and_restricted_keys():
    s = pol.Settings(pol.AllowList())
    for ok in ("mapreduce.job.reduces", "hive.exec.dynamic.partition.mode", "tez.queue.name",
               "hive.server2.thrift.resultset.default.fetch.size"):
        s.check(ok)
    for bad in ("hive.metastore.warehouse.dir", "fs.s3.awsSecretAccessKey", "fs.s3a.endpoint",
                "javax.jdo.option.ConnectionURL", "hive.server2.authentication",
                "hive.conf.hidden.list", "rayemr.hiveserver2.allow.paths",
                "rayemr.hive.transform.commands", "hive.exec.pre.hooks", "my.password",
                "unknown.key"):
        with pytest.raises(AccessDeniedError):
            s.check(bad)
    for invalid in ("a b", "a=b", "${x}", "", "-v"):
        with pytest.raises(UserError):
            s.check(invalid)
    with pytest.raises(UserError):
        s.check_hivevar("bad name")
    extended = pol.Settings(pol.AllowList(pol.DEFAULT_ALLOWLIST + (r"my\.key",)))
    extended.check("my.key")


def test_a_deny_list_plugs_in_and_still_refuses_secrets_and_roots():
    s = pol.Settings(rule=pol.DenyList((r"mapred\.job\.tracker\.evil",)))
    s.check("mapred.job.tracker")  # any harmless key
    s.check("some.unknown.key")
    for bad in ("mapred.job.tracker.evil", "fs.s3a.secret.key", "hive.metastore.warehouse.dir",
                "hive.security.authorization.enabled"):
        with pytest.raises(AccessDeniedError):
            s.check(bad)


@pytest.fixture
def tree(tmp_path):
    allowed, warehouse, outside = (tmp_path / n for n in ("allowed", "warehouse", "outside"))
    for d in (allowed, warehouse, outside):
        d.mkdir()
    (allowed / "link").symlink_to(outside)
    return pol.Roots.build([str(warehouse), f"file://{allowed}"]), allowed, warehouse, outside


def test_paths_inside_roots(tree):
    roots, allowed, warehouse, outside = tree
    for p in (str(allowed), f"{allowed}/new/dir", f"file://{warehouse}/t", f"file:{allowed}/x",
              "s3://bucket/any/prefix", "s3a://b/k", "memory://x"):
        roots.check(p)


def test_paths_outside_roots(tree):
    roots, allowed, warehouse, outside = tree
    for p in ("/etc", "file:///etc/passwd", f"{allowed}/../outside", str(outside),
              f"{allowed}/link", f"{allowed}/link/file", f"{allowed}x", "relative/path",
              "http://example.com/x", "hdfs://nn/x", "file://otherhost/etc", "/a\\b",
              f"{allowed}/\x00", "s3://KEY:SECRET@bucket/x"):
        with pytest.raises(AccessDeniedError):
            roots.check(p)


def test_symlinks_are_resolved_at_each_use(tree):
    roots, allowed, warehouse, outside = tree
    target = warehouse / "t"
    target.mkdir()
    roots.check(str(target))
    target.rmdir()
    target.symlink_to(outside)  # swapped for a link after it was created
    with pytest.raises(AccessDeniedError):
        roots.check(str(target))


def test_s3_prefixes_restrict_s3_when_listed(tmp_path):
    roots = pol.Roots.build([str(tmp_path), "s3://data/shared"])
    roots.check("s3://data/shared/t1")
    roots.check("s3a://data/shared")
    for p in ("s3://data/sharedother", "s3://data/private", "s3://data/shared/../private"):
        with pytest.raises(AccessDeniedError):
            roots.check(p)
    with pytest.raises(ConfigError):
        pol.Roots.build(["gs://bucket"])


def test_transform_commands_are_the_operators_list(tmp_path):
    writable = pol.Roots.build([str(tmp_path / "wh")])
    cmds = pol.TransformCommands.build(["cat", "tr a-z A-Z"], writable)
    cat = cmds.resolve("cat")
    assert os.path.isabs(cat.argv[0]) and not cat.shell and cat.clean_env
    assert cmds.resolve("tr 'a-z'  A-Z").argv[1:] == ("a-z", "A-Z")
    for text in ("bash", "cat /etc/passwd", "tr a-z A-Z; id", "python3 x.py", "/bin/cat", ""):
        with pytest.raises(AccessDeniedError):
            cmds.resolve(text)
    with pytest.raises(AccessDeniedError):
        pol.TransformCommands().resolve("cat")  # none allowed by default
    with pytest.raises(ConfigError, match="not an executable"):
        pol.TransformCommands.build(["no-such-program-xyz"], writable)


def test_local_transform_commands_keep_their_shell():
    assert pol.TransformCommand.local("cut -f1 | sort").shell
    assert pol.TransformCommand.local("python3 x.py").argv == ("python3", "x.py")
