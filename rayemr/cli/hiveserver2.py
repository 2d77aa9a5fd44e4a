"""``rayemr hiveserver2``: serve Hive sessions over HiveServer2's Thrift protocol.

pyhive, SQLAlchemy's ``hive://`` dialect, pandas and beeline-style clients connect to it
unchanged. Binds to loopback unless ``--host`` says otherwise.
"""
from __future__ import annotations

import argparse
import getpass
import logging
import signal
import socket
import sys

from rayemr.core.errors import ConfigError

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "hiveserver2", help="serve Hive over the HiveServer2 Thrift protocol (pyhive, JDBC)",
        description="Serve Hive sessions over HiveServer2's Thrift protocol; pyhive, "
                    "SQLAlchemy hive:// and other HiveServer2 clients connect unchanged.")
    p.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 10000; 0 = any)")
    p.add_argument("--auth", default=None, choices=["NONE", "NOSASL", "CUSTOM", "LDAP"],
                   type=str.upper, help="hive.server2.authentication (default NONE)")
    p.add_argument("--password-file", metavar="FILE",
                   help="CUSTOM mode: file of user:salted-hash lines")
    p.add_argument("--ldap-url", metavar="URL", help="LDAP mode: ldap://host:389")
    p.add_argument("--ldap-base-dn", metavar="DN", default="",
                   help="LDAP mode: users are uid=USER,DN")
    p.add_argument("--ldap-user-dn-pattern", metavar="PATTERN", default="",
                   help="LDAP mode: e.g. 'uid=%%s,ou=people,dc=example,dc=com'")
    p.add_argument("--allow-path", dest="allow_paths", action="append", default=[],
                   metavar="PREFIX", help="let clients use local paths (LOCATION, LOAD DATA, "
                                          "INSERT DIRECTORY) under PREFIX; repeatable")
    p.add_argument("--transform-command", dest="transform_commands", action="append",
                   default=[], metavar="CMD",
                   help="a command SELECT TRANSFORM ... USING 'CMD' may run for clients, word "
                        "for word (none by default; never from a folder clients can write); "
                        "repeatable")
    p.add_argument("--metastore", metavar="PATH", help="metastore database file "
                                                       "(default ~/.rayemr/metastore.db)")
    p.add_argument("--warehouse", metavar="DIR", help="warehouse location for managed tables")
    p.add_argument("--runner", choices=["ray", "inline"], default=None,
                   help="run query stages on Ray (default) or in this process")
    p.add_argument("--hiveconf", dest="props", action="append", default=[],
                   metavar="KEY=VALUE", help="a hive-site property (hive.server2.* keys too)")
    p.add_argument("--add-user", metavar="NAME",
                   help="add or replace NAME in --password-file and exit (password from a "
                        "prompt, or the first line of stdin with --password-stdin)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(func=_main)


def _props(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--hiveconf {pair!r}: expected KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def _add_user(args) -> int:
    from rayemr.hive.server.auth import add_user

    if not args.password_file:
        raise ConfigError("--add-user needs --password-file FILE")
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"password for {args.add_user}: ")
        if getpass.getpass("again: ") != password:
            raise ConfigError("the passwords do not match")
    add_user(args.password_file, args.add_user, password)
    print(f"user {args.add_user} saved in {args.password_file}")
    return 0


def _main(args) -> int:
    if args.add_user:
        return _add_user(args)
    from rayemr.hive.server import HiveServer2, ServerConfig
    from rayemr.hive.server.auth import LdapSettings

    props = _props(args.props)
    options = {}
    if args.metastore:
        options["metastore_path"] = args.metastore
    if args.warehouse or props.get("hive.metastore.warehouse.dir"):
        options["warehouse"] = args.warehouse or props["hive.metastore.warehouse.dir"]
    if args.runner:
        options["runner"] = args.runner
    ldap = None
    if args.ldap_url:
        ldap = LdapSettings(args.ldap_url, args.ldap_base_dn, args.ldap_user_dn_pattern)
    config = ServerConfig.from_properties(
        props, host=args.host, port=args.port, auth=args.auth,
        password_file=args.password_file, ldap=ldap, allow_paths=tuple(args.allow_paths),
        transform_commands=tuple(args.transform_commands),
        warehouse=options.get("warehouse"),
        session_options=tuple(sorted(options.items())) or None)
    check_port_free(config.host, config.port)  # before Ray starts: a taken port fails at once
    ray_runner = (args.runner or "ray") == "ray"
    if ray_runner:
        import rayemr

        rayemr.init()
    server = HiveServer2(config)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        port = server.start()
        print(f"HiveServer2 listening on {config.host}:{port} (authentication "
              f"{config.auth}); Ctrl-C stops it", flush=True)
        logging.getLogger("rayemr.hive.server").setLevel(logging.INFO)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        signal.signal(signal.SIGTERM, previous)
        if ray_runner:
            import rayemr

            rayemr.shutdown()  # stop Ray's workers cleanly, before the interpreter exits
    return 0


def _terminate(signum, frame) -> None:
    """SIGTERM stops the server as Ctrl-C does (closing sessions and Ray in order)."""
    raise KeyboardInterrupt


def check_port_free(host: str, port: int) -> None:
    """Refuse a port another process listens on, with the same one line ``start`` gives."""
    if not port:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                              hint="another process uses the port; pick another with "
                                   "--port (0 = any free port)") from None
