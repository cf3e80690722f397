"""Saved replies: short texts the owner inserts by typing ``/`` in the reply box.

Kept in the inbox store's ``meta`` table as one JSON list (``saved_replies``), each
``{"name": NAME, "text": TEXT}``, sorted by name. They are the owner's own texts, not
visitors' data, and are stored as written (also under a passphrase).
"""

from __future__ import annotations

import json
import re
from typing import Any

from hushwire.inbox.service import REPLY_MAX_CHARS, InboxError
from hushwire.inbox.store import InboxStore
from hushwire.limits import INBOX_MAX_SAVED_REPLIES

__all__ = ["MAX_SAVED_REPLIES", "delete_saved_reply", "save_reply", "saved_replies"]

MAX_SAVED_REPLIES = INBOX_MAX_SAVED_REPLIES
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_KEY = "saved_replies"


def saved_replies(store: InboxStore) -> list[dict[str, Any]]:
    raw = store.get_meta(_KEY)
    return [] if raw is None else list(json.loads(raw))


def save_reply(store: InboxStore, name: str, text: str) -> list[dict[str, Any]]:
    """Add or replace the saved reply ``name``; the new list."""
    name = name.strip().lower()
    if _NAME.fullmatch(name) is None:
        raise InboxError("a saved reply's name is 1 to 40 of a-z, 0-9, - and _")
    if not text.strip() or len(text) > REPLY_MAX_CHARS:
        raise InboxError(f"a saved reply's text is 1 to {REPLY_MAX_CHARS} characters")
    replies = [r for r in saved_replies(store) if r["name"] != name]
    if len(replies) >= MAX_SAVED_REPLIES:
        raise InboxError(f"at most {MAX_SAVED_REPLIES} saved replies: delete one first")
    replies = sorted([*replies, {"name": name, "text": text}], key=lambda r: str(r["name"]))
    store.set_meta(_KEY, json.dumps(replies))
    return replies


def delete_saved_reply(store: InboxStore, name: str) -> list[dict[str, Any]]:
    replies = [r for r in saved_replies(store) if r["name"] != name]
    store.set_meta(_KEY, json.dumps(replies))
    return replies
