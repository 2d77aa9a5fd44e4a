"""One error tree for rayemr.

``RayEmrError`` splits into ``UserError`` (the input is wrong: bad SQL, unknown table or
queue, missing input, output exists, bad configuration) and ``ClusterError`` (something
failed while running: a container was lost, a stage failed). Messages say what failed,
where, why and what to do next. Every error pickles, because errors cross Ray.

The CLI and HiveServer2 show a ``UserError`` as one line, never with a traceback.
"""
from __future__ import annotations


class RayEmrError(Exception):
    """Base of every error rayemr raises on purpose."""

    #: Exit code the CLI uses for this kind of error.
    exit_code = 1
    #: SQLSTATE-like code used by HiveServer2 error statuses.
    sql_state = "HY000"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __reduce__(self):  # pickle with keyword arguments intact
        return (_rebuild, (type(self), self.message, self.hint, dict(self.__dict__)))

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


def _rebuild(cls, message, hint, state):
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    err.message = message
    err.hint = hint
    return err


class UserError(RayEmrError):
    """The request is wrong; fixing the input fixes the problem."""

    sql_state = "42000"


class ConfigError(UserError):
    """A configuration value, classification or file is invalid."""


class InputNotFoundError(UserError, FileNotFoundError):
    """An input path, table, queue or application does not exist."""

    sql_state = "42S02"


class OutputExistsError(UserError, FileExistsError):
    """The output location already holds data and overwrite was not asked for."""


class AccessDeniedError(UserError, PermissionError):
    """Credentials are missing or refused, or an ACL forbids the request."""

    sql_state = "42501"


class UnsupportedError(UserError):
    """The request is valid in Hadoop/Hive/EMR but rayemr does not support it (yet)."""

    sql_state = "0A000"


class ClusterError(RayEmrError):
    """Something failed while running: a task, a container, a node, storage."""

    exit_code = 2


class StorageError(ClusterError):
    """Storage (S3 or a file system) failed after retries."""


class InvalidStateTransition(RayEmrError):
    """A state machine was asked for a transition its table does not allow."""

    def __init__(self, kind: str, key: str, from_state: object, to_state: object, event: str = ""):
        msg = f"{kind} {key}: cannot go from {_name(from_state)} to {_name(to_state)}"
        if event:
            msg += f" on {event}"
        super().__init__(msg)
        self.kind, self.key, self.from_state, self.to_state, self.event = (
            kind, key, from_state, to_state, event)


def _name(state: object) -> str:
    return getattr(state, "name", str(state))
