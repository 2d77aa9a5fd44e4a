"""Running one step: its command line, its process, its logs.

``step_command`` turns a step into the command EMR would run (pure, unit-tested):

- COMMAND: the arguments as given (``rayemr ...`` runs this installation's rayemr);
- HIVE: ``rayemr hive -f SCRIPT --hivevar K=V ... --hiveconf k=v ...`` with the cluster's
  ``core-site``/``mapred-site``/``hive-site`` values as ``--hiveconf`` (the step's own win),
  and the metastore and warehouse ``hive-site`` names as ``--metastore``/``--warehouse``;
- MAPREDUCE: ``rayemr mr JOBFILE ARGS... --conf k=v`` with ``mapred-site``/``core-site``.

``run_step`` runs a step to its end: ``fetch_inputs`` copies its remote script or job file,
and ``StepProcess`` runs its command as a subprocess in the step's own folder, writes
``stdout``, ``stderr`` and ``controller`` there, can be killed (the whole process group), and
uploads the three files to ``<log-uri>/<cluster-id>/steps/<step-id>/`` as EMR lays them out.

Secrets never travel on a command line (``ps`` shows it to every user): ``StepProcess``
takes the hidden settings (``hive.conf.hidden.list``, any key naming a secret) out of a
rayemr command's ``--hiveconf``/``--conf`` pairs; S3 credentials go to the step as the AWS
environment variables every AWS SDK reads, and a Hive step reads the rest from a 0600 file
in its folder (``--hiveconf-file``), removed when the step ends. A MapReduce step gets only
the S3 credentials (the other secrets are not passed).
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from rayemr.core.errors import RayEmrError
from rayemr.core.secrets import is_hidden
from rayemr.emr import storage
from rayemr.emr.configurations import (METASTORE_URL, WAREHOUSE_DIR, ClusterConfig,
                                       hive_metastore_options)
from rayemr.emr.steps import StepSpec, StepType

#: Seconds between log uploads while a step runs.
UPLOAD_EVERY_S = 15.0
KILL_GRACE_S = 5.0


def run_step(step_id: str, spec: StepSpec, config: ClusterConfig, *, folder: str,
             env: Mapping[str, str], log_prefix: str | None, emrfs: Any = None,
             started: Callable[[StepProcess], None] = lambda proc: None) -> tuple[int, str]:
    """Run one step to its end in ``folder``: fetch its remote script or job file, run its
    command (``started`` is told the process, e.g. to kill it); returns the exit code and,
    for a failure, a reason naming it."""
    try:
        inputs = fetch_inputs(spec, os.path.join(folder, "input"), emrfs)
        cmd = step_command(spec, config, inputs)
    except RayEmrError as exc:
        proc = StepProcess(step_id, ["(not started)"], folder, {}, log_prefix=log_prefix,
                           emrfs=emrfs)
        with open(proc.paths["stderr"], "w") as f:
            f.write(f"{exc}\n")
        proc.note(f"ERROR {exc}")
        proc.upload()
        return 1, str(exc)
    proc = StepProcess(step_id, cmd, folder, env, log_prefix=log_prefix, emrfs=emrfs)
    started(proc)
    code = proc.run()
    if code == 0 or proc.killed:
        return code, ""
    tail = proc.output()[1][-400:].decode("utf-8", "replace").strip().splitlines()
    return code, f"exit code {code}" + (f": {tail[-1]}" if tail else "")


def fetch_inputs(spec: StepSpec, folder: str, emrfs: Any = None) -> StepInputs:
    """Local copies of the step's remote Hive script or job file, under ``folder``."""
    if spec.type is StepType.HIVE:
        return StepInputs(hive_script=storage.fetch(spec.hive_script, folder, emrfs,
                                                    what="Hive script"))
    if spec.type is StepType.MAPREDUCE and storage.is_remote(spec.args[0]):
        return StepInputs(job_file=storage.fetch(spec.args[0], folder, emrfs, what="job file"))
    return StepInputs()


def rayemr_command() -> list[str]:
    """This installation's ``rayemr`` command (the same Python environment)."""
    return [sys.executable, "-m", "rayemr.cli"]


