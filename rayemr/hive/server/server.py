"""HiveServer2: the Thrift listener, one thread per client connection.

``HiveServer2(port=0).start()`` binds (loopback unless told otherwise), serves in background
threads and returns the bound port; ``stop()`` closes the listener, the connections and the
sessions. Each connection authenticates (SASL PLAIN, or none for NOSASL), then runs Thrift
calls on its own ``TCLIService.Processor``. Whatever arrives on the port — random bytes, a
truncated frame, an oversized length — costs at most that one connection, and the limits of
:mod:`rayemr.hive.server.connections` (handshake deadline, handshakes at once, connections
per address) keep unauthenticated sockets from starving real clients. Failed logins make
their address wait (:class:`~rayemr.hive.server.auth.LoginThrottle`).
"""
from __future__ import annotations

import logging
import socket
import threading
from typing import Callable

from TCLIService import TCLIService
from rayemr.hive.server.fastproto import TCompatBinaryProtocol
from thrift.server.TServer import TThreadedServer
from thrift.transport import TSocket, TTransport

from rayemr.core.errors import ConfigError
from rayemr.hive.api import Session
from rayemr.hive.server import auth
from rayemr.hive.server.config import ServerConfig
from rayemr.hive.server.connections import Conn, Connections
from rayemr.hive.server.handler import ConnectionHandler, ServerState, SessionRequest
from rayemr.hive.server.sasl import SaslError, TSaslServerTransport

log = logging.getLogger(__name__)

#: Longest string and largest container a request may hold (statements are strings).
STRING_LIMIT = 64 * 1024 * 1024
CONTAINER_LIMIT = 1_000_000


def default_session_factory(options: dict | None = None) -> Callable[[SessionRequest], Session]:
    """Open a ``rayemr.hive.session.HiveSession`` per Thrift session, all sharing one metastore.

    ``options``: ``metastore_path``, ``warehouse``, ``runner`` (``ray``/``inline``).
    """
    options = dict(options or {})
    unknown = set(options) - {"metastore_path", "warehouse", "runner"}
    if unknown:
        raise ConfigError(f"unknown session options: {', '.join(sorted(unknown))}")
    shared: dict = {}
    lock = threading.Lock()

    def factory(req: SessionRequest) -> Session:
        from rayemr.hive.metastore import open_metastore
        from rayemr.hive.session import HiveSession

        with lock:
            if "metastore" not in shared:
                shared["metastore"] = open_metastore(options.get("metastore_path"),
                                                     options.get("warehouse"))
        metastore = shared["metastore"]
        return HiveSession(metastore, database=req.database or "default",
                           hiveconf=dict(req.hiveconf), hivevars=dict(req.hivevars),
                           runner=options.get("runner"),
                           policy=req.policy_for(metastore.warehouse))

    return factory


def _authenticator(config: ServerConfig) -> auth.Authenticator | None:
    if config.auth == "NOSASL":
        return None
    if config.auth == "CUSTOM":
        return auth.PasswordFileAuthenticator(config.password_file)
    if config.auth == "LDAP":
        return auth.LdapAuthenticator(config.ldap)
    return auth.allow_all


