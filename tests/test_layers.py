"""The layer rules of ``src/hushwire`` (docs/architecture.md), checked on the source with
``ast``, so nothing is imported and no side effect runs.

1. **Imports follow an explicit map.** :data:`ALLOWED` says, for every layer (a subpackage
   of ``hushwire``, or a top-level module such as ``cli``), which other layers it may import.
   A module may always import its own layer. ``from hushwire import X`` where X is no
   module is an import of the package itself, layer ``__init__``.
2. **Relative imports stay in their package.** ``from .x import y`` inside the module's own
   package only; ``from ..x import y`` leaves the package and is refused, as is a relative
   import from a top-level module (whose package is ``hushwire`` itself). Across packages,
   import absolutely.
3. **Only ``transport`` opens sockets.** "Opening a socket" means any of:

   - importing ``socket``, ``ssl``, ``socketserver``, ``http.client``, ``http.server`` or
     ``urllib.request`` (modules that exist to open sockets or wrap them in TLS);
   - calling ``asyncio.open_connection``, ``asyncio.start_server``,
     ``asyncio.open_unix_connection`` or ``asyncio.start_unix_server``;
   - calling an event loop's ``create_connection``, ``create_server``,
     ``create_unix_connection``, ``create_unix_server``, ``create_datagram_endpoint``,
     ``sock_connect``, ``sock_accept`` or ``connect_accepted_socket`` (the receiver is an
     ``asyncio.get_running_loop()`` / ``get_event_loop()`` / ``new_event_loop()`` call or an
     expression whose last name contains ``loop``);
   - calling ``connect``, ``serve``, ``unix_connect`` or ``unix_serve`` of ``websockets``
     (any submodule);
   - calling aiohttp's ``TCPSite``, ``UnixSite``, ``SockSite``, ``NamedPipeSite``,
     ``run_app``, ``ClientSession``, ``TCPConnector``, ``UnixConnector`` or ``request``.

   Names are resolved through the module's imports (``import asyncio as aio``, ``from
   aiohttp import web``). The ``server`` and ``client`` layers and ``testing`` have no
   exception. Places that open sockets outside ``transport`` today are listed, each with its
   reason, in :data:`SOCKET_EXCEPTIONS`; an entry that no longer matches anything fails, so
   the list only shrinks.
4. **Sans-I/O stays pure.** The layers in :data:`SANS_IO_LAYERS` and the modules in
   :data:`SANS_IO_MODULES` (a module that does not exist yet is simply not checked) import
   none of :data:`IO_MODULES`, and of ``hushwire`` only modules that are sans-I/O themselves.
   The ``hushwire.agent`` package's ``__init__`` counts as sans-I/O: it runs whenever one of
   the pure agent modules is imported.
5. **``testing`` is pure** in the sense of rule 3 (public fakes open no socket); it may start
   processes with ``subprocess``.

:func:`test_the_checker_reports_each_kind_of_violation` runs the checker on a synthetic tree
to prove that each rule fails when broken.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "hushwire"

BASE = frozenset({"errors", "limits"})
ENCODING = BASE | {"encoding"}
CRYPTO = ENCODING | {"crypto"}
SMP = CRYPTO | {"smp"}
TRANSPORT = SMP | {"grp", "transport"}
BELOW_APPS = TRANSPORT | {"client", "agent", "chat", "datadir", "cliargs"}
"""What applications build on: everything but the relay, which runs as its own process."""

ALLOWED: dict[str, frozenset[str]] = {
    "__init__": frozenset(),
    "errors": frozenset(),
    "limits": frozenset(),
    "datadir": BASE,  # the data-directory lock the apps share
    "cliargs": BASE,  # the argparse options the apps' sub-commands share
    "encoding": BASE,
    "crypto": ENCODING,
    "smp": CRYPTO,
    "grp": SMP,  # sans-I/O GRP/1: Noise, ML-KEM, frames, cover schedule (docs/grp.md)
    "transport": SMP | {"grp"},  # GRP/1 runs over the WebSocket carrier here
    "server": TRANSPORT | {"client"},  # the proxy relay dials destinations with the SMP client
    "client": TRANSPORT,
    "agent": TRANSPORT | {"client"},
    "chat": SMP | {"agent"},  # the pure agent modules only (rule 4)
    "shop": BELOW_APPS,
    "inbox": BELOW_APPS | {"shop"},
    "rooms": BELOW_APPS,
    "app": BELOW_APPS | {"widget"},  # the SRI hash of its script
    "bot": BELOW_APPS,
    "widget": BELOW_APPS,
    "demo": BELOW_APPS | {"server", "inbox", "shop", "widget", "app"},
    "testing": BELOW_APPS | {"server"},
    "cli": BELOW_APPS
    | {"server", "inbox", "shop", "rooms", "app", "bot", "widget", "demo", "__init__"},
    "__main__": frozenset({"cli"}),
}

SANS_IO_LAYERS = frozenset({"encoding", "crypto", "smp", "chat", "grp"})
SANS_IO_MODULES = frozenset(
    {
        "hushwire.agent",
        "hushwire.agent.machine",
        "hushwire.agent.sealing",
        "hushwire.agent.ratchet",
        "hushwire.agent.protocol",
        "hushwire.agent.links",
        "hushwire.agent.routing",
        "hushwire.agent.shortlinks",
        "hushwire.agent.resync",
        "hushwire.agent.rotation",
        "hushwire.shop",
        "hushwire.shop.wire",
        "hushwire.shop.images",
        "hushwire.shop.model",
    }
)
IO_MODULES = frozenset(
    {
        "asyncio",
        "socket",
        "ssl",
        "selectors",
        "socketserver",
        "http.client",
        "http.server",
        "urllib.request",
        "websockets",
        "uvloop",
        "aiohttp",
        "sqlite3",
        "subprocess",
        "threading",
        "multiprocessing",
        "concurrent.futures",
    }
)

SOCKET_MODULES = frozenset(
    {"socket", "ssl", "socketserver", "http.client", "http.server", "urllib.request"}
)
ASYNCIO_SOCKET_FUNCS = frozenset(
    {"open_connection", "start_server", "open_unix_connection", "start_unix_server"}
)
LOOP_SOCKET_METHODS = frozenset(
    {
        "create_connection",
        "create_server",
        "create_unix_connection",
        "create_unix_server",
        "create_datagram_endpoint",
        "sock_connect",
        "sock_accept",
        "connect_accepted_socket",
    }
)
LOOP_GETTERS = frozenset({"get_running_loop", "get_event_loop", "new_event_loop"})
WEBSOCKETS_SOCKET_FUNCS = frozenset({"connect", "serve", "unix_connect", "unix_serve"})
AIOHTTP_SOCKET_NAMES = frozenset(
    {
        "TCPSite",
        "UnixSite",
        "SockSite",
        "NamedPipeSite",
        "run_app",
        "ClientSession",
        "TCPConnector",
        "UnixConnector",
        "request",
    }
)

SOCKET_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("demo/run.py", "socket"): (
        "the demo probes for free TCP ports before it starts the relay, inbox and site"
    ),
    ("demo/run.py", "aiohttp.web.TCPSite"): (
        "the demo website is plain HTTP (aiohttp); transport carries SMP blocks only"
    ),
    ("inbox/web.py", "aiohttp.web.TCPSite"): (
        "the owner's web UI is an HTTP server (aiohttp) on 127.0.0.1, not an SMP transport"
    ),
    ("app/server.py", "aiohttp.web.TCPSite"): (
        "the web app's static files are served over HTTP (aiohttp), not an SMP transport"
    ),
    ("inbox/remote.py", "urllib.request"): (
        "the inbox CLI talks HTTP to the running inbox's local API"
    ),
}
"""Sockets opened outside ``transport`` today: (module, what) -> why it is tolerated."""


@dataclass(frozen=True, slots=True)
class Violation:
    path: str
    line: int
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.detail}"


@functools.cache
def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def module_name(root: Path, path: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = rel.parts[:-1] if rel.parts[-1] == "__init__" else rel.parts
    return ".".join(("hushwire", *parts))


def layer_of(root: Path, path: Path) -> str:
    rel = path.relative_to(root)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _is_module(root: Path, dotted: str) -> bool:
    """Whether ``hushwire.a.b`` names a module or package under ``root``."""
    parts = dotted.split(".")[1:]
    base = root.joinpath(*parts)
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def _target_layer(root: Path, dotted: str) -> str:
    """The layer of an absolute ``hushwire...`` name (``__init__`` for the package's own
    attributes, such as ``hushwire.__version__``)."""
    parts = dotted.split(".")
    if len(parts) == 1 or not _is_module(root, ".".join(parts[:2])):
        return "__init__"
    return parts[1]


@dataclass(frozen=True, slots=True)
class _Import:
    line: int
    names: tuple[str, ...]
    """Absolute names the statement imports (module, and module.attr for ``from``)."""
    level: int
    package: str
    """The package a relative import starts from ('' for absolute imports)."""


def _imports(root: Path, path: Path, tree: ast.Module) -> list[_Import]:
    own = module_name(root, path)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    out: list[_Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.append(_Import(node.lineno, tuple(a.name for a in node.names), 0, ""))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                up = node.level - 1
                start = ".".join(base_parts[: len(base_parts) - up]) if up else package
                base = f"{start}.{node.module}" if node.module else start
            else:
                start, base = "", node.module or ""
            names = (base, *(f"{base}.{a.name}" for a in node.names if a.name != "*"))
            out.append(_Import(node.lineno, names, node.level, start))
    return out


def _is_under(name: str, modules: frozenset[str]) -> str | None:
    for m in modules:
        if name == m or name.startswith(m + "."):
            return m
    return None


class _SocketFinder(ast.NodeVisitor):
    """Collects (line, what) for every way of opening a socket (rule 3)."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}
        self.found: list[tuple[int, str]] = []

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            if a.asname:
                self.aliases[a.asname] = a.name
            else:
                top = a.name.split(".")[0]
                self.aliases[top] = top
            hit = _is_under(a.name, SOCKET_MODULES)
            if hit:
                self.found.append((node.lineno, hit))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            return
        for a in node.names:
            full = f"{node.module}.{a.name}"
            self.aliases[a.asname or a.name] = full
            hit = _is_under(node.module, SOCKET_MODULES) or _is_under(full, SOCKET_MODULES)
            if hit:
                self.found.append((node.lineno, hit))
                return

    def _dotted(self, expr: ast.expr) -> str | None:
        if isinstance(expr, ast.Name):
            return self.aliases.get(expr.id)
        if isinstance(expr, ast.Attribute):
            base = self._dotted(expr.value)
            return f"{base}.{expr.attr}" if base else None
        return None

    @staticmethod
    def _is_loop(expr: ast.expr) -> bool:
        if isinstance(expr, ast.Call):
            f = expr.func
            name = (
                f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            )
            return name in LOOP_GETTERS
        if isinstance(expr, ast.Attribute):
            return "loop" in expr.attr.lower()
        if isinstance(expr, ast.Name):
            return "loop" in expr.id.lower()
        return False

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        dotted = self._dotted(func)
        if dotted is not None:
            first, _, _ = dotted.partition(".")
            last = dotted.rpartition(".")[2]
            if (
                (first == "asyncio" and last in ASYNCIO_SOCKET_FUNCS)
                or (first == "websockets" and last in WEBSOCKETS_SOCKET_FUNCS)
                or (first == "aiohttp" and last in AIOHTTP_SOCKET_NAMES)
            ):
                self.found.append((node.lineno, dotted))
        elif (
            isinstance(func, ast.Attribute)
            and func.attr in LOOP_SOCKET_METHODS
            and self._is_loop(func.value)
        ):
            self.found.append((node.lineno, f"loop.{func.attr}"))
        self.generic_visit(node)


