"""``rayemr aws serve``: one AWS-style endpoint for every AWS API rayemr offers.

    rayemr aws serve [--host 127.0.0.1] [--port 4566] [--services kinesis] [--backend ray]
                     [--credentials FILE] [--conf rayemr.kinesis.location=s3://b/k ...]

boto3 (``endpoint_url=``) and the aws CLI (``--endpoint-url``) talk to it unchanged; requests
must be signed (SigV4) with credentials from ``--credentials`` (a file in ``~/.aws/credentials``
format) or, by default, this process's ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``.
Binds loopback unless ``--host`` says otherwise.
"""
from __future__ import annotations

import sys

from rayemr.core.errors import ConfigError


def register(subparsers) -> None:
    from rayemr.cli.text import plain

    parser = subparsers.add_parser("aws", help="the AWS-style endpoint (Kinesis, ...)",
                                   description=plain(__doc__.split("\n\n")[0]))
    sub = parser.add_subparsers(dest="aws_command", metavar="CMD", required=True)
    p = sub.add_parser("serve", help="serve the AWS APIs on one port (like LocalStack)",
                       description="Serve rayemr's AWS APIs (X-Amz-Target routing, SigV4).")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 4566; 0 = any)")
    p.add_argument("--services", default="kinesis",
                   help="comma-separated services to serve (default kinesis)")
    p.add_argument("--backend", choices=["ray", "local"], default="ray",
                   help="run streams on the Ray cluster (default) or in this process")
    p.add_argument("--credentials", metavar="FILE",
                   help="accepted access keys, in ~/.aws/credentials format (every profile); "
                        "default: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY of this process")
    p.add_argument("--conf", dest="props", action="append", default=[], metavar="KEY=VALUE",
                   help="a service property, e.g. rayemr.kinesis.location=s3://bucket/prefix "
                        "or rayemr.kinesis.limits=unlimited; repeatable")
    p.set_defaults(func=_serve)


def properties(pairs: list[str]) -> dict[str, dict[str, str]]:
    """``rayemr.<service>.<key>=value`` pairs grouped by classification ``<service>-site``."""
    out: dict[str, dict[str, str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        parts = key.split(".")
        if not sep or len(parts) < 3 or parts[0] != "rayemr":
            raise ConfigError(f"--conf {pair!r}: expected rayemr.<service>.<property>=VALUE")
        out.setdefault(f"{parts[1]}-site", {})[key] = value.strip()
    return out


def _serve(args) -> int:
    from rayemr.aws import DEFAULT_PORT, Credentials, Endpoint, EndpointConfig, ServiceContext
    from rayemr.aws.services import build_services

    names = [s.strip() for s in args.services.split(",") if s.strip()]
    if not names:
        raise ConfigError("--services: name at least one service")
    config = EndpointConfig(host=args.host,
                            port=DEFAULT_PORT if args.port is None else args.port)
    props = properties(args.props)
    credentials = Credentials.resolve(args.credentials)
    context = ServiceContext(backend=args.backend, properties=props,
                             address=getattr(args, "address", None))
    endpoint = Endpoint(build_services(names, context), credentials, config)
    try:
        endpoint.bind()
    except OSError as exc:
        raise ConfigError(f"cannot listen on {config.host}:{config.port}: "
                          f"{exc.strerror or exc}") from None
    print(f"rayemr aws: serving {', '.join(names)} at {endpoint.url} "
          f"(access keys: {', '.join(credentials.access_keys)} from {credentials.source})",
          flush=True)
    try:
        endpoint.serve_forever()
    except KeyboardInterrupt:
        print("rayemr aws: stopped", file=sys.stderr)
    finally:
        endpoint.stop()
    return 0
