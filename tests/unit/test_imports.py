"""Import rules: the contracts of ``.importlinter`` hold, checked two independent ways.

``lint-imports`` (import-linter) checks the contracts on its own import graph. The tests below
check the same layers on a graph built here with ``ast``: every import of every module counts,
also those inside functions and under ``TYPE_CHECKING``, and chains are followed to the end
(a module may not reach a higher layer through any number of lower modules). The pure cores
are also imported for real, each in a fresh process, to show Ray and DuckDB stay unloaded.
"""
from __future__ import annotations

import ast
import configparser
import json
import os
import re
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

import rayemr

PACKAGE = Path(rayemr.__file__).parent
REPO = PACKAGE.parent
CONFIG = REPO / ".importlinter"

#: External packages a layer may not reach, directly or through other modules.
EXTERNAL_FORBIDDEN = {
    "core": {"ray", "duckdb", "sqlglot"},
    "runtime": {"duckdb", "sqlglot"},
    "fs": {"ray", "duckdb", "sqlglot"},
    "yarn": {"duckdb", "sqlglot"},
    "engine": {"duckdb", "sqlglot"},
    "mapreduce": {"duckdb", "sqlglot"},
    "kinesis": {"duckdb", "sqlglot"},
}


# -- the import graph ----------------------------------------------------------------------
def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _in_package(path: Path) -> bool:
    """Whether every folder from rayemr down to ``path`` is a package (has __init__.py);
    the data folders hold scripts, not modules."""
    return all((d / "__init__.py").is_file()
               for d in [path.parent, *path.parent.parents] if d.is_relative_to(PACKAGE))


@lru_cache(maxsize=1)
def modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if _in_package(p)}


def _internal(name: str) -> str | None:
    """The rayemr module ``name`` denotes (a module, or the package holding a name)."""
    mods = modules()
    while name and name not in mods:
        if "." not in name:
            return None
        name = name.rsplit(".", 1)[0]
    return name or None


