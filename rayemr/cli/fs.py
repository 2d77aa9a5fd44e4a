"""``rayemr fs``: a ``hadoop fs``-like tool over EMRFS (ls, cat, put, get, rm, mkdir, du, cp).

Every URL EMRFS understands works (``s3://``, ``s3a://``, ``s3n://``, ``file://``, plain paths,
``memory://``), with globs. Any failure is one line naming the URL and the problem.
"""
from __future__ import annotations

import argparse
import glob as globmod
import os
import shutil
import sys
import time
from typing import Iterable

from rayemr.cli.text import plain
from rayemr.core.errors import InputNotFoundError, OutputExistsError, UserError

# rayemr.fs (s3fs, pyarrow) is imported when a command runs, so `rayemr --help` stays fast.


def has_glob(path: str) -> bool:
    from rayemr.fs.listing import has_glob as _has_glob

    return _has_glob(path)


def register(subparsers) -> None:
    parser = subparsers.add_parser("fs", help="hadoop fs-like file commands over EMRFS",
                                   description=plain(__doc__.split("\n\n")[0]))
    parser.add_argument("-D", dest="props", action="append", default=[], metavar="KEY=VALUE",
                        help="an emrfs-site property, e.g. -D fs.s3.endpoint=http://host:9000")
    sub = parser.add_subparsers(dest="fs_command", metavar="CMD", required=True)

    p = sub.add_parser("ls", help="list files and directories")
    p.add_argument("-R", dest="recursive", action="store_true", help="recursively")
    p.add_argument("-H", dest="human", action="store_true", help="human-readable sizes")
    p.add_argument("paths", nargs="+", metavar="URL", help="paths or URLs, globs allowed")
    p.set_defaults(func_cmd=_ls)

    p = sub.add_parser("cat", help="print files to stdout")
    p.add_argument("paths", nargs="+", metavar="URL", help="files, globs allowed")
    p.set_defaults(func_cmd=_cat)

    p = sub.add_parser("put", help="copy local files to a URL")
    p.add_argument("-f", dest="force", action="store_true", help="overwrite the destination")
    p.add_argument("paths", nargs="+", metavar="SRC... DST",
                   help="local files or folders, then the destination URL")
    p.set_defaults(func_cmd=_put)

    p = sub.add_parser("get", help="copy files from a URL to local")
    p.add_argument("-f", dest="force", action="store_true", help="overwrite the destination")
    p.add_argument("paths", nargs="+", metavar="SRC... DST",
                   help="URLs (globs allowed), then the local destination")
    p.set_defaults(func_cmd=_get)

    p = sub.add_parser("cp", help="copy (S3 to S3 is a server-side copy)")
    p.add_argument("-f", dest="force", action="store_true", help="overwrite the destination")
    p.add_argument("paths", nargs="+", metavar="SRC... DST",
                   help="source URLs (globs allowed), then the destination URL")
    p.set_defaults(func_cmd=_cp)

    p = sub.add_parser("rm", help="delete files (directories with -r)")
    p.add_argument("-r", "-R", dest="recursive", action="store_true", help="recursively")
    p.add_argument("-f", dest="force", action="store_true", help="no error if missing")
    p.add_argument("paths", nargs="+", metavar="URL", help="what to delete, globs allowed")
    p.set_defaults(func_cmd=_rm)

    p = sub.add_parser("mkdir", help="create directories")
    p.add_argument("-p", dest="parents", action="store_true", help="no error if existing")
    p.add_argument("paths", nargs="+", metavar="URL", help="directories to create")
    p.set_defaults(func_cmd=_mkdir)

    p = sub.add_parser("du", help="sizes of files and directories")
    p.add_argument("-s", dest="summary", action="store_true", help="one total per argument")
    p.add_argument("-H", dest="human", action="store_true", help="human-readable sizes")
    p.add_argument("paths", nargs="+", metavar="URL", help="paths or URLs, globs allowed")
    p.set_defaults(func_cmd=_du)
    parser.set_defaults(func=_run)