class HiveServer2(TThreadedServer):
    """A HiveServer2-compatible Thrift server for rayemr's Hive sessions."""

    def __init__(self, config: ServerConfig | None = None, *,
                 session_factory: Callable[[SessionRequest], Session] | None = None,
                 catalog_factory=None, **settings) -> None:
        if config is None:
            config = ServerConfig(**settings)
        elif settings:
            raise ConfigError("pass either a ServerConfig or keyword settings, not both")
        self.config = config
        self._authenticate = _authenticator(config)
        factory = session_factory or default_session_factory(dict(config.session_options))
        self.state = ServerState(config, factory, catalog_factory)
        super().__init__(None, TSocket.TServerSocket(host=config.host, port=config.port),
                         daemon=True)
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.connections = Connections(
            max_handshakes=config.max_handshakes, max_established=config.max_connections,
            max_per_address=config.max_per_address,
            handshake_timeout=config.handshake_timeout)
        self.throttle = auth.LoginThrottle()
        self._reaper: threading.Thread | None = None
        self.port: int | None = None

    def __repr__(self) -> str:
        return f"HiveServer2({self.config.host}:{self.port or self.config.port}, " \
               f"auth={self.config.auth})"

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> int:
        """Bind, serve in a background thread, return the bound port."""
        if self._thread is not None:
            return self.port
        try:
            self.serverTransport.listen()
        except OSError as exc:
            raise ConfigError(f"cannot listen on {self.config.host}:{self.config.port}: "
                              f"{exc.strerror or exc}") from None
        self._listener = self.serverTransport.handle
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self.serve, name=f"hs2-accept-{self.port}",
                                        daemon=True)
        self._thread.start()
        self._reaper = threading.Thread(target=self._reap, name=f"hs2-reaper-{self.port}",
                                        daemon=True)
        self._reaper.start()
        log.info("HiveServer2 listening on %s:%d (auth %s)", self.config.host, self.port,
                 self.config.auth)
        return self.port

    def serve_forever(self) -> None:
        self.start()
        try:
            while not self._stopping.wait(1.0):
                pass
        finally:
            self.stop()

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._listener is not None:
            for close in (lambda: self._listener.shutdown(socket.SHUT_RDWR),  # wakes accept()
                          self._listener.close):
                try:
                    close()
                except OSError:
                    pass
        for conn in self.connections.all():
            _drop(conn)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.state.shutdown()
        from rayemr.hive import sandbox

        sandbox.POOL.close_idle()

    def connection_count(self) -> int:
        """Open client connections (handshaking and established)."""
        return len(self.connections)

    def __enter__(self) -> HiveServer2:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- connections --------------------------------------------------------------------------
    def serve(self) -> None:
        while not self._stopping.is_set():
            try:
                client = self.serverTransport.accept()
            except Exception:  # noqa: BLE001 - listener closed, or a transient accept error
                if self._stopping.is_set():
                    return
                continue
            if client is None:
                continue
            admission = self.connections.admit(client.handle, _host(client.handle))
            for old in admission.drop:
                _drop(old)
            if admission.conn is None:
                log.warning("refusing a connection from %s: %d connections from that address",
                            _host(client.handle), self.config.max_per_address)
                client.close()
                continue
            threading.Thread(target=self.handle, args=(client, admission.conn), daemon=True,
                             name="hs2-conn").start()

    def _reap(self) -> None:
        """Cut handshakes at their deadline (checked a few times a second)."""
        period = max(0.05, min(0.25, self.config.handshake_timeout / 4))
        while not self._stopping.wait(period):
            for conn in self.connections.expired():
                log.info("closing a connection from %s: no login within %.0f s",
                         conn.address, self.config.handshake_timeout)
                _drop(conn)

    def _login(self, address: str):
        """The authenticator for one connection: refused at once while ``address`` backs
        off after failed logins; every outcome is counted."""
        check = self._authenticate

        def login(user: str, password: str) -> bool:
            wait = self.throttle.wait_time(address)
            if wait > 0:
                raise SaslError(f"too many failed logins from {address}: retry in "
                                f"{wait:.0f} s")
            ok = bool(check(user, password))
            (self.throttle.succeeded if ok else self.throttle.failed)(address)
            return ok

        return login

    def handle(self, client: TSocket.TSocket, conn: Conn | None = None) -> None:
        sock = client.handle
        peer = _peer(sock)
        if conn is None:  # called directly (tests): admit it now
            conn = self.connections.admit(sock, _host(sock)).conn or Conn(sock, "?", 0.0)
        handler: ConnectionHandler | None = None
        try:
            sock.settimeout(self.config.handshake_timeout)
            if self._authenticate is None:
                trans = TTransport.TBufferedTransport(client)
                user = None
            else:
                trans = TSaslServerTransport(client, self._login(conn.address))
                user = trans.negotiate()
                if not self.connections.establish(conn):
                    log.warning("closing a connection from %s: %d connections open", peer,
                                self.config.max_connections)
                    return
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            handler = ConnectionHandler(self.state, user)
            processor = TCLIService.Processor(handler)
            processor._processMap.pop("GetLog", None)  # V6 clients fall back to fetchType=1
            # strictRead: every real client sends the versioned header; anything else (a
            # SASL client at a NOSASL port, random bytes) is refused at its first bytes.
            prot = TCompatBinaryProtocol(trans, strictRead=True,
                                         string_length_limit=STRING_LIMIT,
                                         container_length_limit=CONTAINER_LIMIT)
            if not conn.established:  # NOSASL: the first request ends the handshake
                sock.settimeout(self.config.handshake_timeout)
                processor.process(prot, prot)
                sock.settimeout(None)
                if not self.connections.establish(conn):
                    return
            while not self._stopping.is_set():
                processor.process(prot, prot)
        except SaslError as exc:
            log.info("connection from %s refused: %s", peer, exc)
        except (TTransport.TTransportException, OSError, EOFError):
            pass  # the client went away or sent a truncated message
        except Exception as exc:  # noqa: BLE001 - garbage on the wire ends only this connection
            log.info("closing connection from %s: %s: %s", peer, type(exc).__name__,
                     str(exc)[:200])
        finally:
            if handler is not None:
                handler.disconnect()
            self.connections.release(conn)
            try:
                client.close()
            except Exception:  # noqa: BLE001
                pass


def _drop(conn: Conn) -> None:
    """End a connection from outside its thread (its blocked read fails at once)."""
    try:
        conn.sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _host(sock: socket.socket) -> str:
    try:
        return str(sock.getpeername()[0])
    except OSError:
        return "?"


def _peer(sock: socket.socket) -> str:
    try:
        host, port = sock.getpeername()[:2]
        return f"{host}:{port}"
    except OSError:
        return "?"
