"""Compile a HiveQL query into a :class:`~rayemr.hive.plan.QueryPlan`.

Pipeline (each step a small function): parse (Hive dialect) → name result columns as Hive
does (``_c0``...) → expand views → resolve tables against the metastore → qualify columns
(sqlglot's optimizer) → per base-table reference: columns used and pushable filters (WHERE
conjuncts of the table's own scope and ON conditions of the joins that bring it in, never
into the null-supplying side of an outer join) → rewrite table references to scan ids →
Hive→DuckDB fixes → DuckDB SQL. Pure: no storage, no DuckDB.
"""
from __future__ import annotations

import functools
from typing import Callable, Mapping, Optional

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError, TokenError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.schema import MappingSchema

from rayemr.core.errors import UnsupportedError, UserError
from rayemr.hive.errors import (AMBIGUOUS_COLUMN, INVALID_TABLE_OR_COLUMN, SemanticError,
                                TableNotFoundError)
from rayemr.hive.metastore.models import Table
from rayemr.hive.plan import QueryPlan, ScanSpec
from rayemr.hive.sql.lexer import HiveParseError
from rayemr.hive.sql import dialect, resultnames
from rayemr.hive.sql import calls, decimals, reflect, semantics
from rayemr.hive.sql import functions as functions_
from rayemr.hive.sql.walk import contains, copy as copy_tree, nodes, run_passes

TableLookup = Callable[[str, str], Table]

_MAX_VIEW_DEPTH = 16

#: Hive's semantics where DuckDB's differ, in order (docs/hive.md, "Hive versus DuckDB")
SEMANTICS: tuple[semantics.Rule, ...] = (
    (reflect.reflect_calls, decimals.decimal_literals) + semantics.CONVERSIONS
    + (decimals.decimal_division,) + semantics.OPERATIONS + calls.RULES)


def parse_hive(text: str) -> exp.Expression:
    """Parse one Hive statement with sqlglot; syntax errors name line and column."""
    try:
        tree = sqlglot.parse_one(text, read="hive")
    except ParseError as err:
        e = err.errors[0] if err.errors else {}
        desc = (e.get("description") or str(err)).split(". Line")[0]
        near = e.get("highlight") or ""
        if desc.startswith("Required keyword") or desc.startswith("Expected"):
            desc = "cannot recognize input"
        raise HiveParseError(f"{desc}" + (f" near {near!r}" if near else ""),
                             e.get("line") or 1, e.get("col") or 0) from None
    except TokenError as err:
        raise HiveParseError(str(err).split("\n")[0], 1, 0) from None
    if tree is None:
        raise HiveParseError("empty statement", 1, 0)
    return tree


def compile_query(text: str, lookup: TableLookup, database: str,
                  tree: exp.Expression | None = None,
                  functions: frozenset[str] | None = None,
                  conf: Mapping[str, str] | None = None) -> QueryPlan:
    """The stage plan of a query. ``functions`` (the executor's function names, lower case)
    lets an unknown function fail here, naming it, instead of in every task; ``conf`` holds
    the session settings Hive's semantics read (:mod:`rayemr.hive.sql.semantics`)."""
    tree = tree if tree is not None else parse_hive(text)
    if isinstance(tree, exp.Values):  # INSERT ... VALUES (...), (...)
        tree = exp.select("*").from_(exp.Subquery(
            this=tree, alias=exp.TableAlias(this=exp.to_identifier("__values"))))
    for node in nodes(tree, exp.CurrentDatabase):
        node.replace(exp.Literal.string(database))
    if not isinstance(tree, exp.Query):
        raise UnsupportedError(f"not a query: {text.strip().split()[0].upper()}")
    for hint in nodes(tree, exp.Hint):  # /*+ MAPJOIN(t) */: rayemr plans joins itself
        hint.pop()
    functions_.check_tree(tree)
    name_result_columns(tree)
    dialect.pre_qualify(tree)
    lookup = _once_each(lookup)
    tree = expand_views(tree, lookup, database)
    tables = resolve_tables(tree, lookup, database)
    resultnames.mark(tree)
    schema = table_schema(tables)
    tree = qualify_tree(tree, schema, database)
    unique = resultnames.names(tree)
    hive_semantics(tree, schema, conf)
    typed_results = semantics.result_types(tree)
    factor_common_conjuncts(tree)
    scans, tree = plan_scans(tree, tables)
    check_table_references(tree, {s.id for s in scans})
    scans = push_limit(tree, scans)
    logical = copy_tree(tree)
    dialect.to_duckdb(tree)
    if functions is not None:
        functions_.check_executor_functions(tree, functions)
    columns = tuple(tree.named_selects)
    if len(set(columns)) < len(columns) and isinstance(tree, exp.Select):
        # Hive allows repeated result names (SELECT * over a join); the fragment's Arrow
        # output may not repeat them, so it names its columns by position instead
        tree.set("expressions", [exp.alias_(e.this if isinstance(e, exp.Alias) else e,
                                            f"_col{i}") for i, e in enumerate(tree.expressions)])
    final_sql = tree.sql("duckdb", copy=False)  # the tree is not used after
    return QueryPlan(scans=tuple(scans), final_sql=final_sql, columns=columns, tree=logical,
                     result_names=unique if len(unique) == len(columns) else (),
                     result_types=typed_results if any(typed_results) else ())


