"""Parse one HiveQL statement into a value from :mod:`rayemr.hive.sql.statements`.

DDL, session commands and the heads of DML statements are parsed here by a small
recursive-descent parser over :mod:`rayemr.hive.sql.lexer` tokens; queries (SELECT, WITH,
VALUES) are kept as text for sqlglot.
"""
from __future__ import annotations

from typing import Optional

from rayemr.core.errors import UnsupportedError
from rayemr.hive.sql import statements as st
from rayemr.hive.sql.lexer import HiveParseError, Token, tokenize

_QUERY_START = ("SELECT", "WITH", "VALUES", "MAP", "REDUCE")


def parse_statement(text: str) -> object:
    return _Parser(text).statement()


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = tokenize(text)
        self.i = 0

    # -- token helpers ---------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def error(self, what: str = "") -> HiveParseError:
        t = self.tok
        near = "end of input" if t.kind == "eof" else repr(t.value)
        return HiveParseError(f"cannot recognize input near {near}" + (f": {what}" if what else ""),
                              t.line, t.col)

    def accept(self, *words: str) -> bool:
        if self.tok.is_word(*words):
            self.i += 1
            return True
        return False

    def accept_seq(self, *words: str) -> bool:
        for k, w in enumerate(words):
            if not self.peek(k).is_word(w):
                return False
        self.i += len(words)
        return True

    def expect(self, *words: str) -> None:
        for w in words:
            if not self.accept(w):
                raise self.error(f"expected {w}")

    def accept_op(self, op: str) -> bool:
        if self.tok.kind == "op" and self.tok.value == op:
            self.i += 1
            return True
        return False

    def expect_op(self, op: str) -> None:
        if not self.accept_op(op):
            raise self.error(f"expected '{op}'")

    def ident(self) -> str:
        t = self.tok
        if t.kind in ("word", "ident"):
            self.i += 1
            return t.value if t.kind == "ident" else t.value.lower()
        raise self.error("expected an identifier")

    def string(self) -> str:
        t = self.tok
        if t.kind != "string":
            raise self.error("expected a string literal")
        self.i += 1
        return t.value

    def table_name(self) -> st.TableName:
        a = self.ident()
        if self.accept_op("."):
            return st.TableName(a, self.ident())
        return st.TableName(None, a)

    def rest(self) -> str:
        return self.text[self.tok.pos:].strip()

    def at_end(self) -> None:
        if self.tok.kind != "eof":
            raise self.error()

    def if_not_exists(self) -> bool:
        return self.accept_seq("IF", "NOT", "EXISTS")

    def if_exists(self) -> bool:
        return self.accept_seq("IF", "EXISTS")

    def properties(self) -> tuple[tuple[str, str], ...]:
        self.expect_op("(")
        out = []
        while True:
            k = self.string()
            self.expect_op("=")
            out.append((k, self.string()))
            if not self.accept_op(","):
                break
        self.expect_op(")")
        return tuple(out)

    def type_text(self) -> str:
        """A type up to the next ',' or ')' at depth 0 (or COMMENT)."""
        start = self.tok.pos
        depth = 0
        while True:
            t = self.tok
            if t.kind == "eof":
                break
            if t.kind == "op" and t.value in "<(":
                depth += 1
            elif t.kind == "op" and t.value in ">)":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and (t.kind == "op" and t.value == "," or t.is_word("COMMENT")):
                break
            self.i += 1
        end = self.toks[self.i - 1].end if self.i else start
        text = self.text[start:end].strip()
        if not text:
            raise self.error("expected a column type")
        return text

    def column_defs(self) -> tuple[st.ColumnDef, ...]:
        self.expect_op("(")
        cols = []
        while True:
            name = self.ident()
            typ = self.type_text()
            comment = self.string() if self.accept("COMMENT") else ""
            cols.append(st.ColumnDef(name, typ, comment))
            if not self.accept_op(","):
                break
        self.expect_op(")")
        return tuple(cols)

    def part_spec(self) -> st.PartSpec:
        self.expect_op("(")
        out = []
        while True:
            k = self.ident()
            v: Optional[str] = None
            if self.accept_op("="):
                t = self.tok
                if t.kind in ("string", "number"):
                    v = t.value
                elif t.kind == "word":
                    v = t.value
                else:
                    raise self.error("expected a partition value")
                self.i += 1
            out.append((k, v))
            if not self.accept_op(","):
                break
        self.expect_op(")")
        return tuple(out)

    # -- statements ------------------------------------------------------------------------
    def statement(self) -> object:
        t = self.tok
        if t.kind == "eof":
            raise HiveParseError("empty statement", 1, 0)
        if t.kind == "op" and t.value == "(":
            return st.Query(self.text.strip())
        if t.kind != "word":
            raise self.error()
        w = t.value.upper()
        if w in _QUERY_START:
            return st.Query(self.text.strip())
        handler = getattr(self, f"_stmt_{w.lower()}", None)
        if handler is None:
            if w in ("GRANT", "REVOKE", "LOCK", "UNLOCK", "COMPACT", "IMPORT", "EXPORT",
                     "MERGE", "UPDATE", "DELETE", "ABORT", "KILL", "RELOAD"):
                raise UnsupportedError(f"{w} statements are not supported")
            raise self.error()
        self.i += 1
        return handler()

    def _stmt_explain(self):
        extended = bool(self.accept("EXTENDED", "FORMATTED", "DEPENDENCY", "AUTHORIZATION"))
        inner = _Parser(self.rest()).statement()
        return st.Explain(inner, extended)

    def _stmt_from(self):
        # FROM src INSERT ... SELECT ... [INSERT ...]  (multi-insert) or FROM src SELECT ...
        return _parse_from_first(self)

    def _stmt_use(self):
        name = self.ident()
        self.at_end()
        return st.Use(name)

    def _stmt_set(self):
        if self.tok.kind == "eof":
            return st.SetProperty()
        rest = self.text[self.tok.pos:].strip()
        if rest == "-v":  # every setting (Hive: all, not only the changed ones)
            return st.SetProperty()
        if "=" not in rest:
            key = rest.strip()
            return st.SetProperty(key=key)
        k, v = rest.split("=", 1)
        return st.SetProperty(k.strip(), v.strip())

    def _stmt_reset(self):
        rest = self.rest()
        return st.Reset(tuple(k.strip() for k in rest.split() if k.strip()))

    def _stmt_add(self):
        return st.Noop(self.text)

    def _stmt_analyze(self):
        return st.Noop(self.text)

    def _stmt_msck(self):
        self.accept("REPAIR")
        self.expect("TABLE")
        name = self.table_name()
        if self.accept("ADD", "DROP", "SYNC"):
            self.expect("PARTITIONS")
        self.at_end()
        return st.MsckRepair(name)

    def _stmt_truncate(self):
        self.accept("TABLE")
        name = self.table_name()
        spec = self.part_spec() if self.accept("PARTITION") else ()
        self.at_end()
        return st.TruncateTable(name, spec)

    def _stmt_show(self):
        if self.accept("DATABASES", "SCHEMAS"):
            like = None
            if self.accept("LIKE"):
                like = self.string()
            self.at_end()
            return st.ShowDatabases(like)
        if self.accept("TABLES", "VIEWS"):
            views = self.toks[self.i - 1].is_word("VIEWS")
            db = None
            if self.accept("IN", "FROM"):
                db = self.ident()
            like = None
            if self.accept("LIKE"):
                like = self.string()
            elif self.tok.kind == "string":
                like = self.string()
            self.at_end()
            return st.ShowTables(db, like, views)
        if self.accept("PARTITIONS"):
            name = self.table_name()
            spec = self.part_spec() if self.accept("PARTITION") else ()
            self.at_end()
            return st.ShowPartitions(name, spec)
        if self.accept_seq("CREATE", "TABLE"):
            name = self.table_name()
            self.at_end()
            return st.ShowCreateTable(name)
        if self.accept("COLUMNS"):
            self.expect_any("IN", "FROM")
            name = self.table_name()
            return st.ShowColumns(name)
        if self.accept("TBLPROPERTIES"):
            return st.ShowTblProperties(self.table_name())
        if self.accept("FUNCTIONS"):
            like = None
            if self.accept("LIKE"):
                like = self.string()
            return st.ShowFunctions(like)
        raise self.error("SHOW what?")

    def expect_any(self, *words: str) -> None:
        if not self.accept(*words):
            raise self.error(f"expected {' or '.join(words)}")

    def _stmt_describe(self):
        if self.accept("DATABASE", "SCHEMA"):
            ext = self.accept("EXTENDED")
            name = self.ident()
            return st.DescribeDatabase(name, ext)
        formatted = self.accept("FORMATTED")
        extended = self.accept("EXTENDED")
        name = self.table_name()
        spec: st.PartSpec = ()
        column = None
        if self.accept("PARTITION"):
            spec = self.part_spec()
        if self.tok.kind in ("word", "ident"):
            column = self.ident()
        self.at_end()
        return st.Describe(name, formatted, extended, column, spec)

    _stmt_desc = _stmt_describe

    def _stmt_drop(self):
        if self.accept("DATABASE", "SCHEMA"):
            ife = self.if_exists()
            name = self.ident()
            cascade = self.accept("CASCADE")
            self.accept("RESTRICT")
            self.at_end()
            return st.DropDatabase(name, ife, cascade)
        view = False
        if self.accept("VIEW"):
            view = True
        else:
            self.accept("TEMPORARY")
            self.expect("TABLE")
        ife = self.if_exists()
        name = self.table_name()
        purge = self.accept("PURGE")
        self.at_end()
        return st.DropTable(name, ife, view, purge)

    def _stmt_create(self):
        or_replace = self.accept_seq("OR", "REPLACE")
        if self.accept("DATABASE", "SCHEMA"):
            ine = self.if_not_exists()
            name = self.ident()
            comment, location, props = "", None, ()
            while self.tok.kind != "eof":
                if self.accept("COMMENT"):
                    comment = self.string()
                elif self.accept("LOCATION"):
                    location = self.string()
                elif self.accept_seq("WITH", "DBPROPERTIES"):
                    props = self.properties()
                else:
                    raise self.error()
            return st.CreateDatabase(name, ine, comment, location, props)
        if self.accept("MATERIALIZED"):
            raise UnsupportedError("materialized views are not supported")
        if self.accept("VIEW"):
            ine = self.if_not_exists()
            name = self.table_name()
            cols: tuple[str, ...] = ()
            if self.accept_op("("):
                names = []
                while True:
                    names.append(self.ident())
                    if self.accept("COMMENT"):
                        self.string()
                    if not self.accept_op(","):
                        break
                self.expect_op(")")
                cols = tuple(names)
            comment = self.string() if self.accept("COMMENT") else ""
            if self.accept("TBLPROPERTIES"):
                self.properties()
            self.expect("AS")
            return st.CreateView(name, self.rest(), ine, or_replace, cols, comment)
        if self.accept("FUNCTION", "TEMPORARY") and self.toks[self.i - 1].is_word("FUNCTION") \
                or self.tok.is_word("FUNCTION"):
            raise UnsupportedError("CREATE FUNCTION (Java UDFs) is not supported; use "
                                   "SELECT TRANSFORM ... USING 'script' for custom code")
        temporary = self.toks[self.i - 1].is_word("TEMPORARY")
        external = self.accept("EXTERNAL")
        self.expect("TABLE")
        ine = self.if_not_exists()
        name = self.table_name()
        if self.accept("LIKE"):
            like = self.table_name()
            location, props = None, ()
            while self.tok.kind != "eof":
                if self.accept("LOCATION"):
                    location = self.string()
                elif self.accept("TBLPROPERTIES"):
                    props = self.properties()
                else:
                    raise self.error()
            return st.CreateTable(name, external, ine, location=location, properties=props,
                                  like=like, temporary=temporary)
        columns: tuple[st.ColumnDef, ...] = ()
        if self.tok.kind == "op" and self.tok.value == "(":
            columns = self.column_defs()
        kw: dict = {}
        while self.tok.kind != "eof":
            if self.accept("COMMENT"):
                kw["comment"] = self.string()
            elif self.accept_seq("PARTITIONED", "BY"):
                kw["partition_keys"] = self.column_defs()
            elif self.accept_seq("CLUSTERED", "BY"):
                self._skip_parens()
                if self.accept_seq("SORTED", "BY"):
                    self._skip_parens()
                self.expect("INTO")
                self.i += 1
                self.expect("BUCKETS")
            elif self.accept_seq("SKEWED", "BY"):
                raise UnsupportedError("SKEWED BY tables are not supported")
            elif self.accept_seq("ROW", "FORMAT"):
                kw["row_format"] = self.row_format()
            elif self.accept_seq("STORED", "AS"):
                if self.accept("INPUTFORMAT"):
                    inp = self.string()
                    self.expect("OUTPUTFORMAT")
                    self.string()
                    kw["stored_as"] = _format_of_input_class(inp, self)
                else:
                    kw["stored_as"] = self.ident().lower()
            elif self.accept_seq("STORED", "BY"):
                raise UnsupportedError("storage handlers (STORED BY) are not supported")
            elif self.accept("LOCATION"):
                kw["location"] = self.string()
            elif self.accept("TBLPROPERTIES"):
                kw["properties"] = self.properties()
            elif self.accept("AS"):
                kw["as_select"] = self.rest()
                break
            elif self.accept("STORED", "ROW", "PARTITIONED", "CLUSTERED"):
                raise self.error(f"unexpected after {self.toks[self.i - 1].value.upper()}")
            else:
                raise self.error()
        return st.CreateTable(name, external, ine, columns, temporary=temporary, **kw)

    def _skip_parens(self) -> None:
        self.expect_op("(")
        depth = 1
        while depth and self.tok.kind != "eof":
            if self.accept_op("("):
                depth += 1
            elif self.accept_op(")"):
                depth -= 1
            else:
                self.i += 1

    def row_format(self) -> st.RowFormat:
        if self.accept("SERDE"):
            serde = self.string()
            props = ()
            if self.accept_seq("WITH", "SERDEPROPERTIES"):
                props = self.properties()
            return st.RowFormat(serde, props)
        self.expect("DELIMITED")
        props = []
        while True:
            if self.accept_seq("FIELDS", "TERMINATED", "BY"):
                props.append(("field.delim", self.string()))
                if self.accept_seq("ESCAPED", "BY"):
                    props.append(("escape.delim", self.string()))
            elif self.accept_seq("COLLECTION", "ITEMS", "TERMINATED", "BY"):
                props.append(("collection.delim", self.string()))
            elif self.accept_seq("MAP", "KEYS", "TERMINATED", "BY"):
                props.append(("mapkey.delim", self.string()))
            elif self.accept_seq("LINES", "TERMINATED", "BY"):
                props.append(("line.delim", self.string()))
            elif self.accept_seq("NULL", "DEFINED", "AS"):
                props.append(("serialization.null.format", self.string()))
            else:
                break
        return st.RowFormat(None, tuple(props))

    def _stmt_alter(self):
        view = False
        if self.accept("VIEW"):
            view = True
            name = self.table_name()
            if self.accept("AS"):
                return st.CreateView(name, self.rest(), or_replace=True)
        else:
            self.expect("TABLE")
            name = self.table_name()
        if self.accept("ADD"):
            if self.accept("COLUMNS"):
                cols = self.column_defs()
                self.accept("CASCADE", "RESTRICT")
                return st.AlterTable(name, "add_columns", columns=cols)
            ine = self.if_not_exists()
            specs, locs = [], []
            while self.accept("PARTITION"):
                specs.append(self.part_spec())
                locs.append(self.string() if self.accept("LOCATION") else None)
            if not specs:
                raise self.error("expected PARTITION or COLUMNS")
            self.at_end()
            return st.AlterTable(name, "add_partitions", partitions=tuple(specs),
                                 locations=tuple(locs), if_not_exists=ine)
        if self.accept_seq("REPLACE", "COLUMNS"):
            return st.AlterTable(name, "replace_columns", columns=self.column_defs())
        if self.accept("DROP"):
            ife = self.if_exists()
            specs = []
            while self.accept("PARTITION"):
                specs.append(self.part_spec())
                if not self.accept_op(","):
                    break
            if not specs:
                raise self.error("expected PARTITION")
            self.accept("PURGE")
            self.at_end()
            return st.AlterTable(name, "drop_partitions", partitions=tuple(specs), if_exists=ife)
        if self.accept_seq("RENAME", "TO"):
            new = self.table_name()
            self.at_end()
            return st.AlterTable(name, "rename", new_name=new, view=view)
        if self.accept("SET"):
            if self.accept("TBLPROPERTIES"):
                return st.AlterTable(name, "set_properties", properties=self.properties(),
                                     view=view)
            if self.accept("SERDEPROPERTIES"):
                return st.AlterTable(name, "set_serde_properties", properties=self.properties())
            if self.accept("LOCATION"):
                return st.AlterTable(name, "set_location", location=self.string())
            if self.accept("FILEFORMAT"):
                return st.AlterTable(name, "set_fileformat", location=self.ident())
            raise self.error()
        if self.accept_seq("UNSET", "TBLPROPERTIES"):
            self.if_exists()
            self.expect_op("(")
            keys = []
            while True:
                keys.append((self.string(), ""))
                if not self.accept_op(","):
                    break
            self.expect_op(")")
            return st.AlterTable(name, "unset_properties", properties=tuple(keys))
        if self.accept("PARTITION"):
            spec = self.part_spec()
            if self.accept_seq("SET", "LOCATION"):
                return st.AlterTable(name, "set_partition_location", partitions=(spec,),
                                     location=self.string())
            if self.accept_seq("RENAME", "TO", "PARTITION"):
                return st.AlterTable(name, "rename_partition",
                                     partitions=(spec, self.part_spec()))
            raise self.error()
        if self.accept("CHANGE"):
            self.accept("COLUMN")
            old = self.ident()
            new = self.ident()
            typ = self.type_text()
            comment = self.string() if self.accept("COMMENT") else ""
            self.accept("FIRST")
            if self.accept("AFTER"):
                self.ident()
            self.accept("CASCADE", "RESTRICT")
            return st.AlterTable(name, "change_column", old_column=old,
                                 columns=(st.ColumnDef(new, typ, comment),))
        raise self.error("unsupported ALTER TABLE form")

    def _stmt_load(self):
        self.expect("DATA")
        local = self.accept("LOCAL")
        self.expect("INPATH")
        path = self.string()
        overwrite = self.accept("OVERWRITE")
        self.expect("INTO", "TABLE")
        name = self.table_name()
        spec = self.part_spec() if self.accept("PARTITION") else ()
        self.at_end()
        return st.LoadData(path, name, local, overwrite, spec)

    def _stmt_insert(self):
        return self.insert_body(from_clause=None)

    def insert_body(self, from_clause: Optional[str]):
        overwrite = False
        if self.accept("OVERWRITE"):
            overwrite = True
        else:
            self.expect("INTO")
        if overwrite and (self.tok.is_word("LOCAL") or self.tok.is_word("DIRECTORY")):
            local = self.accept("LOCAL")
            self.expect("DIRECTORY")
            path = self.string()
            rf, sa = None, None
            if self.accept_seq("ROW", "FORMAT"):
                rf = self.row_format()
            if self.accept_seq("STORED", "AS"):
                sa = self.ident()
            return st.InsertDirectory(path, self._query_rest(from_clause), local, rf, sa)
        self.accept("TABLE")
        name = self.table_name()
        spec = self.part_spec() if self.accept("PARTITION") else ()
        ine = self.if_not_exists()
        cols: tuple[str, ...] = ()
        if self.tok.kind == "op" and self.tok.value == "(" and not self.peek().is_word(
                "SELECT", "WITH"):
            self.i += 1
            names = []
            while True:
                names.append(self.ident())
                if not self.accept_op(","):
                    break
            self.expect_op(")")
            cols = tuple(names)
        return st.Insert(name, self._query_rest(from_clause), overwrite, spec, ine, cols)

    def _query_rest(self, from_clause: Optional[str]) -> str:
        if self.tok.kind == "eof":
            raise self.error("expected a query")
        body = self.rest()
        if from_clause is None:
            return body
        return _attach_from(body, from_clause)