def _targets(module: str, node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    assert isinstance(node, ast.ImportFrom)
    if node.level:
        is_pkg = modules()[module].name == "__init__.py"
        parts = module.split(".") if is_pkg else module.split(".")[:-1]
        parts = parts[:len(parts) - (node.level - 1)]
        base = ".".join(parts + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    return [f"{base}.{a.name}" for a in node.names] + [base]


@lru_cache(maxsize=1)
def import_graph() -> tuple[dict[str, dict[str, int]], dict[str, set[str]]]:
    """(module -> {imported rayemr module: line}, module -> external top-level packages)."""
    internal: dict[str, dict[str, int]] = {}
    external: dict[str, set[str]] = {}
    for module, path in modules().items():
        edges: dict[str, int] = {}
        ext: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            names = _targets(module, node)
            if isinstance(node, ast.ImportFrom):  # `from a import b`: b if a module, else a
                base, names = names[-1], names[:-1]
                names = [n for n in names if n in modules()] or [base]
            for name in names:
                target = _internal(name) if name.split(".")[0] == "rayemr" else None
                if target is not None:
                    if target != module:
                        edges.setdefault(target, node.lineno)
                elif name.split(".")[0] != "rayemr" and name != "__future__":
                    ext.add(name.split(".")[0])
        internal[module], external[module] = edges, ext
    return internal, external


def _pattern(expression: str) -> re.Pattern:
    """import-linter's module expression: ``*`` one name, ``**`` one or more names."""
    parts = [r"[^.]+" if p == "*" else r"[^.]+(?:\.[^.]+)*" if p == "**" else re.escape(p)
             for p in expression.split(".")]
    return re.compile(r"\.".join(parts) + "$")


class Ignored:
    """A contract's ``ignore_imports``: (importer, imported) pairs, wildcards allowed."""

    def __init__(self, raw: str = "") -> None:
        self.rules = [tuple(_pattern(part.strip()) for part in line.split("->"))
                      for line in raw.splitlines() if "->" in line]

    def __contains__(self, edge: tuple[str, str]) -> bool:
        return any(a.match(edge[0]) and b.match(edge[1]) for a, b in self.rules)

    def importers(self, modules: list[str]) -> set[str]:
        return {m for m in modules for a, _ in self.rules if a.match(m)}


def _ignored(contract: str) -> Ignored:
    return Ignored(_config()[f"importlinter:contract:{contract}"].get("ignore_imports", ""))


Graph = dict[str, dict[str, int]]


def reachable(graph: Graph, start: str, ignore: Ignored = Ignored()) -> dict[str, list[str]]:
    """Every rayemr module ``start`` reaches, with one chain of imports that reaches it."""
    chains = {start: [start]}
    todo = [start]
    while todo:
        module = todo.pop()
        for target in graph[module]:
            if target not in chains and (module, target) not in ignore:
                chains[target] = chains[module] + [target]
                todo.append(target)
    return chains


def circles(graph: Graph, ignore: Ignored = Ignored()) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if (v, w) in ignore:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


# -- the contracts file --------------------------------------------------------------------
@lru_cache(maxsize=1)
def _config() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    assert parser.read(CONFIG), f"{CONFIG} is missing"
    return parser


def layers() -> list[list[tuple[str, bool]]]:
    """The layers contract's layers, top first: [(package, siblings independent), ...]."""
    raw = _config()["importlinter:contract:layers"]["layers"]
    out = []
    for line in raw.splitlines():
        line = line.strip()
        if not line:
            continue
        independent = ":" not in line
        names = [n.strip().strip("()") for n in line.replace(":", "|").split("|")]
        out.append([(n, independent) for n in names])
    return out


def _package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _expand(expressions: str) -> list[str]:
    mods = modules()
    out = []
    for expr in expressions.split():
        prefix = expr.removesuffix(".**")
        out += [m for m in mods if m == prefix or m.startswith(prefix + ".")]
    return sorted(set(out))


# -- tests ---------------------------------------------------------------------------------
def test_lint_imports_passes():
    exe = shutil.which("lint-imports", path=os.path.dirname(sys.executable)) or shutil.which(
        "lint-imports")
    assert exe, "lint-imports is missing: pip install -e '.[test]' (import-linter)"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    out = subprocess.run([exe, "--no-cache", "--no-logo", str(CONFIG)], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout, out.stdout


def test_every_package_has_a_layer():
    placed = {name for layer in layers() for name, _ in layer}
    packages = {_package_of(m) for m in modules()} - {None}
    assert packages <= placed, f"not in any layer of .importlinter: {packages - placed}"


def layer_violations(graph: Graph) -> list[str]:
    """Chains of imports from a module up (or sideways to an independent sibling) a layer."""
    order = layers()
    rank = {name: i for i, layer in enumerate(order) for name, _ in layer}
    independent = {name: ind for layer in order for name, ind in layer}
    bad = []
    for module in graph:
        mine = _package_of(module)
        if mine is None:
            continue
        for target, chain in reachable(graph, module, _ignored("layers")).items():
            theirs = _package_of(target)
            if theirs is None or theirs == mine:
                continue
            if rank[theirs] < rank[mine] or (rank[theirs] == rank[mine] and independent[mine]):
                bad.append(" -> ".join(chain))
    return sorted(bad)


def test_layers_import_downwards_transitively():
    bad = layer_violations(import_graph()[0])
    assert not bad, "imports that reach up (or sideways) a layer:\n" + "\n".join(bad)


def test_checks_follow_function_level_imports_through_other_modules():
    """The checkers can fail: one import inside a function, two modules away, is found."""
    graph = {k: dict(v) for k, v in import_graph()[0].items()}
    assert "rayemr.core.native" in graph["rayemr.fs.text"]
    graph["rayemr.core.native"]["rayemr.engine.graph"] = 1  # core -> engine: up three layers
    bad = layer_violations(graph)
    assert "rayemr.core.native -> rayemr.engine.graph" in bad
    assert "rayemr.fs.text -> rayemr.core.native -> rayemr.engine.graph" in bad
    graph["rayemr.fs.splits"]["rayemr.fs.inputs"] = 1  # back from the pure core: a circle
    assert ["rayemr.fs.inputs", "rayemr.fs.parquet", "rayemr.fs.splits"] in circles(graph)


@pytest.mark.parametrize("layer", sorted(EXTERNAL_FORBIDDEN))
def test_layers_reach_no_forbidden_packages(layer):
    graph, external = import_graph()
    bad = []
    for module in modules():
        if _package_of(module) != layer and module != f"rayemr.{layer}":
            continue
        for target, chain in reachable(graph, module).items():
            for name in sorted(external[target] & EXTERNAL_FORBIDDEN[layer]):
                bad.append(" -> ".join(chain + [name]))
    assert not bad, "\n".join(sorted(bad))


def test_no_import_circles():
    graph, _ = import_graph()
    found = circles(graph, _ignored("no-circles"))
    lines = [" <-> ".join(group) + "\n" + "\n".join(
        f"    {a}:{graph[a][b]} imports {b}" for a in group for b in graph[a] if b in group)
        for group in found]
    assert not found, "import circles:\n" + "\n".join(lines)


PROBE = r"""
import importlib, json, os, sys
# neutral and slow to load: loaded once, before the forks that import one module each
import numpy, pyarrow, pyarrow.compute, pyarrow.dataset, s3fs, sqlglot, sqlglot.optimizer
assert "ray" not in sys.modules and "duckdb" not in sys.modules
results = {}
for name in sys.argv[1:]:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            importlib.import_module(name)
            msg = [m for m in ("ray", "duckdb") if m in sys.modules]
        except BaseException as exc:
            msg = [f"import failed: {exc!r}"]
        os.write(w, json.dumps(msg).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    results[name] = json.loads(data)
print(json.dumps(results))
"""


def test_pure_cores_load_neither_ray_nor_duckdb():
    """Imported for real (package ``__init__`` files included), each in a fresh process."""
    section = _config()["importlinter:contract:pure-cores"]
    candidates = _expand(section["source_modules"])
    known = _ignored("pure-cores").importers(candidates)
    names = [m for m in candidates if m not in known]
    assert len(names) > 20, names
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    out = subprocess.run([sys.executable, "-c", PROBE, *names], capture_output=True,
                         text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    loaded = {k: v for k, v in json.loads(out.stdout).items() if v}
    assert not loaded, f"pure modules that load Ray or DuckDB: {loaded}"
