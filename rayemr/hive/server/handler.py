"""The TCLIService calls: sessions, operations and their translation to Hive sessions.

:class:`ServerState` holds what all connections share (sessions, operations, the async worker
pool); :class:`ConnectionHandler` is the Thrift ``Iface`` for one client connection: it knows
the authenticated user and closes the sessions the connection opened when it goes away.

Every call answers with a ``TStatus``: any failure, even a bug, becomes an error status with a
SQL state and a one-line message instead of a broken connection.
"""
from __future__ import annotations

import concurrent.futures
import functools
import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import Callable

from TCLIService import TCLIService, ttypes

from rayemr import __version__
from rayemr.core.errors import InputNotFoundError, RayEmrError, UserError
from rayemr.hive.api import Session, StatementResult
from rayemr.hive.policy import SessionPolicy
from rayemr.hive.server import metadata, rowset
from rayemr.hive.server.config import ServerConfig
from rayemr.hive.server.operation import OpError, Operation, OpState, describe_error

log = logging.getLogger(__name__)

V6 = ttypes.TProtocolVersion.HIVE_CLI_SERVICE_PROTOCOL_V6
OT = ttypes.TOperationType
SUCCESS = ttypes.TStatus(statusCode=ttypes.TStatusCode.SUCCESS_STATUS)


def _no_policy(warehouse: str | None) -> SessionPolicy:
    raise UserError("this session request carries no policy")


@dataclass(frozen=True)
class SessionRequest:
    """What a client asked for at OpenSession, after checks.

    ``policy_for(warehouse)`` gives the limits of the session to open over that warehouse;
    a session factory must pass them to the session (sessions without one are refused).
    """

    user: str
    database: str | None = None
    hiveconf: dict[str, str] = field(default_factory=dict)
    hivevars: dict[str, str] = field(default_factory=dict)
    policy_for: Callable[[str | None], SessionPolicy] = _no_policy


SessionFactory = Callable[[SessionRequest], Session]


class _SessionEntry:
    def __init__(self, session: Session, user: str) -> None:
        self.id = uuid.uuid4().bytes
        self.secret = uuid.uuid4().bytes
        self.session = session
        self.user = user
        self.lock = threading.Lock()  # one statement at a time per Hive session
        self.operations: set[bytes] = set()

    @property
    def handle(self) -> ttypes.TSessionHandle:
        return ttypes.TSessionHandle(
            sessionId=ttypes.THandleIdentifier(guid=self.id, secret=self.secret))


def _error_status(err: OpError) -> ttypes.TStatus:
    return ttypes.TStatus(statusCode=ttypes.TStatusCode.ERROR_STATUS, sqlState=err.sql_state,
                          errorCode=err.error_code, errorMessage=err.message,
                          infoMessages=[f"*{err.sql_state}:{err.message}"])


def _call(resp_cls):
    """Turn any exception of a handler method into ``resp_cls(status=<error>)``."""
    def deco(fn):
        @functools.wraps(fn)
        def wrapper(self, req):
            try:
                return fn(self, req)
            except Exception as exc:  # noqa: BLE001 - a bad request never breaks the connection
                err = describe_error(exc)
                if not isinstance(exc, RayEmrError):
                    log.exception("%s failed", fn.__name__)
                return resp_cls(status=_error_status(err))
        return wrapper
    return deco


