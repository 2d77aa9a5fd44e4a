"""EmrfsConfig, URL parsing and listing (no network)."""
from __future__ import annotations

import pickle

import pytest

from rayemr.core.errors import ConfigError, InputNotFoundError, UnsupportedError, UserError
from rayemr.fs import EmrfsConfig, is_hidden, list_inputs, parse_url, resolve
from rayemr.fs.config import parse_size
from rayemr.fs.errors import scrub, translate
from rayemr.fs.s3 import EmrfsS3FileSystem, s3fs_options

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_from_properties_emrfs_and_s3a_spellings():
    cfg = EmrfsConfig.from_properties({
        "fs.s3.endpoint": "http://127.0.0.1:9000",
        "fs.s3a.endpoint.region": "eu-west-1",
        "fs.s3a.path.style.access": "true",
        "fs.s3.serverSideEncryption.kms.keyId": "arn:aws:kms:eu-west-1:1:key/abc",
        "fs.s3.maxRetries": "7",
        "fs.s3.retry.mode": "adaptive",
        "fs.s3a.multipart.threshold": "32M",
        "fs.s3a.multipart.size": "8MB",
        "fs.s3.consistent": "true",
    })
    assert cfg.endpoint_url == "http://127.0.0.1:9000"
    assert cfg.region == "eu-west-1"
    assert cfg.path_style is True
    assert cfg.sse == "aws:kms"
    assert cfg.write_kwargs() == {"ServerSideEncryption": "aws:kms",
                                  "SSEKMSKeyId": "arn:aws:kms:eu-west-1:1:key/abc"}
    assert cfg.max_attempts == 8 and cfg.retry_mode == "adaptive"
    assert cfg.multipart_threshold == 32 * 2**20 and cfg.multipart_part_size == 8 * 2**20
    assert cfg.ignored == ("fs.s3.consistent",)
    assert "fs.s3a.path.style.access" in cfg.describe()["path_style"]
    opts = s3fs_options(cfg)
    assert opts["config_kwargs"]["retries"] == {"mode": "adaptive", "total_max_attempts": 8}
    assert opts["config_kwargs"]["s3"] == {"addressing_style": "path"}
    assert opts["client_kwargs"] == {"region_name": "eu-west-1"}
    assert opts["s3_additional_kwargs"]["ServerSideEncryption"] == "aws:kms"
    assert opts["default_block_size"] == 8 * 2**20


def test_sse_s3_switch():
    cfg = EmrfsConfig.from_properties({"fs.s3.enableServerSideEncryption": "true"})
    assert cfg.write_kwargs() == {"ServerSideEncryption": "AES256"}
    cfg = EmrfsConfig.from_properties({"fs.s3a.server-side-encryption-algorithm": "SSE-S3"})
    assert cfg.sse == "AES256"
    assert EmrfsConfig().write_kwargs() == {}


@pytest.mark.parametrize("props", [
    {"fs.s3.retry.mode": "sometimes"},
    {"fs.s3.maxRetries": "-1"},
    {"fs.s3a.multipart.size": "1M"},
    {"fs.s3.multipart.threshold": "lots"},
    {"fs.s3a.path.style.access": "maybe"},
    {"fs.s3a.server-side-encryption-algorithm": "rot13"},
    {"fs.s3a.access.key": "AKIA"},
])
def test_bad_values_are_config_errors(props):
    with pytest.raises(ConfigError) as err:
        EmrfsConfig.from_properties(props)
    assert SECRET not in str(err.value)


def test_sizes():
    assert parse_size("k", "64M") == 64 * 2**20
    assert parse_size("k", "1g") == 2**30
    assert parse_size("k", 1234) == 1234
    assert parse_size("k", "128MiB") == 128 * 2**20


def test_secrets_never_in_repr_or_describe():
    cfg = EmrfsConfig.from_properties({"fs.s3a.access.key": "AKIAEXAMPLE",
                                       "fs.s3a.secret.key": SECRET,
                                       "fs.s3a.session.token": "TOKEN" + SECRET})
    for text in (repr(cfg), str(cfg), str(cfg.describe()), repr(pickle.loads(pickle.dumps(cfg)))):
        assert SECRET not in text and "AKIAEXAMPLE" not in text
    assert pickle.loads(pickle.dumps(cfg)) == cfg
    fs = EmrfsS3FileSystem(**s3fs_options(cfg))
    assert SECRET not in repr(fs)


def test_errors_scrub_secrets(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    err = translate(OSError(f"request failed with key {SECRET}"), "s3://b/k")
    assert SECRET not in str(err) and "s3://b/k" in str(err)
    assert "****" in scrub(f"aws_secret_access_key={SECRET}x")


def test_endpoint_from_environment(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    assert EmrfsConfig().effective_endpoint() == "http://127.0.0.1:1"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:2")
    assert EmrfsConfig().effective_endpoint() == "http://127.0.0.1:2"
    assert EmrfsConfig(endpoint_url="http://h:3").effective_endpoint() == "http://h:3"


def test_parse_url_schemes(tmp_path):
    for scheme in ("s3", "s3a", "s3n"):
        parsed = parse_url(f"{scheme}://bucket/a/b.txt")
        assert (parsed.kind, parsed.path) == ("s3", "bucket/a/b.txt")
        assert parsed.to_url("bucket/x") == f"{scheme}://bucket/x"
    assert parse_url("s3://bucket").path == "bucket"
    assert parse_url(f"file://{tmp_path}/x").path == f"{tmp_path}/x"
    assert parse_url(f"{tmp_path}/x").kind == "local"
    assert parse_url("memory://a/b").path == "/a/b"
    with pytest.raises(UnsupportedError, match="hdfs://"):
        parse_url("hdfs://nn/x")
    with pytest.raises(UserError, match="unknown URL scheme 'foo'"):
        parse_url("foo://x")
    with pytest.raises(UserError, match="no bucket"):
        parse_url("s3:///key")


def test_resolve_same_filesystem_for_s3_spellings():
    fs1, p1 = resolve("s3://b/k")
    fs2, p2 = resolve("s3n://b/k")
    fs3, p3 = resolve("s3a://b/k")
    assert fs1 is fs2 is fs3 and p1 == p2 == p3 == "b/k"
    import fsspec

    assert isinstance(fsspec.filesystem("s3n", skip_instance_cache=True), EmrfsS3FileSystem)


def test_hidden_files():
    assert is_hidden("_SUCCESS") and is_hidden("a/.crc") and is_hidden("x/_temporary/")
    assert not is_hidden("part-00000")


def test_list_inputs_skips_hidden_and_globs(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "_temporary" / "x").mkdir(parents=True)
    for name in ("d/a.txt", "d/b.txt", "d/_SUCCESS", "d/.a.txt.crc", "d/sub/c.txt",
                 "d/_temporary/x/part", "d/sub/_hidden"):
        (tmp_path / name).write_text("x\n")
    got = [s.url for s in list_inputs(str(tmp_path / "d"))]
    assert got == [str(tmp_path / "d" / n) for n in ("a.txt", "b.txt", "sub/c.txt")]
    got = [s.url for s in list_inputs(f"file://{tmp_path}/d/*.txt")]
    assert got == [f"file://{tmp_path}/d/a.txt", f"file://{tmp_path}/d/b.txt"]
    assert list_inputs(str(tmp_path / "d" / "a.txt"))[0].size == 2
    with pytest.raises(InputNotFoundError, match="matches 0 files"):
        list_inputs(str(tmp_path / "d" / "*.csv"))
    with pytest.raises(InputNotFoundError, match="no such file"):
        list_inputs(str(tmp_path / "missing"))
