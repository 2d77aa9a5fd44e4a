"""A generated corpus of disguised attacks: none of them gets through.

Each attack is a statement that would read a file, reach a path outside the roots, run a
command or show a secret. Each is disguised by mutations the old text-level guard got wrong:
comments (``--`` ended by ``\\n``, ``\\r``, ``\\r\\n`` or a unicode line separator, ``/* */``)
between tokens, whitespace and letter-case variants, other quoting, and variable
substitution (a variable holding a part of the statement, nested variables, variables that
hold comment markers). Every variant runs in a session with a HiveServer2 client's policy;
after each one the test checks what matters -- not the error text, the effects: no canary in
any row or message, no file created or changed outside the roots, no command run.
"""
from __future__ import annotations

import os
import random
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from rayemr.core.errors import RayEmrError
from rayemr.hive.server.config import ServerConfig
from rayemr.hive.session import HiveSession

FILE_CANARY = "corpus-file-canary-51d2"
ENV_CANARY = "corpus-env-canary-8e0b"
CONF_CANARY = "corpus-conf-canary-c4a7"


@dataclass
class Env:
    session: HiveSession
    root: Path

    @property
    def outside(self) -> Path:
        return self.root / "outside"


def _snapshot(root: Path) -> list[tuple[str, int, float]]:
    out = []
    for base, dirs, files in os.walk(root / "outside"):
        for name in dirs + files:
            p = os.path.join(base, name)
            st = os.lstat(p)
            out.append((os.path.relpath(p, root), st.st_size, st.st_mtime))
    out += [(n, 0, 0.0) for n in os.listdir(root) if n.startswith("pwned")]
    return sorted(out)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    for name in ("warehouse", "data", "outside"):
        (root / name).mkdir()
    (root / "outside" / "secret.txt").write_text(FILE_CANARY + "\n")
    (root / "outside" / "victim").mkdir()
    (root / "outside" / "victim" / "keep.txt").write_text("keep\n")
    (root / "data" / "link").symlink_to(root / "outside")
    warehouse = str(root / "warehouse")
    config = ServerConfig(warehouse=warehouse, allow_paths=(str(root / "data"),),
                          transform_commands=("cat",))
    session = HiveSession(metastore_path=str(root / "metastore.db"), warehouse=warehouse,
                          runner="inline", policy=config.policy(warehouse))
    session.hiveconf["fs.s3a.secret.key"] = CONF_CANARY
    session.hiveconf["javax.jdo.option.ConnectionPassword"] = CONF_CANARY
    for sql in ("CREATE TABLE t (a string)", "INSERT OVERWRITE TABLE t SELECT 'x'",
                "CREATE TABLE p (a string) PARTITIONED BY (k string)"):
        session.execute(sql)
    os.environ["CORPUS_CANARY"] = ENV_CANARY
    yield Env(session, root)
    os.environ.pop("CORPUS_CANARY", None)
    session.close()


# -- the attacks ------------------------------------------------------------------------------

ATTACKS = [
    # file and table functions
    "SELECT * FROM read_text('{secret}')",
    "SELECT content FROM read_text('{secret}')",
    "SELECT * FROM read_csv('{secret}')",
    "SELECT * FROM read_csv_auto('{secret}')",
    "SELECT * FROM read_blob('{secret}')",
    "SELECT * FROM read_json('{secret}')",
    "SELECT * FROM read_parquet('{secret}')",
    "SELECT * FROM sniff_csv('{secret}')",
    "SELECT * FROM glob('{outside}/*')",
    "SELECT read_text('{secret}')",
    "SELECT a FROM t WHERE a IN (SELECT content FROM read_text('{secret}'))",
    "SELECT * FROM query('SELECT content FROM read_text(''{secret}'')')",
    "SELECT getenv('CORPUS_CANARY')",
    "SELECT current_setting('temp_directory')",
    "CREATE TABLE s1 AS SELECT * FROM read_text('{secret}')",
    "INSERT OVERWRITE TABLE t SELECT content FROM read_text('{secret}')",
    "SELECT * FROM '{secret}'",
    # paths outside the roots
    "CREATE EXTERNAL TABLE e1 (a string) LOCATION '{outside}'",
    "CREATE EXTERNAL TABLE e2 (a string) LOCATION '{data}/link'",
    "CREATE EXTERNAL TABLE e3 (a string) LOCATION '{data}/../outside'",
    "CREATE DATABASE d1 LOCATION '{outside}/d1'",
    "LOAD DATA LOCAL INPATH '{secret}' INTO TABLE t",
    "LOAD DATA INPATH '{outside}/victim' INTO TABLE t",
    "INSERT OVERWRITE LOCAL DIRECTORY '{outside}/victim' SELECT a FROM t",
    "INSERT OVERWRITE DIRECTORY '{outside}/dir' SELECT a FROM t",
    "ALTER TABLE t SET LOCATION '{outside}/victim'",
    "ALTER TABLE p ADD PARTITION (k='1') LOCATION '{outside}/victim'",
    "CREATE TABLE `../outside/victim` (a string)",
    "DROP TABLE `../outside/victim`",
    "CREATE DATABASE `../outside`",
    "ALTER TABLE t RENAME TO `../outside/t2`",
    # commands
    "SELECT TRANSFORM(a) USING 'sh -c \"touch {root}/pwned\"' AS (b) FROM t",
    "SELECT TRANSFORM(a) USING 'cat {secret}' AS (b) FROM t",
    "SELECT TRANSFORM(a) USING 'cat; touch {root}/pwned' AS (b) FROM t",
    "SELECT TRANSFORM(a) USING 'python3 -c \"open(\\'{root}/pwned\\',\\'w\\')\"' FROM t",
    # secrets
    "SELECT '${{env:CORPUS_CANARY}}'",
    "SELECT '${{system:user.home}}{env:CORPUS_CANARY}'",
    "SELECT '${{hiveconf:fs.s3a.secret.key}}'",
    "SELECT '${{fs.s3a.secret.key}}'",
    "SELECT '${{hiveconf:javax.jdo.option.ConnectionPassword}}'",
    "SET fs.s3a.secret.key",
    "SET",
    "SET -v",
    "SET env:CORPUS_CANARY",
    "SET hive.metastore.warehouse.dir={outside}",
    "SET fs.s3a.secret.key=stolen",
]

