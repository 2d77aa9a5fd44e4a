"""The credentials the endpoint accepts: access key ids and their secret keys.

From, in order: an explicit file (the shared-credentials format of ``~/.aws/credentials``;
every profile in it is accepted, so one file can hold several users), the environment
(``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``), or the profile ``AWS_PROFILE`` (else
``default``) of the shared credentials file. Secrets are never shown: the repr names the key
ids and where they came from.
"""
from __future__ import annotations

import configparser
import os
from typing import Mapping

from rayemr.core.errors import ConfigError


class Credentials:
    """Access key id -> secret key pairs (see the module docstring)."""

    __slots__ = ("_secrets", "source")

    def __init__(self, pairs: Mapping[str, str], source: str) -> None:
        if not pairs:
            raise ConfigError(f"{source}: no access key id / secret access key pairs")
        for key, secret in pairs.items():
            if not key or not secret:
                raise ConfigError(f"{source}: an empty access key id or secret access key")
        self._secrets = dict(pairs)
        self.source = source

    def __repr__(self) -> str:
        return f"Credentials({', '.join(sorted(self._secrets))} from {self.source})"

    @property
    def access_keys(self) -> list[str]:
        return sorted(self._secrets)

    @property
    def secrets(self) -> Mapping[str, str]:
        return self._secrets

    @classmethod
    def from_text(cls, text: str, source: str, profile: str | None = None) -> Credentials:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(text)
        except configparser.Error as exc:
            raise ConfigError(f"{source}: not a credentials file "
                              f"({type(exc).__name__})") from None
        pairs = {}
        for section in parser.sections():
            if profile is not None and section != profile:
                continue
            key = parser.get(section, "aws_access_key_id", fallback="").strip()
            secret = parser.get(section, "aws_secret_access_key", fallback="").strip()
            if key and secret:
                pairs[key] = secret
        return cls(pairs, source)

    @classmethod
    def from_file(cls, path: str, profile: str | None = None) -> Credentials:
        from rayemr.fs import resolve, storage_errors

        fs, fs_path = resolve(path)
        with storage_errors(path):
            text = fs.cat_file(fs_path).decode("utf-8", errors="replace")
        return cls.from_text(text, path, profile)

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> Credentials | None:
        env = os.environ if env is None else env
        key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
        if key and secret:
            return cls({key: secret}, "environment (AWS_ACCESS_KEY_ID)")
        path = env.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.join(
            os.path.expanduser("~"), ".aws", "credentials")
        if not os.path.exists(path):
            return None
        profile = env.get("AWS_PROFILE") or "default"
        try:
            return cls.from_file(path, profile)
        except ConfigError:
            return None

    @classmethod
    def resolve(cls, path: str | None = None) -> Credentials:
        """Credentials from ``path``, else the environment; a one-line error if none."""
        if path:
            return cls.from_file(path)
        found = cls.from_environment()
        if found is None:
            raise ConfigError(
                "no credentials for the AWS endpoint: give a credentials file "
                "(--credentials FILE, in ~/.aws/credentials format) or set "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        return found
