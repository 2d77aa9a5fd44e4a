"""What a remote HiveServer2 client may ask for: statement, property and path checks.

HiveServer2 runs statements for remote users with the server's own file access, so before a
statement reaches the Hive session the server checks it here:

* exactly one statement per ExecuteStatement (``;`` outside quotes and comments splits);
* ``${hivevar:x}`` / ``${hiveconf:x}`` / ``${x}`` substituted first, so the checks see what
  runs; ``${env:..}`` and ``${system:..}`` (server environment, credentials) are refused;
* ``SET key=value`` and ``set:hiveconf:`` keys at OpenSession limited to an allowlist of
  patterns (modelled on Hive's ``hive.security.authorization.sqlstd.confwhitelist``);
* paths after ``LOCATION``, ``INPATH``, ``DIRECTORY``, ``ADD FILE|JAR|ARCHIVE``, ``USING JAR``
  and the command of ``TRANSFORM ... USING '...'`` confined to the warehouse and the operator's
  allowed prefixes: local paths are resolved (symlinks included) and must fall under a root;
  ``..`` components, other URL schemes and shell syntax are refused. ``s3://`` paths are
  governed by the server's AWS credentials unless s3 prefixes are listed as allowed.

Everything here is pure string and path logic, testable without a server.
"""
from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from rayemr.core.errors import AccessDeniedError, UserError

# --- lexing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # "word" | "string" | "ident" | "punct" | "semi"
    text: str  # raw source text
    value: str  # unquoted value for strings and identifiers, upper-cased for words
    start: int


_WORD = re.compile(r"[A-Za-z0-9_$.:{}\[\]]+")


def tokenize(sql: str) -> list[Token]:
    """Words, quoted strings (Hive backslash escapes), backquoted identifiers, punctuation.

    Comments are dropped. An unterminated string or comment raises UserError.
    """
    out: list[Token] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch.isspace():
            i += 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            if j < 0:
                raise UserError("unterminated /* comment in statement")
            i = j + 2
        elif ch in "'\"":
            j, chars = i + 1, []
            while j < n and sql[j] != ch:
                if sql[j] == "\\" and j + 1 < n:
                    chars.append(sql[j:j + 2])
                    j += 2
                else:
                    chars.append(sql[j])
                    j += 1
            if j >= n:
                raise UserError(f"unterminated string literal starting at offset {i}")
            out.append(Token("string", sql[i:j + 1], "".join(chars), i))
            i = j + 1
        elif ch == "`":
            j = i + 1
            while True:
                j = sql.find("`", j)
                if j < 0:
                    raise UserError(f"unterminated `identifier` starting at offset {i}")
                if sql.startswith("``", j):
                    j += 2
                    continue
                break
            out.append(Token("ident", sql[i:j + 1], sql[i + 1:j].replace("``", "`"), i))
            i = j + 1
        elif ch == ";":
            out.append(Token("semi", ch, ch, i))
            i += 1
        else:
            m = _WORD.match(sql, i)
            if m:
                out.append(Token("word", m.group(), m.group().upper(), i))
                i = m.end()
            else:
                out.append(Token("punct", ch, ch, i))
                i += 1
    return out


def split_statements(sql: str) -> list[str]:
    """The non-empty statements of ``sql`` (split at ``;`` outside strings and comments)."""
    toks = tokenize(sql)
    pieces, start = [], 0
    for t in toks:
        if t.kind == "semi":
            pieces.append(sql[start:t.start])
            start = t.start + 1
    pieces.append(sql[start:])
    return [p.strip() for p in pieces if tokenize(p)]


def single_statement(sql: str) -> str:
    """``sql`` without its trailing ``;``; UserError when it holds none or several statements."""
    statements = split_statements(sql or "")
    if not statements:
        raise UserError("empty statement: send one HiveQL statement per ExecuteStatement")
    if len(statements) > 1:
        raise UserError(f"{len(statements)} statements in one request: HiveServer2 runs one "
                        "statement per ExecuteStatement; send them one at a time")
    return statements[0]


