"""Hive variable substitution: the one rule set, applied once to each statement's text.

Hive's rules (``org.apache.hadoop.hive.conf.SystemVariables`` / ``VariableSubstitution``):
a variable is ``${name}`` where the name holds no ``}``, ``$`` or space; ``hiveconf:k`` is
a session setting, ``hivevar:k`` (or a bare ``k``) a session variable, ``env:K`` the
environment, ``system:k`` a system property. A value may itself hold variables, so
substitution repeats until nothing changes, at most ``hive.variable.substitute.depth`` (40)
rounds. An undefined variable stays as written.

Two rules are rayemr's own, and hold in every round whatever a value expanded to:

* settings on the hidden list (credentials, passwords) never expand (Hive's
  ``hive.conf.hidden.list``);
* when ``environ`` is None -- every HiveServer2 session -- ``env:`` and ``system:`` are
  refused, in any letter case.
"""
from __future__ import annotations

import getpass
import os
import re
from typing import Callable, Mapping

from rayemr.core.errors import AccessDeniedError, UserError

VARIABLE = re.compile(r"\$\{([^}$ ]+)\}")
#: Hive's hive.variable.substitute.depth default.
MAX_DEPTH = 40


def system_properties() -> dict[str, str]:
    """The few Java system properties scripts use, for local sessions."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        user = "hive"
    return {"user.name": user, "user.home": os.path.expanduser("~"), "user.dir": os.getcwd(),
            "java.io.tmpdir": os.environ.get("TMPDIR", "/tmp")}


def substitute(text: str, hivevars: Mapping[str, str], hiveconf: Mapping[str, str], *,
               hidden: Callable[[str], bool], environ: Mapping[str, str] | None = None,
               system: Mapping[str, str] | None = None, depth: int = MAX_DEPTH) -> str:
    """``text`` with its variables replaced (see the module docstring for the rules)."""
    def value(m: re.Match) -> str:
        name = m.group(1)
        prefix, sep, rest = name.partition(":")
        ns = prefix.lower() if sep else ""
        if ns in ("env", "system"):
            if environ is None:
                raise AccessDeniedError(f"${{{name}}}: {ns} variables are not available to "
                                        "HiveServer2 clients")
            if prefix == "env":
                return environ.get(rest, m.group(0))
            if prefix == "system":
                return (system or {}).get(rest, m.group(0))
            return m.group(0)  # Hive's prefixes are lower case; ENV:X is a plain name
        if prefix == "hiveconf" and sep:
            if hidden(rest):
                raise AccessDeniedError(f"${{{name}}}: {rest} is a hidden config")
            return hiveconf.get(rest, m.group(0))
        if prefix == "hivevar" and sep:
            return hivevars.get(rest, m.group(0))
        if name in hivevars:
            return hivevars[name]
        if name in hiveconf:
            if hidden(name):
                raise AccessDeniedError(f"${{{name}}}: {name} is a hidden config")
            return hiveconf[name]
        return m.group(0)

    for _ in range(depth):
        new = VARIABLE.sub(value, text)
        if new == text:
            return new
        text = new
    if VARIABLE.search(text) and VARIABLE.sub(value, text) != text:
        raise UserError(f"variable substitution did not settle after {depth} rounds "
                        "(a variable refers to itself?)")
    return text
