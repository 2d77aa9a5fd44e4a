"""Every statement the parser can produce has a handler, and the handler table holds
functions (not names looked up at run time)."""
from __future__ import annotations

import inspect

from rayemr.hive.session import statement_handlers
from rayemr.hive.sql import statements as st

#: parts of statements, not statements
PARTS = {st.TableName, st.ColumnDef, st.RowFormat}


def _statement_classes() -> set[type]:
    return {c for _, c in inspect.getmembers(st, inspect.isclass)
            if c.__module__ == st.__name__ and c not in PARTS}


def test_every_statement_type_has_a_handler():
    handlers = statement_handlers()
    missing = _statement_classes() - set(handlers)
    assert not missing, sorted(c.__name__ for c in missing)
    assert set(handlers) <= _statement_classes()


def test_handlers_take_the_session_the_statement_and_the_run_options():
    for kind, handler in statement_handlers().items():
        params = inspect.signature(handler).parameters
        names = list(params)
        assert len(names) >= 2, (kind, names)
        takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
        for option in ("text", "cancel", "progress"):
            assert takes_any or option in params, (kind.__name__, handler.__qualname__, option)


def test_an_unknown_statement_type_is_refused_by_name(session):
    from rayemr.core.errors import UnsupportedError

    class Grant:
        pass

    try:
        session.run_statement(Grant(), "GRANT ALL ON t TO u")
    except UnsupportedError as e:
        assert "Grant" in str(e)
    else:
        raise AssertionError("an unknown statement ran")
