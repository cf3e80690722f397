"""The site owner's inbox: one owner agent, the inbox's own history store, a local web UI
bound to 127.0.0.1 behind a per-install secret, and terminal commands (docs/inbox.md).

Only :mod:`hushwire.inbox.cli` is imported by the top-level command line; the service and
its web server (aiohttp) are imported when the inbox runs.
"""
