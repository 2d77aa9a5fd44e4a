"""Loading a job from a Python file: the job class it defines (rayemr's or mrjob's).

Above both job classes (``MRJob``, ``BatchJob``): it finds their subclasses in a job file,
for ``rayemr mr job.py``, the bundled examples and EMR steps.
"""
from __future__ import annotations

import os
import types

from rayemr.core.errors import InputNotFoundError, UserError
from rayemr.mapreduce.batch import BatchJob
from rayemr.mapreduce.job import MRJob
from rayemr.mapreduce.jobinfo import is_mrjob_job
from rayemr.mapreduce.source import load_module


def job_classes(module: types.ModuleType) -> list[type]:
    """MRJob subclasses (rayemr's or mrjob's) and BatchJob subclasses defined in ``module``."""
    out = []
    for obj in vars(module).values():
        if not isinstance(obj, type) or obj.__module__ != module.__name__:
            continue
        if issubclass(obj, (MRJob, BatchJob)) or is_mrjob_job(obj):
            out.append(obj)
    return out


def load_job_file(path: str, class_name: str | None = None) -> type:
    """The job class defined in the Python file ``path``."""
    if not os.path.isfile(path):
        raise InputNotFoundError(f"{path}: no such job file")
    with open(path, encoding="utf-8") as f:
        source = f.read()
    try:
        module = load_module(os.path.abspath(path), source)
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


__all__ = ["job_classes", "load_job_file"]
