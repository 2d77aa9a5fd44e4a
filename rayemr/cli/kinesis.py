"""``rayemr kinesis``: the ``aws kinesis`` commands against rayemr's Kinesis Data Streams.

    rayemr kinesis create-stream --stream-name clicks --shard-count 4
    rayemr kinesis put-record --stream-name clicks --partition-key u1 --data '{"page": "/"}'
    rayemr kinesis get-shard-iterator --stream-name clicks --shard-id shardId-000000000000 \
        --shard-iterator-type TRIM_HORIZON
    rayemr kinesis get-records --shard-iterator AAAA...
    rayemr kinesis stop                        # stop the cluster's Kinesis service

Arguments and JSON output follow ``aws kinesis`` (``Data`` as base64). Commands attach to the
running Ray cluster (``--address``, ``RAY_ADDRESS`` or the one ``ray start`` runs here) and
never start one; ``--backend local`` serves the location from this process instead (one
process per location at a time).
"""
from __future__ import annotations

import base64
import json
import os
import sys
from typing import Any, Callable

from rayemr.core.errors import ClusterError, UserError

STREAM = (("--stream-name", "StreamName", str), ("--stream-arn", "StreamARN", str))

#: command -> (operation, [(flag, parameter, converter, required)])
COMMANDS: dict[str, tuple[str, list[tuple]]] = {
    "create-stream": ("CreateStream", [("--stream-name", "StreamName", str, True),
                                       ("--shard-count", "ShardCount", int),
                                       ("--stream-mode-details", "StreamModeDetails", "mode"),
                                       ("--tags", "Tags", "tags")]),
    "delete-stream": ("DeleteStream", [*STREAM, ("--enforce-consumer-deletion",
                                                 "EnforceConsumerDeletion", "flag")]),
    "describe-stream": ("DescribeStream", [*STREAM, ("--limit", "Limit", int),
                                           ("--exclusive-start-shard-id",
                                            "ExclusiveStartShardId", str)]),
    "describe-stream-summary": ("DescribeStreamSummary", [*STREAM]),
    "list-streams": ("ListStreams", [("--limit", "Limit", int),
                                     ("--exclusive-start-stream-name",
                                      "ExclusiveStartStreamName", str),
                                     ("--next-token", "NextToken", str)]),
    "list-shards": ("ListShards", [*STREAM, ("--next-token", "NextToken", str),
                                   ("--exclusive-start-shard-id", "ExclusiveStartShardId", str),
                                   ("--max-results", "MaxResults", int),
                                   ("--shard-filter", "ShardFilter", "json")]),
    "put-record": ("PutRecord", [*STREAM, ("--data", "Data", "blob", True),
                                 ("--partition-key", "PartitionKey", str, True),
                                 ("--explicit-hash-key", "ExplicitHashKey", str),
                                 ("--sequence-number-for-ordering",
                                  "SequenceNumberForOrdering", str)]),
    "put-records": ("PutRecords", [*STREAM, ("--records", "Records", "records", True)]),
    "get-shard-iterator": ("GetShardIterator", [
        *STREAM, ("--shard-id", "ShardId", str, True),
        ("--shard-iterator-type", "ShardIteratorType", str, True),
        ("--starting-sequence-number", "StartingSequenceNumber", str),
        ("--timestamp", "Timestamp", "timestamp")]),
    "get-records": ("GetRecords", [("--shard-iterator", "ShardIterator", str, True),
                                   ("--limit", "Limit", int)]),
    "split-shard": ("SplitShard", [*STREAM, ("--shard-to-split", "ShardToSplit", str, True),
                                   ("--new-starting-hash-key", "NewStartingHashKey", str,
                                    True)]),
    "merge-shards": ("MergeShards", [*STREAM, ("--shard-to-merge", "ShardToMerge", str, True),
                                     ("--adjacent-shard-to-merge", "AdjacentShardToMerge", str,
                                      True)]),
    "update-shard-count": ("UpdateShardCount", [
        *STREAM, ("--target-shard-count", "TargetShardCount", int, True),
        ("--scaling-type", "ScalingType", str, True)]),
    "increase-stream-retention-period": ("IncreaseStreamRetentionPeriod", [
        *STREAM, ("--retention-period-hours", "RetentionPeriodHours", int, True)]),
    "decrease-stream-retention-period": ("DecreaseStreamRetentionPeriod", [
        *STREAM, ("--retention-period-hours", "RetentionPeriodHours", int, True)]),
    "add-tags-to-stream": ("AddTagsToStream", [*STREAM, ("--tags", "Tags", "tags", True)]),
    "remove-tags-from-stream": ("RemoveTagsFromStream", [
        *STREAM, ("--tag-keys", "TagKeys", "list", True)]),
    "list-tags-for-stream": ("ListTagsForStream", [*STREAM]),
    "describe-limits": ("DescribeLimits", []),
}


