"""HiveServer2 authentication modes: NONE, NOSASL, CUSTOM (password file), LDAP (simple bind).

``hive.server2.authentication`` names the mode. NONE and NOSASL accept any user (NONE still
runs the SASL PLAIN exchange, NOSASL uses a plain buffered transport). CUSTOM checks the user
against a password file of salted PBKDF2-SHA256 hashes, one ``user:pbkdf2_sha256$iterations$
salt$hash`` line per user (``rayemr hiveserver2 --add-user NAME --password-file FILE`` writes
one). LDAP binds to the configured server as the user's DN.

Passwords are never logged, stored in clear or shown in an error. A check costs the same
for a known and an unknown user (the unknown one is checked against a dummy hash of the same
strength), so timing does not tell which users exist; :class:`LoginThrottle` makes each
client address wait longer after every failed login beyond a few.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rayemr.core.errors import ConfigError

log = logging.getLogger(__name__)

AUTH_MODES = ("NONE", "NOSASL", "CUSTOM", "LDAP")
_ALGO = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 120_000
_USER = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")


def hash_password(password: str, *, iterations: int = DEFAULT_ITERATIONS,
                  salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return f"{_ALGO}${iterations}${b64(salt)}${b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        algo, iterations, salt, digest = encoded.split("$")
        if algo != _ALGO:
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"),
                                     base64.b64decode(salt), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(expected, actual)


def read_password_file(path: str | os.PathLike) -> dict[str, str]:
    """``{user: encoded hash}``; raises ConfigError naming the file and line when malformed."""
    users: dict[str, str] = {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"password file {path} does not exist",
                          hint="create it with rayemr hiveserver2 --add-user") from None
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, encoded = line.partition(":")
        if not sep or not _USER.match(user) or not encoded.startswith(_ALGO + "$"):
            raise ConfigError(f"password file {path}, line {n}: expected user:{_ALGO}$...")
        users[user] = encoded
    return users


def add_user(path: str | os.PathLike, user: str, password: str, *,
             iterations: int = DEFAULT_ITERATIONS) -> None:
    """Add or replace ``user`` in the password file (created mode 0600 when missing)."""
    if not _USER.match(user or ""):
        raise ConfigError(f"invalid user name {user!r}: use letters, digits, _ . @ -")
    if not password:
        raise ConfigError(f"empty password for user {user!r}")
    path = Path(path)
    users = read_password_file(path) if path.exists() else {}
    users[user] = hash_password(password, iterations=iterations)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.writelines(f"{u}:{h}\n" for u, h in sorted(users.items()))
    os.replace(tmp, path)


class PasswordFileAuthenticator:
    """CUSTOM mode: the password file is re-read when it changes, so users can be added live."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._users: dict[str, str] = {}
        self._dummy = ""
        self._load()

    def _load(self) -> None:
        mtime = self.path.stat().st_mtime if self.path.exists() else None
        with self._lock:
            if mtime != self._mtime or mtime is None:
                self._users = read_password_file(self.path)
                self._mtime = mtime
                # what an unknown user's check costs: the strongest hash on file
                rounds = max([_iterations(h) for h in self._users.values()]
                             + [DEFAULT_ITERATIONS])
                self._dummy = hash_password(secrets.token_hex(16), iterations=rounds)

    def __call__(self, user: str, password: str) -> bool:
        try:
            self._load()
        except (ConfigError, OSError) as exc:
            log.error("CUSTOM authentication unavailable: %s", exc)
            return False
        encoded = self._users.get(user)
        if encoded is None:
            verify_password(password, self._dummy)  # the same work as for a known user
            return False
        return verify_password(password, encoded)

    def __repr__(self) -> str:
        return f"PasswordFileAuthenticator({str(self.path)!r})"


def _iterations(encoded: str) -> int:
    try:
        return int(encoded.split("$")[1])
    except (IndexError, ValueError):
        return DEFAULT_ITERATIONS


