"""rayemr.hive: HiveQL on Ray — metastore, SQL compiled to engine stages, DuckDB per task.

``rayemr.hive.connect()`` opens a PEP 249 connection in local mode;
``rayemr.hive.session.HiveSession`` is the session front ends (CLI, HiveServer2) drive.
"""
from __future__ import annotations


def connect(*args, **kwargs):
    from rayemr.hive.dbapi import connect as _connect

    return _connect(*args, **kwargs)


__all__ = ["connect"]
