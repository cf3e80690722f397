"""The per-install secret, browser sessions and the service file of the inbox.

* ``DIR/secret`` (mode 0600): 32 random bytes, base64url. Whoever has it can use the inbox:
  it is in the login link (``/login?token=SECRET``) and the terminal commands send it as a
  bearer token. Deleting it (and restarting) revokes every login.
* ``DIR/service.json``: the running service's port and process id, for the terminal
  commands; removed when the service stops. Before sending the secret, a command asks the
  port to prove it knows the secret (:func:`service_proof`), so a stale file whose port
  another program has taken does not leak it.

Browser sessions are held by the server (:class:`SessionTable`, in memory: a restart or a
logout ends them; this replaces the self-validating HMAC cookie of earlier versions). A
session has two halves: the cookie ``hushwire_inbox_PORT`` (HttpOnly, SameSite=Strict) and a
key that the page claims once, right after login, keeps in its origin's ``localStorage``
and sends as :data:`KEY_HEADER` (and as a WebSocket sub-protocol). Browsers send cookies to
every port of a host, so another server on 127.0.0.1 may see the cookie; it never sees the
key, and the cookie alone opens only the static page. Each session is bound to the origin
(``http://HOST:PORT``) it was made at. :class:`LoginLimiter` rate-limits failed logins per
client address in bounded memory.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

SECRET_FILE = "secret"  # noqa: S105 - a file name
SERVICE_FILE = "service.json"
SESSION_DAYS = 30
COOKIE_NAME = "hushwire_inbox"
"""Prefix of the session cookie's name; the name ends with the UI's port
(:func:`cookie_name`), so two inboxes on one machine keep their own cookies."""
KEY_HEADER: Final = "X-Hushwire-Key"
"""The header that carries a browser session's key (the half a cookie leak does not give)."""
WS_PROTOCOL: Final = "hushwire"
"""The WebSocket sub-protocol of the live updates; the page offers ``k.KEY`` beside it."""
SESSIONS_MAX: Final = 64
"""Browser sessions kept at most; a new login beyond that ends the oldest."""
CLAIM_SECONDS: Final = 120
"""How long after login the page may claim its session key (once)."""


def load_or_create_secret(data: Path) -> str:
    """The install secret, made on the first run (0600, owner only)."""
    path = data / SECRET_FILE
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        text = ""
    if text:
        return text
    text = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)
    return text


def read_secret(data: Path) -> str | None:
    try:
        return (data / SECRET_FILE).read_text().strip() or None
    except FileNotFoundError:
        return None


def same_secret(given: str, secret: str) -> bool:
    """Constant-time comparison of a presented token with the secret (a token that is not
    ASCII is simply wrong)."""
    if not given.isascii():
        return False
    return hmac.compare_digest(given.encode("ascii"), secret.encode("utf-8"))


def cookie_name(port: int) -> str:
    """The session cookie's name for the UI on ``port``."""
    return f"{COOKIE_NAME}_{port}"


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii")).digest()


@dataclass(slots=True)
class _Session:
    origin: str
    issued: float
    key_digest: bytes
    unclaimed_key: str | None
    """The key until the page has claimed it; then only its digest is kept."""


class SessionTable:
    """The server's browser sessions: made at login, checked on every request, revoked at
    logout. Only digests of the cookies and keys are kept once the key is claimed."""

    def __init__(
        self, clock: Callable[[], float] = time.time, max_sessions: int = SESSIONS_MAX
    ) -> None:
        self._clock = clock
        self._max = max_sessions
        self._sessions: OrderedDict[bytes, _Session] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, origin: str) -> str:
        """A new session for ``origin``; returns the cookie value."""
        cookie = secrets.token_urlsafe(32)
        key = secrets.token_urlsafe(32)
        self._sessions[_digest(cookie)] = _Session(origin, self._clock(), _digest(key), key)
        while len(self._sessions) > self._max:
            self._sessions.popitem(last=False)
        return cookie

    def _live(self, cookie: str | None, origin: str) -> _Session | None:
        if not cookie or not cookie.isascii():
            return None
        d = _digest(cookie)
        s = self._sessions.get(d)
        if s is None:
            return None
        if self._clock() - s.issued > SESSION_DAYS * 86400:
            del self._sessions[d]
            return None
        return s if hmac.compare_digest(s.origin.encode(), origin.encode()) else None

    def claim(self, cookie: str | None, origin: str) -> str | None:
        """The session's key, handed out once and only soon after login."""
        s = self._live(cookie, origin)
        if s is None or s.unclaimed_key is None:
            return None
        key, s.unclaimed_key = s.unclaimed_key, None
        return key if self._clock() - s.issued <= CLAIM_SECONDS else None

    def page_ok(self, cookie: str | None, origin: str) -> bool:
        """The cookie alone: enough for the static page, nothing else."""
        return self._live(cookie, origin) is not None

    def valid(self, cookie: str | None, key: str, origin: str) -> bool:
        """Cookie and key of one live session made at ``origin``."""
        s = self._live(cookie, origin)
        if s is None or not key.isascii():
            return False
        return hmac.compare_digest(_digest(key), s.key_digest)

    def revoke(self, cookie: str | None) -> bool:
        if not cookie or not cookie.isascii():
            return False
        return self._sessions.pop(_digest(cookie), None) is not None


class LoginLimiter:
    """Failed logins per client address: a token bucket of :attr:`BURST` tries refilled by
    one every :attr:`REFILL_SECONDS`. At most ``max_addresses`` buckets are kept (the least
    recently used is dropped), so memory stays bounded whatever the addresses."""

    BURST: Final = 10
    REFILL_SECONDS: Final = 6.0

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, max_addresses: int = 1024
    ) -> None:
        self._clock = clock
        self._max = max_addresses
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def _tokens(self, address: str) -> float:
        got = self._buckets.get(address)
        if got is None:
            return float(self.BURST)
        tokens, at = got
        return min(float(self.BURST), tokens + (self._clock() - at) / self.REFILL_SECONDS)

    def retry_after(self, address: str) -> int:
        """0 if ``address`` may try now, else whole seconds to wait."""
        missing = 1.0 - self._tokens(address)
        return 0 if missing <= 0 else max(1, int(missing * self.REFILL_SECONDS + 0.999))

    def failed(self, address: str) -> None:
        self._buckets[address] = (max(0.0, self._tokens(address) - 1.0), self._clock())
        self._buckets.move_to_end(address)
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)


def service_proof(secret: str, nonce: str) -> str:
    """What the running service answers to ``nonce``: proves it knows the secret, so the
    terminal commands never hand the secret to some other program that took the port."""
    key = hashlib.sha256(b"hushwire inbox proof\x00" + secret.encode("utf-8")).digest()
    return hmac.new(key, nonce.encode("utf-8"), hashlib.sha256).hexdigest()


def write_service_file(data: Path, port: int) -> None:
    path = data / SERVICE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"port": port, "pid": os.getpid()}))
    tmp.replace(path)


def remove_service_file(data: Path) -> None:
    path = data / SERVICE_FILE
    try:
        info = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return
    if info.get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def service_port(data: Path) -> int | None:
    try:
        info = json.loads((data / SERVICE_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    port = info.get("port") if isinstance(info, dict) else None
    return port if isinstance(port, int) and 0 < port < 65536 else None


def login_link(port: int, secret: str) -> str:
    return f"http://127.0.0.1:{port}/login?token={secret}"
