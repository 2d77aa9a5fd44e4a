"""The compiler's fast tree helpers (rayemr.hive.sql.walk) agree with sqlglot's own, and
every pass that run_passes may skip declares each node type it searches for."""
from __future__ import annotations

import inspect
import re

import pytest
from sqlglot import exp

from rayemr.hive.sql import compile as compile_, dialect, walk
from rayemr.hive.sql.compile import parse_hive
from rayemr.hive.sql.semantics import Context

QUERIES = [
    "SELECT a, sum(b * 2) AS s FROM t WHERE c LIKE 'x%' AND d BETWEEN 1 AND 2 GROUP BY a",
    "WITH w AS (SELECT k, count(*) c FROM u GROUP BY k) "
    "SELECT * FROM w JOIN v ON w.k = v.k WHERE (w.c > 1 AND v.z = 'a') OR (w.c < 0) "
    "ORDER BY w.k LIMIT 5",
    "SELECT CAST(x AS DECIMAL(10, 2)) / 3, CASE WHEN y IN (1, 2) THEN 'a' ELSE 'b' END, "
    "coalesce(z, 1.50) FROM t LATERAL VIEW explode(arr) e AS item",
    "SELECT k FROM t WHERE EXISTS (SELECT * FROM u WHERE u.k = t.k) "
    "UNION ALL SELECT k FROM u",
]


@pytest.mark.parametrize("sql", QUERIES)
@pytest.mark.parametrize("bfs", [True, False])
def test_nodes_yields_what_find_all_yields_in_the_same_order(sql, bfs):
    tree = parse_hive(sql)
    for types in [(exp.Column,), (exp.Select, exp.Func), (exp.Expression,)]:
        want = list(tree.find_all(*types, bfs=bfs))
        got = walk.nodes(tree, *types, bfs=bfs)
        assert len(got) == len(want) and all(a is b for a, b in zip(got, want))
        assert walk.contains(tree, *types) == (tree.find(*types) is not None)
    for absent in [(exp.Window,), (exp.Window, exp.Unnest)]:
        assert walk.contains(tree, *absent) == (tree.find(*absent) is not None)


def _shape(tree: exp.Expression) -> list[tuple]:
    return [(type(n), n.arg_key, n.index, dict(n.meta), n.type, n.comments,
             type(n.parent) if n.parent is not None else None) for n in tree.walk()]


@pytest.mark.parametrize("sql", QUERIES)
def test_copy_is_a_detached_equal_tree(sql):
    tree = parse_hive(sql)
    for node in tree.find_all(exp.Column):
        node.type = exp.DataType.build("INT")
        node.meta["mark"] = 1
    got = walk.copy(tree)
    assert got == tree.copy() and got.sql("hive") == tree.sql("hive")
    assert _shape(got) == _shape(tree.copy())
    for n in got.walk():  # every child hangs where its parent says
        if n.parent is not None:
            held = n.parent.args[n.arg_key]
            assert (held[n.index] if isinstance(held, list) else held) is n
    assert not {id(n) for n in got.walk()} & {id(n) for n in tree.walk()}
    before = tree.sql("hive")
    for col in got.find_all(exp.Column):  # changing the copy leaves the original alone
        col.replace(exp.Literal.number(0))
        col.meta["mark"] = 2
    assert tree.sql("hive") == before
    assert all(c.meta["mark"] == 1 for c in tree.find_all(exp.Column))


def test_run_passes_skips_a_pass_whose_nodes_are_absent_and_sees_new_nodes():
    ran: list[str] = []

    @walk.finds(exp.Anonymous)
    def calls_to_upper(tree: exp.Expression) -> None:
        ran.append("calls")
        for node in walk.nodes(tree, exp.Anonymous):
            node.replace(exp.Upper(this=node.expressions[0].copy()))

    @walk.finds(exp.Upper)
    def uppers(tree: exp.Expression) -> None:
        ran.append("uppers")

    @walk.finds(exp.Div)
    def divisions(tree: exp.Expression) -> None:
        ran.append("divisions")

    def always(tree: exp.Expression) -> None:
        ran.append("always")

    tree = parse_hive("SELECT f(a) FROM t")
    walk.run_passes(tree, [divisions, uppers, calls_to_upper, uppers, always])
    # uppers is skipped before calls_to_upper makes an Upper and runs after it
    assert ran == ["calls", "uppers", "always"]
    ran.clear()
    walk.run_passes(parse_hive("SELECT a / 2 FROM t"), [calls_to_upper, divisions])
    assert ran == ["divisions"]


