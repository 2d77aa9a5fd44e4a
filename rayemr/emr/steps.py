"""EMR steps: the frozen ``StepSpec`` users submit, step states and their machine.

Three step types:

- ``HIVE``: ``-f script.q`` (local path or ``s3://``), ``-d K=V`` / ``--hivevar K=V``
  variables and ``--hiveconf k=v`` settings, as EMR's Hive steps take them;
- ``MAPREDUCE``: a job file (local, ``s3://``, or a bundled ``jobs/...`` example) and its
  arguments, run as ``rayemr mr JOBFILE ARGS...``;
- ``COMMAND``: any command line, as EMR's ``command-runner.jar`` runs it.

A spec is accepted in the forms EMR users write: the API's ``{"Name", "ActionOnFailure",
"HadoopJarStep": {"Jar": "command-runner.jar", "Args": [...]}}``, the AWS CLI's JSON
(``{"Type": "HIVE", "Name", "ActionOnFailure", "Args"}``) and its shorthand
(``Type=HIVE,Name=load,ActionOnFailure=CONTINUE,Args=[-f,s3://b/load.q,-d,IN=s3://b/in]``).
Specs are validated when built.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, Mapping

from rayemr.core.errors import ConfigError, UnsupportedError, UserError
from rayemr.core.secrets import check_url
from rayemr.core.statemachine import Machine


class StepType(str, Enum):
    HIVE = "HIVE"
    MAPREDUCE = "MAPREDUCE"
    COMMAND = "COMMAND"


class ActionOnFailure(str, Enum):
    """What happens to the cluster when a step fails (EMR's meaning)."""

    #: carry on with the next step
    CONTINUE = "CONTINUE"
    #: cancel every pending step; the cluster stays up, waiting
    CANCEL_AND_WAIT = "CANCEL_AND_WAIT"
    #: cancel every pending step and terminate the cluster
    TERMINATE_CLUSTER = "TERMINATE_CLUSTER"


class StepState(str, Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"

    @property
    def final(self) -> bool:
        return self in FINAL_STEP_STATES


FINAL_STEP_STATES = frozenset({StepState.COMPLETED, StepState.CANCELLED, StepState.FAILED})

#: A step's life. Anything else raises InvalidStateTransition.
STEP_MACHINE: Machine[StepState] = Machine("step", [
    (StepState.PENDING, "start", StepState.RUNNING),
    (StepState.PENDING, "cancel", StepState.CANCELLED),
    (StepState.PENDING, "previous_step_failed", StepState.CANCELLED),
    (StepState.PENDING, "cluster_terminating", StepState.CANCELLED),
    (StepState.RUNNING, "succeeded", StepState.COMPLETED),
    (StepState.RUNNING, "failed", StepState.FAILED),
    (StepState.RUNNING, "cluster_terminating", StepState.FAILED),
    (StepState.RUNNING, "cancel", StepState.CANCELLED),
], final=FINAL_STEP_STATES)


_ALIASES = {  # AWS CLI step types -> ours
    "HIVE": StepType.HIVE, "MAPREDUCE": StepType.MAPREDUCE, "MR": StepType.MAPREDUCE,
    "STREAMING": StepType.MAPREDUCE, "COMMAND": StepType.COMMAND,
    "CUSTOM_JAR": StepType.COMMAND,
}
_NOT_SUPPORTED_TYPES = {"PIG", "IMPALA", "SPARK"}
_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*=")


@dataclass(frozen=True)
class StepSpec:
    """One step as submitted: validated, immutable."""

    type: StepType
    args: tuple[str, ...]
    name: str = ""
    action_on_failure: ActionOnFailure = ActionOnFailure.CONTINUE

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", _enum(StepType, self.type, "Type", _ALIASES))
        object.__setattr__(self, "action_on_failure", _enum(
            ActionOnFailure, self.action_on_failure, "ActionOnFailure"))
        if isinstance(self.args, str):
            raise ConfigError(f"step {self.name or self.type.value}: Args must be a list")
        args = tuple(str(a) for a in self.args)
        for arg in args:  # a URL with credentials in it would be stored and shown
            check_url(arg, f"step {self.name or self.type.value} argument")
        object.__setattr__(self, "args", args)
        if not self.name:
            object.__setattr__(self, "name", _default_name(self.type, args))
        _VALIDATE[self.type](self)

    # ----------------------------------------------------------------------- hive accessors
    @property
    def hive_script(self) -> str:
        return hive_arguments(self.args, self.name)[0]

    @property
    def hive_vars(self) -> dict[str, str]:
        return hive_arguments(self.args, self.name)[1]

    @property
    def hive_conf(self) -> dict[str, str]:
        return hive_arguments(self.args, self.name)[2]

    def to_dict(self) -> dict[str, Any]:
        return {"Name": self.name, "Type": self.type.value,
                "ActionOnFailure": self.action_on_failure.value, "Args": list(self.args)}

    @classmethod
    def from_any(cls, value: Any) -> StepSpec:
        """A spec from a ``StepSpec``, a dict (API or CLI JSON form) or a shorthand string."""
        if isinstance(value, StepSpec):
            return value
        if isinstance(value, str):
            return cls.from_dict(parse_shorthand(value))
        if isinstance(value, Mapping):
            return cls.from_dict(value)
        raise ConfigError(f"a step must be a dict or a shorthand string, "
                          f"got {type(value).__name__}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StepSpec:
        known = {"Name", "Type", "ActionOnFailure", "Args", "HadoopJarStep", "Jar", "MainClass"}
        unknown = set(d) - known
        label = d.get("Name") or "step"
        if unknown:
            raise ConfigError(f"step {label}: unknown key(s) {', '.join(sorted(unknown))}",
                              hint=f"a step has {', '.join(sorted(known))}")
        args = d.get("Args", [])
        step_type = d.get("Type")
        jar = d.get("Jar")
        if "HadoopJarStep" in d:
            hjs = d["HadoopJarStep"]
            if not isinstance(hjs, Mapping):
                raise ConfigError(f"step {label}: HadoopJarStep must be an object")
            jar = hjs.get("Jar")
            args = hjs.get("Args", [])
        if not isinstance(args, (list, tuple)):
            raise ConfigError(f"step {label}: Args must be a list of strings")
        args = [str(a) for a in args]
        if step_type is None or str(step_type).upper() == "CUSTOM_JAR":
            step_type, args = _from_jar(label, jar, args)
        elif str(step_type).upper() in _NOT_SUPPORTED_TYPES:
            raise UnsupportedError(f"step {label}: step type {step_type} is not supported",
                                   hint="use HIVE, MAPREDUCE or COMMAND")
        return cls(type=step_type, args=tuple(args), name=str(d.get("Name") or ""),
                   action_on_failure=d.get("ActionOnFailure", "CONTINUE"))


def _enum(enum_cls, value, what: str, aliases: Mapping[str, Any] | None = None):
    if isinstance(value, enum_cls):
        return value
    key = str(value).strip().upper()
    if aliases and key in aliases:
        return aliases[key]
    if key in _NOT_SUPPORTED_TYPES and enum_cls is StepType:
        raise UnsupportedError(f"step type {value} is not supported",
                               hint="use HIVE, MAPREDUCE or COMMAND")
    try:
        return enum_cls(key)
    except ValueError:
        choices = ", ".join(m.value for m in enum_cls)
        raise ConfigError(f"step {what} {value!r} is not one of {choices}") from None


def _from_jar(label: str, jar: Any, args: list[str]) -> tuple[StepType, list[str]]:
    """EMR's ``command-runner.jar`` steps: ``hive-script --run-hive-script --args ...``."""
    if jar is None or str(jar).endswith("command-runner.jar"):
        if args[:3] == ["hive-script", "--run-hive-script", "--args"]:
            return StepType.HIVE, args[3:]
        if args[:1] == ["hive"]:
            return StepType.HIVE, args[1:]
        if args[:2] == ["rayemr", "mr"]:
            return StepType.MAPREDUCE, args[2:]
        return StepType.COMMAND, args
    raise UnsupportedError(f"step {label}: JAR steps ({jar}) cannot run on rayemr",
                           hint="use a HIVE, MAPREDUCE or COMMAND step")


def _default_name(step_type: StepType, args: tuple[str, ...]) -> str:
    return {StepType.HIVE: "Hive program", StepType.MAPREDUCE: "MapReduce job",
            StepType.COMMAND: "Command"}[step_type]


def hive_arguments(args: tuple[str, ...], name: str = "step"
                   ) -> tuple[str, dict[str, str], dict[str, str]]:
    """Split Hive step args into (script, hivevars, hiveconf); errors name the step."""
    script = None
    hvars: dict[str, str] = {}
    hconf: dict[str, str] = {}
    i = 0
    while i < len(args):
        flag = args[i]
        if flag in ("-f", "-d", "--define", "--hivevar", "--hiveconf"):
            if i + 1 >= len(args):
                raise ConfigError(f"step {name}: {flag} needs a value")
            value = args[i + 1]
            if flag == "-f":
                if script is not None:
                    raise ConfigError(f"step {name}: -f given twice")
                script = value
            else:
                if "=" not in value or not _VAR.match(value):
                    raise ConfigError(f"step {name}: {flag} expects NAME=VALUE, got {value!r}")
                k, v = value.split("=", 1)
                (hconf if flag == "--hiveconf" else hvars)[k] = v
            i += 2
            continue
        if flag.startswith("-d") and "=" in flag[2:]:  # -dK=V
            k, v = flag[2:].split("=", 1)
            hvars[k] = v
            i += 1
            continue
        raise ConfigError(f"step {name}: unexpected Hive argument {flag!r}",
                          hint="Hive steps take -f SCRIPT, -d NAME=VALUE, --hiveconf k=v")
    if not script:
        raise ConfigError(f"step {name}: a Hive step needs -f SCRIPT (a local path or s3:// URL)")
    return script, hvars, hconf


def _validate_hive(spec: StepSpec) -> None:
    hive_arguments(spec.args, spec.name)


def _validate_mapreduce(spec: StepSpec) -> None:
    if not spec.args or not spec.args[0] or spec.args[0].startswith("-"):
        raise ConfigError(f"step {spec.name}: a MapReduce step needs a job file first, "
                          f"then its arguments")


def _validate_command(spec: StepSpec) -> None:
    if not spec.args or not spec.args[0].strip():
        raise ConfigError(f"step {spec.name}: a command step needs a command line in Args")


_VALIDATE = {StepType.HIVE: _validate_hive, StepType.MAPREDUCE: _validate_mapreduce,
             StepType.COMMAND: _validate_command}


# ------------------------------------------------------------------------------- shorthand

def parse_shorthand(text: str) -> dict[str, Any]:
    """Parse the AWS CLI shorthand ``Type=HIVE,Name=x,Args=[a,b,c]`` into a dict."""
    out: dict[str, Any] = {}
    i, n = 0, len(text)
    while i < n:
        eq = text.find("=", i)
        if eq < 0:
            raise ConfigError(f"step {text!r}: expected Key=Value at {text[i:]!r}")
        key = text[i:eq].strip()
        if not key:
            raise ConfigError(f"step {text!r}: empty key before '='")
        i = eq + 1
        if i < n and text[i] == "[":
            end = _closing_bracket(text, i)
            out[key] = _split_list(text[i + 1:end])
            i = end + 1
            if i < n and text[i] != ",":
                raise ConfigError(f"step {text!r}: expected ',' after {key}=[...]")
            i += 1
        else:
            comma = text.find(",", i)
            comma = n if comma < 0 else comma
            out[key] = text[i:comma].strip()
            i = comma + 1
    if "Args" in out and isinstance(out["Args"], str):
        out["Args"] = [a for a in out["Args"].split() if a]
    return out


def _closing_bracket(text: str, start: int) -> int:
    depth = 0
    for j in range(start, len(text)):
        if text[j] == "[":
            depth += 1
        elif text[j] == "]":
            depth -= 1
            if depth == 0:
                return j
    raise UserError(f"step {text!r}: unbalanced '['")


def _split_list(body: str) -> list[str]:
    items, cur, quote = [], [], None
    for ch in body:
        if quote:
            if ch == quote:
                quote = None
            else:
                cur.append(ch)
        elif ch in "\"'":
            quote = ch
        elif ch == ",":
            items.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if cur or items:
        items.append("".join(cur))
    return [s.strip() for s in items]


# ------------------------------------------------------------------------- edge helpers

def parse_step_states(values: Any) -> tuple[StepState, ...]:
    """``--step-states`` values as ``StepState``s; a bad value is a one-line ``UserError``."""
    if values is None:
        return ()
    if isinstance(values, (str, StepState)):
        values = [values]
    out = []
    for value in values:
        try:
            out.append(value if isinstance(value, StepState)
                       else StepState(str(value).strip().upper()))
        except ValueError:
            choices = ", ".join(m.value for m in StepState)
            raise UserError(f"step state {value!r} is not valid",
                            hint=f"choose from {choices}") from None
    return tuple(out)


#: ``rayemr mr`` options whose value is not a path (their values are left alone).
_MR_VALUE_FLAGS = {"-r", "--runner", "--num-reducers", "--queue", "--conf", "-D", "--jobconf",
                   "--max-attempts", "--class"}
_MR_OUTPUT_FLAGS = ("-o", "--output-dir")


def _is_local_relative(path: str) -> bool:
    return bool(path) and "://" not in path and not path.startswith("~") \
        and not path.startswith("/")


def resolve_local_paths(spec: StepSpec, cwd: str) -> StepSpec:
    """``spec`` with the submitter's relative local paths made absolute against ``cwd``.

    Steps run on the master in their own folder, so a relative path only means what the
    submitter meant when it is resolved where the step was submitted: a Hive step's
    ``-f SCRIPT``; a MapReduce step's job file, its ``-o``/``--output-dir`` and any other
    argument naming an existing file or folder under ``cwd`` (its inputs). URLs
    (``s3://``, ``file://``), absolute and ``~`` paths and COMMAND steps are unchanged.
    """
    import os

    def absolute(path: str) -> str:
        return os.path.normpath(os.path.join(cwd, path))

    args = list(spec.args)
    if spec.type is StepType.HIVE:
        for i in range(len(args) - 1):
            if args[i] == "-f" and _is_local_relative(args[i + 1]):
                args[i + 1] = absolute(args[i + 1])
    elif spec.type is StepType.MAPREDUCE:
        if _is_local_relative(args[0]):
            args[0] = absolute(args[0])
        i = 1
        while i < len(args):
            arg = args[i]
            flag, eq, value = arg.partition("=")
            if arg in _MR_OUTPUT_FLAGS and i + 1 < len(args):
                if _is_local_relative(args[i + 1]):
                    args[i + 1] = absolute(args[i + 1])
                i += 2
                continue
            if eq and flag in _MR_OUTPUT_FLAGS and _is_local_relative(value):
                args[i] = f"{flag}={absolute(value)}"
            elif arg in _MR_VALUE_FLAGS:
                i += 2
                continue
            elif (not arg.startswith("-") and _is_local_relative(arg)
                  and os.path.exists(absolute(arg))):
                args[i] = absolute(arg)
            i += 1
    else:
        return spec
    if args == list(spec.args):
        return spec
    return StepSpec(type=spec.type, args=tuple(args), name=spec.name,
                    action_on_failure=spec.action_on_failure)
