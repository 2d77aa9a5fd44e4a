"""Jobs from files, mrjob's protocol choice, and running mrjob-written jobs unchanged.

A job travels to tasks as a :class:`JobSource`: the job file's text (or an importable class)
plus the job's arguments; each task process rebuilds the job from it, as Hadoop streaming
re-runs an mrjob script per task. That works for rayemr ``MRJob`` subclasses and for
subclasses of ``mrjob.job.MRJob`` alike (mrjob is then needed on the workers too).
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
import types
from dataclasses import dataclass
from typing import Any

from rayemr.core.errors import InputNotFoundError, UserError

_MODULE_PREFIX = "rayemr_jobfile_"


def is_mrjob_job(obj: Any) -> bool:
    """Whether ``obj`` (a class or instance) is an ``mrjob.job.MRJob``."""
    mod = sys.modules.get("mrjob.job")
    if mod is None:
        return False
    cls = obj if isinstance(obj, type) else type(obj)
    return issubclass(cls, mod.MRJob)


def _load_module(path: str, source: str) -> types.ModuleType:
    digest = hashlib.sha1((path + "\0" + source).encode()).hexdigest()[:16]
    name = _MODULE_PREFIX + digest
    mod = sys.modules.get(name)
    if mod is not None:
        return mod
    mod = types.ModuleType(name)
    mod.__file__ = path
    sys.modules[name] = mod
    try:
        exec(compile(source, path, "exec"), mod.__dict__)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    _pickle_by_value(mod)
    return mod


def _pickle_by_value(mod: types.ModuleType) -> None:
    """Let Ray ship classes of a job file to workers that cannot import it."""
    for name in ("ray.cloudpickle", "cloudpickle"):
        try:
            cp = importlib.import_module(name)
            cp.register_pickle_by_value(mod)
        except Exception:  # noqa: BLE001 -- not installed, or too old
            pass


def job_classes(module: types.ModuleType) -> list[type]:
    """MRJob subclasses (rayemr's or mrjob's) defined in ``module``."""
    from rayemr.mapreduce.job import MRJob
    from rayemr.mapreduce.batch import BatchJob

    out = []
    for obj in vars(module).values():
        if not isinstance(obj, type) or obj.__module__ != module.__name__:
            continue
        if (issubclass(obj, (MRJob, BatchJob)) or is_mrjob_job(obj)):
            out.append(obj)
    return out


def load_job_file(path: str, class_name: str | None = None) -> type:
    """The job class defined in the Python file ``path``."""
    if not os.path.isfile(path):
        raise InputNotFoundError(f"{path}: no such job file")
    with open(path, encoding="utf-8") as f:
        source = f.read()
    try:
        module = _load_module(os.path.abspath(path), source)
    except SyntaxError as exc:
        raise UserError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except ImportError as exc:
        raise UserError(f"{path}: cannot import {exc.name!r}: {exc}",
                        hint="install it (mrjob jobs need `pip install rayemr[mrjob]`)"
                        ) from None
    classes = job_classes(module)
    if class_name:
        classes = [c for c in classes if c.__name__ == class_name]
    if not classes:
        raise UserError(f"{path}: defines no MRJob subclass"
                        + (f" named {class_name}" if class_name else ""))
    if len(classes) > 1:
        # the job is the class no other class in the file derives from
        leaves = [c for c in classes if not any(o is not c and issubclass(o, c)
                                                for o in classes)]
        if len(leaves) != 1:
            raise UserError(f"{path}: several job classes "
                            f"({', '.join(c.__name__ for c in classes)}); name one")
        classes = leaves
    return classes[0]


@dataclass(frozen=True)
class JobSource:
    """How a task rebuilds the job: a file's source text or an importable class, + args."""

    class_name: str
    args: tuple[str, ...]
    path: str = ""
    source: str = ""
    module: str = ""
    #: The class itself, for classes defined inside functions (pickled by value).
    klass: Any = None

    @classmethod
    def of(cls, job: Any) -> "JobSource":
        klass = type(job)
        args = tuple(getattr(job, "_args", None) or _mrjob_args(job))
        mod = klass.__module__
        if "<locals>" in klass.__qualname__:
            return cls(klass.__qualname__, args, klass=klass)
        importable = (mod != "__main__" and not mod.startswith(_MODULE_PREFIX)
                      and _importable(mod))
        if importable:
            return cls(klass.__qualname__, args, module=mod)
        path = getattr(sys.modules.get(mod), "__file__", None) or inspect.getsourcefile(klass)
        if not path:
            raise UserError(f"{klass.__name__}: cannot find the file that defines the job")
        with open(path, encoding="utf-8") as f:
            source = f.read()
        return cls(klass.__qualname__, args, path=os.path.abspath(path), source=source)

    def job_class(self) -> type:
        if self.klass is not None:
            return self.klass
        if self.module:
            obj: Any = _import_job_module(self.module, self.class_name)
        else:
            obj = _load_module(self.path, self.source)
        for part in self.class_name.split("."):
            obj = getattr(obj, part)
        return obj

    def build(self) -> Any:
        return self.job_class()(args=list(self.args))