class ServerState:
    """Sessions and operations shared by every connection of one server."""

    def __init__(self, config: ServerConfig, session_factory: SessionFactory,
                 catalog_factory: Callable[[Session], metadata.Catalog] | None = None) -> None:
        self.config = config
        self.session_factory = session_factory
        self.catalog_factory = catalog_factory or default_catalog
        self.settings = config.settings()
        self._policies: dict[str | None, SessionPolicy] = {}
        self.sessions: dict[bytes, _SessionEntry] = {}
        self.operations: dict[bytes, tuple[Operation, bytes]] = {}
        self.lock = threading.Lock()
        self.policy(config.warehouse)  # a bad TRANSFORM command list fails at start-up
        self.pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=config.async_workers, thread_name_prefix="hs2-async")

    def policy(self, warehouse: str | None) -> SessionPolicy:
        """The (cached) policy of sessions over ``warehouse``."""
        with self.lock:
            found = self._policies.get(warehouse)
        if found is None:
            found = self.config.policy(warehouse)
            with self.lock:
                self._policies[warehouse] = found
        return found

    # -- lookups ------------------------------------------------------------------------------
    def session(self, handle: ttypes.TSessionHandle | None) -> _SessionEntry:
        ident = getattr(handle, "sessionId", None)
        with self.lock:
            entry = self.sessions.get(getattr(ident, "guid", None) or b"")
        if entry is None or entry.secret != getattr(ident, "secret", None):
            raise InputNotFoundError("invalid SessionHandle: the session does not exist or "
                                     "was closed")
        return entry

    def operation(self, handle: ttypes.TOperationHandle | None) -> Operation:
        ident = getattr(handle, "operationId", None)
        with self.lock:
            found = self.operations.get(getattr(ident, "guid", None) or b"")
        if found is None or found[0].secret != getattr(ident, "secret", None):
            raise InputNotFoundError("invalid OperationHandle: the operation does not exist "
                                     "or was closed")
        return found[0]

    def add_operation(self, entry: _SessionEntry, op: Operation) -> None:
        with self.lock:
            if len(entry.operations) >= self.config.max_operations:
                raise UserError(f"the session has {len(entry.operations)} open operations: "
                                "close some (CloseOperation) before running more")
            self.operations[op.guid] = (op, entry.id)
            entry.operations.add(op.guid)

    def close_operation(self, op: Operation) -> None:
        op.close()
        with self.lock:
            found = self.operations.pop(op.guid, None)
            if found is not None:
                entry = self.sessions.get(found[1])
                if entry is not None:
                    entry.operations.discard(op.guid)

    def close_session(self, entry: _SessionEntry) -> None:
        with self.lock:
            if self.sessions.pop(entry.id, None) is None:
                return
            ops = [self.operations.pop(g)[0] for g in list(entry.operations)
                   if g in self.operations]
        for op in ops:
            op.close()
        try:
            entry.session.close()
        except Exception:  # noqa: BLE001
            log.exception("closing a Hive session failed")

    def shutdown(self) -> None:
        with self.lock:
            entries = list(self.sessions.values())
        for entry in entries:
            self.close_session(entry)
        self.pool.shutdown(wait=False, cancel_futures=True)


def default_catalog(session: Session) -> metadata.Catalog:
    store = getattr(session, "metastore", None)
    if store is None:
        from rayemr.hive.metastore import open_metastore
        store = open_metastore()
    return store


_INFO = {
    ttypes.TGetInfoType.CLI_SERVER_NAME: ttypes.TGetInfoValue(stringValue="Hive"),
    ttypes.TGetInfoType.CLI_DBMS_NAME: ttypes.TGetInfoValue(stringValue="Apache Hive"),
    ttypes.TGetInfoType.CLI_DBMS_VER: ttypes.TGetInfoValue(
        stringValue=f"3.1.3 (rayemr {__version__})"),
    ttypes.TGetInfoType.CLI_IDENTIFIER_QUOTE_CHAR: ttypes.TGetInfoValue(stringValue="`"),
    ttypes.TGetInfoType.CLI_SEARCH_PATTERN_ESCAPE: ttypes.TGetInfoValue(stringValue="\\"),
    ttypes.TGetInfoType.CLI_MAX_IDENTIFIER_LEN: ttypes.TGetInfoValue(lenValue=128),
    ttypes.TGetInfoType.CLI_MAX_COLUMN_NAME_LEN: ttypes.TGetInfoValue(lenValue=128),
    ttypes.TGetInfoType.CLI_MAX_SCHEMA_NAME_LEN: ttypes.TGetInfoValue(lenValue=128),
    ttypes.TGetInfoType.CLI_MAX_TABLE_NAME_LEN: ttypes.TGetInfoValue(lenValue=128),
    ttypes.TGetInfoType.CLI_TXN_CAPABLE: ttypes.TGetInfoValue(smallIntValue=0),
    ttypes.TGetInfoType.CLI_DATA_SOURCE_READ_ONLY: ttypes.TGetInfoValue(stringValue="N"),
}