def _once_each(lookup: TableLookup) -> TableLookup:
    """``lookup`` asked once per table while one query compiles (views and scans both ask)."""
    seen: dict[tuple[str, str], Table] = {}

    def cached(db: str, name: str) -> Table:
        if (db, name) not in seen:
            seen[(db, name)] = lookup(db, name)
        return seen[(db, name)]
    return cached


def hive_semantics(tree: exp.Expression, schema: MappingSchema,
                   conf: Mapping[str, str] | None = None) -> None:
    """Rewrite the qualified ``tree`` in place so that DuckDB computes Hive's answer."""
    semantics.annotate(tree, schema)
    run_passes(tree, SEMANTICS, semantics.Context.from_conf(conf))


def check_table_references(tree: exp.Expression, scan_ids: set[str]) -> None:
    """After scans are planned, the fragment reads only its scans and its own CTEs: any other
    name would be looked up by DuckDB (a registered input, or a path)."""
    tables, ctes = _tables_and_ctes(tree)
    for t in tables:
        name = t.name.lower()
        if t.args.get("db") is not None or (name not in scan_ids and name not in ctes):
            raise table_not_found(t)


def _tables_and_ctes(tree: exp.Expression) -> tuple[list[exp.Table], set[str]]:
    """The table references of ``tree`` (in breadth-first order) and its CTEs' names, found
    in one search."""
    found = nodes(tree, exp.Table, exp.CTE)
    ctes = {n.alias_or_name.lower() for n in found if isinstance(n, exp.CTE)}
    return [n for n in found if isinstance(n, exp.Table)], ctes


def base_tables(tree: exp.Expression) -> list[exp.Table]:
    tables, ctes = _tables_and_ctes(tree)
    out = []
    for t in tables:
        if not isinstance(t.this, exp.Identifier):
            continue  # table functions, UNNEST
        if not t.args.get("db") and t.name.lower() in ctes:
            continue
        out.append(t)
    return out


def name_result_columns(tree: exp.Expression) -> None:
    """Hive names unaliased result expressions ``_c<position>``."""
    selects = [tree] if isinstance(tree, exp.Select) else []
    if isinstance(tree, exp.SetOperation):
        left = tree
        while isinstance(left, exp.SetOperation):
            left = left.this
        if isinstance(left, exp.Select):
            selects = [left]
    for sel in selects:
        new = []
        for i, e in enumerate(sel.expressions):
            if isinstance(e, (exp.Alias, exp.Column, exp.Star)) or (
                    isinstance(e, exp.Dot) and isinstance(e.expression, exp.Star)):
                new.append(e)
            else:
                new.append(exp.alias_(e, f"_c{i}", copy=False))
        sel.set("expressions", new)


def _table_key(t: exp.Table, database: str) -> tuple[str, str]:
    return ((t.db or database).lower(), t.name.lower())


def expand_views(tree: exp.Expression, lookup: TableLookup, database: str,
                 depth: int = 0) -> exp.Expression:
    for t in base_tables(tree):
        db, name = _table_key(t, database)
        table = _lookup(lookup, db, name, t)
        if not table.is_view:
            continue
        if depth >= _MAX_VIEW_DEPTH:
            raise UserError(f"view {db}.{name} is nested too deeply (recursive view?)")
        inner = parse_hive(table.view_text)
        functions_.check_tree(inner)
        name_result_columns(inner)
        dialect.pre_qualify(inner)
        inner = expand_views(inner, lookup, db, depth + 1)
        _qualify_db(inner, db)
        alias = t.alias or name
        sub = exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias)))
        if t is tree:
            return inner
        t.replace(sub)
    return tree


