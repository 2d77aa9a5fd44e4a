"""The JSON protocol's encoding, the credentials store and the service registry."""
from __future__ import annotations

import json

import pytest

from rayemr.aws import protocol
from rayemr.aws.credentials import Credentials
from rayemr.aws.errors import AwsError, wire_error
from rayemr.aws.services import FACTORIES, ServiceContext, build_services
from rayemr.core.errors import ClusterError, ConfigError, InputNotFoundError, UserError


def test_blobs_are_base64_on_the_wire():
    params = {"Data": "aGk=", "Records": [{"Data": "eA=="}, {"Data": "eQ==", "K": 1}]}
    protocol.decode_blobs(params, ("Data", "Records[].Data"))
    assert params == {"Data": b"hi", "Records": [{"Data": b"x"}, {"Data": b"y", "K": 1}]}
    assert json.loads(protocol.encode({"Data": b"hi", "T": 1.5})) == {"Data": "aGk=", "T": 1.5}
    for bad in ({"Data": "not base64!"}, {"Data": 5}):
        with pytest.raises(AwsError) as exc:
            protocol.decode_blobs(bad, ("Data",))
        assert exc.value.code == "SerializationException"


@pytest.mark.parametrize("body", [b"{", b"[1, 2]", b"\xff\xfe", b"null"])
def test_bodies_must_be_json_objects(body):
    with pytest.raises(AwsError) as exc:
        protocol.decode_body(body)
    assert exc.value.code == "SerializationException"


def test_errors_map_to_aws_types():
    assert wire_error(InputNotFoundError("no t")) == (400, "ResourceNotFoundException", "no t")
    assert wire_error(UserError("bad")) == (400, "InvalidArgumentException", "bad")
    assert wire_error(ClusterError("down"))[:2] == (500, "InternalFailure")
    assert wire_error(KeyError("secret detail")) == (500, "InternalFailure",
                                                      "Internal service failure.")


def test_credentials_file_with_several_profiles_and_no_secret_in_repr():
    creds = Credentials.from_text(
        "[default]\naws_access_key_id = AK1\naws_secret_access_key = sekrit-one\n"
        "[bob]\naws_access_key_id=AK2\naws_secret_access_key=sekrit-two\n[empty]\n", "f")
    assert creds.secrets == {"AK1": "sekrit-one", "AK2": "sekrit-two"}
    assert "sekrit" not in repr(creds) and "AK1" in repr(creds)
    with pytest.raises(ConfigError, match="no access key"):
        Credentials.from_text("[x]\n", "f")
    with pytest.raises(ConfigError, match="not a credentials file"):
        Credentials.from_text("garbage without section", "f")


def test_credentials_from_the_environment(tmp_path):
    env = {"AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "S"}
    assert Credentials.from_environment(env).secrets == {"AK": "S"}
    path = tmp_path / "creds"
    path.write_text("[default]\naws_access_key_id=D\naws_secret_access_key=DS\n"
                    "[p]\naws_access_key_id=P\naws_secret_access_key=PS\n")
    env = {"AWS_SHARED_CREDENTIALS_FILE": str(path), "AWS_PROFILE": "p"}
    assert Credentials.from_environment(env).secrets == {"P": "PS"}
    assert Credentials.from_environment({"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no")}) \
        is None


def test_registry_names_its_services():
    assert "kinesis" in FACTORIES
    with pytest.raises(ConfigError, match="unknown AWS service 'sqs'"):
        build_services(["sqs"], ServiceContext())


def test_serve_without_credentials_says_what_to_do(monkeypatch, tmp_path, capsys):
    from rayemr.cli import main

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    assert main(["aws", "serve", "--backend", "local", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "no credentials for the AWS endpoint" in err and err.count("\n") == 1
    assert main(["aws", "serve", "--conf", "kinesis.location=/x"]) == 1
    assert "expected rayemr.<service>.<property>=VALUE" in capsys.readouterr().err
