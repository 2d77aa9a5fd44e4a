"""Hive's own qtests run through rayemr.hive, their results compared with Hive's.

A Hive qtest is a script (``ql/src/test/queries/clientpositive/NAME.q``) and the log of
running it on Hive (``ql/src/test/results/clientpositive[/llap]/NAME.q.out``): every
statement (``PREHOOK: query: ...``) followed by the rows it printed. This module

* parses a ``.q.out`` into statements and their expected output lines (:func:`parse_qout`);
* chooses the qtests within rayemr's features (:func:`choose`): the ones that read only
  Hive's ``src``/``src1``/``srcpart`` fixture tables (made from ``kv1.txt``/``kv3.txt`` as
  Hive's ``q_test_init.sql`` makes them) and use nothing outside plain HiveQL (no custom
  SerDes, scripts, jars, ACID, buckets, indexes, statistics or Hive-only file formats);
* runs a ``.q.out``'s statements in a fresh ``rayemr.hive.connect()`` session and compares
  every result with Hive's, cell by cell as Hive's CLI prints it (:func:`run_qout`).

EXPLAIN, DESCRIBE, SHOW and ANALYZE statements are run for nothing (plans, statistics and
catalog text are not results); every other statement runs, and a query's rows are compared
as a multiset (qtests sort or do not depend on order; ``-- SORT_QUERY_RESULTS`` sorts).

    python tests/compat/hive_qtests/runner.py --hive /path/to/hive-checkout [NAME ...]
"""
from __future__ import annotations

import argparse
import datetime
import decimal
import json
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

#: statement types whose output is not a query result (or that change nothing rayemr has)
NOT_COMPARED = ("EXPLAIN", "DESCFUNCTION", "DESCTABLE", "DESCDATABASE", "SHOWFUNCTIONS",
                "SHOWTABLES", "SHOWPARTITIONS", "SHOWCOLUMNS", "SHOWDATABASES",
                "SHOW_TABLESTATUS", "SHOW_TBLPROPERTIES", "SHOW_CREATETABLE",
                "SHOWCONF", "ANALYZE_TABLE", "QUERY:ANALYZE", "SHOW_GRANT", "SHOW_ROLES",
                "SHOWLOCKS", "SHOWINDEXES", "SHOW_COMPACTIONS", "SHOW_TRANSACTIONS")

#: a .q that mentions any of these is outside rayemr's features
OUTSIDE = re.compile(r"""(?ix)
    \b(add\s+jar|add\s+file|create\s+(temporary\s+)?function|create\s+(temporary\s+)?macro|
    transform\s*\(|\bmap\s+\w+.*\busing\b|reduce\s+\w+.*\busing\b|\busing\s+'|
    serde|inputformat|outputformat|sequencefile|rcfile|avro|orcfile|stored\s+as\s+orc|
    stored\s+by|clustered\s+by|skewed\s+by|sorted\s+by|bucket|tablesample\s*\(\s*bucket|
    index|archive|export\s+table|import\s+table|\block\b|unlock|grant|revoke|role|
    transactional|update\s+\w+\s+set|delete\s+from|merge\s+into|analyze|compute\s+statistics|
    dfs\s|^\s*!|source\s|uniquejoin|hbase|druid|kudu|jdbc|reflect2|
    input__file__name|block__offset|row__id|virtual|\$\{system|explain\s+(extended|
    dependency|authorization|logical|vectorization|cbo|ast|formatted|locks)|
    macro|udtf|udaf_|lateral\s+view\s+json_tuple|xpath|ngrams|context_ngrams|histogram|
    compute_stats|in_file|datetime_legacy|test\.tmp\.dir|hive\.test|local\s+directory|
    msck|concatenate)
""")
#: the fixture tables rayemr builds; a .q that reads another Hive fixture is left out
FIXTURES = {"src", "src1", "srcpart"}
OTHER_FIXTURES = re.compile(r"""(?ix)\b(src_thrift|src_json|src_sequencefile|srcbucket\d*|
    src_cbo|cbo_t\d|alltypesorc|alltypesparquet|lineitem|part|dest_j\d|primitives|
    srcpart_date|src_hbase|over1k|over10k|decimal_\w+|timestamp_\w+|bucket\w*|
    date_udf\w*|emp|dept|flights\w*|t1|t2|t3|t4|kv\d+\w*|json_\w+|\w+_orc)\b""")


@dataclass
class Statement:
    sql: str
    kind: str
    output: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    """One statement: ``agree`` / ``differ`` (a query's rows), ``ok`` / ``error`` (other
    statements), ``skipped`` (not compared)."""

    sql: str
    status: str
    detail: str = ""


