"""Nothing in the package, the tests or the benchmarks may name a file location outside the
repository: a fresh clone with nothing beside it must run everything. Absolute paths are allowed
only under system roots (``/dev/null``, ``/proc/self``, ``/tmp``, ``/usr/bin/env`` ...), and a
relative path may not climb above the repository root."""
from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("rayemr", "tests", "bench", "jobs", ".ci")
TEXT_SUFFIXES = {".py", ".sh", ".cfg", ".toml", ".yaml", ".yml", ".sql", ".q", ".json", ".ini", ""}
# Roots that exist on every Unix system and are not somebody's checkout or home.
SYSTEM_ROOTS = {"dev", "proc", "sys", "tmp", "usr", "bin", "sbin", "etc", "lib", "lib64", "var",
                "run", "opt/homebrew"}
# Roots where checkouts, homes and data of one machine live.
MACHINE_ROOTS = {"work", "home", "root", "Users", "opt", "mnt", "srv", "media", "data", "scratch",
                 "workspace", "workspaces", "shared", "private", "Volumes"}
ABSOLUTE = re.compile(r"""(?<![\w.:/~${}-])/(?P<first>[A-Za-z_][\w.-]*)(?:/[\w.-]+)*""")
CLIMB = re.compile(r"""(?<![\w.])\.\.(?:/\.\.)*/(?P<rest>[\w.-][\w./-]*)""")


def scanned_files() -> list[Path]:
    out = []
    for top in SCANNED:
        base = ROOT / top
        if not base.exists():
            continue
        for p in sorted(base.rglob("*")):
            if (p.is_file() and p.suffix in TEXT_SUFFIXES and "__pycache__" not in p.parts
                    and "data" not in p.relative_to(ROOT).parts[:2]):
                out.append(p)
    return out


def string_constants(path: Path) -> list[tuple[int, str]]:
    """String literals of a Python file (f-string pieces included); whole lines for others."""
    text = path.read_text(errors="replace")
    if path.suffix != ".py":
        return [(n, line) for n, line in enumerate(text.splitlines(), 1)
                if not line.lstrip().startswith(("#", "--"))]
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.STRING or tok.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
            found.append((tok.start[0], tok.string))
    return found


def machine_paths(text: str) -> list[str]:
    """Absolute paths in ``text`` whose first component is a machine-specific root."""
    hits = []
    for m in ABSOLUTE.finditer(text):
        first = m.group("first")
        if first in SYSTEM_ROOTS or first not in MACHINE_ROOTS | existing_nonsystem_roots():
            continue
        hits.append(m.group(0))
    return hits


_roots: set[str] | None = None


def existing_nonsystem_roots() -> set[str]:
    global _roots
    if _roots is None:
        _roots = {p.name for p in Path("/").iterdir() if p.is_dir()} - SYSTEM_ROOTS - {
            "boot", "lost+found", "snap", "nix"}
    return _roots


def climbs_out(path: Path, text: str) -> list[str]:
    """Relative paths starting with ``..`` that lead to something outside the repository which
    exists here, resolved from the file's folder and from the repository root (the two places
    such a path is usually taken from)."""
    hits = []
    for m in CLIMB.finditer(text):
        rel = m.group(0)
        for base in (path.parent, ROOT):
            target = (base / rel).resolve()
            if not target.is_relative_to(ROOT) and target.exists():
                hits.append(rel)
                break
    return hits


def parents_above_root(path: Path) -> list[int]:
    """``Path(__file__)...parents[N]`` and ``.parent`` chains that reach above the repository."""
    tree = ast.parse(path.read_text())
    depth = len(path.relative_to(ROOT).parts) - 1  # parents[depth - 1] is the root's child...
    hits = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
                and node.value.attr == "parents" and _mentions_file(node.value.value)
                and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, int)
                and node.slice.value > depth):
            hits.append(node.lineno)
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            n, inner = 0, node
            while isinstance(inner, ast.Attribute) and inner.attr == "parent":
                n, inner = n + 1, inner.value
            if _mentions_file(inner) and n > depth + 1:
                hits.append(node.lineno)
    return hits


def _mentions_file(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id == "__file__" for n in ast.walk(node))


def test_scanner_finds_what_it_must(tmp_path):
    assert machine_paths('p = Path("/work/shared/tpch")') == ["/work/shared/tpch"]
    assert machine_paths('"/home/alice/data.csv"') == ["/home/alice/data.csv"]
    assert machine_paths('"/dev/null" "/proc/self/environ" "/ws/v1/cluster/apps" "s3://b/work/x"') == []
    outside = tmp_path / "beside"
    outside.mkdir()
    here = ROOT / "tests" / "unit" / "probe.py"
    rel = "../" * len(here.parent.relative_to(Path("/")).parts) + str(outside).lstrip("/")
    assert climbs_out(here, f'"{rel}"') == [rel]
    assert climbs_out(here, '"../../../no-such-folder-here"') == []
    probe_dir = ROOT / "tests" / "unit" / "_probe"  # depth 3: parents[3] is the root
    probe_dir.mkdir(exist_ok=True)
    try:
        f = probe_dir / "probe.py"
        f.write_text("from pathlib import Path\nd = Path(__file__).resolve().parents[4] / 'x'\n")
        assert parents_above_root(f) == [2]
        f.write_text("from pathlib import Path\nd = Path(__file__).parent.parent.parent.parent.parent\n")
        assert parents_above_root(f) == [2]
        f.write_text("from pathlib import Path\nd = Path(__file__).resolve().parents[3] / 'bench'\n")
        assert parents_above_root(f) == []
    finally:
        for x in probe_dir.iterdir():
            x.unlink()
        probe_dir.rmdir()


def test_no_location_outside_the_repository():
    problems = []
    for path in scanned_files():
        if path == Path(__file__).resolve():
            continue  # this file names such paths on purpose, to test the scanner
        where = path.relative_to(ROOT)
        for line, text in string_constants(path):
            problems += [f"{where}:{line}: absolute path {p!r}" for p in machine_paths(text)]
            problems += [f"{where}:{line}: {p!r} leads outside the repository"
                         for p in climbs_out(path, text)]
        if path.suffix == ".py":
            problems += [f"{where}:{n}: Path(__file__) parents above the repository root"
                         for n in parents_above_root(path)]
    assert not problems, "locations outside the repository:\n" + "\n".join(problems)