_COMMENTS = ["/**/", "/* ; */", "/* x\n */", "--x\n", "--x\r", "--x\r\n", "-- x;\n",
             "--\u2028\n", "--\u2029\n", "--\x85\n", "/* -- */"]
#: Separators, the ordinary ones weighted up (exotic ones make most statements unparseable,
#: which proves less)
_SPACES = [" "] * 6 + ["\t", "\n", "\r", "\r\n", "  ", "\f", "\v", "\u00a0", "\u2028"]
#: Tokens that stay whole: strings, quoted names, dotted names and paths, then punctuation.
_TOKEN = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`|\$\{(?:[^{}]|\$\{[^{}]*\})*\}|\{[a-z]+\}|"
                    r"[\w.:/-]+|"
                    r"[^\w\s]")


def _case(word: str, rng: random.Random) -> str:
    choice = rng.randrange(3)
    if choice == 0:
        return word.upper()
    if choice == 1:
        return word.lower()
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in word)


def _respace(sql: str, rng: random.Random, comments: bool) -> str:
    """The statement's tokens, joined by varied whitespace and (maybe) comments."""
    tokens = _TOKEN.findall(sql)
    out = []
    for i, tok in enumerate(tokens):
        if tok[0].isalpha() and not tok.startswith(("'", "`")):
            tok = _case(tok, rng)
        out.append(tok)
        if i < len(tokens) - 1:
            sep = rng.choice(_SPACES)
            if comments and rng.random() < 0.3:
                sep = rng.choice(_SPACES) + rng.choice(_COMMENTS) + rng.choice(_SPACES)
            out.append(sep)
    return "".join(out)


def _requote(sql: str) -> str:
    """Single-quoted strings as double-quoted ones (Hive reads both)."""
    return re.sub(r"'([^'\"]*)'", r'"\1"', sql)


def _through_variables(sql: str, rng: random.Random) -> tuple[list[str], str]:
    """Move a piece of the statement into a hivevar (sometimes nested, sometimes with a
    comment marker next to it); returns the SET statements and the statement using it."""
    tokens = _TOKEN.findall(sql)
    if len(tokens) < 2:
        return [], sql
    i = rng.randrange(len(tokens))
    piece = tokens[i]
    before = " ".join(tokens[:i])
    after = " ".join(tokens[i + 1:])
    n = rng.randrange(4)
    if n == 0:
        sets, ref = [f"SET hivevar:v1={piece}"], "${hivevar:v1}"
    elif n == 1:
        sets, ref = [f"SET hivevar:v1={piece}", "SET hivevar:v2=${hivevar:v1}"], "${v2}"
    elif n == 2:
        sets, ref = [f"SET hivevar:v1={piece}", "SET hivevar:nm=hivevar:v1"], "${${hivevar:nm}}"
    else:
        marker = rng.choice(["--", "/*", "*/", ";", "$", "{", "}"])
        sets, ref = [f"SET hivevar:v1={piece}", f"SET hivevar:m={marker}"], \
            "${hivevar:v1}${hivevar:m}"
    return sets, f"{before} {ref} {after}".strip()


def corpus(count: int, seed: int = 20261203) -> list[tuple[list[str], str]]:
    rng = random.Random(seed)
    out: list[tuple[list[str], str]] = []
    for attack in ATTACKS:  # every attack plain first
        out.append(([], attack))
    while len(out) < count:
        sql = rng.choice(ATTACKS)
        sets: list[str] = []
        kind = rng.randrange(5)
        if kind == 0:
            sql = _respace(sql, rng, comments=False)
        elif kind == 1:
            sql = _respace(sql, rng, comments=True)
        elif kind == 2:
            sql = _requote(sql) if "'" in sql else _respace(sql, rng, comments=True)
        elif kind == 3:
            sets, sql = _through_variables(sql, rng)
        else:
            sets, sql = _through_variables(sql, rng)
            sql = _respace(sql, rng, comments=True)
        if rng.random() < 0.15:
            sql = rng.choice([";", " ;", "\n;", "-- x\n"]) + sql + rng.choice(["", ";", "; ;"])
        out.append((sets, sql))
    return out


