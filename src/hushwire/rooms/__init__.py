"""Rooms: SimpleX-compatible groups hosted behind one group link (``hushwire room host``).

An application layer on the agent and the chat layer's group logic
(:mod:`hushwire.chat.group_host`); see docs/rooms.md.
"""
