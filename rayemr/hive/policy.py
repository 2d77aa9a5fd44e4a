"""What a session's statements may reach: the limits HiveServer2 puts on remote clients.

A :class:`SessionPolicy` is built once by the server from its configuration and handed to
every Hive session it opens. The session consults it on the statement objects it is about to
run -- never on a second reading of the text:

* :class:`Roots` -- the local folders (resolved, symlinks included, at every use) and S3
  prefixes that locations, LOAD DATA sources and every file rayemr reads, writes, moves or
  deletes must fall under (:mod:`rayemr.hive.storage` checks each use);
* :class:`~rayemr.hive.settings.Settings` -- which ``SET`` keys a client may change (Hive's
  ``hive.conf.restricted.list`` model by default, or an allowlist; :mod:`rayemr.hive.settings`);
* :class:`TransformCommands` -- the only programs ``SELECT TRANSFORM ... USING`` runs: a list
  the operator configured, resolved to files outside every client-writable folder, run
  without a shell.

A local session (the ``rayemr hive`` CLI, Python) has no policy: its user already has the
machine. Checks that protect everyone (names are not paths, only Hive functions reach
DuckDB, hidden settings stay hidden) do not depend on a policy.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from rayemr.core.errors import AccessDeniedError, ConfigError, UserError
from rayemr.core.secrets import url_has_credentials
from rayemr.hive.settings import (DEFAULT_ALLOWLIST, DENIED, AllowList, DenyList,  # noqa: F401
                                  Settings, SettingsRule)

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_S3 = ("s3", "s3a", "s3n")
_ALWAYS_ALLOWED_SCHEMES = ("memory",)  # process-local, holds nothing of the server's


def _scheme(url: str) -> str:
    m = _SCHEME.match(url)
    return m.group(1).lower() if m and len(m.group(1)) > 1 else ""


def _norm_s3(url: str) -> str:
    rest = url.split("://", 1)[1] if "://" in url else url.split(":", 1)[1]
    return "s3://" + rest.lstrip("/")


def _local_part(url: str) -> str:
    """``file:///a/b`` and ``file:/a/b`` -> ``/a/b``; a remote host is refused."""
    rest = url.split(":", 1)[1]
    if rest.startswith("//"):
        host, _, path = rest[2:].partition("/")
        if host not in ("", "localhost"):
            raise AccessDeniedError(f"path {url}: file URLs with a host are not allowed")
        return "/" + path
    return rest


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


@dataclass(frozen=True)
class Roots:
    """Local roots (resolved) and S3 prefixes every path must fall under."""

    local: tuple[str, ...] = ()
    s3: tuple[str, ...] = ()  # empty: any S3 path (the server's AWS credentials decide)

    @classmethod
    def build(cls, roots: Iterable[str]) -> Roots:
        local, s3 = [], []
        for root in roots:
            if not root:
                continue
            scheme = _scheme(root)
            if scheme in _S3:
                s3.append(_norm_s3(root).rstrip("/") + "/")
            elif scheme in ("", "file"):
                path = _local_part(root) if scheme else root
                local.append(os.path.realpath(os.path.expanduser(path)))
            else:
                raise ConfigError(f"allowed path {root}: only local paths and s3:// prefixes")
        return cls(tuple(dict.fromkeys(local)), tuple(dict.fromkeys(s3)))

    def check(self, url: str, what: str = "path") -> None:
        """Raise AccessDeniedError unless ``url`` resolves (now) under a root."""
        url = str(url)
        if url_has_credentials(url):
            raise AccessDeniedError(f"{what} {_scheme(url)}://****@...: URLs with embedded "
                                    "credentials are refused")
        if "\x00" in url or "\\" in url:
            raise AccessDeniedError(f"{what} {url!r}: invalid characters")
        scheme = _scheme(url)
        if scheme in _S3:
            self._check_s3(url, what)
            return
        if scheme in _ALWAYS_ALLOWED_SCHEMES:
            return
        if scheme not in ("", "file"):
            raise AccessDeniedError(f"{what} {url}: the {scheme}:// scheme is not allowed "
                                    "over HiveServer2")
        local = _local_part(url) if scheme else url
        if ".." in local.split("/"):
            raise AccessDeniedError(f"{what} {url}: '..' is not allowed in paths")
        if not local.startswith("/"):
            raise AccessDeniedError(f"{what} {url}: give an absolute path")
        resolved = os.path.realpath(local)
        if not any(_under(resolved, root) for root in self.local):
            raise AccessDeniedError(
                f"{what} {url} is outside the warehouse and the allowed paths",
                hint="the operator can allow it with rayemr hiveserver2 --allow-path PREFIX")

    def _check_s3(self, url: str, what: str) -> None:
        if not self.s3:
            return
        norm = _norm_s3(url)
        if ".." in norm.split("/"):
            raise AccessDeniedError(f"{what} {url}: '..' is not allowed in paths")
        if not any(norm.rstrip("/") + "/" == p or norm.startswith(p) for p in self.s3):
            raise AccessDeniedError(f"{what} {url} is outside the allowed s3 prefixes")

    def contains(self, url: str) -> bool:
        try:
            self.check(url)
        except AccessDeniedError:
            return False
        return True