def socket_uses(tree: ast.Module) -> list[tuple[int, str]]:
    finder = _SocketFinder()
    finder.visit(tree)
    return finder.found


def _sans_io(root: Path, path: Path) -> bool:
    return layer_of(root, path) in SANS_IO_LAYERS or module_name(root, path) in SANS_IO_MODULES


def _hushwire_is_sans_io(root: Path, dotted: str) -> bool:
    """Whether an imported ``hushwire`` name lies in sans-I/O code."""
    layer = _target_layer(root, dotted)
    if layer in SANS_IO_LAYERS or layer in BASE or layer == "__init__":
        return True
    parts = dotted.split(".")
    for n in range(len(parts), 1, -1):
        candidate = ".".join(parts[:n])
        if _is_module(root, candidate):
            return candidate in SANS_IO_MODULES
    return False


def check_module(root: Path, path: Path) -> list[Violation]:
    """Every rule broken by one module under ``root`` (a ``hushwire`` source tree)."""
    rel = str(path.relative_to(root))
    tree = parse(path)
    layer = layer_of(root, path)
    out: list[Violation] = []
    if layer not in ALLOWED:
        return [Violation(rel, 1, "layer", f"{layer!r} is in no layer of the map")]
    allowed = ALLOWED[layer] | {layer}
    sans_io = _sans_io(root, path)
    for imp in _imports(root, path, tree):
        if imp.level:
            own_layer_pkg = imp.package.split(".")[1:2] == [layer]
            if imp.level > 1 or not own_layer_pkg:
                out.append(
                    Violation(
                        rel,
                        imp.line,
                        "relative",
                        f"relative import of {imp.names[0]} leaves the package; import it "
                        "absolutely",
                    )
                )
        bad_layers = sorted(
            {
                _target_layer(root, n)
                for n in imp.names
                if n.startswith("hushwire.") and _target_layer(root, n) not in allowed
            }
        )
        if bad_layers:
            what = ", ".join(bad_layers)
            out.append(Violation(rel, imp.line, "import", f"{layer} may not import {what}"))
        if sans_io:
            impure = [
                n
                for n in imp.names
                if (n.startswith("hushwire.") and not _hushwire_is_sans_io(root, n))
                or (not n.startswith("hushwire") and _is_under(n, IO_MODULES))
            ]
            if impure:
                out.append(Violation(rel, imp.line, "sans-io", f"pure module imports {impure[0]}"))
    if layer != "transport":
        for line, what in socket_uses(tree):
            if (rel, what) not in SOCKET_EXCEPTIONS:
                out.append(
                    Violation(rel, line, "socket", f"opens a socket outside transport: {what}")
                )
    return out