@dataclass
class FileResult:
    name: str
    outcomes: list[Outcome]
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def agrees(self) -> bool:
        return self.count("agree") > 0 and not any(
            o.status in ("differ", "error") for o in self.outcomes)


# -- .q.out ------------------------------------------------------------------------------------

_MASKED = "#### A masked pattern was here ####"
#: lines Hive's test hooks and compiler print (stages run, warnings), not rows
_HOOK_LOG = re.compile(r"^(RUN: Stage-\d+:\w+|WARNING: .*)$")


def parse_qout(text: str) -> list[Statement]:
    """Statements of a .q.out with the lines each printed after its hooks (the POSTHOOK
    block may be left out, as in the excerpts under qout/)."""
    out: list[Statement] = []
    state = "start"
    sql: list[str] = []
    for line in text.split("\n"):
        if line.startswith("PREHOOK: query: "):
            sql = [line[len("PREHOOK: query: "):]]
            state = "pre_query"
            out.append(Statement("", ""))
            continue
        if not out:
            continue
        current = out[-1]
        if state == "pre_query":
            if line.startswith("PREHOOK: type: "):
                current.sql = strip_comments("\n".join(sql))
                current.kind = line[len("PREHOOK: type: "):].strip()
                state = "pre"
            else:
                sql.append(line)
        elif state == "pre":
            if line.startswith("POSTHOOK: query: "):
                state = "post_query"
            elif not (line.startswith("PREHOOK: ") or line == _MASKED or _HOOK_LOG.match(line)):
                state = "output"  # an excerpt without the POSTHOOK block
                current.output.append(line)
        elif state == "post_query":
            if line.startswith("POSTHOOK: type: "):
                state = "post"
        elif state == "post":
            if line.startswith("POSTHOOK: ") or line == _MASKED or _HOOK_LOG.match(line):
                continue
            state = "output"
            current.output.append(line)
        elif state == "output" and not _HOOK_LOG.match(line):
            current.output.append(line)
    if out and out[-1].output and out[-1].output[-1] == "":
        out[-1].output.pop()
    return [s for s in out if s.sql]


_SET = re.compile(r"(?im)^\s*set\s+([\w.]+)\s*=\s*([^;\n]*?)\s*;?\s*$")
#: settings of a qtest that rayemr's session takes (others configure Hive's test harness)
_TAKEN = re.compile(r"(hive\.exec\.dynamic\.partition(\.mode)?|hive\.map\.aggr|"
                    r"hive\.auto\.convert\.join|hive\.mapred\.mode|"
                    r"hive\.int\.timestamp\.conversion\.in\.seconds|hive\.local\.time\.zone|"
                    r"mapred\.reduce\.tasks|mapreduce\.job\.reduces|hive\.default\.fileformat)")


def settings(text: str) -> list[str]:
    """The SET statements of a .q (or of an excerpt's header) that rayemr takes."""
    if "PREHOOK: query: " in text:
        text = text.split("PREHOOK: query: ", 1)[0]
    return [f"SET {k}={v}" for k, v in _SET.findall(text) if _TAKEN.fullmatch(k)]


def strip_comments(sql: str) -> str:
    lines = [ln for ln in sql.split("\n") if not ln.strip().startswith("--")]
    return "\n".join(lines).strip().rstrip(";").strip()


# -- choosing ----------------------------------------------------------------------------------

def choose(query_text: str, qout_text: str) -> str | None:
    """None when the qtest is within rayemr's features, else why not."""
    body = "\n".join(ln for ln in query_text.split("\n") if not ln.strip().startswith("--"))
    m = OUTSIDE.search(body)
    if m:
        return f"uses {m.group(0).strip()[:30]!r}"
    for path in re.findall(r"(?i)inpath\s+['\"]([^'\"]+)['\"]", body):
        if path.rsplit("/", 1)[-1] not in ("kv1.txt", "kv3.txt"):
            return f"loads {path.rsplit('/', 1)[-1]}"
    created = {t.lower() for t in re.findall(
        r"(?i)create\s+(?:external\s+)?table\s+(?:if\s+not\s+exists\s+)?(\w+)", body)}
    for t in OTHER_FIXTURES.findall(body):
        if t.lower() not in created:
            return f"reads fixture {t}"
    statements = parse_qout(qout_text)
    if not any(s.kind == "QUERY" and s.output and not s.sql.upper().startswith("EXPLAIN")
               for s in statements):
        return "no query result to compare"
    return None


