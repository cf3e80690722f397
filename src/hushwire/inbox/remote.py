"""The terminal commands: ``hushwire inbox list|read|reply|end|link --data DIR``.

The running service holds the agent (one process may own its keys and queues), so these
commands call its local API on 127.0.0.1 with the install secret from ``DIR/secret`` as a
bearer token. Text from visitors is printed with control characters made visible.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, TextIO

from hushwire.errors import ConfigError
from hushwire.inbox.auth import login_link, read_secret, service_port, service_proof

TIMEOUT = 30.0


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() or c == " " else f"\\x{ord(c):02x}" for c in text)


def _not_running(data: Path) -> ConfigError:
    return ConfigError(
        f"the inbox service is not running: start it with "
        f"`hushwire inbox --data {data} --relay smp://KEYHASH@HOST:PORT`"
    )


def _request(req: urllib.request.Request, data: Path) -> Any:
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:  # noqa: S310
            return json.loads(resp.read())
    except urllib.error.HTTPError as e:
        try:
            message = json.loads(e.read()).get("error") or str(e)
        except ValueError:
            message = str(e)
        finally:
            e.close()
        raise ConfigError(message) from None
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError) as e:
        raise _not_running(data) from e


def _verify(data: Path, port: int, secret: str) -> None:
    """The program on ``port`` must prove it knows the secret before it is sent there."""
    nonce = secrets.token_hex(16)
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/proof?nonce={nonce}")
    try:
        proof = _request(req, data).get("proof")
    except ConfigError:
        raise _not_running(data) from None
    if not isinstance(proof, str) or not hmac.compare_digest(
        proof.encode(), service_proof(secret, nonce).encode()
    ):
        raise _not_running(data)


def _call(data: Path, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    port, secret = service_port(data), read_secret(data)
    if port is None or secret is None:
        raise _not_running(data)
    _verify(data, port, secret)
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    return _request(req, data)


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at))


TICKS = {"pending": "…", "sent": "✓", "delivered": "✓✓", "failed": "!"}


def run_remote(data: Path, action: str, args: list[str], out: TextIO) -> int:
    if action == "link":
        port, secret = service_port(data), read_secret(data)
        if port is None or secret is None:
            raise _not_running(data)
        _call(data, "GET", "/api/settings")  # fails clearly if it is not running
        print(login_link(port, secret), file=out)
        return 0
    if action == "list":
        convs = _call(data, "GET", "/api/conversations")["conversations"]
        if not convs:
            print("No conversations yet.", file=out)
        for c in convs:
            unread = f" ({c['unread']} unread)" if c["unread"] else ""
            last = _printable(c["last_text"] or "")[:60]
            print(
                f"{c['id'][:8]}  {_printable(c['name'])}  [{c['status']}]{unread}  {last}",
                file=out,
            )
        return 0
    if action == "read":
        (ref,) = _need(args, 1, "read CONV")
        ref = urllib.parse.quote(ref, safe="")
        got = _call(data, "GET", f"/api/conversations/{ref}")
        conv = got["conversation"]
        print(f"{_printable(conv['name'])} [{conv['status']}] {conv['id']}", file=out)
        for m in got["messages"]:
            who = _printable(conv["name"]) if m["direction"] == "in" else "you"
            if m["direction"] == "out" and m.get("author"):  # a team: who of the team wrote it
                who = _printable(m["author"])
            tick = f" {TICKS.get(m['state'], '')}" if m["direction"] == "out" else ""
            print(f"{_when(m['at'])} {who}: {_printable(m['text'])}{tick}", file=out)
        _call(data, "POST", f"/api/conversations/{conv['id']}/read", {})
        return 0
    if action == "reply":
        if len(args) < 2:
            raise ConfigError("usage: hushwire inbox reply CONV TEXT --data DIR")
        ref = urllib.parse.quote(args[0], safe="")
        _call(data, "POST", f"/api/conversations/{ref}/messages", {"text": " ".join(args[1:])})
        print("Sent.", file=out)
        return 0
    if action == "end":
        (ref,) = _need(args, 1, "end CONV")
        ref = urllib.parse.quote(ref, safe="")
        _call(data, "POST", f"/api/conversations/{ref}/end", {})
        print("Ended: the visitor was told and the history is erased.", file=out)
        return 0
    raise ConfigError(f"unknown inbox command {action}")  # pragma: no cover


def _need(args: list[str], n: int, usage: str) -> list[str]:
    if len(args) != n:
        raise ConfigError(f"usage: hushwire inbox {usage} --data DIR")
    return args