# -- plumbing ----------------------------------------------------------------------------------
class _Ctx:
    def __init__(self, args: argparse.Namespace) -> None:
        from rayemr.fs import EmrfsConfig

        props = {}
        for item in args.props:
            if "=" not in item:
                raise UserError(f"-D {item}: expected KEY=VALUE")
            key, value = item.split("=", 1)
            props[key] = value
        self.config = EmrfsConfig.from_properties(props)
        self.current = ""

    def fs(self, url: str):
        from rayemr.fs import parse_url
        from rayemr.fs.resolve import filesystem_for

        self.current = url
        parsed = parse_url(url)
        return filesystem_for(parsed, self.config), parsed

    def destination(self, url: str):
        """(fs, parsed) of a write destination; on S3 its bucket must exist (never created)."""
        fs, parsed = self.fs(url)
        if parsed.kind == "s3":
            fs.check_bucket(parsed.path.split("/", 1)[0])
        return fs, parsed

    def expand(self, url: str) -> list[tuple[object, object, str]]:
        """(fs, parsed, fs path) for url, globs expanded; a missing path is an error."""
        fs, parsed = self.fs(url)
        if has_glob(parsed.path):
            matches = sorted(fs.glob(parsed.path))
            if not matches:
                self._missing(fs, parsed, url)
            return [(fs, parsed, m) for m in matches]
        if not fs.exists(parsed.path):
            self._missing(fs, parsed, url)
        return [(fs, parsed, parsed.path)]

    @staticmethod
    def _missing(fs, parsed, url: str) -> None:
        """A missing path: on S3 say so when it is the bucket that does not exist."""
        if parsed.kind == "s3":
            fs.check_bucket(parsed.path.split("/", 1)[0])
        raise InputNotFoundError(f"{url}: No such file or directory")


def _run(args: argparse.Namespace) -> int:
    from rayemr.fs import s3_stats
    from rayemr.fs.errors import translate

    ctx = None
    try:
        ctx = _Ctx(args)
        code = args.func_cmd(ctx, args)
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - one line for anything, via the error tree
        url = ctx.current if ctx and ctx.current else " ".join(getattr(args, "paths", []))
        secrets = (ctx.config.secret_key, ctx.config.session_token) if ctx else ()
        raise translate(exc, url, secrets) from None
    stats = s3_stats()
    if stats["requests"] and args.verbose:
        print(f"S3: {stats['requests']} requests, {stats['retries']} retries", file=sys.stderr)
    return code or 0


def _human(n: int) -> str:
    size = float(n)
    for unit in ("", "K", "M", "G", "T"):
        if size < 1024 or unit == "T":
            return f"{size:.1f}{unit}" if unit else str(int(size))
        size /= 1024
    return str(n)


def _mtime(info: dict) -> str:
    value = info.get("LastModified") or info.get("mtime") or info.get("created")
    if value is None:
        return "                "
    if hasattr(value, "timestamp"):
        value = value.timestamp()
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(float(value)))


def _line(info: dict, parsed, human: bool) -> str:
    is_dir = info.get("type") == "directory"
    size = int(info.get("size") or 0)
    shown = _human(size) if human else str(size)
    url = parsed.to_url(info["name"].rstrip("/"))
    return (f"{'d' if is_dir else '-'}rw-rw-rw-   {'-' if is_dir else '1'} "
            f"{shown:>12} {_mtime(info)} {url}")


# -- commands ----------------------------------------------------------------------------------
def _ls(ctx: _Ctx, args) -> int:
    out = sys.stdout
    for url in args.paths:
        for fs, parsed, path in ctx.expand(url):
            info = fs.info(path)
            if info.get("type") != "directory":
                out.write(_line(info, parsed, args.human) + "\n")
                continue
            if args.recursive:
                entries = fs.find(path, withdirs=True, detail=True)
                entries = [i for p, i in sorted(entries.items()) if p.rstrip("/") != path.rstrip("/")]
            else:
                entries = sorted(fs.ls(path, detail=True), key=lambda i: i["name"])
                entries = [i for i in entries if i["name"].rstrip("/") != path.rstrip("/")]
            out.write(f"Found {len(entries)} items\n")
            for info in entries:
                out.write(_line(info, parsed, args.human) + "\n")
    return 0


def _cat(ctx: _Ctx, args) -> int:
    out = sys.stdout.buffer
    for url in args.paths:
        for fs, parsed, path in ctx.expand(url):
            ctx.current = parsed.to_url(path)
            if fs.isdir(path):
                raise UserError(f"{ctx.current}: Is a directory")
            with fs.open(path, "rb", block_size=8 * 2**20) as f:
                shutil.copyfileobj(f, out, 4 * 2**20)
    out.flush()
    return 0


def _split_dst(args) -> tuple[list[str], str]:
    if len(args.paths) < 2:
        raise UserError(f"{args.fs_command}: needs at least one source and a destination")
    return args.paths[:-1], args.paths[-1]


def _target(fs, dst_path: str, name: str, many: bool) -> str:
    """Copy destination: into dst if it is a directory (or several sources), else dst."""
    if many or dst_path.endswith("/") or fs.isdir(dst_path):
        return f"{dst_path.rstrip('/')}/{name}"
    return dst_path


