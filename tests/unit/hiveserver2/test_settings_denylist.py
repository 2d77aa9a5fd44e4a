"""The settings clients may change: Hive's restricted-list model by default, with rayemr's
deny list on top, and the strict allowlist as the operator's option."""
from __future__ import annotations

import pytest

from rayemr.core.errors import AccessDeniedError
from rayemr.hive import settings as hs
from rayemr.hive.server.config import ServerConfig

#: Keys HiveServer2 clients send in the wild, none of which reaches storage, credentials,
#: endpoints or code in rayemr: all accepted by default.
HARMLESS = (
    "mapred.job.tracker", "mapreduce.framework.name", "hive.exec.dynamic.partition.mode",
    "hive.resultset.use.unique.column.names", "hive.execution.engine", "tez.queue.name",
    "mapreduce.job.queuename", "mapreduce.map.java.opts", "hive.input.format",
    "hive.server2.thrift.resultset.default.fetch.size", "hive.optimize.sort.dynamic.partition",
    "some.unknown.key", "hive.int.timestamp.conversion.in.seconds", "rayemr.hive.yarn",
)

#: One or more dangerous keys for every rule of the deny list, with the reason it is there.
DANGEROUS = {
    # Hive's own default hive.conf.restricted.list (prefixes)
    "hive.security.authorization.manager": "code (Hive restricted list)",
    "hive.security.authorization.enabled": "authorization (Hive restricted list)",
    "hive.users.in.admin.role": "privileges (Hive restricted list)",
    "hive.server2.authentication.ldap.url": "endpoint (Hive restricted list)",
    "hive.server2.authentication.ldap.userDNPattern": "credentials (Hive restricted list)",
    "hive.spark.client.rpc.server.address": "endpoint (Hive restricted list)",
    "bonecp.password": "credentials (Hive restricted list)",
    "hikari.jdbcUrl": "endpoint (Hive restricted list)",
    "hadoop.bin.path": "code (Hive restricted list)",
    "yarn.bin.path": "code (Hive restricted list)",
    "spark.home": "code (Hive restricted list)",
    "hive.conf.restricted.list": "the list itself",
    "hive.conf.hidden.list": "the hidden list itself",
    "hive.added.jars.path": "code (Hive internal variable)",
    # where data is read or written
    "hive.metastore.warehouse.dir": "data location",
    "hive.metastore.uris": "metastore endpoint",
    "javax.jdo.option.ConnectionURL": "metastore database",
    "fs.defaultFS": "file system",
    "fs.s3a.endpoint": "S3 endpoint",
    "fs.s3.enableServerSideEncryption": "EMRFS settings",
    "dfs.namenode.rpc-address": "HDFS",
    "hive.exec.scratchdir": "scratch location",
    "hive.exec.stagingdir": "staging location",
    "hive.exec.local.scratchdir": "local scratch location",
    "hadoop.tmp.dir": "temporary location",
    "mapreduce.output.fileoutputformat.outputdir": "job output",
    "mapred.output.dir": "job output",
    "yarn.app.mapreduce.am.staging-dir": "staging location",
    "hive.querylog.location": "log location",
    "hive.downloaded.resources.dir": "downloads",
    "rayemr.hive.warehouse": "rayemr's warehouse",
    "mapreduce.job.cache.files": "files shipped to tasks",
    # credentials and endpoints
    "fs.s3a.access.key": "credentials",
    "hadoop.security.credential.provider.path": "credential store",
    "hadoop.proxyuser.hive.hosts": "impersonation",
    "hive.server2.proxy.user": "impersonation",
    "hive.server2.enable.doAs": "impersonation",
    "yarn.resourcemanager.address": "cluster endpoint",
    "mapreduce.jobhistory.address": "endpoint",
    "hive.zookeeper.quorum": "endpoint",
    "aws.region": "AWS settings",
    "spark.master": "endpoint",
    "hive.druid.broker.address.default": "endpoint",
    "hive.llap.daemon.service.hosts": "endpoint",
    "hive.metastore.kerberos.principal": "identity",
    "some.service.keytab": "identity",
    "my.client.ssl.truststore.location": "TLS trust",
    "custom.endpoint": "endpoint",
    "my.db.password": "a secret (hidden)",
    # what code runs
    "hive.exec.pre.hooks": "hooks",
    "hive.exec.post.hooks": "hooks",
    "hive.semantic.analyzer.hook": "hooks",
    "hive.aux.jars.path": "jars",
    "hive.reloadable.aux.jars.path": "jars",
    "hive.script.serde": "script SerDe",
    "hive.exec.script.wrapper": "script wrapper",
    "hive.txn.manager": "pluggable class",
    "hive.default.serde": "SerDe class",
    "mapreduce.job.map.class": "mapper class",
    "mapreduce.application.classpath": "classpath",
    "tmpjars": "jars",
    "mapreduce.map.env": "task environment",
    "rayemr.hive.transform.commands": "TRANSFORM commands",
    "rayemr.hive.runner": "where stages run",
    # the server's own settings and limits
    "hive.server2.authentication": "server setting",
    "hive.server2.async.exec.threads": "server limit",
    "hive.variable.substitute": "substitution",
    "hive.variable.substitute.depth": "substitution",
    "_hive.hdfs.session.path": "internal",
    "rayemr.hiveserver2.allow.paths": "server roots",
    "rayemr.hiveserver2.settings.model": "this very model",
    "rayemr.engine.yarn.applications": "engine internals",
    "rayemr.emr.cluster": "cluster settings",
}


@pytest.mark.parametrize("key", HARMLESS)
def test_the_default_accepts_harmless_keys(key):
    ServerConfig().settings().check(key)


@pytest.mark.parametrize("key", sorted(DANGEROUS))
def test_the_default_refuses_each_dangerous_key(key):
    with pytest.raises(AccessDeniedError, match=f"Cannot modify {key} at runtime"):
        ServerConfig().settings().check(key)


@pytest.mark.parametrize("key", sorted(DANGEROUS))
def test_the_allowlist_refuses_them_too(key):
    with pytest.raises(AccessDeniedError):
        ServerConfig(settings_model="allowlist").settings().check(key)


def test_the_allowlist_option_refuses_unlisted_keys():
    strict = ServerConfig.from_properties({"rayemr.hiveserver2.settings.model": "allowlist"})
    strict.settings().check("hive.exec.dynamic.partition.mode")
    for key in ("mapred.job.tracker", "some.unknown.key"):
        with pytest.raises(AccessDeniedError, match="not in the list of parameters"):
            strict.settings().check(key)


def test_the_default_model_is_the_deny_list():
    assert ServerConfig().settings_model == hs.DEFAULT_SETTINGS_MODEL == "denylist"
    with pytest.raises(AccessDeniedError, match="restricted variable"):
        ServerConfig().settings().check("hive.metastore.warehouse.dir")


def test_an_operators_restricted_list_adds_prefixes():
    config = ServerConfig.from_properties({"hive.conf.restricted.list": "my.team.,x.y"})
    for key in ("my.team.quota", "x.y", "x.y.z"):
        with pytest.raises(AccessDeniedError):
            config.settings().check(key)
    config.settings().check("my.other")


def test_every_category_has_rules_and_every_rule_compiles():
    import re

    assert set(hs.RAYEMR_DENIED) == {
        "where data is read or written", "which credentials or endpoints are used",
        "what code runs", "the server's own settings and limits"}
    for pattern in hs.DENIED:
        re.compile(pattern)
