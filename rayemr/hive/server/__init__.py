"""HiveServer2 for rayemr: pyhive, SQLAlchemy ``hive://``, pandas and beeline-style clients
reach rayemr's Hive sessions over HiveServer2's Thrift protocol (TCLIService).

``HiveServer2(port=0).start()`` returns the bound port; ``rayemr hiveserver2`` runs it from
the command line. See docs/hiveserver2.md.
"""
from __future__ import annotations

from rayemr.hive.server.config import ServerConfig
from rayemr.hive.server.handler import SessionRequest
from rayemr.hive.server.server import HiveServer2, default_session_factory

__all__ = ["HiveServer2", "ServerConfig", "SessionRequest", "default_session_factory"]