# -- rendering as Hive's CLI -------------------------------------------------------------------

def java_double(x: float, shortest: str | None = None) -> str:
    """Java's Double.toString (Float.toString with ``shortest`` the float's own digits)."""
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "Infinity" if x > 0 else "-Infinity"
    d = decimal.Decimal(shortest if shortest is not None else repr(x))
    if d == 0:
        return "-0.0" if d.is_signed() else "0.0"
    if decimal.Decimal("1e-3") <= abs(d) < decimal.Decimal("1e7"):
        text = format(d, "f")
        return text if "." in text else text + ".0"
    digits = "".join(map(str, d.as_tuple().digits)).rstrip("0") or "0"
    sign = "-" if d.is_signed() else ""
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{d.adjusted()}"


def java_float(x: float) -> str:
    import numpy

    return java_double(x, str(numpy.float32(x)))


def render(value, hive_type: str = "") -> str:
    """A value as Hive's CLI prints it in a result row (``hive_type``: the column's type as
    the cursor describes it, FLOAT_TYPE...)."""
    if isinstance(value, float) and hive_type == "FLOAT_TYPE":
        return java_float(value)
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, datetime.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        if value.microsecond:
            text += ("." + f"{value.microsecond:06d}").rstrip("0")
        return text
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_nested(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_nested(k)}:{_nested(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _nested(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return json.dumps(value)
    return render(value)


def _cells_agree(got: str, want: str) -> bool:
    """Equal text, or two fractional numbers equal to within the last digits Java and
    Python print differently (an integer never agrees with a fraction: ``5`` is not
    ``5.0``, the types differ)."""
    if got == want:
        return True
    fractional = re.compile(r"-?(\d+\.\d*([Ee]-?\d+)?|\d+[Ee]-?\d+)")
    if not (fractional.fullmatch(got) and fractional.fullmatch(want)):
        return False
    a, b = float(got), float(want)
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-300)


def rows_agree(got: list[str], want: list[str]) -> bool:
    if len(got) != len(want):
        return False
    if sorted(got) == sorted(want):
        return True
    split = lambda rows: sorted(tuple(r.split("\t")) for r in rows)  # noqa: E731
    for g, w in zip(split(got), split(want)):
        if len(g) != len(w) or not all(_cells_agree(a, b) for a, b in zip(g, w)):
            return False
    return True


# -- running -----------------------------------------------------------------------------------

def fixture_statements(data: Path) -> list[str]:
    """Hive's q_test_init.sql for the tables the chosen qtests read."""
    out = ["CREATE TABLE src (key STRING COMMENT 'default', value STRING COMMENT 'default') "
           "STORED AS TEXTFILE",
           f"LOAD DATA LOCAL INPATH '{data / 'kv1.txt'}' INTO TABLE src",
           "CREATE TABLE srcpart (key STRING COMMENT 'default', value STRING COMMENT 'default') "
           "PARTITIONED BY (ds STRING, hr STRING) STORED AS TEXTFILE"]
    for ds in ("2008-04-08", "2008-04-09"):
        for hr in ("11", "12"):
            out.append(f"LOAD DATA LOCAL INPATH '{data / 'kv1.txt'}' OVERWRITE INTO TABLE "
                       f"srcpart PARTITION (ds='{ds}', hr='{hr}')")
    if (data / "kv3.txt").exists():
        out += ["CREATE TABLE src1 (key STRING COMMENT 'default', value STRING COMMENT "
                "'default') STORED AS TEXTFILE",
                f"LOAD DATA LOCAL INPATH '{data / 'kv3.txt'}' INTO TABLE src1"]
    return out


def _localize(sql: str, data: Path) -> str:
    """Hive's qtests load files from ../../data/files or ${hiveconf:test.data.dir}."""
    for prefix in ("${hiveconf:test.data.dir}/", "../../data/files/", "../data/files/"):
        sql = sql.replace(prefix, f"{data}/")
    return sql


def run_qout(name: str, qout_text: str, data: Path = DATA,
             only: Iterable[int] | None = None, setup: Iterable[str] = ()) -> FileResult:
    """Run the statements of one .q.out in a fresh session after ``setup`` (its SET
    statements; an excerpt's header ones are added); ``only``: indexes of the query
    statements whose results are compared (the others still run)."""
    import rayemr.hive

    wanted = set(only) if only is not None else None
    work = Path(tempfile.mkdtemp(prefix=f"qtest-{name}-"))
    started = time.monotonic()
    outcomes: list[Outcome] = []
    conn = rayemr.hive.connect(metastore_path=str(work / "metastore.db"),
                               warehouse=str(work / "warehouse"), runner="inline")
    try:
        cur = conn.cursor()
        for sql in fixture_statements(data) + list(setup) + settings(qout_text):
            cur.execute(sql)
        for index, st in enumerate(parse_qout(qout_text)):
            outcomes.append(_run_one(cur, st, data, index, wanted))
    finally:
        conn.close()
        shutil.rmtree(work, ignore_errors=True)
    return FileResult(name, outcomes, time.monotonic() - started)


def _run_one(cur, st: Statement, data: Path, index: int, wanted: set[int] | None) -> Outcome:
    head = st.sql.split(None, 1)[0].upper() if st.sql.split() else ""
    if head == "EXPLAIN" or st.kind in NOT_COMPARED or head in ("DESCRIBE", "DESC", "SHOW",
                                                                 "ANALYZE"):
        return Outcome(st.sql, "skipped", st.kind)
    try:
        cur.execute(_localize(st.sql, data))
        rows = cur.fetchall() if cur.description else []
    except Exception as err:  # noqa: BLE001 - every failure is a result of the comparison
        return Outcome(st.sql, "error", f"{type(err).__name__}: {str(err)[:300]}")
    if not cur.description or (st.kind != "QUERY" and not st.output):
        return Outcome(st.sql, "ok")
    if wanted is not None and index not in wanted:
        return Outcome(st.sql, "ok", "not compared")
    types = [d[1] for d in cur.description]
    got = ["\t".join(render(v, t) for v, t in zip(row, types)) for row in rows]
    if rows_agree(got, st.output):
        return Outcome(st.sql, "agree")
    return Outcome(st.sql, "differ", _diff(got, st.output))


def _diff(got: list[str], want: list[str]) -> str:
    g, w = sorted(got), sorted(want)
    extra = [r for r in g if r not in w][:3]
    missing = [r for r in w if r not in g][:3]
    return f"{len(got)} rows vs Hive's {len(want)}; rayemr only {extra}; Hive only {missing}"


# -- a Hive checkout ---------------------------------------------------------------------------

def hive_files(hive: Path) -> dict[str, tuple[Path, Path]]:
    """name -> (.q, .q.out) in a Hive source tree (llap results preferred)."""
    queries = hive / "ql/src/test/queries/clientpositive"
    results = hive / "ql/src/test/results/clientpositive"
    out = {}
    for q in sorted(queries.glob("*.q")):
        for r in (results / "llap" / f"{q.name}.out", results / f"{q.name}.out"):
            if r.is_file():
                out[q.stem] = (q, r)
                break
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hive", type=Path, required=True, help="a checkout of apache/hive")
    ap.add_argument("--json", type=Path, help="write every statement's outcome here")
    ap.add_argument("--data", type=Path, default=DATA, help="folder of kv1.txt (kv3.txt)")
    ap.add_argument("names", nargs="*", help="qtests to run (default: all chosen ones)")
    args = ap.parse_args(argv)
    files = hive_files(args.hive)
    chosen, reasons = [], {}
    for name, (q, out) in files.items():
        if args.names and name not in args.names:
            continue
        why = None if args.names else choose(q.read_text(errors="replace"),
                                             out.read_text(errors="replace"))
        if why is None:
            chosen.append(name)
        else:
            reasons[name] = why
    results = []
    for name in chosen:
        q, out = files[name]
        res = run_qout(name, out.read_text(errors="replace"), args.data,
                       setup=settings(q.read_text(errors="replace")))
        results.append(res)
        print(f"{name:40s} agree {res.count('agree'):3d} differ {res.count('differ'):3d} "
              f"error {res.count('error'):3d} skipped {res.count('skipped'):3d} "
              f"{'AGREES' if res.agrees else ''}", flush=True)
        for o in res.outcomes:
            if o.status in ("differ", "error"):
                print(f"    {o.status}: {' '.join(o.sql.split())[:160]}\n      {o.detail[:300]}",
                      flush=True)
    summary = {
        "qtests": len(files), "chosen": len(chosen),
        "files_agreeing": sum(r.agrees for r in results),
        "statements_compared": sum(r.count("agree") + r.count("differ") for r in results),
        "statements_agreeing": sum(r.count("agree") for r in results),
        "statements_error": sum(r.count("error") for r in results),
    }
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "left_out": reasons,
                                         "files": [asdict(r) for r in results]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
