"""Which settings are secrets, and the rules that keep them out of output.

Hive hides the settings on ``hive.conf.hidden.list`` from ``SET``, from variable
substitution and from the configuration jobs see; rayemr uses the same default list and,
besides, treats any key that names a secret, password, credential, token or access key as
hidden. Reprs, logs, ``SET`` and step command lines use :func:`is_hidden` /
:func:`redact`; a storage URL carrying credentials (``s3://KEY:SECRET@bucket/``) is refused
wherever rayemr takes one, so it is never stored or shown.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from rayemr.core.errors import ConfigError

#: Hive 3's default ``hive.conf.hidden.list``.
HIVE_HIDDEN_LIST: tuple[str, ...] = (
    "javax.jdo.option.ConnectionPassword", "hive.server2.keystore.password",
    "hive.metastore.dbaccess.ssl.truststore.password", "fs.s3.awsAccessKeyId",
    "fs.s3.awsSecretAccessKey", "fs.s3n.awsAccessKeyId", "fs.s3n.awsSecretAccessKey",
    "fs.s3a.access.key", "fs.s3a.secret.key", "fs.s3a.proxy.password",
    "dfs.adls.oauth2.credential", "fs.adl.oauth2.credential",
)

_SECRET_WORDS = re.compile(
    r"secret|passw(or)?d|credential|token|access[._-]?key|private[._-]?key|keystore|"
    r"session[._-]?key|api[._-]?key", re.IGNORECASE)

MASK = "****"


@dataclass(frozen=True)
class HiddenKeys:
    """``hidden(key)``: True for keys whose values must never be shown or substituted."""

    names: frozenset[str] = frozenset(k.lower() for k in HIVE_HIDDEN_LIST)

    def __call__(self, key: str) -> bool:
        return key.strip().lower() in self.names or bool(_SECRET_WORDS.search(key))

    def plus(self, keys: Iterable[str]) -> HiddenKeys:
        return HiddenKeys(self.names | {k.strip().lower() for k in keys if k.strip()})

    @classmethod
    def from_setting(cls, value: str | None) -> HiddenKeys:
        """The defaults plus a comma-separated ``hive.conf.hidden.list`` (rayemr never lets
        a configured list un-hide a default one)."""
        return cls().plus((value or "").split(","))


HIDDEN = HiddenKeys()


def is_hidden(key: str) -> bool:
    return HIDDEN(key)


def redact(props: Mapping[str, str], hidden: HiddenKeys = HIDDEN) -> dict[str, str]:
    """A copy of ``props`` with hidden values masked."""
    return {k: (MASK if hidden(k) else v) for k, v in props.items()}


def without_hidden(props: Mapping[str, str], hidden: HiddenKeys = HIDDEN) -> dict[str, str]:
    """A copy of ``props`` without the hidden keys."""
    return {k: v for k, v in props.items() if not hidden(k)}


_AUTHORITY = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/?#\s]*)")


def url_has_credentials(text: str) -> bool:
    """True when ``text`` holds a URL with a user-info part (``scheme://user:pw@host/``),
    anywhere in it (``NAME=s3://KEY:SECRET@bucket/`` too)."""
    return any("@" in m.group(1) for m in _AUTHORITY.finditer(str(text or "")))


def check_url(url: str, what: str = "location") -> str:
    """``url``, or ConfigError when it embeds credentials (which are not echoed)."""
    if url_has_credentials(url):
        scheme = str(url).split("://", 1)[0]
        raise ConfigError(f"{what} {scheme}://****@...: URLs with embedded credentials are "
                          "refused", hint="configure credentials in emrfs-site, the "
                          "environment or an instance role, never in a URL")
    return url
