"""How a job travels to its tasks: the job file's text (or an importable class) + arguments.

Each task process rebuilds the job from a :class:`JobSource`, as Hadoop streaming re-runs an
mrjob script per task. That works for rayemr ``MRJob`` subclasses and for subclasses of
``mrjob.job.MRJob`` alike (mrjob is then needed on the workers too). ``load_module`` runs a
job file's text as a module once per (path, text) and lets Ray pickle its classes by value.
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

from rayemr.core.errors import UserError

#: Modules made from job files are named this plus a digest of the path and text.
MODULE_PREFIX = "rayemr_jobfile_"


def load_module(path: str, source: str) -> types.ModuleType:
    """The module defined by ``source`` (the text of the file ``path``), made once."""
    digest = hashlib.sha1((path + "\0" + source).encode()).hexdigest()[:16]
    name = MODULE_PREFIX + digest
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
        importable = (mod != "__main__" and not mod.startswith(MODULE_PREFIX)
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
            obj = load_module(self.path, self.source)
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


__all__ = ["JobSource", "MODULE_PREFIX", "load_module"]
