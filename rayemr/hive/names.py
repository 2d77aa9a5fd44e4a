"""Database, table and column names as Hive validates them: names, never paths.

Hive's metastore accepts database and table names of letters, digits and ``_``
(``MetaStoreUtils.validateName``: ``[\\w_]+``, ASCII) up to 128 characters, and partition
keys likewise, because each of them becomes a folder name. Column names may hold more (any
printable character in backquotes) but never a path separator, ``..``, NUL or a control
character, and at most 767 characters (the metastore's column). A name that fails raises
``UserError`` naming it, before anything is created.
"""
from __future__ import annotations

import re

from rayemr.core.errors import UserError

MAX_NAME = 128
MAX_COLUMN = 767

_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_BAD_COLUMN = re.compile(r"[/\\\x00-\x1f\x7f]")


def _show(name: object) -> str:
    text = str(name)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def check_name(name: str, what: str = "table") -> str:
    """A database or table name (or a partition key): letters, digits, ``_``."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise UserError(f"Invalid {what} name {_show(name)}: use letters, digits and _")
    if len(name) > MAX_NAME:
        raise UserError(f"Invalid {what} name {_show(name)}: longer than {MAX_NAME} "
                        "characters")
    return name


def check_column(name: str, what: str = "column") -> str:
    """A column name: printable, no path separator, no ``..``."""
    if not isinstance(name, str) or not name.strip():
        raise UserError(f"Invalid {what} name {_show(name)}: empty")
    if _BAD_COLUMN.search(name) or ".." in name:
        raise UserError(f"Invalid {what} name {_show(name)}: /, \\, .. and control "
                        "characters are not allowed")
    if len(name) > MAX_COLUMN:
        raise UserError(f"Invalid {what} name {_show(name)}: longer than {MAX_COLUMN} "
                        "characters")
    return name