# -- TRANSFORM commands -----------------------------------------------------------------------

_SHELL_SYNTAX = re.compile(r"[|&;<>$`\n\r]")


@dataclass(frozen=True)
class TransformCommand:
    """What ``TRANSFORM ... USING 'text'`` runs: ``argv`` as is, or ``text`` through a shell
    (local sessions only, when the text holds shell syntax)."""

    text: str
    argv: tuple[str, ...]
    shell: bool = False
    #: run with a minimal environment (PATH, locale, HOME), not the server's: an operator's
    #: command for a remote client never sees the server's credentials
    clean_env: bool = False

    @classmethod
    def local(cls, text: str) -> TransformCommand:
        """A local session's command, as its user wrote it."""
        if _SHELL_SYNTAX.search(text):
            return cls(text, (), shell=True)
        try:
            argv = tuple(shlex.split(text))
        except ValueError:
            raise UserError(f"TRANSFORM command {text!r} cannot be parsed") from None
        if not argv:
            raise UserError("TRANSFORM ... USING needs a command")
        return cls(text, argv)

    def __str__(self) -> str:
        return self.text


def _argv_key(text: str) -> tuple[str, ...]:
    try:
        return tuple(shlex.split(text))
    except ValueError:
        raise AccessDeniedError(f"TRANSFORM command {text!r} cannot be parsed") from None


@dataclass(frozen=True)
class TransformCommands:
    """The commands an operator allowed (configuration, not SQL), resolved at start-up.

    A client's ``USING`` text must equal one of them, word for word (``shlex`` words); the
    program runs from the absolute path found at start-up, without a shell, and neither it
    nor a script named among its arguments may live under a folder clients can write.
    """

    commands: Mapping[tuple[str, ...], TransformCommand] = field(default_factory=dict)

    @classmethod
    def build(cls, entries: Iterable[str], writable: Roots) -> TransformCommands:
        out: dict[tuple[str, ...], TransformCommand] = {}
        for entry in entries:
            entry = entry.strip()
            if not entry:
                continue
            words = _argv_key(entry)
            program = shutil.which(words[0])
            if program is None:
                raise ConfigError(f"TRANSFORM command {entry!r}: {words[0]} is not an "
                                  "executable on this server")
            program = os.path.realpath(program)
            for path in (program, *(w for w in words[1:] if os.path.isabs(w))):
                real = os.path.realpath(path)
                if os.path.exists(real) and writable.contains(real):
                    raise ConfigError(f"TRANSFORM command {entry!r}: {path} is in a folder "
                                      "HiveServer2 clients can write; install it elsewhere")
            out[words] = TransformCommand(entry, (program, *words[1:]), clean_env=True)
        return cls(out)

    def resolve(self, text: str) -> TransformCommand:
        found = self.commands.get(_argv_key(text))
        if found is None:
            allowed = ", ".join(repr(c.text) for c in self.commands.values()) or "none"
            raise AccessDeniedError(
                f"TRANSFORM command {text!r} is not one the operator allowed (allowed: "
                f"{allowed})", hint="the operator lists commands with rayemr hiveserver2 "
                                    "--transform-command")
        return found


# -- the policy -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SessionPolicy:
    """Everything a remote client's session is limited by."""

    roots: Roots
    settings: Settings = field(default_factory=Settings)
    commands: TransformCommands = field(default_factory=TransformCommands)

    def check_location(self, url: str, what: str = "location") -> None:
        self.roots.check(url, what)

    def check_setting(self, key: str) -> None:
        self.settings.check(key)