def _fill(sql: str, env: Env) -> str:
    return (sql.replace("{secret}", str(env.outside / "secret.txt"))
            .replace("{outside}", str(env.outside)).replace("{data}", str(env.root / "data"))
            .replace("{root}", str(env.root)).replace("{{", "{").replace("}}", "}"))


def _run(session: HiveSession, sql: str) -> str:
    """What a client would see: the rows and log, or the error message."""
    try:
        result = session.execute(sql)
    except RayEmrError as exc:
        return f"ERROR {exc}"
    rows = result.table.to_pylist() if result.table is not None else []
    return repr(rows) + repr(result.log)


def _check(env: Env, sets: list[str], sql: str, before) -> None:
    session = env.session
    seen = [_run(session, _fill(s, env)) for s in sets]
    seen.append(_run(session, _fill(sql, env)))
    text = "\n".join(seen)
    for canary in (FILE_CANARY, ENV_CANARY, CONF_CANARY):
        assert canary not in text, (sets, sql, text[:500])
    assert _snapshot(env.root) == before, (sets, sql, "changed files outside the roots")
    assert (env.outside / "victim" / "keep.txt").read_text() == "keep\n"
    # the session's own state stays sane: the settings it may not change are unchanged
    assert session.hiveconf.get("hive.metastore.warehouse.dir") in (None, "")
    assert session.hiveconf["fs.s3a.secret.key"] == CONF_CANARY
    assert session.execute("SELECT count(*) FROM t").table.num_rows == 1


@pytest.mark.parametrize("start", range(0, 600, 100))
def test_corpus(env, start):
    before = _snapshot(env.root)
    for sets, sql in corpus(600)[start:start + 100]:
        _check(env, sets, sql, before)


@pytest.mark.slow
@pytest.mark.parametrize("start", range(0, 5000, 500))
def test_corpus_large(env, start):
    before = _snapshot(env.root)
    for sets, sql in corpus(5000, seed=7)[start:start + 500]:
        _check(env, sets, sql, before)


def test_the_corpus_covers_the_disguises():
    """The generator does produce each kind of disguise (so the runs above test them)."""
    text = "\n".join(sql for _, sql in corpus(600))
    for needle in ("--x\r", "--x\r\n", "/**/", "\u2028", "${${hivevar:nm}}", '"',
                   "${hivevar:v1}${hivevar:m}", "\t", "SeL" if "SeL" in text else "sel"):
        assert needle in text, needle
    assert re.search(r"(?i)select", text) and re.search(r"[a-z][A-Z]", text)


def test_corpus_through_the_server(tmp_path, attempt):
    """The same disguises, sent by a pyhive client to a real HiveServer2."""
    from pyhive import hive

    from rayemr.hive.server import HiveServer2, default_session_factory

    root = tmp_path
    for name in ("warehouse", "data", "outside"):
        (root / name).mkdir()
    (root / "outside" / "secret.txt").write_text(FILE_CANARY + "\n")
    (root / "outside" / "victim").mkdir()
    (root / "outside" / "victim" / "keep.txt").write_text("keep\n")
    base = default_session_factory({"metastore_path": str(root / "m.db"),
                                    "warehouse": str(root / "warehouse"), "runner": "inline"})

    def factory(req):
        session = base(req)
        session.hiveconf["fs.s3a.secret.key"] = CONF_CANARY  # as a cluster's server has
        return session

    server = HiveServer2(host="127.0.0.1", port=0, session_factory=factory,
                         warehouse=str(root / "warehouse"), allow_paths=(str(root / "data"),),
                         transform_commands=("cat",))
    port = server.start()
    env = Env(session=None, root=root)  # type: ignore[arg-type]
    os.environ["CORPUS_CANARY"] = ENV_CANARY
    try:
        with hive.connect("127.0.0.1", port=port) as conn:
            cur = conn.cursor()
            for sql in ("CREATE TABLE t (a string)", "INSERT OVERWRITE TABLE t SELECT 'x'",
                        "CREATE TABLE p (a string) PARTITIONED BY (k string)"):
                cur.execute(sql)
            before = _snapshot(root)
            for sets, sql in corpus(150, seed=99):
                seen = [attempt(cur, _fill(s, env)).text() for s in sets]
                seen.append(attempt(cur, _fill(sql, env)).text())
                text = "\n".join(seen)
                for canary in (FILE_CANARY, ENV_CANARY, CONF_CANARY):
                    assert canary not in text, (sets, sql)
                assert _snapshot(root) == before, (sets, sql)
    finally:
        os.environ.pop("CORPUS_CANARY", None)
        server.stop()
