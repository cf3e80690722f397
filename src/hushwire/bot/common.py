"""What the bot and the terminal chat share: profiles, reading chat events, agent start."""

from __future__ import annotations

import os
from collections.abc import Iterator

from hushwire.agent.agent import MessageReceived
from hushwire.chat.messages import (
    Profile,
    XDirectDel,
    XMsgNew,
    interpret,
    parse_chat_body,
    x_info,
    x_msg_new_text,
)
from hushwire.errors import DecodeError


def profile_info(name: str) -> bytes:
    """The connInfo that introduces us: ``x.info`` with a profile."""
    return x_info(Profile(display_name=name)).encode()


def text_message(text: str) -> bytes:
    return x_msg_new_text(text, os.urandom(12)).encode()


def chat_events(ev: MessageReceived) -> Iterator[XMsgNew | XDirectDel | object]:
    """The chat events in one agent message (a batch may hold several)."""
    try:
        messages = parse_chat_body(ev.body)
    except DecodeError:
        return
    for m in messages:
        yield interpret(m)
