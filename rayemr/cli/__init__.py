"""The ``rayemr`` command.

Each subcommand lives in its own module under ``rayemr.cli`` and exposes
``register(subparsers)``; this module only assembles them and turns rayemr's user errors
into one clear line on stderr and a non-zero exit code, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

from rayemr import __version__
from rayemr.core.errors import RayEmrError

#: Subcommand modules, in the order ``rayemr --help`` lists them.
SUBCOMMANDS = ("cluster", "fs", "yarn", "mr", "hive", "hiveserver2", "emr", "kinesis",
               "firehose", "aws", "demo")
#: Commands whose module is not named after them.
MODULE_OF = {"start": "cluster", "stop": "cluster", "status": "cluster"}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``rayemr`` parser; with ``command``, only that command's module is registered
    (a command line that names one needs no other, and registering them all costs time)."""
    parser = argparse.ArgumentParser(
        prog="rayemr",
        description="EMR's programming model on Ray: EMRFS, YARN, MapReduce and Hive.",
    )
    parser.add_argument("--version", action="version", version=f"rayemr {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    parser.add_argument(
        "--address", metavar="ADDR",
        help="join the Ray cluster at ADDR instead of starting a local one "
             "(default: $RAY_ADDRESS; 'auto' = the cluster 'ray start' runs here)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = MODULE_OF.get(command or "", command)
    for name in SUBCOMMANDS if wanted not in SUBCOMMANDS else (wanted,):
        try:
            module = importlib.import_module(f"rayemr.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"rayemr.cli.{name}":
                continue  # subcommand not built yet
            raise
        module.register(sub)
    return parser


def command_of(argv: Sequence[str]) -> str | None:
    """The command an argument list names (the first word after the global options)."""
    words = list(argv)
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--address":
            i += 2
            continue
        if word.startswith("-"):
            i += 1
            continue
        return word
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(command_of(argv))
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    try:
        # through the running cluster's gateway, before anything imports Ray's runtime (or
        # logging: a command the cluster runs logs there)
        remote = through_gateway(args, argv) if func else None
        if remote is not None:
            return remote
        import logging

        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        if not args.verbose:
            from rayemr.runtime import quiet_ray_notices

            quiet_ray_notices()
        if args.address:
            from rayemr.runtime import use_address

            use_address(args.address)  # every runner attaches through rayemr.init()
        if not func:
            parser.print_help()
            return 2
        return int(func(args) or 0)
    except RayEmrError as exc:
        print(f"rayemr {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"rayemr {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def through_gateway(args: argparse.Namespace, argv: list[str]) -> int | None:
    """Run ``mr``, ``hive -e|-f`` and ``yarn`` inside the cluster ``rayemr start`` runs, when
    one runs and no other cluster was named; None: run here."""
    if args.address or os.environ.get("RAY_ADDRESS") or not _remote_command(args):
        return None
    from rayemr.client import state

    info = state.running(probe=False)
    if info is None:
        return None
    from rayemr.client.gateway import Gateway

    rest = argv[argv.index(args.command) + 1:]
    if args.command == "hive" and args.file:  # the cluster reads the script where it is
        rest = [os.path.abspath(a) if a == args.file else a for a in rest]
    state.announce(info)
    return Gateway(info).run(args.command, rest, cwd=os.getcwd())


def _remote_command(args: argparse.Namespace) -> bool:
    if args.command == "mr":
        if not args.jobfile:
            return False
        from rayemr.cli.mr import split_options

        import copy

        options, job_args = split_options(copy.copy(args))
        return options.runner != "inline" and "-" not in job_args
    if args.command == "hive":
        return (args.execute is not None or args.file is not None) and args.runner != "inline"
    if args.command == "yarn":
        return args.yarn_command in ("application", "queue", "node", "logs")
    return False


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