class LoginThrottle:
    """Per-address back-off after failed logins: ``free_failures`` cost nothing, each one
    after that doubles the wait (from ``base_delay`` up to ``max_delay`` seconds) before the
    address may try again; a success clears it. Clock injected; no I/O."""

    def __init__(self, free_failures: int = 5, base_delay: float = 1.0,
                 max_delay: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 max_addresses: int = 10_000) -> None:
        self.free_failures, self.base_delay, self.max_delay = free_failures, base_delay, \
            max_delay
        self._clock = clock
        self._max_addresses = max_addresses
        self._state: dict[str, tuple[int, float]] = {}  # address -> (failures, blocked until)
        self._lock = threading.Lock()

    def wait_time(self, address: str) -> float:
        """Seconds ``address`` must wait before its next login is even checked."""
        with self._lock:
            _, until = self._state.get(address, (0, 0.0))
        return max(0.0, until - self._clock())

    def failed(self, address: str) -> None:
        now = self._clock()
        with self._lock:
            failures, _ = self._state.get(address, (0, 0.0))
            failures += 1
            extra = failures - self.free_failures
            until = now + min(self.max_delay, self.base_delay * 2 ** (extra - 1)) \
                if extra > 0 else 0.0
            self._state[address] = (failures, until)
            if len(self._state) > self._max_addresses:
                self._forget_old(now)

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._state.pop(address, None)

    def _forget_old(self, now: float) -> None:
        stale = [a for a, (_, until) in self._state.items() if until + self.max_delay < now]
        for a in stale or list(self._state)[: len(self._state) // 2]:
            del self._state[a]


@dataclass(frozen=True)
class LdapSettings:
    """``hive.server2.authentication.ldap.url`` / ``.baseDN`` / ``.userDNPattern``."""

    url: str
    base_dn: str = ""
    user_dn_pattern: str = ""  # e.g. "uid=%s,ou=people,dc=example,dc=com"
    timeout: float = 10.0

    def user_dn(self, user: str) -> str:
        escaped = _ldap_escape_dn(user)
        if self.user_dn_pattern:
            return self.user_dn_pattern.replace("%s", escaped)
        if self.base_dn:
            return f"uid={escaped},{self.base_dn}"
        return user


def _ldap_escape_dn(value: str) -> str:
    out = []
    for i, ch in enumerate(value):
        if ch in ',+"\\<>;=' or (ch == "#" and i == 0) or (ch == " " and i in (0, len(value) - 1)):
            out.append("\\" + ch)
        elif ch == "\x00":
            out.append("\\00")
        else:
            out.append(ch)
    return "".join(out)


class LdapAuthenticator:
    """LDAP mode: a simple bind as the user's DN; success means the password is right."""

    def __init__(self, settings: LdapSettings,
                 connect: Callable[[LdapSettings, str, str], bool] | None = None) -> None:
        if not settings.url:
            raise ConfigError("LDAP authentication needs a server URL (--ldap-url)")
        self.settings = settings
        self._connect = connect or _ldap3_bind

    def __call__(self, user: str, password: str) -> bool:
        if not password:  # an empty password is an anonymous bind, which proves nothing
            return False
        try:
            return bool(self._connect(self.settings, self.settings.user_dn(user), password))
        except Exception as exc:  # the message of a bind error never holds the password
            log.warning("LDAP bind for user %r failed: %s", user, type(exc).__name__)
            return False


def _ldap3_bind(settings: LdapSettings, dn: str, password: str) -> bool:
    try:
        import ldap3
    except ImportError:
        raise ConfigError("LDAP authentication needs ldap3: pip install 'rayemr[ldap]'") from None
    server = ldap3.Server(settings.url, connect_timeout=settings.timeout)
    conn = ldap3.Connection(server, user=dn, password=password, receive_timeout=settings.timeout)
    try:
        return bool(conn.bind())
    finally:
        conn.unbind()


def allow_all(user: str, password: str) -> bool:
    """NONE mode: any user name and password are accepted, as in Hive."""
    return True
