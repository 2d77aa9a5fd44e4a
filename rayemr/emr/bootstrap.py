"""Bootstrap actions: scripts run on every node before it takes work.

A ``BootstrapAction`` is a script (local path, ``file://`` or ``s3://``) and its arguments,
written as EMR takes it (``{"Name", "ScriptBootstrapAction": {"Path", "Args"}}``) or as the
AWS CLI shorthand (``Path=s3://b/setup.sh,Args=[a,b],Name=setup``). ``run_on_node`` is the
body of the Ray task pinned to one node: it fetches each script through EMRFS and runs the
actions in order, stopping at the first failure; the result keeps every action's output.
"""
from __future__ import annotations

import os
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from rayemr.core.errors import ConfigError, RayEmrError
from rayemr.core.secrets import check_url
from rayemr.emr import storage
from rayemr.emr.steps import parse_shorthand

#: Longest a bootstrap action may run (EMR's limit is one hour).
DEFAULT_TIMEOUT_S = 3600.0
#: Output kept in memory per action (the whole output goes to the log URI).
TAIL_BYTES = 64 * 1024


@dataclass(frozen=True)
class BootstrapAction:
    path: str
    args: tuple[str, ...] = ()
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or not self.path.strip():
            raise ConfigError("bootstrap action: Path must be a script path or s3:// URL")
        check_url(self.path, "bootstrap action")
        if isinstance(self.args, str):
            raise ConfigError(f"bootstrap action {self.path}: Args must be a list")
        object.__setattr__(self, "args", tuple(str(a) for a in self.args))
        for arg in self.args:
            check_url(arg, f"bootstrap action {self.name or self.path} argument")
        if not self.name:
            object.__setattr__(self, "name", self.path.rstrip("/").rsplit("/", 1)[-1])

    @classmethod
    def from_any(cls, value: Any) -> BootstrapAction:
        if isinstance(value, BootstrapAction):
            return value
        if isinstance(value, str):
            value = parse_shorthand(value) if "=" in value.split(",")[0] else {"Path": value}
        if not isinstance(value, Mapping):
            raise ConfigError(f"bootstrap action: expected a dict or 'Path=...,Args=[...]', "
                              f"got {type(value).__name__}")
        if "ScriptBootstrapAction" in value:
            sba = value["ScriptBootstrapAction"]
            if not isinstance(sba, Mapping):
                raise ConfigError("bootstrap action: ScriptBootstrapAction must be an object")
            merged = {"Name": value.get("Name", ""), **sba}
        else:
            merged = dict(value)
        unknown = set(merged) - {"Name", "Path", "Args"}
        if unknown:
            raise ConfigError(f"bootstrap action {merged.get('Name') or ''}: unknown key(s) "
                              f"{', '.join(sorted(unknown))}")
        if "Path" not in merged:
            raise ConfigError(f"bootstrap action {merged.get('Name') or ''}: Path is required")
        args = merged.get("Args", [])
        if not isinstance(args, (list, tuple)):
            raise ConfigError(f"bootstrap action {merged['Path']}: Args must be a list")
        return cls(path=str(merged["Path"]), args=tuple(args), name=str(merged.get("Name", "")))

    def to_dict(self) -> dict[str, Any]:
        return {"Name": self.name,
                "ScriptBootstrapAction": {"Path": self.path, "Args": list(self.args)}}


@dataclass
class ActionResult:
    name: str
    exit_code: int | None
    stdout: bytes = b""
    stderr: bytes = b""
    seconds: float = 0.0
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.error


@dataclass
class NodeBootstrap:
    """What bootstrapping one node did."""

    node_id: str
    hostname: str
    actions: list[ActionResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(a.ok for a in self.actions)

    @property
    def failure(self) -> str:
        for a in self.actions:
            if not a.ok:
                detail = a.error or f"exit code {a.exit_code}"
                tail = a.stderr[-300:].decode("utf-8", "replace").strip()
                return f"bootstrap action {a.name!r} failed ({detail})" + (
                    f": {tail}" if tail else "")
        return ""


def run_on_node(node_id: str, actions: tuple[BootstrapAction, ...], env: Mapping[str, str],
                emrfs: Any = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> NodeBootstrap:
    """Run ``actions`` in order on this node; stop at the first that fails."""
    result = NodeBootstrap(node_id=node_id, hostname=socket.gethostname())
    full_env = {**os.environ, **env, "RAYEMR_NODE_ID": node_id}
    with tempfile.TemporaryDirectory(prefix="rayemr-bootstrap-") as tmp:
        for i, action in enumerate(actions):
            start = time.monotonic()
            try:
                script = storage.fetch(action.path, os.path.join(tmp, str(i)), emrfs,
                                       what=f"bootstrap action {action.name!r} script")
            except RayEmrError as exc:
                result.actions.append(ActionResult(action.name, None, error=str(exc)))
                break
            cmd = _command(script, action.args)
            try:
                proc = subprocess.run(cmd, capture_output=True, env=full_env, cwd=tmp,
                                      timeout=timeout_s, stdin=subprocess.DEVNULL)
                res = ActionResult(action.name, proc.returncode, proc.stdout, proc.stderr,
                                   time.monotonic() - start)
            except subprocess.TimeoutExpired as exc:
                res = ActionResult(action.name, None, exc.stdout or b"", exc.stderr or b"",
                                   time.monotonic() - start,
                                   error=f"timed out after {timeout_s:g}s")
            except OSError as exc:
                res = ActionResult(action.name, None, error=f"cannot run: {exc}")
            result.actions.append(res)
            if not res.ok:
                break
    return result


def _command(script: str, args: tuple[str, ...]) -> list[str]:
    """Run the script itself when it has a shebang (as EMR does), else with bash."""
    with open(script, "rb") as f:
        shebang = f.read(2) == b"#!"
    if shebang:
        mode = os.stat(script).st_mode
        if not mode & stat.S_IXUSR:
            try:
                os.chmod(script, mode | stat.S_IXUSR)
            except OSError:
                return ["bash", script, *args]
        return [script, *args]
    return ["bash", script, *args]