def _import_job_module(module: str, class_name: str) -> Any:
    """The job's module, or a UserError saying why a task process cannot import it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if not exc.name or not (module == exc.name or module.startswith(exc.name + ".")):
            raise  # the module itself imports something missing: its own error
        raise UserError(
            f"job class {class_name}: module {module!r} cannot be imported in the task "
            f"process (the folder it comes from is on the submitting process's sys.path "
            f"only)", hint="put that folder on PYTHONPATH before running the job, install "
            "the module, or run the job file itself (python job.py / rayemr mr job.py)"
        ) from None


def _importable(mod: str) -> bool:
    try:
        return importlib.util.find_spec(mod) is not None
    except (ImportError, ValueError):
        return False


def _mrjob_args(job: Any) -> list[str]:
    # mrjob keeps the parsed arguments only; rebuild from what the runner stored
    return list(getattr(job, "_rayemr_args", []))


# -- protocols, as mrjob picks them -------------------------------------------------------
def _script_step_mapping(steps_desc: list[dict[str, Any]]) -> dict[str, int]:
    mapping, n = {}, 0
    for i, step in enumerate(steps_desc):
        for part in ("mapper", "reducer"):
            if part in step and step[part]["type"] == "script":
                mapping[f"{i}-{part}"] = n
                n += 1
    return mapping


def pick_protocols(job: Any, step_num: int, step_type: str) -> tuple[Any, Any]:
    """(read, write) protocol instances of a script substep (mrjob's rules)."""
    if hasattr(job, "_pick_protocol_instances") and is_mrjob_job(job):
        return job._pick_protocol_instances(step_num, step_type)
    steps = job._steps_desc()
    mapping = _script_step_mapping(steps)
    last = len(mapping) - 1
    if step_type == "combiner":
        key = f"{step_num}-mapper"
        if key in mapping:
            p = job.output_protocol() if mapping[key] >= last else job.internal_protocol()
        else:
            from rayemr.mapreduce.protocol import TextValueProtocol
            p = TextValueProtocol()
        return p, p
    key = f"{step_num}-{step_type}"
    if key not in mapping:
        raise ValueError("Can't pick a protocol for a non-script step")
    n = mapping[key]
    write = job.output_protocol() if n == last else job.internal_protocol()
    read = job.input_protocol() if n == 0 else job.internal_protocol()
    return read, write


def sort_values(job: Any) -> bool:
    fn = getattr(job, "sort_values", None)
    return bool(fn() if callable(fn) else getattr(job, "SORT_VALUES", False))


def jobconf(job: Any) -> dict[str, str]:
    fn = getattr(job, "jobconf", None)
    conf = fn() if callable(fn) else dict(getattr(job, "JOBCONF", {}) or {})
    return {str(k): str(v) for k, v in (conf or {}).items()}