def _format_of_input_class(cls: str, p: _Parser) -> str:
    low = cls.lower()
    for key, kind in (("parquet", "parquet"), ("orc", "orc"), ("textinputformat", "textfile")):
        if key in low:
            return kind
    raise UnsupportedError(f"input format {cls} is not supported")


def _parse_from_first(p: _Parser):
    """``FROM src INSERT ... SELECT ...`` (one or more inserts) or ``FROM src SELECT ...``."""
    start = p.tok.pos
    depth = 0
    while p.tok.kind != "eof":
        t = p.tok
        if t.kind == "op" and t.value == "(":
            depth += 1
        elif t.kind == "op" and t.value == ")":
            depth -= 1
        elif depth == 0 and t.is_word("INSERT", "SELECT"):
            break
        p.i += 1
    from_clause = p.text[start:p.tok.pos].strip()
    if p.tok.kind == "eof" or not from_clause:
        raise p.error("expected INSERT or SELECT after FROM")
    if p.tok.is_word("SELECT"):
        return st.Query(_attach_from(p.rest(), from_clause))
    inserts = []
    while p.accept("INSERT"):
        seg_start = p.i
        # find the end of this INSERT: the next INSERT at depth 0
        depth, j = 0, p.i
        while p.toks[j].kind != "eof":
            t = p.toks[j]
            if t.kind == "op" and t.value == "(":
                depth += 1
            elif t.kind == "op" and t.value == ")":
                depth -= 1
            elif depth == 0 and t.is_word("INSERT"):
                break
            j += 1
        seg = p.text[p.toks[seg_start - 1].pos:p.toks[j].pos]
        ins = _Parser(seg)
        ins.i = 1
        inserts.append(ins.insert_body(from_clause))
        p.i = j
    p.at_end()
    if len(inserts) == 1:
        return inserts[0]
    return st.MultiInsert(tuple(inserts))


def _attach_from(select_text: str, from_clause: str) -> str:
    """Put ``FROM <from_clause>`` after the select list of ``select_text``."""
    toks = tokenize(select_text)
    depth = 0
    for t in toks:
        if t.kind == "op" and t.value == "(":
            depth += 1
        elif t.kind == "op" and t.value == ")":
            depth -= 1
        elif depth == 0 and (t.is_word("WHERE", "GROUP", "HAVING", "ORDER", "SORT", "CLUSTER",
                                       "DISTRIBUTE", "LIMIT", "WINDOW", "LATERAL", "UNION")
                             or t.kind == "eof"):
            return f"{select_text[:t.pos].rstrip()} FROM {from_clause} {select_text[t.pos:]}".strip()
    return select_text
