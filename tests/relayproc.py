"""Transitional name for the relay-process helper, now ``hushwire.testing``.

``start_relay`` is :func:`hushwire.testing.start_relay_process` (same arguments);
tests/server/test_crash_safety.py and tests/widget/test_widget_browser.py still import it
from here. Import ``hushwire.testing`` in new tests.
"""

from __future__ import annotations

from hushwire.testing import RelayProcess
from hushwire.testing import start_relay_process as start_relay

__all__ = ["RelayProcess", "start_relay"]
