"""Chat layer: the JSON chat messages SimpleX apps carry inside agent messages.

Sans-I/O. Mirrors simplex-chat ``src/Simplex/Chat/Protocol.hs`` (``AppMessageJson``,
``parseChatMessages``, ``ChatMsgEvent``) and ``Types.hs`` (``Profile``); docs/protocol/chat.md.
The public API lives in :mod:`hushwire.chat.messages` (envelope, 1:1 events),
:mod:`hushwire.chat.group_types` and :mod:`hushwire.chat.groups` (group records and events).
"""