#: what a value of each kind looks like, for --help
HELP = {
    int: " (an integer)",
    "blob": " (text, or fileb://FILE for a file's bytes)",
    "json": " (JSON, or file://FILE)",
    "tags": " (KEY=VALUE[,KEY=VALUE...] or JSON)",
    "records": ' (a JSON list of {"Data": ..., "PartitionKey": ...}, or file://FILE)',
    "timestamp": " (epoch seconds or an ISO 8601 time)",
    "list": " (names separated by commas or spaces)",
    "mode": " (StreamMode=PROVISIONED or StreamMode=ON_DEMAND)",
}


def register(subparsers) -> None:
    from rayemr.cli.text import plain

    parser = subparsers.add_parser("kinesis", help="Kinesis Data Streams (aws kinesis)",
                                   description=plain(__doc__.split("\n\n")[0]))
    parser.add_argument("--backend", choices=["ray", "local"], default="ray",
                        help="the cluster's service (default) or one in this process")
    parser.add_argument("--location", metavar="URL",
                        help="where streams live (local backend, or to start the cluster's "
                             "service): a folder or s3://bucket/prefix; default "
                             "$RAYEMR_HOME/kinesis")
    sub = parser.add_subparsers(dest="kinesis_command", metavar="COMMAND", required=True)
    for command, (operation, args) in COMMANDS.items():
        p = sub.add_parser(command, help=f"Kinesis {operation}")
        for flag, param, kind, *required in args:
            if kind == "flag":
                p.add_argument(flag, dest=param, action="store_true", default=None,
                               help=f"set {param}")
            else:
                p.add_argument(flag, dest=param, metavar=param.upper(),
                               required=bool(required and required[0]),
                               help=f"{param}{HELP.get(kind, '')}")
        p.set_defaults(func=_run, operation=operation, spec=args)
    p = sub.add_parser("stop", help="stop the cluster's Kinesis service (streams stay stored)")
    p.set_defaults(func=_stop)


def _blob(text: str) -> bytes:
    if text.startswith("fileb://"):
        from rayemr.fs import resolve, storage_errors

        url = text[len("fileb://"):]
        fs, path = resolve(url)
        with storage_errors(url):
            return fs.cat_file(path)
    return text.encode("utf-8")


def _json(text: str, flag: str) -> Any:
    if text.startswith("file://"):
        from rayemr.fs import resolve, storage_errors

        url = text[len("file://"):]
        fs, path = resolve(url)
        with storage_errors(url):
            text = fs.cat_file(path).decode("utf-8")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UserError(f"{flag}: not valid JSON ({exc})") from None


def _pairs(text: str, flag: str) -> dict[str, str]:
    if text.lstrip().startswith("{"):
        return _json(text, flag)
    out = {}
    for pair in text.split(","):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"{flag} {text!r}: expected KEY=VALUE[,KEY=VALUE...] or JSON")
        out[key.strip()] = value.strip()
    return out


def _records(text: str, flag: str) -> list[dict]:
    records = _json(text, flag)
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise UserError(f"{flag}: expected a JSON list of "
                        '{"Data": ..., "PartitionKey": ...} objects')
    return [{**r, "Data": r["Data"].encode("utf-8")} if isinstance(r.get("Data"), str) else r
            for r in records]


def _timestamp(text: str, flag: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    from datetime import datetime

    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise UserError(f"{flag} {text!r}: expected epoch seconds or an ISO 8601 time") from None


CONVERT: dict[Any, Callable[[str, str], Any]] = {
    str: lambda v, f: v,
    int: lambda v, f: _int(v, f),
    "blob": lambda v, f: _blob(v),
    "json": _json,
    "tags": _pairs,
    "records": _records,
    "timestamp": _timestamp,
    "list": lambda v, f: [x for x in v.replace(",", " ").split() if x],
    "mode": lambda v, f: {"StreamMode": v.split("=", 1)[-1]},
}


def _int(value: str, flag: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise UserError(f"{flag} {value!r}: expected an integer") from None


def _service(args):
    import rayemr.kinesis as kinesis

    settings = kinesis.KinesisSettings(location=args.location) if args.location else None
    if args.backend == "local":
        return kinesis.service("local", settings)
    _attach(args)
    return kinesis.service("ray", settings)


def _attach(args) -> None:
    import rayemr

    address = getattr(args, "address", None) or os.environ.get("RAY_ADDRESS") or "auto"
    try:
        rayemr.init(address)
    except (ConnectionError, ClusterError) as exc:
        raise ClusterError(f"no Ray cluster to attach to ({exc}); start one with "
                           "`ray start --head`, or use --backend local") from None


def _default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(type(value).__name__)


def _run(args) -> int:
    params = {}
    for flag, param, kind, *_ in args.spec:
        value = getattr(args, param, None)
        if value is None:
            continue
        params[param] = True if kind == "flag" else CONVERT[kind](value, flag)
    result = _service(args).call(args.operation, params)
    if result:
        print(json.dumps(result, indent=4, default=_default))
    return 0


def _stop(args) -> int:
    from rayemr.kinesis import actors

    _attach(args)
    stopped = actors.shutdown()
    print("Kinesis service stopped" if stopped else "no Kinesis service was running",
          file=sys.stderr)
    return 0
