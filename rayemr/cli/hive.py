"""rayemr hive: the Hive CLI (-e SQL, -f script.q, or an interactive shell).

Non-interactive output is Hive's: rows tab-separated, NULL for nulls, header only with
``--header`` or ``SET hive.cli.print.header=true``. The shell prints aligned tables, keeps
readline history in ``~/.rayemr/hive_history``, and reads statements up to ``;``. Progress
goes to stderr while stages run. User errors are one line, without a traceback.
"""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Optional, TextIO

from rayemr.core.errors import RayEmrError, UserError


def register(subparsers) -> None:
    p = subparsers.add_parser("hive", help="run HiveQL (-e, -f, or an interactive shell)",
                              description=__doc__.split("\n\n")[0])
    src = p.add_mutually_exclusive_group()
    src.add_argument("-e", dest="execute", metavar="SQL", help="run these statements")
    src.add_argument("-f", dest="file", metavar="FILE", help="run the statements in FILE")
    p.add_argument("--hivevar", "-d", "--define", dest="hivevar", action="append",
                   default=[], metavar="K=V", help="substitute ${hivevar:K} (and ${K}) with V")
    p.add_argument("--hiveconf", action="append", default=[], metavar="K=V",
                   help="set a session property")
    p.add_argument("--hiveconf-file", metavar="FILE",
                   help="session properties from a JSON object in FILE (how EMR steps pass "
                        "credentials: never on the command line)")
    p.add_argument("--database", default="default", help="the current database")
    p.add_argument("--runner", choices=("ray", "inline"), default=None,
                   help="run stages on Ray (default) or in this process")
    p.add_argument("--metastore", metavar="PATH", help="SQLite metastore file "
                   "(default ~/.rayemr/metastore.db)")
    p.add_argument("--warehouse", metavar="URL", help="managed tables' root "
                   "(default ~/.rayemr/warehouse)")
    p.add_argument("--header", action="store_true", help="print column names")
    p.add_argument("-S", "--silent", action="store_true", help="no progress or timing")
    p.set_defaults(func=main)


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise UserError(f"--{what} {item!r}: expected KEY=VALUE")
        k, v = item.split("=", 1)
        out[k.strip()] = v
    return out