def _qualify_db(tree: exp.Expression, db: str) -> None:
    """Tables in a view's text without a database belong to the view's database."""
    for t in base_tables(tree):
        if not t.args.get("db"):
            t.set("db", exp.to_identifier(db))


def _lookup(lookup: TableLookup, db: str, name: str, node: exp.Table) -> Table:
    try:
        return lookup(db, name)
    except TableNotFoundError:
        raise table_not_found(node) from None


def table_not_found(node: exp.Table) -> TableNotFoundError:
    """Hive's ``Line L:C Table not found 'name'``, the name and place as written."""
    first = node.args.get("db") or node.this
    meta = getattr(first, "meta", None) or {}
    line, col = meta.get("line", 0), meta.get("col", 0)
    if line and "start" in meta and "end" in meta:
        col = max(0, col - (meta["end"] - meta["start"]) - 1)  # sqlglot keeps the end column
    name = ".".join(p.name for p in (node.args.get("db"), node.this) if p is not None)
    return TableNotFoundError(name[:80], quoted=True, line=line, col=col)


def resolve_tables(tree: exp.Expression, lookup: TableLookup, database: str
                   ) -> dict[tuple[str, str], Table]:
    tables: dict[tuple[str, str], Table] = {}
    for t in base_tables(tree):
        key = _table_key(t, database)
        if key not in tables:
            tables[key] = _lookup(lookup, *key, t)
    return tables


def table_schema(tables: dict[tuple[str, str], Table]) -> MappingSchema:
    """``{db: {table: {column: hive type}}}`` as sqlglot's schema (for qualify and the type
    annotation)."""
    return _mapping_schema(tuple(
        (db, name, tuple((c.name, c.type) for c in table.all_columns))
        for (db, name), table in tables.items()))


@functools.lru_cache(maxsize=64)
def _mapping_schema(tables: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]
                    ) -> MappingSchema:
    """One schema object per set of table definitions: building it normalises every name
    and type, and queries over the same tables ask for the same one. Keyed by the tables'
    columns and types, so a changed definition is a different key."""
    schema: dict = {}
    for db, name, columns in tables:
        schema.setdefault(db, {})[name] = dict(columns)
    return MappingSchema(schema, dialect="hive")


def qualify_tree(tree: exp.Expression, schema: MappingSchema, database: str
                 ) -> exp.Expression:
    try:
        return qualify(tree, schema=schema, dialect="hive", db=database,
                       quote_identifiers=False, validate_qualify_columns=True,
                       )
    except OptimizeError as err:
        msg = str(err).split(". Line")[0].split("\n")[0]
        if "could not be resolved" in msg or "Unknown column" in msg:
            col = msg.split("'")[1] if "'" in msg else msg
            raise SemanticError(INVALID_TABLE_OR_COLUMN, f"'{col}'",
                                hint="check the column names with DESCRIBE") from None
        if "Ambiguous" in msg or "ambiguous" in msg:
            raise SemanticError(AMBIGUOUS_COLUMN, msg) from None
        raise UserError(f"cannot resolve query: {msg}") from None


# -- scans ----------------------------------------------------------------------------------

def _source_of(scope: Scope, alias: str) -> Optional[exp.Expression]:
    s: Optional[Scope] = scope
    while s is not None:
        if alias in s.selected_sources:
            return s.selected_sources[alias][1]
        if alias in s.sources:
            return s.sources[alias]
        s = s.parent
    return None


def _null_supplied(select: exp.Select) -> set[str]:
    """Aliases of sources on the null-supplying side of an outer join in ``select``."""
    frm = select.args.get("from") or select.args.get("from_")
    seen = [frm.this.alias_or_name] if frm is not None else []
    out: set[str] = set()
    for j in select.args.get("joins") or []:
        side = (j.side or "").upper()
        name = j.this.alias_or_name
        if side == "LEFT":
            out.add(name)
        elif side == "RIGHT":
            out.update(seen)
        elif side == "FULL":
            out.update(seen)
            out.add(name)
        seen.append(name)
    return out


def _conjuncts(e: Optional[exp.Expression]) -> list[exp.Expression]:
    if e is None:
        return []
    return list(e.flatten()) if isinstance(e, exp.And) else [e]