MODULES = sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_module_keeps_the_layer_rules(path: Path) -> None:
    violations = check_module(SRC, path)
    assert not violations, "\n".join(map(str, violations))


def test_every_layer_is_in_the_map() -> None:
    layers = {layer_of(SRC, p) for p in MODULES}
    assert layers <= set(ALLOWED), f"layers missing from ALLOWED: {layers - set(ALLOWED)}"
    for layer, targets in ALLOWED.items():
        assert layer not in targets, f"{layer} lists itself"
        assert targets <= set(ALLOWED), f"{layer} may import unknown {targets - set(ALLOWED)}"


def test_socket_exceptions_are_still_needed() -> None:
    used = set()
    for path in MODULES:
        rel = str(path.relative_to(SRC))
        used |= {(rel, what) for _, what in socket_uses(parse(path))}
    stale = set(SOCKET_EXCEPTIONS) - used
    assert not stale, f"no longer open sockets there; remove from SOCKET_EXCEPTIONS: {stale}"
    for (rel, _), _reason in SOCKET_EXCEPTIONS.items():
        assert not rel.startswith(("server/", "client/", "testing/", "transport/"))


BAD_TREE = {
    "__init__.py": "",
    "errors.py": "",
    "server/__init__.py": "",
    "server/bad.py": (
        "import asyncio\n"
        "from hushwire.agent import agent\n"  # 2: server may not import agent
        "from ..inbox import session\n"  # 3: relative import leaving the package
        "from . import fine\n"  # 4: relative inside the package: allowed
        "async def dial():\n"
        "    return await asyncio.open_connection('h', 1)\n"  # 6: socket outside transport
    ),
    "server/fine.py": "",
    "client/__init__.py": "",
    "client/session.py": "",
    "agent/__init__.py": "",
    "agent/agent.py": "import asyncio\n",
    "agent/machine.py": (
        "from hushwire.agent.agent import Agent\n"  # 1: pure module imports the I/O shell
        "import sqlite3\n"  # 2: pure module imports an I/O module
    ),
    "smp/__init__.py": "",
    "smp/bad.py": "import asyncio as aio\n",  # 1: sans-I/O layer imports asyncio
    "testing/__init__.py": "",
    "testing/fake.py": (
        "from aiohttp import web\n"
        "import websockets\n"
        "import socket\n"  # 3: socket module
        "def go(loop, runner):\n"
        "    web.TCPSite(runner, 'h', 1)\n"  # 5: aiohttp site
        "    websockets.connect('ws://h')\n"  # 6: websockets client
        "    return loop.create_server(None, 'h', 1)\n"  # 7: loop method
    ),
    "transport/__init__.py": "",
    "transport/ok.py": "import socket\nimport asyncio\nasyncio.start_server(None)\n",
    "cli.py": "from .errors import X\nfrom hushwire import __version__\n",  # 1: relative
    "nowhere/__init__.py": "",
}


def test_the_checker_reports_each_kind_of_violation(tmp_path: Path) -> None:
    root = tmp_path / "hushwire"
    for rel, text in BAD_TREE.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    found = {
        (str(p.relative_to(root)), v.line, v.rule)
        for p in sorted(root.rglob("*.py"))
        for v in check_module(root, p)
    }
    assert found == {
        ("server/bad.py", 2, "import"),
        ("server/bad.py", 3, "relative"),
        ("server/bad.py", 3, "import"),
        ("server/bad.py", 6, "socket"),
        ("agent/machine.py", 1, "sans-io"),
        ("agent/machine.py", 2, "sans-io"),
        ("smp/bad.py", 1, "sans-io"),
        ("testing/fake.py", 3, "socket"),
        ("testing/fake.py", 5, "socket"),
        ("testing/fake.py", 6, "socket"),
        ("testing/fake.py", 7, "socket"),
        ("cli.py", 1, "relative"),
        ("nowhere/__init__.py", 1, "layer"),
    }
