"""Validation at the edge (AWS's types and messages) and the purity of the core modules."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import rayemr.kinesis as kinesis
from rayemr.kinesis.errors import (
    BY_CODE, ResourceNotFoundException, SerializationException, ValidationException,
)
from rayemr.kinesis.validate import validate


def test_constraint_violations_are_listed_as_aws_does():
    with pytest.raises(ValidationException) as exc:
        validate("CreateStream", {"StreamName": "bad name!" * 20, "ShardCount": 0})
    msg = str(exc.value)
    assert msg.startswith("ValidationException: 3 validation errors detected: ")
    assert "at 'streamName' failed to satisfy constraint: Member must have length less than " \
           "or equal to 128" in msg
    assert "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+" in msg
    assert "Value '0' at 'shardCount' failed to satisfy constraint: Member must have value " \
           "greater than or equal to 1" in msg


def test_put_records_limits():
    recs = [{"Data": b"x", "PartitionKey": "k"}] * 501
    with pytest.raises(ValidationException, match="at 'records' .* less than or equal to 500"):
        validate("PutRecords", {"StreamName": "s", "Records": recs})
    with pytest.raises(ValidationException, match="greater than or equal to 1"):
        validate("PutRecords", {"StreamName": "s", "Records": []})
    bad = [{"Data": b"x", "PartitionKey": ""}, {"Data": b"x", "PartitionKey": "k" * 257},
           {"Data": b"x", "PartitionKey": "k", "ExplicitHashKey": "01"}]
    with pytest.raises(ValidationException) as exc:
        validate("PutRecords", {"StreamName": "s", "Records": bad})
    msg = str(exc.value)
    assert "3 validation errors" in msg and "records.1.member.partitionKey" in msg
    assert "records.3.member.explicitHashKey" in msg
    with pytest.raises(SerializationException):
        validate("PutRecords", {"StreamName": "s", "Records": [{"Data": "not bytes",
                                                                 "PartitionKey": "k"}]})


def test_wrong_types_are_serialization_errors():
    with pytest.raises(SerializationException, match="shardCount"):
        validate("CreateStream", {"StreamName": "s", "ShardCount": "2"})
    with pytest.raises(SerializationException):
        validate("CreateStream", ["not", "a", "map"])
    with pytest.raises(ValidationException, match="Value null at 'shardIteratorType'"):
        validate("GetShardIterator", {"StreamName": "s", "ShardId": "shardId-000000000000"})


def test_errors_carry_aws_codes_and_pickle():
    import pickle

    err = ResourceNotFoundException("Stream x under account 000000000000 not found.")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is ResourceNotFoundException and back.response["Error"] == {
        "Code": "ResourceNotFoundException", "Message": err.message}
    assert isinstance(back, FileNotFoundError)  # an InputNotFoundError of the tree
    assert all(cls.aws_code == code or code == "InternalFailureException"
               for code, cls in BY_CODE.items())


PURE = ("errors", "hashkeys", "seqnum", "iterators", "limits", "records", "shard", "stream",
        "listing", "validate", "leases")
ALLOWED = {"rayemr.core.errors", "rayemr.core.statemachine"}


@pytest.mark.parametrize("module", PURE)
def test_core_modules_do_no_io_and_use_no_ray(module):
    path = Path(kinesis.__file__).parent / f"{module}.py"
    if not path.exists():
        pytest.skip(f"{module} not written")
    bad = []
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module == "rayemr.kinesis":
            names = [f"rayemr.kinesis.{a.name}" for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if top in ("ray", "os", "socket", "io", "threading", "time", "subprocess",
                       "requests", "boto3", "botocore", "fsspec", "s3fs"):
                bad.append(name)
            if name.startswith("rayemr.") and not (
                    name in ALLOWED or name.startswith("rayemr.kinesis.")):
                bad.append(name)
            if name.startswith("rayemr.kinesis.") and name.split(".")[2] not in PURE + (
                    "config",):
                bad.append(name)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "open":
            bad.append("open()")
    assert not bad, f"{module} imports {bad}"