def _conf_pairs(flag: str, *maps: Mapping[str, str]) -> list[str]:
    merged: dict[str, str] = {}
    for m in maps:
        merged.update(m)
    out: list[str] = []
    for k in sorted(merged):
        out += [flag, f"{k}={merged[k]}"]
    return out


@dataclass(frozen=True)
class StepInputs:
    """Local copies of a step's remote files (Hive script, job file)."""

    hive_script: str | None = None
    job_file: str | None = None


def step_command(spec: StepSpec, config: ClusterConfig, inputs: StepInputs = StepInputs(),
                 *, database: str | None = None) -> list[str]:
    """The command line that runs ``spec`` on this cluster."""
    if spec.type is StepType.COMMAND:
        args = list(spec.args)
        if args[0] == "rayemr":
            return rayemr_command() + args[1:]
        return args
    if spec.type is StepType.HIVE:
        cmd = rayemr_command() + ["hive", "-f", inputs.hive_script or spec.hive_script]
        for k, v in spec.hive_vars.items():
            cmd += ["--hivevar", f"{k}={v}"]
        site = {k: v for k, v in config.classification("hive-site").items()
                if k not in (METASTORE_URL, WAREHOUSE_DIR)}
        # Hive reads Hadoop's configuration too: mapred-site (queue, reducers) applies.
        cmd += _conf_pairs("--hiveconf", config.classification("core-site"),
                           config.classification("mapred-site"), site, spec.hive_conf)
        metastore, warehouse = hive_metastore_options(config)
        if metastore:
            cmd += ["--metastore", metastore]
        if warehouse:
            cmd += ["--warehouse", warehouse]
        if database:
            cmd += ["--database", database]
        return cmd
    job = inputs.job_file or spec.args[0]
    mapred = config.classification("mapred-site")
    cmd = rayemr_command() + ["mr", job, *spec.args[1:]]
    queue = mapred.get("mapreduce.job.queuename")
    if queue and "--queue" not in spec.args:
        cmd += ["--queue", queue]
    return cmd + _conf_pairs("--conf", config.classification("core-site"), mapred)


#: Hadoop's S3 credential keys -> the environment variables AWS SDKs read.
_AWS_ENV = {
    **dict.fromkeys(("fs.s3.access.key", "fs.s3.awsaccesskeyid", "fs.s3n.awsaccesskeyid",
                     "fs.s3a.access.key"), "AWS_ACCESS_KEY_ID"),
    **dict.fromkeys(("fs.s3.secret.key", "fs.s3.awssecretaccesskey",
                     "fs.s3n.awssecretaccesskey", "fs.s3a.secret.key"), "AWS_SECRET_ACCESS_KEY"),
    **dict.fromkeys(("fs.s3.session.token", "fs.s3a.session.token"), "AWS_SESSION_TOKEN"),
}
_CONF_FLAGS = ("--hiveconf", "--conf")
SECRET_FILE = "secrets.json"