class ConnectionHandler(TCLIService.Iface):
    """The TCLIService ``Iface`` for one client connection."""

    def __init__(self, state: ServerState, user: str | None) -> None:
        self.state = state
        self.user = user  # authenticated by SASL; None for NOSASL
        self.opened: list[_SessionEntry] = []

    def disconnect(self) -> None:
        for entry in self.opened:
            self.state.close_session(entry)
        self.opened.clear()

    # -- sessions -----------------------------------------------------------------------------
    @_call(ttypes.TOpenSessionResp)
    def OpenSession(self, req):
        if req.client_protocol is not None and req.client_protocol < V6:
            raise UserError(f"client protocol version {req.client_protocol} is too old: "
                            "HiveServer2 here speaks V6 and later (column-based results)")
        user = self.user or req.username or "anonymous"
        database, hiveconf, hivevars = None, {}, {}
        settings = self.state.settings
        for key, value in (req.configuration or {}).items():
            key, value = str(key), str(value)
            if key == "use:database":
                database = value
            elif key.startswith("set:hivevar:"):
                settings.check_hivevar(key[len("set:hivevar:"):])
                hivevars[key[len("set:hivevar:"):]] = value
            elif key.startswith("set:hiveconf:"):
                settings.check(key[len("set:hiveconf:"):])
                hiveconf[key[len("set:hiveconf:"):]] = value
            elif key.startswith("set:"):
                settings.check(key[4:])
                hiveconf[key[4:]] = value
            else:
                settings.check(key)
                hiveconf[key] = value
        request = SessionRequest(user, database, hiveconf, hivevars, self.state.policy)
        session = self.state.session_factory(request)
        try:
            if getattr(session, "policy", None) is None:
                raise UserError("refusing a session without a policy: the session factory "
                                "must pass SessionRequest.policy_for(warehouse) to it")
            session.hiveconf.update(hiveconf)
            session.hivevars.update(hivevars)
            if database and database.lower() != str(getattr(session, "database", "")).lower():
                session.execute(f"USE `{database.replace('`', '``')}`")
        except BaseException:
            session.close()
            raise
        entry = _SessionEntry(session, user)
        with self.state.lock:
            self.state.sessions[entry.id] = entry
        self.opened.append(entry)
        log.info("session %s opened for user %r", entry.id.hex()[:8], user)
        return ttypes.TOpenSessionResp(
            status=SUCCESS, serverProtocolVersion=min(req.client_protocol or V6, V6),
            sessionHandle=entry.handle, configuration={})

    @_call(ttypes.TCloseSessionResp)
    def CloseSession(self, req):
        entry = self.state.session(req.sessionHandle)
        self.state.close_session(entry)
        if entry in self.opened:
            self.opened.remove(entry)
        return ttypes.TCloseSessionResp(status=SUCCESS)

    @_call(ttypes.TGetInfoResp)
    def GetInfo(self, req):
        entry = self.state.session(req.sessionHandle)
        if req.infoType == ttypes.TGetInfoType.CLI_USER_NAME:
            return ttypes.TGetInfoResp(status=SUCCESS,
                                       infoValue=ttypes.TGetInfoValue(stringValue=entry.user))
        value = _INFO.get(req.infoType)
        if value is None:
            raise UserError(f"unrecognized GetInfoType value: {req.infoType}")
        return ttypes.TGetInfoResp(status=SUCCESS, infoValue=value)

    # -- statements ---------------------------------------------------------------------------
    @_call(ttypes.TExecuteStatementResp)
    def ExecuteStatement(self, req):
        entry = self.state.session(req.sessionHandle)
        # substituted and parsed once, by the session; the parsed statement is what runs
        prepared = entry.session.prepare(req.statement or "")
        overlay = {str(k): str(v) for k, v in (req.confOverlay or {}).items()}
        for key in overlay:
            self.state.settings.check(key)
        op = Operation(OT.EXECUTE_STATEMENT, has_result_set=prepared.has_result_set,
                       statement=prepared.text)
        runner = functools.partial(self._execute, entry, prepared, overlay)
        self.state.add_operation(entry, op)
        if req.queryTimeout and req.queryTimeout > 0:  # seconds, as JDBC's setQueryTimeout
            timer = threading.Timer(float(req.queryTimeout), op.cancel)
            timer.daemon = True
            timer.start()
        if req.runAsync:
            op.mark_pending()
            self.state.pool.submit(op.run, runner)
            op.wait_launched(self.state.config.async_compile_wait_seconds)
            return ttypes.TExecuteStatementResp(status=SUCCESS, operationHandle=op.handle)
        op.run(runner)
        if op.state == OpState.ERROR and op.error is not None:
            self.state.close_operation(op)
            return ttypes.TExecuteStatementResp(status=_error_status(op.error))
        return ttypes.TExecuteStatementResp(status=SUCCESS, operationHandle=op.handle)

    @staticmethod
    def _execute(entry: _SessionEntry, prepared, overlay: dict[str, str],
                 cancel: threading.Event, progress) -> StatementResult:
        with entry.lock:
            if cancel.is_set():
                raise UserError("statement cancelled before it started")
            conf = entry.session.hiveconf
            saved = {k: conf.get(k) for k in overlay}
            conf.update(overlay)
            try:
                return entry.session.execute(prepared, cancel=cancel, progress=progress)
            finally:
                for k, v in saved.items():
                    if v is None:
                        conf.pop(k, None)
                    else:
                        conf[k] = v

    # -- metadata -----------------------------------------------------------------------------
    def _metadata(self, req, op_type: int, resp_cls, build: Callable[[_SessionEntry],
                                                                       StatementResult]):
        entry = self.state.session(req.sessionHandle)
        op = Operation(op_type, has_result_set=True)
        self.state.add_operation(entry, op)
        op.run(lambda cancel, progress: build(entry))
        if op.state == OpState.ERROR and op.error is not None:
            self.state.close_operation(op)
            return resp_cls(status=_error_status(op.error))
        return resp_cls(status=SUCCESS, operationHandle=op.handle)

    def _catalog(self, entry: _SessionEntry) -> metadata.Catalog:
        return self.state.catalog_factory(entry.session)

    @_call(ttypes.TGetTypeInfoResp)
    def GetTypeInfo(self, req):
        return self._metadata(req, OT.GET_TYPE_INFO, ttypes.TGetTypeInfoResp,
                              lambda e: metadata.get_type_info())

    @_call(ttypes.TGetCatalogsResp)
    def GetCatalogs(self, req):
        return self._metadata(req, OT.GET_CATALOGS, ttypes.TGetCatalogsResp,
                              lambda e: metadata.get_catalogs())

    @_call(ttypes.TGetSchemasResp)
    def GetSchemas(self, req):
        return self._metadata(req, OT.GET_SCHEMAS, ttypes.TGetSchemasResp,
                              lambda e: metadata.get_schemas(self._catalog(e), req.schemaName))

    @_call(ttypes.TGetTablesResp)
    def GetTables(self, req):
        return self._metadata(
            req, OT.GET_TABLES, ttypes.TGetTablesResp,
            lambda e: metadata.get_tables(self._catalog(e), req.schemaName, req.tableName,
                                          req.tableTypes))

    @_call(ttypes.TGetTableTypesResp)
    def GetTableTypes(self, req):
        return self._metadata(req, OT.GET_TABLE_TYPES, ttypes.TGetTableTypesResp,
                              lambda e: metadata.get_table_types())

    @_call(ttypes.TGetColumnsResp)
    def GetColumns(self, req):
        return self._metadata(
            req, OT.GET_COLUMNS, ttypes.TGetColumnsResp,
            lambda e: metadata.get_columns(self._catalog(e), req.schemaName, req.tableName,
                                           req.columnName))

    @_call(ttypes.TGetFunctionsResp)
    def GetFunctions(self, req):
        return self._metadata(
            req, OT.GET_FUNCTIONS, ttypes.TGetFunctionsResp,
            lambda e: metadata.get_functions(self._function_names(e), req.schemaName,
                                             req.functionName))

    @staticmethod
    def _function_names(entry: _SessionEntry) -> list[str]:
        with entry.lock:
            result = entry.session.execute("SHOW FUNCTIONS")
        if result.table is None or result.table.num_columns == 0:
            return []
        return [str(v) for v in result.table.column(0).to_pylist() if v is not None]

    @_call(ttypes.TGetPrimaryKeysResp)
    def GetPrimaryKeys(self, req):
        # Hive tables here carry no key constraints: a valid, empty answer.
        spec = [("TABLE_CAT", "string"), ("TABLE_SCHEM", "string"), ("TABLE_NAME", "string"),
                ("COLUMN_NAME", "string"), ("KEY_SEQ", "int"), ("PK_NAME", "string")]
        return self._metadata(req, OT.UNKNOWN, ttypes.TGetPrimaryKeysResp,
                              lambda e: metadata.result_set(spec, []))

    @_call(ttypes.TGetCrossReferenceResp)
    def GetCrossReference(self, req):
        spec = [(n, "string") for n in ("PKTABLE_CAT", "PKTABLE_SCHEM", "PKTABLE_NAME",
                                        "PKCOLUMN_NAME", "FKTABLE_CAT", "FKTABLE_SCHEM",
                                        "FKTABLE_NAME", "FKCOLUMN_NAME")]
        return self._metadata(req, OT.UNKNOWN, ttypes.TGetCrossReferenceResp,
                              lambda e: metadata.result_set(spec, []))

    # -- operations ---------------------------------------------------------------------------
    @_call(ttypes.TGetOperationStatusResp)
    def GetOperationStatus(self, req):
        op = self.state.operation(req.operationHandle)
        if op.state in (OpState.PENDING, OpState.RUNNING, OpState.INITIALIZED):
            op.wait(self.state.config.long_poll_seconds)  # fewer round trips for pollers
        err = op.error if op.state == OpState.ERROR else None
        return ttypes.TGetOperationStatusResp(
            status=SUCCESS, operationState=int(op.state),
            sqlState=err.sql_state if err else None,
            errorCode=err.error_code if err else None,
            errorMessage=err.message if err else None,
            operationStarted=op.started, operationCompleted=op.completed or None,
            hasResultSet=op.has_result_set,
            progressUpdateResponse=op.progress_update() if req.getProgressUpdate else None)

    @_call(ttypes.TCancelOperationResp)
    def CancelOperation(self, req):
        self.state.operation(req.operationHandle).cancel()
        return ttypes.TCancelOperationResp(status=SUCCESS)

    @_call(ttypes.TCloseOperationResp)
    def CloseOperation(self, req):
        self.state.close_operation(self.state.operation(req.operationHandle))
        return ttypes.TCloseOperationResp(status=SUCCESS)

    @_call(ttypes.TGetResultSetMetadataResp)
    def GetResultSetMetadata(self, req):
        op = self.state.operation(req.operationHandle)
        if op.state in (OpState.INITIALIZED, OpState.PENDING, OpState.RUNNING):
            op.wait(self.state.config.fetch_wait_seconds)
        if op.state == OpState.ERROR and op.error is not None:
            return ttypes.TGetResultSetMetadataResp(status=_error_status(op.error))
        if op.state != OpState.FINISHED:
            raise UserError(f"the operation is {op.state.name}, not FINISHED: no result "
                            "set metadata")
        return ttypes.TGetResultSetMetadataResp(status=SUCCESS,
                                                schema=rowset.table_schema(op.columns))

    @_call(ttypes.TFetchResultsResp)
    def FetchResults(self, req):
        op = self.state.operation(req.operationHandle)
        max_rows = max(0, min(int(req.maxRows or 0), self.state.config.max_fetch_rows))
        orientation = req.orientation or ttypes.TFetchOrientation.FETCH_NEXT
        if orientation not in (ttypes.TFetchOrientation.FETCH_NEXT,
                               ttypes.TFetchOrientation.FETCH_FIRST):
            raise UserError("only FETCH_NEXT and FETCH_FIRST orientations are supported")
        if req.fetchType == 1:
            return ttypes.TFetchResultsResp(status=SUCCESS, hasMoreRows=False,
                                            results=op.fetch_log(max_rows, orientation))
        if op.state in (OpState.INITIALIZED, OpState.PENDING, OpState.RUNNING):
            # a client that fetches without polling gets the rows once they exist, within limits
            op.wait(self.state.config.fetch_wait_seconds)
        if op.state == OpState.ERROR and op.error is not None:
            return ttypes.TFetchResultsResp(status=_error_status(op.error))
        if op.state != OpState.FINISHED:
            raise UserError(f"expected state FINISHED, but found {op.state.name}: poll "
                            "GetOperationStatus until the operation finishes")
        results = op.fetch(max_rows, orientation)
        return ttypes.TFetchResultsResp(status=SUCCESS, hasMoreRows=False, results=results)

    # -- not offered ----------------------------------------------------------------------------
    def _no_tokens(self, resp_cls):
        return resp_cls(status=_error_status(OpError(
            "0A000", "delegation tokens are not supported: this server does not use Kerberos")))

    def GetDelegationToken(self, req):
        return self._no_tokens(ttypes.TGetDelegationTokenResp)

    def CancelDelegationToken(self, req):
        return self._no_tokens(ttypes.TCancelDelegationTokenResp)

    def RenewDelegationToken(self, req):
        return self._no_tokens(ttypes.TRenewDelegationTokenResp)
