"""Which settings a HiveServer2 client may change (``SET k=v``, OpenSession's configuration,
a statement's ``confOverlay``).

Two models, chosen by the operator with ``rayemr.hiveserver2.settings.model``:

* ``denylist`` (the default, Hive as EMR ships it): any key is accepted and kept in the
  session, except those on :data:`DENIED` -- Hive's default ``hive.conf.restricted.list``
  (:data:`HIVE_RESTRICTED`) and rayemr's own list (:data:`RAYEMR_DENIED`): keys that change
  where data is read or written, which credentials or endpoints are used, what code runs, or
  the server's own settings and limits. Keys rayemr does not read (``mapred.job.tracker``,
  ``mapreduce.map.java.opts``...) are kept and shown by ``SET`` and have no other effect.
* ``allowlist``: only keys of :data:`DEFAULT_ALLOWLIST` (modelled on Hive's SQL-standard
  authorization ``confwhitelist``), and still never a denied one.

Hidden keys (credentials, :class:`~rayemr.core.secrets.HiddenKeys`) are refused in both.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from rayemr.core.errors import AccessDeniedError, UserError
from rayemr.core.secrets import HIDDEN, HiddenKeys

SETTINGS_MODELS = ("denylist", "allowlist")
DEFAULT_SETTINGS_MODEL = "denylist"


class SettingsRule(Protocol):
    """Why a client may not set ``key`` (None: it may)."""

    def refusal(self, key: str) -> str | None: ...


#: Keys a remote client may set under the :class:`AllowList` model (full-match regexes,
#: modelled on Hive's ``hive.security.authorization.sqlstd.confwhitelist``).
DEFAULT_ALLOWLIST: tuple[str, ...] = (
    r"hive\.auto\..*", r"hive\.cbo\..*", r"hive\.convert\..*",
    r"hive\.exec\.dynamic\.partition(\..*)?", r"hive\.exec\.max\.dynamic\.partitions(\..*)?",
    r"hive\.exec\.compress\..*", r"hive\.exec\.parallel(\..*)?",
    r"hive\.exec\.reducers\.(bytes\.per\.reducer|max)", r"hive\.exec\.orc\..*",
    r"hive\.explain\..*", r"hive\.fetch\.task\..*", r"hive\.groupby\..*", r"hive\.join\..*",
    r"hive\.limit\..*", r"hive\.mapjoin\..*", r"hive\.merge\..*", r"hive\.optimize\..*",
    r"hive\.map\.aggr(\..*)?", r"hive\.mapred\.mode", r"hive\.parquet\..*", r"hive\.ppd\..*",
    r"hive\.query\.name", r"hive\.execution\.engine", r"hive\.local\.time\.zone",
    r"hive\.int\.timestamp\.conversion\.in\.seconds",
    r"hive\.resultset\.use\.unique\.column\.names", r"hive\.cli\.print\.header",
    r"hive\.skewjoin\..*", r"hive\.stats\..*", r"hive\.strict\..*", r"hive\.tez\..*",
    r"hive\.vectorized\..*", r"hive\.support\.quoted\.identifiers",
    r"hive\.default\.fileformat(\.managed)?", r"hive\.exec\.default\.partition\.name",
    r"hive\.display\.partition\.cols\.separately",
    r"hive\.server2\.thrift\.resultset\.default\.fetch\.size",
    r"mapred\.job\.queue\.name", r"mapred\.reduce\.tasks", r"mapred\.map\..*",
    r"mapred\.reduce\..*", r"mapred\.output\.compression\..*",
    r"mapreduce\.job\.(queuename|reduces|name|tags|priority|maps)",
    r"mapreduce\.job\.reduce\.slowstart\.completedmaps",
    r"mapreduce\.input\.fileinputformat\.split\.(min|max)size",
    r"mapreduce\.map\..*", r"mapreduce\.reduce\..*",
    r"mapreduce\.output\.fileoutputformat\.compress(\..*)?",
    r"tez\.queue\.name", r"tez\.am\..*", r"tez\.task\..*", r"tez\.runtime\..*",
    r"parquet\.compression", r"parquet\.block\.size", r"orc\.compress",
    r"rayemr\.hive\..*",
)


def _prefixes(*names: str) -> tuple[str, ...]:
    """Hive's restricted entries: a key is restricted when it starts with one of them."""
    return tuple(re.escape(n) + ".*" for n in names)


#: Hive 3's default ``hive.conf.restricted.list`` and its internal variables, which Hive
#: matches as prefixes (HiveConf.verifyAndSet).
HIVE_RESTRICTED: tuple[str, ...] = _prefixes(
    "hive.security.authenticator.manager", "hive.security.authorization.manager",
    "hive.security.metastore.authorization.manager",
    "hive.security.metastore.authenticator.manager", "hive.users.in.admin.role",
    "hive.server2.xsrf.filter.enabled", "hive.security.authorization.enabled",
    "hive.distcp.privileged.doAs", "hive.server2.authentication.ldap.",
    "hive.privilege.synchronizer", "hive.spark.client.", "bonecp.",
    "hive.druid.broker.address.default", "hive.druid.coordinator.address.default", "hikari.",
    "hadoop.bin.path", "yarn.bin.path", "spark.home",
    "hive.driver.parallel.compilation.global.limit", "hive.zookeeper.ssl.",
    # always restricted: the lists themselves and Hive's internal variables
    "hive.conf.restricted.list", "hive.conf.hidden.list", "hive.conf.internal.variable.list",
    "hive.added.files.path", "hive.added.jars.path", "hive.added.archives.path",
)

_SUFFIX = r"(?i)(.*[._-])?({})"


def _suffixes(*words: str) -> str:
    return _SUFFIX.format("|".join(words))


