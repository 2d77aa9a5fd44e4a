"""HiveServer2 settings: one frozen value built at the edge (CLI, Python, ``hive-site``).

``ServerConfig.from_properties`` reads Hive's own ``hive-site`` keys, so an EMR
configuration classification works unchanged:

==============================================  ===========================================
``hive.server2.thrift.bind.host`` / ``.port``    listen address (default 127.0.0.1:10000)
``hive.server2.authentication``                  NONE, NOSASL, CUSTOM or LDAP
``rayemr.hiveserver2.password.file``             CUSTOM mode's password file
``hive.server2.authentication.ldap.url``         LDAP server; ``.baseDN``, ``.userDNPattern``
``rayemr.hiveserver2.allow.paths``               comma-separated extra path prefixes
``hive.metastore.warehouse.dir``                 the warehouse (always allowed)
``rayemr.hiveserver2.transform.commands``        ``;``-separated TRANSFORM commands clients
                                                 may run (none by default)
``hive.security.authorization.sqlstd.confwhitelist.append``  extra settable keys (regex)
``rayemr.hiveserver2.settings.model``            ``denylist`` (default) or ``allowlist``
``hive.conf.restricted.list``                    key prefixes clients never set (added to
                                                 the deny list)
``hive.conf.hidden.list``                        hidden keys (added to Hive's defaults)
``hive.server2.async.exec.threads``              async statement workers
``hive.server2.thrift.max.worker.threads``       concurrent connections
==============================================  ===========================================
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping

from rayemr.core.errors import ConfigError
from rayemr.core.secrets import HiddenKeys
from rayemr.hive.policy import Roots, SessionPolicy, TransformCommands
from rayemr.hive.settings import (DEFAULT_ALLOWLIST, DEFAULT_SETTINGS_MODEL, SETTINGS_MODELS,
                                  AllowList, DenyList, Settings, default_denied)
from rayemr.hive.server.auth import AUTH_MODES, LdapSettings

DEFAULT_PORT = 10000
#: Kept for callers of the old name.
DEFAULT_PROPERTY_ALLOWLIST = DEFAULT_ALLOWLIST


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    auth: str = "NONE"
    password_file: str | None = None
    ldap: LdapSettings | None = None
    allow_paths: tuple[str, ...] = ()
    warehouse: str | None = None
    property_allowlist: tuple[str, ...] = DEFAULT_ALLOWLIST
    #: ``denylist`` (default, Hive as EMR ships it): any key but the denied ones
    #: (:mod:`rayemr.hive.settings`); ``allowlist``: only keys of ``property_allowlist``
    settings_model: str = DEFAULT_SETTINGS_MODEL
    #: key prefixes no client sets (``hive.conf.restricted.list``), beside the deny list
    restricted_keys: tuple[str, ...] = ()
    #: keys whose values are hidden (``hive.conf.hidden.list``), beside Hive's defaults
    hidden_keys: tuple[str, ...] = ()
    #: the commands ``SELECT TRANSFORM ... USING`` may run for clients (none by default)
    transform_commands: tuple[str, ...] = ()
    #: Threads running ``runAsync`` statements; more statements wait PENDING.
    async_workers: int = 16
    #: Open authenticated connections at most; further ones are closed at once.
    max_connections: int = 500
    #: Connections still in their handshake at most (the oldest is dropped for a new one).
    max_handshakes: int = 64
    #: Connections from one client address at most (handshaking and authenticated).
    max_per_address: int = 200
    #: Open operations per session at most.
    max_operations: int = 1000
    #: Rows per FetchResults page at most, whatever the client asks.
    max_fetch_rows: int = 100_000
    #: Seconds a client may take to finish the SASL exchange or send a first request.
    handshake_timeout: float = 30.0
    #: Seconds GetOperationStatus waits for a running operation before answering.
    long_poll_seconds: float = 0.2
    #: Seconds FetchResults/GetResultSetMetadata wait for an unfinished async operation
    #: before answering "still running" (Hive answers at once; pyhive fetches right away).
    fetch_wait_seconds: float = 60.0
    #: Seconds a runAsync ExecuteStatement waits for the statement to compile and launch its
    #: jobs before answering (Hive compiles before it answers; its log then names Stage-1).
    async_compile_wait_seconds: float = 30.0
    #: Keyword arguments for the Hive sessions the server opens (metastore path, runner...).
    session_options: tuple[tuple[str, object], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        auth = (self.auth or "NONE").upper()
        object.__setattr__(self, "auth", auth)
        if auth not in AUTH_MODES:
            raise ConfigError(f"authentication mode {self.auth!r}: use one of "
                              f"{', '.join(AUTH_MODES)}")
        if not 0 <= int(self.port) <= 65535:
            raise ConfigError(f"port {self.port} is out of range 0-65535")
        if auth == "CUSTOM" and not self.password_file:
            raise ConfigError("CUSTOM authentication needs a password file (--password-file)")
        if auth == "LDAP" and (self.ldap is None or not self.ldap.url):
            raise ConfigError("LDAP authentication needs a server URL (--ldap-url)")
        for name in ("async_workers", "max_connections", "max_fetch_rows", "max_handshakes",
                     "max_per_address", "max_operations"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be at least 1")
        if self.settings_model not in SETTINGS_MODELS:
            raise ConfigError(f"settings model {self.settings_model!r}: use "
                              f"{' or '.join(SETTINGS_MODELS)}")
        for name in ("allow_paths", "restricted_keys", "hidden_keys", "transform_commands"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    def __repr__(self) -> str:  # short and free of secrets
        return (f"ServerConfig(host={self.host!r}, port={self.port}, auth={self.auth!r}, "
                f"allow_paths={self.allow_paths!r}, warehouse={self.warehouse!r})")

    @classmethod
    def from_properties(cls, props: Mapping[str, str], **overrides) -> ServerConfig:
        """From ``hive-site`` keys; keyword ``overrides`` (CLI flags) win when not None."""
        kw: dict = {}
        get = props.get
        if get("hive.server2.thrift.bind.host"):
            kw["host"] = get("hive.server2.thrift.bind.host")
        if get("hive.server2.thrift.port"):
            kw["port"] = _int(props, "hive.server2.thrift.port")
        if get("hive.server2.authentication"):
            kw["auth"] = get("hive.server2.authentication")
        if get("rayemr.hiveserver2.password.file"):
            kw["password_file"] = get("rayemr.hiveserver2.password.file")
        if get("hive.server2.authentication.ldap.url"):
            kw["ldap"] = LdapSettings(
                url=get("hive.server2.authentication.ldap.url"),
                base_dn=get("hive.server2.authentication.ldap.baseDN", ""),
                user_dn_pattern=get("hive.server2.authentication.ldap.userDNPattern", ""))
        if get("rayemr.hiveserver2.allow.paths"):
            kw["allow_paths"] = tuple(p.strip() for p in
                                      get("rayemr.hiveserver2.allow.paths").split(",")
                                      if p.strip())
        if get("hive.metastore.warehouse.dir"):
            kw["warehouse"] = get("hive.metastore.warehouse.dir")
        extra = get("hive.security.authorization.sqlstd.confwhitelist.append")
        if extra:
            kw["property_allowlist"] = DEFAULT_ALLOWLIST + tuple(
                p for p in extra.split("|") if p)
        if get("rayemr.hiveserver2.settings.model"):
            kw["settings_model"] = get("rayemr.hiveserver2.settings.model").strip().lower()
        for key, name, sep in (("hive.conf.restricted.list", "restricted_keys", ","),
                               ("hive.conf.hidden.list", "hidden_keys", ","),
                               ("rayemr.hiveserver2.transform.commands",
                                "transform_commands", ";")):
            if get(key):
                kw[name] = tuple(p.strip() for p in get(key).split(sep) if p.strip())
        if get("hive.server2.async.exec.threads"):
            kw["async_workers"] = _int(props, "hive.server2.async.exec.threads")
        if get("hive.server2.thrift.max.worker.threads"):
            kw["max_connections"] = _int(props, "hive.server2.thrift.max.worker.threads")
        for key, value in overrides.items():
            if value is None:
                continue
            if key in ("allow_paths", "transform_commands"):
                value = tuple(kw.get(key, ())) + tuple(value)
            kw[key] = value
        return cls(**kw)

    def path_roots(self, session_warehouse: str | None = None) -> tuple[str, ...]:
        roots = [r for r in (self.warehouse, session_warehouse) if r]
        return tuple(roots) + tuple(os.path.expanduser(p) for p in self.allow_paths)

    def settings(self) -> Settings:
        """The settings check every client session uses."""
        rule = (AllowList(self.property_allowlist) if self.settings_model == "allowlist"
                else DenyList(()))
        return Settings(rule, default_denied(self.restricted_keys),
                        HiddenKeys().plus(self.hidden_keys))

    def policy(self, session_warehouse: str | None = None) -> SessionPolicy:
        """The limits of a client session whose warehouse is ``session_warehouse``."""
        roots = Roots.build(self.path_roots(session_warehouse))
        return SessionPolicy(roots, self.settings(),
                             TransformCommands.build(self.transform_commands, roots))


def _int(props: Mapping[str, str], key: str) -> int:
    try:
        return int(props[key])
    except ValueError:
        raise ConfigError(f"{key}={props[key]!r} is not an integer") from None
