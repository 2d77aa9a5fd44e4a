"""HiveServer2: the Thrift listener, one thread per client connection.

``HiveServer2(port=0).start()`` binds (loopback unless told otherwise), serves in background
threads and returns the bound port; ``stop()`` closes the listener, the connections and the
sessions. Each connection authenticates (SASL PLAIN, or none for NOSASL), then runs Thrift
calls on its own ``TCLIService.Processor``. Whatever arrives on the port — random bytes, a
truncated frame, an oversized length — costs at most that one connection.
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
        self._clients: set[socket.socket] = set()
        self._clients_lock = threading.Lock()
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
        with self._clients_lock:
            clients = list(self._clients)
        for sock in clients:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.state.shutdown()

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
            with self._clients_lock:
                crowded = len(self._clients) >= self.config.max_connections
                if not crowded:
                    self._clients.add(client.handle)
            if crowded:
                log.warning("refusing a connection: %d connections open",
                            self.config.max_connections)
                client.close()
                continue
            threading.Thread(target=self.handle, args=(client,), daemon=True,
                             name="hs2-conn").start()

    def handle(self, client: TSocket.TSocket) -> None:
        sock = client.handle
        peer = _peer(sock)
        handler: ConnectionHandler | None = None
        try:
            sock.settimeout(self.config.handshake_timeout)
            if self._authenticate is None:
                trans = TTransport.TBufferedTransport(client)
                user = None
            else:
                trans = TSaslServerTransport(client, self._authenticate)
                user = trans.negotiate()
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
            with self._clients_lock:
                self._clients.discard(sock)
            try:
                client.close()
            except Exception:  # noqa: BLE001
                pass


def _peer(sock: socket.socket) -> str:
    try:
        host, port = sock.getpeername()[:2]
        return f"{host}:{port}"
    except OSError:
        return "?"