#: rayemr's own deny list, by what a key would change (full-match regexes).
RAYEMR_DENIED: dict[str, tuple[str, ...]] = {
    "where data is read or written": (
        r"hive\.metastore\..*", r"javax\.jdo\..*", r"datanucleus\..*", r"fs\..*",
        r"dfs\..*", r"hive\.exec\..*dir", r"hive\.querylog\..*", r"hive\.downloaded\..*",
        r"hive\.user\.install\.directory", r"hive\.jar\.directory", r"hive\.repl\..*",
        r"hive\.distcp\..*", r"rayemr\.hive\.warehouse", r"mapred\.(input|output)\.dir",
        r"mapreduce\.(input|output)\.file(input|output)format\.(input|output)dir",
        _suffixes("dir", "dirs", "directory", "directories", "path", "paths", "location",
                  "locations", "root", "scratchdir", "stagingdir", "folder"),
    ),
    "which credentials or endpoints are used": (
        r"hadoop\.security\..*", r"hadoop\.proxyuser\..*", r"hive\.zookeeper\..*",
        r"yarn\.resourcemanager\..*", r"yarn\.timeline-service\..*", r"aws\..*",
        r"spark\..*", r"hive\.druid\..*", r"hive\.llap\..*", r"hive\.server2\..*",
        r"(?i).*\.(ssl|sasl|kerberos|oauth2?|auth|authentication|credentials?)\..*",
        _suffixes("address", "addresses", "host", "hosts", "hostname", "port", "uri", "uris",
                  "url", "urls", "endpoint", "endpoints", "quorum", "principal", "keytab",
                  "user", "username", "users", "doas", "region"),
    ),
    "what code runs": (
        r"hive\.security\..*", r"hive\.aux\.jars\.path", r"hive\.reloadable\.aux\.jars\.path",
        r"hive\.script\..*", r"hive\.exec\.script\..*", r"hive\.added\..*",
        r"rayemr\.hive\.transform\..*", r"rayemr\.hive\.runner",
        _suffixes("hook", "hooks", "class", "classes", "impl", "factory", "plugin", "plugins",
                  "provider", "providers", "listener", "listeners", "jar", "jars",
                  "manager", "serde", "command", "commands", "cmd", "executable", "wrapper",
                  "classpath", "libjars", "tmpjars", "tmpfiles", "tmparchives", "env"),
        r"mapreduce\.job\.cache\..*",
    ),
    "the server's own settings and limits": (
        r"hive\.conf\..*", r"hive\.variable\.substitute(\..*)?", r"_hive\..*",
        r"rayemr\.(?!hive\.).*",
    ),
}

#: Exceptions to :data:`RAYEMR_DENIED` (keys whose shape matches a rule but that change
#: nothing above): the fetch size pyhive and JDBC drivers set on every session.
NOT_DENIED: tuple[str, ...] = (
    r"hive\.server2\.thrift\.resultset\.default\.fetch\.size",
)


def denied_patterns() -> tuple[str, ...]:
    return HIVE_RESTRICTED + tuple(p for ps in RAYEMR_DENIED.values() for p in ps)


@dataclass(frozen=True)
class AllowList:
    """Only keys matching one of ``patterns`` (full match)."""

    patterns: tuple[str, ...] = DEFAULT_ALLOWLIST
    _compiled: tuple[re.Pattern, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", tuple(re.compile(p) for p in self.patterns))

    def refusal(self, key: str) -> str | None:
        if any(p.fullmatch(key) for p in self._compiled):
            return None
        return "it is not in the list of parameters HiveServer2 clients may set"


@dataclass(frozen=True)
class DenyList:
    """Any key except those matching one of ``patterns`` (Hive's restricted-list model);
    ``exceptions`` are never refused by this list."""

    patterns: tuple[str, ...] = ()
    exceptions: tuple[str, ...] = ()
    _compiled: tuple[re.Pattern, ...] = field(init=False, repr=False, compare=False)
    _allowed: tuple[re.Pattern, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", tuple(re.compile(p) for p in self.patterns))
        object.__setattr__(self, "_allowed", tuple(re.compile(p) for p in self.exceptions))

    def refusal(self, key: str) -> str | None:
        if any(p.fullmatch(key) for p in self._allowed):
            return None
        if any(p.fullmatch(key) for p in self._compiled):
            return ("it is in the list of parameters that can't be modified at runtime or is "
                    "prefixed by a restricted variable")
        return None


def default_denied(extra: tuple[str, ...] = ()) -> DenyList:
    """:data:`DENIED` plus an operator's ``hive.conf.restricted.list`` entries (prefixes)."""
    return DenyList(denied_patterns() + _prefixes(*extra), NOT_DENIED)


_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:\-\[\]/@]{0,255}$")
_HIVEVAR = re.compile(r"^[A-Za-z_][\w.-]{0,127}$")


@dataclass(frozen=True)
class Settings:
    """The settings check: hidden and denied keys first, then the model's rule."""

    rule: SettingsRule = field(default_factory=lambda: DenyList(()))
    restricted: DenyList = field(default_factory=default_denied)
    hidden: HiddenKeys = HIDDEN

    def check(self, key: str) -> None:
        if not _KEY.match(key or ""):
            raise UserError(f"invalid setting name {key!r}")
        if self.hidden(key):
            raise AccessDeniedError(f"Cannot modify {key} at runtime: it is a hidden config")
        reason = self.restricted.refusal(key) or self.rule.refusal(key)
        if reason:
            raise AccessDeniedError(f"Cannot modify {key} at runtime: {reason}",
                                    hint="the operator decides which settings clients change")

    @staticmethod
    def check_hivevar(name: str) -> None:
        if not _HIVEVAR.match(name or ""):
            raise UserError(f"invalid hivevar name {name!r}")


DENIED = denied_patterns()