def _check_free(fs, path: str, url: str, force: bool) -> None:
    if not force and fs.exists(path):
        raise OutputExistsError(f"{url}: File exists (use -f to overwrite)")


def _put(ctx: _Ctx, args) -> int:
    sources, dst = _split_dst(args)
    local = []
    for src in sources:
        matches = sorted(globmod.glob(src)) if has_glob(src) else [src]
        if not matches or not os.path.exists(matches[0]):
            ctx.current = src
            raise InputNotFoundError(f"{src}: No such file or directory")
        local.extend(matches)
    dfs, dparsed = ctx.destination(dst)
    many = len(local) > 1
    for src in local:
        target = _target(dfs, dparsed.path, os.path.basename(src.rstrip("/")), many)
        ctx.current = dparsed.to_url(target)
        _check_free(dfs, target, ctx.current, args.force)
        dfs.put(src, target, recursive=os.path.isdir(src))
    return 0


def _get(ctx: _Ctx, args) -> int:
    sources, dst = _split_dst(args)
    expanded = [item for src in sources for item in ctx.expand(src)]
    many = len(expanded) > 1 or os.path.isdir(dst)
    for fs, parsed, path in expanded:
        ctx.current = parsed.to_url(path)
        name = path.rstrip("/").rsplit("/", 1)[-1]
        target = os.path.join(dst, name) if many else dst
        if not args.force and os.path.exists(target):
            raise OutputExistsError(f"{target}: File exists (use -f to overwrite)")
        fs.get(path, target, recursive=fs.isdir(path))
    return 0


def _cp(ctx: _Ctx, args) -> int:
    sources, dst = _split_dst(args)
    expanded = [item for src in sources for item in ctx.expand(src)]
    dfs, dparsed = ctx.destination(dst)
    many = len(expanded) > 1
    for fs, parsed, path in expanded:
        ctx.current = dst
        target = _target(dfs, dparsed.path, path.rstrip("/").rsplit("/", 1)[-1], many)
        ctx.current = dparsed.to_url(target)
        _check_free(dfs, target, ctx.current, args.force)
        recursive = fs.isdir(path)
        if fs is dfs:
            fs.copy(path, target, recursive=recursive)  # S3: CopyObject, server side
        else:
            _copy_across(fs, path, dfs, target, recursive)
    return 0


def _copy_across(sfs, spath: str, dfs, dpath: str, recursive: bool) -> None:
    pairs: Iterable[tuple[str, str]]
    if recursive:
        pairs = [(p, dpath + p[len(spath.rstrip("/")):]) for p in sfs.find(spath)]
    else:
        pairs = [(spath, dpath)]
    for src, dst in pairs:
        with sfs.open(src, "rb", block_size=8 * 2**20) as fin, dfs.open(dst, "wb") as fout:
            shutil.copyfileobj(fin, fout, 8 * 2**20)


def _rm(ctx: _Ctx, args) -> int:
    for url in args.paths:
        try:
            expanded = ctx.expand(url)
        except InputNotFoundError:
            if args.force:
                continue
            raise
        for fs, parsed, path in expanded:
            ctx.current = parsed.to_url(path)
            if fs.isdir(path) and not args.recursive:
                raise UserError(f"{ctx.current}: Is a directory (use rm -r)")
            fs.rm(path, recursive=args.recursive)
            print(f"Deleted {ctx.current}")
    return 0


def _mkdir(ctx: _Ctx, args) -> int:
    for url in args.paths:
        fs, parsed = ctx.fs(url)
        if fs.exists(parsed.path) and not args.parents:
            raise OutputExistsError(f"{url}: File exists")
        if parsed.kind == "s3":
            fs.check_bucket(parsed.path.split("/", 1)[0])  # buckets are never created here
            if "/" in parsed.path.strip("/"):
                fs.pipe_file(parsed.path.rstrip("/") + "/", b"")
        else:
            fs.makedirs(parsed.path, exist_ok=True)
    return 0


def _du(ctx: _Ctx, args) -> int:
    for url in args.paths:
        for fs, parsed, path in ctx.expand(url):
            if args.summary or not fs.isdir(path):
                total = fs.du(path, total=True)
                rows = [(total, path)]
            else:
                rows = []
                for info in sorted(fs.ls(path, detail=True), key=lambda i: i["name"]):
                    if info["name"].rstrip("/") == path.rstrip("/"):
                        continue
                    size = (fs.du(info["name"], total=True) if info.get("type") == "directory"
                            else int(info.get("size") or 0))
                    rows.append((size, info["name"]))
            for size, name in rows:
                shown = _human(size) if args.human else str(size)
                print(f"{shown:>12}  {parsed.to_url(name.rstrip('/'))}")
    return 0
