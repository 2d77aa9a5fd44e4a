"""MRStep: one map/combine/reduce step of a job, validated when it is built (as mrjob's)."""
from __future__ import annotations

from typing import Any

MAPPER_FUNCS = ("mapper", "mapper_init", "mapper_final", "mapper_cmd", "mapper_pre_filter")
COMBINER_FUNCS = ("combiner", "combiner_init", "combiner_final", "combiner_cmd",
                  "combiner_pre_filter")
REDUCER_FUNCS = ("reducer", "reducer_init", "reducer_final", "reducer_cmd",
                 "reducer_pre_filter")
STEP_PARAMS = MAPPER_FUNCS + COMBINER_FUNCS + REDUCER_FUNCS + ("jobconf",)


class MRStep:
    """A step: ``MRStep(mapper=..., combiner=..., reducer=..., mapper_init=..., ...)``.

    Functions are generator functions (or return iterables of ``(key, value)``); ``*_cmd`` are
    shell commands that replace a Python function, ``*_pre_filter`` shell commands that
    filter its input. ``jobconf`` adds per-step configuration.
    """

    def __init__(self, **kwargs: Any) -> None:
        bad = sorted(set(kwargs) - set(STEP_PARAMS))
        if bad:
            raise TypeError(f"MRStep() got an unexpected keyword argument {bad[0]!r}")
        if not any(kwargs.get(n) is not None for n in MAPPER_FUNCS + REDUCER_FUNCS):
            raise ValueError("Step has no mappers and no reducers")
        for cmd, funcs in (("mapper_cmd", MAPPER_FUNCS), ("combiner_cmd", COMBINER_FUNCS),
                           ("reducer_cmd", REDUCER_FUNCS)):
            if kwargs.get(cmd) is not None:
                for f in funcs[:3]:
                    if kwargs.get(f) is not None:
                        raise ValueError(f"Can't specify both {cmd} and {f}")
        for name, value in kwargs.items():
            if name.endswith(("_cmd", "_pre_filter")):
                if value is not None and not isinstance(value, str):
                    raise TypeError(f"{name} must be a shell command string, not {value!r}")
            elif name != "jobconf" and value is not None and not callable(value):
                raise TypeError(f"{name} is not callable: {value!r}")
        self._steps = {n: kwargs.get(n) for n in STEP_PARAMS}
        self._steps["jobconf"] = dict(kwargs.get("jobconf") or {})

    def __getitem__(self, key: str) -> Any:
        return self._steps[key]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MRStep) and self._steps == other._steps

    def __repr__(self) -> str:
        set_ = ", ".join(f"{k}={getattr(v, '__name__', v)!r}" for k, v in self._steps.items()
                         if v)
        return f"MRStep({set_})"

    def has(self, part: str) -> bool:
        """Whether the step has a mapper/combiner/reducer (a function or a command)."""
        return _substep(self._steps, part) is not None

    def description(self, step_num: int = 0) -> dict[str, Any]:
        """mrjob's step description dict (``{'type': 'streaming', 'mapper': {...}}``)."""
        desc: dict[str, Any] = {"type": "streaming"}
        for part in ("mapper", "combiner", "reducer"):
            sub = _substep(self._steps, part)
            if sub is not None:
                desc[part] = sub
        if self._steps["jobconf"]:
            desc["jobconf"] = self._steps["jobconf"]
        return desc


def _substep(steps: dict[str, Any], part: str) -> dict[str, Any] | None:
    cmd = steps.get(f"{part}_cmd")
    pre = steps.get(f"{part}_pre_filter")
    if cmd is not None:
        return {"type": "command", "command": cmd}
    if steps.get(part) is not None or steps.get(f"{part}_init") or steps.get(f"{part}_final"):
        sub: dict[str, Any] = {"type": "script"}
        if pre:
            sub["pre_filter"] = pre
        return sub
    return None