# --- variables -------------------------------------------------------------------------------

_VAR = re.compile(r"\$\{([A-Za-z_][\w.:-]*)\}")
_ENV_REF = re.compile(r"\$\{\s*(env|system)\s*:", re.IGNORECASE)
_MAX_SUBSTITUTION_DEPTH = 40  # Hive's hive.variable.substitute.depth


def substitute(sql: str, hivevars: Mapping[str, str], hiveconf: Mapping[str, str]) -> str:
    """Hive variable substitution; ``${env:..}``/``${system:..}`` are refused over the wire."""
    def repl(m: re.Match) -> str:
        name = m.group(1)
        ns, _, key = name.partition(":")
        if not key:
            ns, key = "", name
        ns = ns.lower()
        if ns in ("env", "system"):
            raise AccessDeniedError(f"${{{name}}}: {ns} variables are not available "
                                    "to HiveServer2 clients")
        if ns == "hivevar":
            return str(hivevars.get(key, m.group(0)))
        if ns == "hiveconf":
            return str(hiveconf.get(key, m.group(0)))
        if ns:
            return m.group(0)
        if key in hiveconf:
            return str(hiveconf[key])
        return str(hivevars.get(key, m.group(0)))

    for _ in range(_MAX_SUBSTITUTION_DEPTH):
        new = _VAR.sub(repl, sql)
        if new == sql:
            if _ENV_REF.search(new):  # any spelling the session might still expand
                raise AccessDeniedError("env and system variables are not available to "
                                        "HiveServer2 clients")
            return new
        sql = new
    raise UserError("variable substitution did not settle after "
                    f"{_MAX_SUBSTITUTION_DEPTH} rounds (a variable refers to itself)")


# --- session properties ----------------------------------------------------------------------