def factor_common_conjuncts(tree: exp.Expression) -> None:
    """``WHERE (a AND x) OR (a AND y)`` also gets ``a`` as a conjunct of its own, so a join
    key written inside every branch of an OR (TPC-H Q19) is seen as a join key and a filter
    on one table can be pushed into its scan. ``a`` is implied by the OR, so the rows kept
    are the same; volatile and subquery conditions are left alone."""
    for sel in nodes(tree, exp.Select):
        where = sel.args.get("where")
        if where is None:
            continue
        top = _conjuncts(where.this)
        ors = [c for c in (c.unnest() for c in top) if isinstance(c, exp.Or)]
        if not ors:
            continue
        have = {_text(c) for c in top}
        extra: list[exp.Expression] = []
        for cond in ors:
            branches = [_conjuncts(b.unnest()) for b in cond.flatten()]
            common = set.intersection(*({_text(c) for c in b} for b in branches))
            for c in branches[0]:
                text = _text(c)
                if text in common and text not in have and _pushable(c):
                    have.add(text)
                    extra.append(copy_tree(c))
        if extra:
            where.set("this", exp.and_(where.this, *extra, copy=False))


def _text(cond: exp.Expression) -> str:
    """``cond``'s SQL, to compare conditions (generated without copying it first: the
    default dialect's generator does not change the tree)."""
    return cond.sql(copy=False)


def _implied_by_or(cond: exp.Expression) -> dict[str, exp.Expression]:
    """For ``(t.a AND u.b AND ...) OR (t.c AND ...)``: per table alias whose own conditions
    appear in every branch, the OR of those conditions (implied by ``cond``; a filter its
    scan can apply while the whole condition still runs after the join)."""
    cond = cond.unnest()
    if not isinstance(cond, exp.Or):
        return {}
    per_branch: list[dict[str, list[exp.Expression]]] = []
    for branch in cond.flatten():
        mine: dict[str, list[exp.Expression]] = {}
        for c in _conjuncts(branch.unnest()):
            aliases = {col.table for col in nodes(c, exp.Column)}
            if len(aliases) == 1 and _pushable(c):
                mine.setdefault(aliases.pop(), []).append(c)
        per_branch.append(mine)
    common = set.intersection(*(set(m) for m in per_branch))
    return {alias: exp.or_(*(exp.and_(*(copy_tree(c) for c in m[alias]), copy=False)
                           for m in per_branch), copy=False)
            for alias in sorted(common)}


_VOLATILE = ("RAND", "RANDOM", "UUID", "REFLECT", "JAVA_METHOD", "HIVE_SLEEP", "NOW")


def _pushable(cond: exp.Expression) -> bool:
    if contains(cond, exp.Subquery, exp.Exists, exp.AggFunc, exp.Window, exp.Select):
        return False
    for f in nodes(cond, exp.Func):
        if f.sql_name().upper() in _VOLATILE or isinstance(f, exp.Rand):
            return False
    return True


