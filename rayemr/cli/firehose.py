"""rayemr firehose: delivery streams from the command line, mirroring ``aws firehose``.

Answers are printed as JSON, as the aws CLI prints them. JSON arguments may be given inline or
as ``file://path``. ``metrics`` shows records in, delivered, failed, bytes and delivery latency
per stream; ``demo`` runs the bundled click-stream example.
"""
from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from rayemr.cli.text import plain
from rayemr.core.errors import UserError


def register(subparsers) -> None:
    p = subparsers.add_parser("firehose", help="Firehose delivery streams (aws firehose)",
                              description=plain(__doc__.split("\n\n")[0]))
    p.add_argument("--backend", choices=("ray", "local"), default="ray",
                   help="stream hosts on the Ray cluster (default) or in this process")
    p.add_argument("--location", help="catalog and write-ahead logs "
                   "(default $RAYEMR_HOME/firehose; an s3:// prefix survives node loss)")
    p.add_argument("--bucket-root", help="where BucketARN buckets live (default s3://; "
                   "a local folder for a data lake on this machine)")
    p.add_argument("--metastore", metavar="PATH", help="Hive metastore file")
    sub = p.add_subparsers(dest="firehose_command", metavar="CMD", required=True)
    name = {"dest": "name", "metavar": "NAME", "required": True,
            "help": "the delivery stream"}

    c = sub.add_parser("create-delivery-stream", help="create a delivery stream")
    c.add_argument("--delivery-stream-name", **name)
    c.add_argument("--delivery-stream-type", default="DirectPut",
                   help="DirectPut (default) or KinesisStreamAsSource")
    c.add_argument("--extended-s3-destination-configuration", dest="dest", required=True,
                   metavar="JSON", help="the S3 destination, as the Firehose API takes it")
    c.set_defaults(func=_run, op="CreateDeliveryStream")
    for op, help_ in (("describe-delivery-stream", "describe a delivery stream"),
                      ("delete-delivery-stream", "delete a delivery stream (buffers are "
                                                 "delivered first)")):
        d = sub.add_parser(op, help=help_)
        d.add_argument("--delivery-stream-name", **name)
        d.set_defaults(func=_run, op="".join(w.title() for w in op.split("-")))
    ls = sub.add_parser("list-delivery-streams", help="list delivery streams")
    ls.add_argument("--limit", type=int, default=10, help="at most this many (default 10)")
    ls.set_defaults(func=_run, op="ListDeliveryStreams")
    pr = sub.add_parser("put-record", help="put one record")
    pr.add_argument("--delivery-stream-name", **name)
    pr.add_argument("--data", required=True, help="the record's text (add \\n yourself)")
    pr.set_defaults(func=_run, op="PutRecord")
    pb = sub.add_parser("put-record-batch", help="put the lines of a file as records")
    pb.add_argument("--delivery-stream-name", **name)
    pb.add_argument("--records-file", required=True, metavar="FILE",
                    help="one record per line ('-' reads stdin); at most 500 lines a call")
    pb.set_defaults(func=_run, op="PutRecordBatch")
    up = sub.add_parser("update-destination", help="change the destination")
    up.add_argument("--delivery-stream-name", **name)
    up.add_argument("--current-delivery-stream-version-id", dest="version", required=True,
                    help="the version describe-delivery-stream reports")
    up.add_argument("--destination-id", default="destinationId-000000000001",
                    help="the destination to change (default the first)")
    up.add_argument("--extended-s3-destination-update", dest="dest", required=True,
                    metavar="JSON", help="the fields of the S3 destination to change")
    up.set_defaults(func=_run, op="UpdateDestination")
    m = sub.add_parser("metrics", help="records in, delivered, failed, bytes, latency")
    m.add_argument("--delivery-stream-name", dest="name", default=None, metavar="NAME",
                   help="one delivery stream (default: all)")
    m.set_defaults(func=_metrics)
    demo = sub.add_parser("demo", help="the click-stream demo: producer -> Firehose -> "
                                       "partitioned Parquet Hive table -> query")
    demo.add_argument("--records", type=int, default=3000,
                      help="click events to produce (default 3000)")
    demo.add_argument("--workdir", default=None, help="folder for the demo's lake (default: "
                                                      "a new temporary folder)")
    demo.set_defaults(func=_demo)


def _json_arg(text: str, what: str) -> Any:
    if text.startswith("file://"):
        try:
            text = Path(text[len("file://"):]).read_text()
        except OSError as exc:
            raise UserError(f"{what}: cannot read {text}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UserError(f"{what}: not JSON: {exc}") from None


def _client(args):
    from rayemr.firehose import client
    from rayemr.firehose.settings import from_environment

    settings = from_environment(location=args.location, bucket_root=args.bucket_root,
                                metastore_path=args.metastore)
    return client(args.backend, settings)


def _params(args) -> dict[str, Any]:
    op = args.op
    p: dict[str, Any] = {}
    if getattr(args, "name", None):
        p["DeliveryStreamName"] = args.name
    if op == "CreateDeliveryStream":
        p["DeliveryStreamType"] = args.delivery_stream_type
        p["ExtendedS3DestinationConfiguration"] = _json_arg(
            args.dest, "--extended-s3-destination-configuration")
    elif op == "ListDeliveryStreams":
        p["Limit"] = args.limit
    elif op == "PutRecord":
        p["Record"] = {"Data": args.data.encode().decode("unicode_escape").encode()}
    elif op == "PutRecordBatch":
        src = sys.stdin if args.records_file == "-" else None
        try:
            text = src.read() if src else Path(args.records_file).read_text()
        except OSError as exc:
            raise UserError(f"--records-file {args.records_file}: {exc.strerror}") from None
        p["Records"] = [{"Data": (line + "\n").encode()} for line in text.splitlines()]
    elif op == "UpdateDestination":
        p.update(CurrentDeliveryStreamVersionId=args.version, DestinationId=args.destination_id,
                 ExtendedS3DestinationUpdate=_json_arg(args.dest,
                                                       "--extended-s3-destination-update"))
    return p


def _print(doc: Any) -> None:
    doc = {k: v for k, v in doc.items() if k != "ResponseMetadata"} if isinstance(doc, dict) else doc
    print(json.dumps(doc, indent=4, default=lambda v: v.isoformat()
                     if isinstance(v, datetime) else str(v)))


def _run(args) -> int:
    c = _client(args)
    try:
        method = getattr(c, "_".join(w.lower() for w in _words(args.op)))
        answer = method(**_params(args))
        if args.op != "DeleteDeliveryStream":
            _print(answer)
        return 1 if answer.get("FailedPutCount") else 0
    finally:
        c.close()


def _words(op: str) -> list[str]:
    import re

    return re.findall(r"[A-Z][a-z]*", op)


def _metrics(args) -> int:
    c = _client(args)
    try:
        _print(c.metrics(args.name))
    finally:
        c.close()
    return 0


def _demo(args) -> int:
    from rayemr.cli.firehose_demo import run

    return run(records=args.records, workdir=args.workdir, backend=args.backend)