def _searched_types(fn, module) -> set[type]:
    """The node types ``fn``'s source searches the whole tree for (post_order(tree, ...) and
    nodes(tree, ...))."""
    source = inspect.getsource(inspect.unwrap(fn))
    found: set[type] = set()
    for args in re.findall(r"(?:post_order|nodes)\(tree, ([^)]*)\)", source):
        for part in (p.strip() for p in args.split(",")):
            if not part or "=" in part:
                continue
            value = eval(part.lstrip("*"), vars(module))  # noqa: S307 - our own source
            found.update(value if part.startswith("*") else [value])
    return found


PASSES = [(rule, inspect.getmodule(rule))
          for rule in compile_.SEMANTICS + dialect.PRE_QUALIFY + dialect.FIXES]
#: passes that search for SELECTs and act only on a part of theirs: the part's node types
SELECT_PARTS = {"_lateral_views": (exp.Lateral,),
                "_sort_by": (exp.Sort, exp.Cluster, exp.Distribute)}


@pytest.mark.parametrize("rule,module", PASSES, ids=[r.__name__ for r, _ in PASSES])
def test_a_skippable_pass_declares_every_type_it_searches_for(rule, module):
    declared = getattr(rule, "finds", None)
    if declared is None:
        return  # always runs
    searched = _searched_types(rule, module)
    if rule.__name__ in SELECT_PARTS:  # looks at parts of each SELECT, of their own types
        searched = (searched - {exp.Select}) | set(SELECT_PARTS[rule.__name__])
    assert all(issubclass(t, declared) for t in searched), (rule.__name__, searched, declared)
    assert searched or rule.__name__ == "interval_results", rule.__name__


def test_every_semantics_rule_may_be_skipped_on_a_tree_without_its_nodes():
    """A plain query touches few rules; the compiled SQL is the same either way (the
    skipped rules find nothing)."""
    tree = compile_.parse_hive("SELECT a FROM t WHERE b = 1")
    ran = []
    rules = [walk.finds(*r.finds)(lambda t, c, r=r: ran.append(r.__name__) or r(t, c))
             if hasattr(r, "finds") else r for r in compile_.SEMANTICS]
    walk.run_passes(tree, rules, Context())
    assert "string_number_comparisons" in ran and "rounding" not in ran
    assert tree.sql("hive") == "SELECT a FROM t WHERE b = 1"


# -- what the compiler reuses between queries follows the metastore and the files -----------

def _text_table(path, name: str, lines: str) -> str:
    path.mkdir(parents=True, exist_ok=True)
    (path / f"{name}.txt").write_text(lines)
    return str(path)


def test_a_changed_table_definition_is_compiled_afresh(session, tmp_path):
    from rayemr.hive.errors import SemanticError

    loc = _text_table(tmp_path / "t", "part0", "1,2\n")
    session.execute(f"CREATE EXTERNAL TABLE t (a string) ROW FORMAT DELIMITED "
                    f"FIELDS TERMINATED BY ',' LOCATION '{loc}'")
    as_text = session.compile("SELECT a + 1 FROM t").final_sql
    assert "TRY_CAST" in as_text  # a string operand of + is read as DOUBLE
    with pytest.raises(SemanticError):
        session.compile("SELECT b FROM t")
    session.execute("ALTER TABLE t REPLACE COLUMNS (a int, b int)")
    as_int = session.compile("SELECT a + 1 FROM t").final_sql
    assert as_int != as_text and "TRY_CAST" not in as_int
    assert session.compile("SELECT b FROM t").scans[0].columns == ("b",)
    session.execute("DROP TABLE t")
    session.execute(f"CREATE EXTERNAL TABLE t (a string) ROW FORMAT DELIMITED "
                    f"FIELDS TERMINATED BY ',' LOCATION '{loc}'")
    assert session.compile("SELECT a + 1 FROM t").final_sql == as_text
    assert rows(session.execute("SELECT a + 1 FROM t")) == [(2.0,)]


def test_the_splits_of_a_query_follow_new_files_and_a_new_location(session, tmp_path):
    loc = _text_table(tmp_path / "t", "part0", "1\n")
    session.execute(f"CREATE EXTERNAL TABLE t (a int) LOCATION '{loc}'")

    def files() -> list[str]:
        session.plan_query("SELECT a FROM t", [])
        return [u.rsplit("/", 1)[-1] for u in session.last_inputs]

    assert files() == ["part0.txt"]
    _text_table(tmp_path / "t", "part1", "2\n")
    assert files() == ["part0.txt", "part1.txt"]
    other = _text_table(tmp_path / "u", "other", "3\n")
    session.execute(f"ALTER TABLE t SET LOCATION '{other}'")
    assert files() == ["other.txt"]
    session.execute("INSERT INTO t VALUES (4)")
    assert len(files()) == 2
    assert sorted(rows(session.execute("SELECT a FROM t"))) == [(3,), (4,)]


def rows(result):
    return [tuple(r.values()) for r in result.table.to_pylist()]