#: Properties a HiveServer2 client may set (regular expressions, full match).
DEFAULT_PROPERTY_ALLOWLIST: tuple[str, ...] = (
    r"hive\.auto\..*", r"hive\.cbo\..*", r"hive\.convert\..*",
    r"hive\.exec\.dynamic\.partition(\..*)?", r"hive\.exec\.max\.dynamic\.partitions(\..*)?",
    r"hive\.exec\.compress\..*", r"hive\.exec\.parallel(\..*)?",
    r"hive\.exec\.reducers\.(bytes\.per\.reducer|max)", r"hive\.exec\.orc\..*",
    r"hive\.explain\..*", r"hive\.fetch\.task\..*", r"hive\.groupby\..*", r"hive\.join\..*",
    r"hive\.limit\..*", r"hive\.mapjoin\..*", r"hive\.merge\..*", r"hive\.optimize\..*",
    r"hive\.map\.aggr(\..*)?", r"hive\.mapred\.mode", r"hive\.parquet\..*", r"hive\.ppd\..*",
    r"hive\.query\.name", r"hive\.execution\.engine", r"hive\.resultset\.use\.unique\.column\.names",
    r"hive\.cli\.print\.header", r"hive\.skewjoin\..*", r"hive\.stats\..*",
    r"hive\.strict\..*", r"hive\.tez\..*", r"hive\.vectorized\..*",
    r"hive\.support\.quoted\.identifiers", r"hive\.default\.fileformat(\.managed)?",
    r"hive\.exec\.default\.partition\.name", r"hive\.display\.partition\.cols\.separately",
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

_HIVEVAR_NAME = re.compile(r"^[A-Za-z_][\w.-]{0,127}$")


@dataclass(frozen=True)
class PropertyPolicy:
    patterns: tuple[str, ...] = DEFAULT_PROPERTY_ALLOWLIST
    _compiled: tuple[re.Pattern, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", tuple(re.compile(p) for p in self.patterns))

    def allowed(self, key: str) -> bool:
        return any(p.fullmatch(key) for p in self._compiled)

    def check(self, key: str) -> None:
        if not self.allowed(key):
            raise AccessDeniedError(
                f"cannot modify {key} at runtime: it is not in the list of parameters "
                "HiveServer2 clients may set", hint="the operator can extend the allowlist")

    def check_hivevar(self, name: str) -> None:
        if not _HIVEVAR_NAME.match(name):
            raise UserError(f"invalid hivevar name {name!r}")


_SET = re.compile(r"^\s*set(?:\s+-v)?\s+([^=]*?)\s*(=|$)", re.IGNORECASE | re.DOTALL)


def check_set_statement(sql: str, policy: PropertyPolicy) -> None:
    """``SET k=v`` is checked against the allowlist; ``SET``, ``SET k`` (show) are free."""
    m = _SET.match(sql)
    if not m or m.group(2) != "=":
        return
    key = m.group(1)
    ns, sep, rest = key.partition(":")
    if sep:
        ns = ns.lower()
        if ns == "hivevar":
            policy.check_hivevar(rest)
            return
        if ns in ("env", "system"):
            raise AccessDeniedError(f"cannot set {key}: {ns} variables are read-only")
        if ns == "hiveconf":
            key = rest
    policy.check(key)


# --- paths -----------------------------------------------------------------------------------

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_S3 = ("s3", "s3a", "s3n")
_ALWAYS_ALLOWED_SCHEMES = ("memory",)
#: Programs TRANSFORM may run by bare name; anything else must be a script under a root.
TRANSFORM_PROGRAMS = ("cat", "python", "python3")
_SHELL_SYNTAX = re.compile(r"[;|&$`<>(){}!*?~\n\r\\]")


def _norm_s3(url: str) -> str:
    scheme, rest = url.split("://", 1) if "://" in url else (url.split(":", 1) + [""])[:2]
    return "s3://" + rest.lstrip("/")


@dataclass(frozen=True)
class PathPolicy:
    """Local roots (resolved) and optional s3 prefixes that statement paths must fall under."""

    local_roots: tuple[str, ...] = ()
    s3_prefixes: tuple[str, ...] = ()  # empty: any s3 path (AWS credentials decide)

    @classmethod
    def build(cls, roots: Iterable[str]) -> PathPolicy:
        local, s3 = [], []
        for root in roots:
            if not root:
                continue
            m = _SCHEME.match(root)
            scheme = m.group(1).lower() if m and len(m.group(1)) > 1 else ""
            if scheme in _S3:
                s3.append(_norm_s3(root).rstrip("/") + "/")
            elif scheme in ("", "file"):
                local.append(os.path.realpath(_local_part(root) if scheme else root))
            else:
                raise UserError(f"allowed path {root}: only local paths and s3:// prefixes")
        return cls(tuple(dict.fromkeys(local)), tuple(dict.fromkeys(s3)))

    def check_path(self, path: str, *, what: str = "path") -> None:
        if "\x00" in path or "\\" in path:
            raise AccessDeniedError(f"{what} {path!r}: invalid characters")
        m = _SCHEME.match(path)
        scheme = m.group(1).lower() if m and len(m.group(1)) > 1 else ""
        if scheme in _S3:
            self._check_s3(path, what)
            return
        if scheme in _ALWAYS_ALLOWED_SCHEMES:
            return
        if scheme not in ("", "file"):
            raise AccessDeniedError(f"{what} {path}: the {scheme}:// scheme is not allowed "
                                    "over HiveServer2")
        local = _local_part(path) if scheme else path
        if ".." in local.replace("\\", "/").split("/"):
            raise AccessDeniedError(f"{what} {path}: '..' is not allowed in paths")
        resolved = os.path.realpath(local)
        for root in self.local_roots:
            if resolved == root or resolved.startswith(root.rstrip(os.sep) + os.sep):
                return
        raise AccessDeniedError(
            f"{what} {path} is outside the warehouse and the allowed paths",
            hint="the operator can allow it with rayemr hiveserver2 --allow-path PREFIX")

    def _check_s3(self, url: str, what: str) -> None:
        if not self.s3_prefixes:
            return
        norm = _norm_s3(url)
        if ".." in norm.split("/"):
            raise AccessDeniedError(f"{what} {url}: '..' is not allowed in paths")
        if not any(norm.rstrip("/") + "/" == p or norm.startswith(p) for p in self.s3_prefixes):
            raise AccessDeniedError(f"{what} {url} is outside the allowed s3 prefixes")

    def check_command(self, command: str) -> None:
        """The command of ``TRANSFORM ... USING 'command'``."""
        if _SHELL_SYNTAX.search(command):
            raise AccessDeniedError(f"TRANSFORM command {command!r}: shell syntax is not "
                                    "allowed over HiveServer2")
        try:
            argv = shlex.split(command)
        except ValueError:
            raise AccessDeniedError(f"TRANSFORM command {command!r} cannot be parsed") from None
        if not argv:
            raise UserError("TRANSFORM ... USING needs a command")
        program, args = argv[0], argv[1:]
        if "/" in program:
            self.check_path(program, what="TRANSFORM script")
        elif program not in TRANSFORM_PROGRAMS:
            raise AccessDeniedError(
                f"TRANSFORM program {program!r} is not allowed over HiveServer2: use "
                f"{', '.join(TRANSFORM_PROGRAMS)} or a script under an allowed path")
        interpreter = program.startswith("python")
        for i, arg in enumerate(args):
            if arg.startswith("-"):
                if interpreter:
                    raise AccessDeniedError(f"TRANSFORM command {command!r}: interpreter "
                                            "options are not allowed; run a script file")
                continue
            if (interpreter and i == 0) or "/" in arg or program == "cat":
                self.check_path(arg, what="TRANSFORM argument")


def _local_part(url: str) -> str:
    """``file:///a/b`` and ``file:/a/b`` -> ``/a/b``; a remote host is refused."""
    rest = url.split(":", 1)[1]
    if rest.startswith("//"):
        host, _, path = rest[2:].partition("/")
        if host not in ("", "localhost"):
            raise AccessDeniedError(f"path {url}: file URLs with a host are not allowed")
        return "/" + path
    return rest


_PATH_KEYWORDS = {"LOCATION": "LOCATION", "INPATH": "LOAD DATA path",
                  "DIRECTORY": "DIRECTORY"}
_RESOURCE_KINDS = {"FILE", "FILES", "JAR", "JARS", "ARCHIVE", "ARCHIVES"}


def check_statement_paths(sql: str, policy: PathPolicy) -> None:
    """Raise AccessDeniedError when a path or TRANSFORM command of ``sql`` escapes ``policy``."""
    toks = tokenize(sql)
    for i, tok in enumerate(toks):
        if tok.kind != "word":
            continue
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if tok.value in _PATH_KEYWORDS and nxt is not None and nxt.kind == "string":
            policy.check_path(nxt.value, what=_PATH_KEYWORDS[tok.value])
        elif tok.value == "USING" and nxt is not None and nxt.kind == "string":
            policy.check_command(nxt.value)
        elif tok.value in _RESOURCE_KINDS and i > 0 and toks[i - 1].value == "USING":
            for arg in toks[i + 1:]:
                if arg.kind == "string":
                    policy.check_path(arg.value, what="resource")
                elif not (arg.kind == "punct" and arg.text == ","):
                    break
        elif i == 1 and toks[0].value == "ADD" and tok.value in _RESOURCE_KINDS:
            _check_raw_args(sql[tok.start + len(tok.text):], policy, "resource")
        elif i == 0 and tok.value == "SOURCE":
            _check_raw_args(sql[tok.start + len(tok.text):], policy, "SOURCE file")
        elif i == 0 and tok.value == "DFS":
            raise AccessDeniedError("dfs commands are not allowed over HiveServer2")
    if sql.lstrip().startswith("!"):
        raise AccessDeniedError("shell commands are not allowed over HiveServer2")


def _check_raw_args(rest: str, policy: PathPolicy, what: str) -> None:
    try:
        args = shlex.split(rest.replace(",", " "))
    except ValueError:
        raise AccessDeniedError(f"{what} {rest.strip()!r} cannot be parsed") from None
    if not args:
        raise UserError(f"missing {what} path")
    for arg in args:
        policy.check_path(arg, what=what)