def _conf_file(path: str, cwd: str | None = None) -> dict[str, str]:
    try:
        with open(os.path.join(cwd, path) if cwd else path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        raise UserError(f"cannot read --hiveconf-file {path}: {exc.strerror}") from None
    except ValueError:
        raise UserError(f"--hiveconf-file {path}: expected a JSON object") from None
    if not isinstance(data, dict):
        raise UserError(f"--hiveconf-file {path}: expected a JSON object")
    return {str(k): str(v) for k, v in data.items()}


def main(args) -> int:
    from rayemr.hive.session import HiveSession

    out = getattr(args, "stdout", None) or sys.stdout
    err = getattr(args, "stderr", None) or sys.stderr
    cwd = getattr(args, "cwd", None)  # set when the command runs for a gateway client
    hiveconf = _pairs(args.hiveconf, "hiveconf")
    if args.hiveconf_file:
        hiveconf.update(_conf_file(args.hiveconf_file, cwd))
    session = HiveSession(database=args.database, hiveconf=hiveconf,
                          hivevars=_pairs(args.hivevar, "hivevar"), runner=args.runner,
                          metastore_path=args.metastore, warehouse=args.warehouse)
    if args.header:
        session.hiveconf["hive.cli.print.header"] = "true"
    try:
        if args.execute is not None or args.file is not None:
            if args.file is not None:
                path = args.file if not cwd else os.path.join(cwd, args.file)
                try:
                    with open(path) as f:
                        script = f.read()
                except OSError as exc:
                    raise UserError(f"cannot read {args.file}: {exc.strerror}") from None
            else:
                script = args.execute
            run_script(session, script, out, err, silent=args.silent,
                       cancel=getattr(args, "cancel", None))
            return 0
        return shell(session, silent=args.silent)
    finally:
        session.close()


def run_script(session, script: str, out: TextIO, err: TextIO, silent: bool = False,
               cancel=None) -> None:
    from rayemr.hive.sql.lexer import split_statements

    for stmt in split_statements(script):
        result, seconds = _execute(session, stmt, err, silent, cancel)
        if result.has_result_set and result.table is not None:
            header = session.hiveconf.get("hive.cli.print.header", "false").lower() == "true"
            write_tsv(result, out, header)
        if not silent:
            n = result.table.num_rows if result.has_result_set and result.table is not None \
                else None
            fetched = f", Fetched: {n} row(s)" if n is not None else ""
            print(f"Time taken: {seconds:.3f} seconds{fetched}", file=err)


def _execute(session, stmt: str, err: TextIO, silent: bool, cancel=None):
    last = [0.0]

    def progress(fraction: float, message: str) -> None:
        # percentages at most twice a second (a job's first and last always); other lines all
        now = time.monotonic()
        if silent:
            return
        if " map = " in message and not any(p in message for p in (" 0%,", "100%,")):
            if now - last[0] < 0.5:
                return
        last[0] = now
        print(message, file=err, flush=True)

    t0 = time.perf_counter()
    result = session.execute(stmt, progress=progress, cancel=cancel)
    return result, time.perf_counter() - t0


def format_value(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _column_text(col) -> list[str]:
    """A result column as the CLI prints it; complex values as Hive renders them."""
    import pyarrow as pa

    from rayemr.hive.render import render_array

    if pa.types.is_nested(col.type):
        return ["NULL" if v is None else v for v in render_array(col.combine_chunks())]
    return [format_value(v) for v in col.to_pylist()]


def _rows(result) -> list[list[str]]:
    t = result.table
    cols = [_column_text(t.column(i)) for i in range(t.num_columns)]
    return [[c[r] for c in cols] for r in range(t.num_rows)]


def write_tsv(result, out: TextIO, header: bool = False) -> None:
    if header:
        out.write("\t".join(c.name for c in result.columns) + "\n")
    for row in _rows(result):
        out.write("\t".join(row) + "\n")
    out.flush()


def aligned(result) -> str:
    """Rows as a table with borders, like beeline."""
    names = [c.name for c in result.columns]
    rows = _rows(result)
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]
    sep = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(vals: list[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(vals, widths)) + " |"

    parts = [sep, line(names), sep] + [line(r) for r in rows] + [sep]
    return "\n".join(parts)


def _history_file() -> str:
    from rayemr.hive.metastore import default_home

    return str(default_home() / "hive_history")


def shell(session, silent: bool = False, stdin: Optional[TextIO] = None,
          out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """The interactive shell: statements end with ';', ``quit;`` or EOF leaves."""
    interactive = stdin is None and sys.stdin.isatty()
    history = None
    if interactive:
        try:
            import readline

            history = _history_file()
            os.makedirs(os.path.dirname(history), exist_ok=True)
            if os.path.exists(history):
                readline.read_history_file(history)
        except (ImportError, OSError):
            history = None
    src = stdin or sys.stdin
    buf: list[str] = []
    while True:
        prompt = "hive> " if not buf else "    > "
        try:
            if interactive:
                line = input(prompt)
            else:
                line = src.readline()
                if not line:
                    break
                line = line.rstrip("\n")
        except EOFError:
            break
        except KeyboardInterrupt:
            buf = []
            print("", file=out)
            continue
        if not buf and line.strip().lower().rstrip(";") in ("quit", "exit"):
            break
        buf.append(line)
        if not line.rstrip().endswith(";"):
            continue
        script = "\n".join(buf)
        buf = []
        from rayemr.hive.sql.lexer import split_statements

        for stmt in split_statements(script):
            try:
                result, seconds = _execute(session, stmt, err, silent)
            except RayEmrError as exc:
                print(f"FAILED: {exc}", file=err)
                continue
            except KeyboardInterrupt:
                print("interrupted", file=err)
                continue
            if result.has_result_set and result.table is not None:
                print(aligned(result), file=out)
            if not silent:
                n = result.table.num_rows if result.has_result_set and result.table is not None \
                    else None
                fetched = f", Fetched: {n} row(s)" if n is not None else ""
                print(f"Time taken: {seconds:.3f} seconds{fetched}", file=err)
    if history:
        try:
            import readline

            readline.write_history_file(history)
        except OSError:
            pass
    return 0
