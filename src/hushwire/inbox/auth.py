"""The per-install secret, browser sessions and the service file of the inbox.

* ``DIR/secret`` (mode 0600): 32 random bytes, base64url. Whoever has it can use the inbox:
  it is in the login link (``/login?token=SECRET``) and the terminal commands send it as a
  bearer token. Deleting it (and restarting) revokes every login.
* A browser session is a cookie ``issued.nonce.mac`` where ``mac`` is HMAC-SHA256 of
  ``issued.nonce`` under a key derived from the secret: the cookie never holds the secret,
  survives a restart of the service, and dies with the secret or after
  :data:`SESSION_DAYS` days.
* ``DIR/service.json``: the running service's port and process id, for the terminal
  commands; removed when the service stops. Before sending the secret, a command asks the
  port to prove it knows the secret (:func:`service_proof`), so a stale file whose port
  another program has taken does not leak it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path

SECRET_FILE = "secret"  # noqa: S105 - a file name
SERVICE_FILE = "service.json"
SESSION_DAYS = 30
COOKIE_NAME = "hushwire_inbox"


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
    """Constant-time comparison of a presented token with the secret."""
    return hmac.compare_digest(given.encode("utf-8"), secret.encode("utf-8"))


def _session_key(secret: str) -> bytes:
    return hashlib.sha256(b"hushwire inbox session\x00" + secret.encode("utf-8")).digest()


def new_session(secret: str, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    body = f"{issued}.{secrets.token_urlsafe(16)}"
    mac = hmac.new(_session_key(secret), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def valid_session(cookie: str, secret: str, now: float | None = None) -> bool:
    parts = cookie.split(".")
    if len(parts) != 3 or not parts[0].isdigit():
        return False
    body = f"{parts[0]}.{parts[1]}"
    mac = hmac.new(_session_key(secret), body.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac.encode(), parts[2].encode("ascii", "replace")):
        return False
    age = (time.time() if now is None else now) - int(parts[0])
    return -300 <= age <= SESSION_DAYS * 86400


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
