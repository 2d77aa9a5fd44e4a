"""The ``rayemr`` command.

Each subcommand lives in its own module under ``rayemr.cli`` and exposes
``register(subparsers)``; this module only assembles them and turns rayemr's user errors
into one clear line on stderr and a non-zero exit code, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import Sequence

from rayemr import __version__
from rayemr.core.errors import RayEmrError

#: Subcommand modules, in the order ``rayemr --help`` lists them.
SUBCOMMANDS = ("fs", "yarn", "mr", "hive", "hiveserver2", "emr", "kinesis", "firehose", "aws",
               "demo")


def build_parser() -> argparse.ArgumentParser:
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
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"rayemr.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"rayemr.cli.{name}":
                continue  # subcommand not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except RayEmrError as exc:
        print(f"rayemr {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"rayemr {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