def plan_scans(tree: exp.Expression, tables: dict[tuple[str, str], Table]
               ) -> tuple[list[ScanSpec], exp.Expression]:
    scopes = traverse_scope(tree)
    # one scan per base-table reference, numbered in plan (source text) order
    refs: list[exp.Table] = base_tables(tree)
    refs.sort(key=lambda t: _position(t))
    used: dict[int, set[str]] = {id(t): set() for t in refs}
    filters: dict[int, list[exp.Expression]] = {id(t): [] for t in refs}

    for scope in scopes:
        for col in scope.columns:
            if not col.table:
                continue
            src = _source_of(scope, col.table)
            if isinstance(src, exp.Table) and id(src) in used:
                used[id(src)].add(col.name.lower())
        sel = scope.expression
        if not isinstance(sel, exp.Select):
            continue
        local = {alias: src for alias, src in scope.sources.items()
                 if isinstance(src, exp.Table) and id(src) in used}
        if not local:
            continue
        nullable = _null_supplied(sel)
        cands: list[tuple[exp.Expression, Optional[str]]] = [
            (c, None) for c in _conjuncts((sel.args.get("where") or exp.Where()).this)]
        for j in sel.args.get("joins") or []:
            side = (j.side or "").upper()
            kind = (j.kind or "").upper()
            target = j.this.alias_or_name
            if side in ("RIGHT", "FULL"):
                continue
            for c in _conjuncts(j.args.get("on")):
                cands.append((c, target if side == "LEFT" or kind in ("SEMI", "ANTI") else None))
        cands += [(implied, None) for cond, only in list(cands) if only is None
                  for implied in _implied_by_or(cond).values()]
        for cond, only in cands:
            if not _pushable(cond):
                continue
            aliases = {c.table for c in nodes(cond, exp.Column)}
            if len(aliases) != 1:
                continue
            alias = aliases.pop()
            if alias not in local or (only is not None and alias != only):
                continue
            if only is None and alias in nullable:
                continue
            if any(c.table != alias for c in nodes(cond, exp.Column)):
                continue
            filters[id(local[alias])].append(cond)

    scans: list[ScanSpec] = []
    ids: dict[int, str] = {}
    seen: dict[tuple, str] = {}
    for t in refs:
        key = (t.db.lower(), t.name.lower())
        table = tables[key]
        needed = used[id(t)]
        pkeys = {k.name for k in table.partition_keys}
        cols = tuple(c.name for c in table.all_columns if c.name in needed)
        sample = sample_rows(t)
        data_f, part_f = [], []
        for cond in filters[id(t)] if sample is None else ():  # sampled before filtered
            rendered = _render_unqualified(cond)
            data_f.append(rendered)
            if {c.name.lower() for c in nodes(cond, exp.Column)} <= pkeys:
                part_f.append(rendered)
        data_filter = " AND ".join(f"({f})" for f in data_f) or None
        part_filter = " AND ".join(f"({f})" for f in part_f) or None
        dedup = (table.qualified_name, cols, data_filter, part_filter, sample)
        if dedup in seen:  # the same rows read twice (self-joins, subqueries): one scan
            ids[id(t)] = seen[dedup]
            continue
        sid = f"scan{len(scans)}"
        seen[dedup] = ids[id(t)] = sid
        scans.append(ScanSpec(
            id=sid, table=table.qualified_name, location=table.location,
            storage=table.storage,
            schema=tuple((c.name, c.type) for c in table.columns), columns=cols,
            partition_keys=tuple((c.name, c.type) for c in table.partition_keys),
            filter=data_filter, partition_filter=part_filter, properties=table.properties,
            limit=sample))
    for t in refs:
        alias = t.alias or t.name
        t.replace(exp.Table(this=exp.to_identifier(ids[id(t)]),
                            alias=exp.TableAlias(this=exp.to_identifier(alias))))
    return scans, tree


def sample_rows(table: exp.Table) -> Optional[int]:
    """``t TABLESAMPLE (n ROWS)``: n rows from each split, as Hive takes them (before any
    WHERE). Percent and bucket sampling are refused."""
    sample = table.args.get("sample")
    if sample is None:
        return None
    size = sample.args.get("size")
    others = [k for k, v in sample.args.items() if v is not None and k != "size"]
    if others or not isinstance(size, exp.Literal) or size.is_string \
            or not size.name.isdigit():
        raise UnsupportedError(f"{sample.sql('hive')[:60]} is not supported; "
                               "use TABLESAMPLE (n ROWS)")
    return int(size.name)


def push_limit(tree: exp.Expression, scans: list[ScanSpec]) -> list[ScanSpec]:
    """``SELECT <columns/expressions> FROM t [WHERE ...] LIMIT n``: each split reads n rows."""
    from dataclasses import replace

    if len(scans) != 1 or not isinstance(tree, exp.Select):
        return scans
    limit = tree.args.get("limit")
    if limit is None or tree.args.get("offset") is not None:
        return scans
    if any(tree.args.get(k) for k in ("order", "group", "having", "distinct", "joins",
                                      "laterals", "with", "qualify")):
        return scans
    if contains(tree, exp.AggFunc, exp.Window, exp.Subquery, exp.Exists, exp.Unnest,
                exp.Explode):
        return scans
    frm = tree.args.get("from") or tree.args.get("from_")
    if frm is None or not isinstance(frm.this, exp.Table):
        return scans
    expr = limit.expression if isinstance(limit, exp.Limit) else None
    if not isinstance(expr, exp.Literal) or expr.is_string:
        return scans
    # the WHERE must be fully evaluated in the scan for the cut to be safe
    where = tree.args.get("where")
    if where is not None and not all(_pushable(c) for c in _conjuncts(where.this)):
        return scans
    limit = int(expr.name)
    if scans[0].limit is not None:
        limit = min(limit, scans[0].limit)
    return [replace(scans[0], limit=limit)]


def _position(node: exp.Expression) -> tuple:
    meta = node.this.meta if isinstance(node.this, exp.Identifier) else {}
    return (meta.get("line", 0), meta.get("col", 0), meta.get("start", 0))


def _render_unqualified(cond: exp.Expression) -> str:
    c = copy_tree(cond)
    for col in nodes(c, exp.Column):
        col.set("table", None)
    dialect.to_duckdb(c)
    return c.sql("duckdb", copy=False)
