"""One error tree: every exception class Hushwire defines derives from ``HushwireError``.

The policy for the built-in exceptions that may escape (``ValueError`` for a caller's
mistake, cancellation, ...) is in the docstring of src/hushwire/errors.py and in
docs/architecture.md. Classes that never leave their module are listed in ``INTERNAL``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import hushwire
from hushwire.errors import HushwireError

INTERNAL = {
    "hushwire.agent.ratchet._WrongKey": "control flow inside Ratchet.decrypt, always caught",
}


def _exception_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(hushwire.__path__, "hushwire."):
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == info.name:
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


CLASSES = _exception_classes()


def test_every_exception_class_is_a_hushwire_error() -> None:
    outside = {name for name, cls in CLASSES.items() if not issubclass(cls, HushwireError)}
    assert outside == set(INTERNAL)


def test_the_transport_exception_is_not_the_wire_value() -> None:
    from hushwire.smp.errors import TransportError
    from hushwire.transport import TransportFailure

    assert issubclass(TransportFailure, HushwireError)
    assert not issubclass(TransportError, BaseException)  # a protocol value, sent as data
    assert "hushwire.transport.blocks.TransportFailure" in CLASSES