def split_secrets(cmd: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """``cmd`` without its hidden ``--hiveconf``/``--conf KEY=VALUE`` pairs, and those."""
    out: list[str] = []
    secrets: dict[str, str] = {}
    i = 0
    while i < len(cmd):
        if cmd[i] in _CONF_FLAGS and i + 1 < len(cmd):
            key, sep, value = cmd[i + 1].partition("=")
            if sep and is_hidden(key):
                secrets[key] = value
                i += 2
                continue
        out.append(cmd[i])
        i += 1
    return out, secrets


def _write_private(path: str, data: str) -> None:
    """Write ``data`` to a new file only its owner can read."""
    if os.path.lexists(path):
        os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(data)


class StepProcess:
    """One step's subprocess, its log files, and their upload."""

    def __init__(self, step_id: str, cmd: Sequence[str], workdir: str, env: Mapping[str, str],
                 *, log_prefix: str | None, emrfs: Any = None) -> None:
        self.step_id = step_id
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.cmd, self.env, self.secret_file = _without_secrets(list(cmd), dict(env), workdir)
        self.log_prefix = log_prefix
        self.emrfs = emrfs
        self._proc: subprocess.Popen | None = None
        self._killed = threading.Event()
        self._lock = threading.Lock()
        self.paths = {name: os.path.join(workdir, name)
                      for name in ("stdout", "stderr", "controller")}
        self._controller: list[str] = []

    def note(self, line: str) -> None:
        self._controller.append(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {line}")
        with open(self.paths["controller"], "w") as f:
            f.write("\n".join(self._controller) + "\n")

    def run(self) -> int:
        """Run to the end; returns the exit code (negative: killed by that signal)."""
        self.note("INFO startExec " + " ".join(_redact(a) for a in self.cmd))
        try:
            with open(self.paths["stdout"], "wb") as out, open(self.paths["stderr"], "wb") as err:
                with self._lock:
                    if self._killed.is_set():
                        self.note("INFO step cancelled before it started")
                        return -signal.SIGTERM
                    self._proc = subprocess.Popen(
                        self.cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                        cwd=self.workdir, env=self.env, start_new_session=True)
                code = self._wait()
        except OSError as exc:
            with open(self.paths["stderr"], "ab") as err:
                err.write(f"cannot start {self.cmd[0]}: {exc}\n".encode())
            code = 127
        finally:
            if self.secret_file and os.path.exists(self.secret_file):
                os.unlink(self.secret_file)
        self.note(f"INFO exit code {code}" + (" (killed)" if self._killed.is_set() else ""))
        self.upload()
        return code

    def _wait(self) -> int:
        """Wait for the process to end, uploading the logs every ``UPLOAD_EVERY_S`` meanwhile."""
        assert self._proc is not None
        while True:
            try:
                return self._proc.wait(timeout=UPLOAD_EVERY_S if self.log_prefix else None)
            except subprocess.TimeoutExpired:
                self.upload()

    def kill(self) -> None:
        """Stop the step: SIGTERM to its process group, SIGKILL after a grace period."""
        with self._lock:
            self._killed.set()
            proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        self.note("INFO cancelling: SIGTERM to the step's processes")
        _signal_group(proc, signal.SIGTERM)

        def escalate() -> None:
            try:
                proc.wait(timeout=KILL_GRACE_S)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
        threading.Thread(target=escalate, daemon=True).start()

    @property
    def killed(self) -> bool:
        return self._killed.is_set()

    def output(self) -> tuple[bytes, bytes]:
        return _read(self.paths["stdout"]), _read(self.paths["stderr"])

    def upload(self) -> None:
        """Copy the step's logs to the log URI (errors are noted, never raised)."""
        if not self.log_prefix:
            return
        for name, path in self.paths.items():
            try:
                storage.write_bytes(storage.join(self.log_prefix, name), _read(path), self.emrfs)
            except RayEmrError as exc:  # the step's outcome must not depend on log upload
                self._controller.append(f"WARN cannot upload {name}: {exc}")


def _without_secrets(cmd: list[str], env: dict[str, str], workdir: str
                     ) -> tuple[list[str], dict[str, str], str | None]:
    """A rayemr command's argv and environment with its secrets moved off the command line
    (see the module docstring); other commands are the user's own and run as given."""
    base = rayemr_command()
    if cmd[:len(base)] != base:
        return cmd, env, None
    cmd, secrets = split_secrets(cmd)
    if not secrets:
        return cmd, env, None
    for key, value in secrets.items():
        if key.lower() in _AWS_ENV:
            env[_AWS_ENV[key.lower()]] = value
    if cmd[len(base):len(base) + 1] != ["hive"]:
        return cmd, env, None
    path = os.path.join(workdir, SECRET_FILE)
    _write_private(path, json.dumps(secrets))
    return cmd + ["--hiveconf-file", path], env, path


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


_SECRET_ARG = re.compile(r"(?i)(secret|password|token|access\.key)[^=]*=")


def _redact(arg: str) -> str:
    return arg.split("=", 1)[0] + "=****" if _SECRET_ARG.search(arg) else arg
