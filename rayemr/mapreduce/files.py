"""FILES: local files a job ships into every task's working directory (as mrjob's)."""
from __future__ import annotations

import os
from typing import Any, Sequence

from rayemr.core.errors import InputNotFoundError, UserError


def job_files(job: Any, files: Sequence[str]) -> list[str]:
    """Paths of ``files``, relative ones resolved against the job script's directory."""
    if isinstance(files, str):
        raise UserError(f"{type(job).__name__}.FILES must be a list of paths, not a string")
    script = job.mr_job_script() if hasattr(job, "mr_job_script") else None
    base = os.path.dirname(script) if script else os.getcwd()
    out = []
    for path in files:
        name, _, alias = str(path).partition("#")
        name = os.path.expanduser(os.path.expandvars(name))
        full = name if os.path.isabs(name) else os.path.join(base, name)
        out.append(full + (f"#{alias}" if alias else ""))
    return out


def load_files(paths: Sequence[str]) -> tuple[tuple[str, bytes], ...]:
    """(name in the working directory, contents) of each file (``path#name`` renames)."""
    out = []
    for entry in paths:
        path, _, alias = entry.partition("#")
        if not os.path.isfile(path):
            raise InputNotFoundError(f"{path}: job file listed in FILES does not exist")
        with open(path, "rb") as f:
            out.append((alias or os.path.basename(path), f.read()))
    return tuple(out)
