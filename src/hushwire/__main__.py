"""``python -m hushwire`` runs the command line."""

from __future__ import annotations

from hushwire.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
