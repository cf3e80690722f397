"""``hushwire inbox --require-grp``: an inbox that takes conversations only from visitors whose
widget runs the GRP/1 profile (docs/grp.md, "Requiring GRP").

The widget on ``data-profile="grp"`` marks its profile (``x.info`` params ``"hw.grp": 1``).
An inbox that requires GRP looks for the mark in the visitor's connInfo, both in its request
and in its confirmation. A visitor without it (a widget embedded without the profile, an old
snippet, a SimpleX app) never becomes a conversation: nothing is stored or shown to the owner;
once the connection is up the inbox sends it :data:`REFUSAL` (so the visitor reads what to
do), ends it (``x.direct.del``) and deletes it; what it sends before that is acknowledged
unread.

The mark is the visitor's own word: the inbox cannot see how the visitor reached its relay
(the entry relay forwards the visitor's commands; the inbox's relay sees only that relay).
It stops honest visitors from chatting without GRP by mistake; it does not stop someone who
sets the mark without running GRP.
"""

from __future__ import annotations

from typing import Final

from hushwire.chat.messages import XContact, XInfo, interpret, parse_chat_elements
from hushwire.errors import DecodeError

GRP_MARK: Final = "hw.grp"
"""The ``x.info`` parameter the widget on the GRP profile sets to 1."""

REFUSAL: Final = (
    "This inbox accepts conversations only from this website's chat widget on its "
    "high-security profile (GRP), and yours did not connect that way. Reload the website "
    "and start the chat from its widget again; if this message comes back, the site's "
    "widget is not set up for GRP: contact the site another way."
)
"""What a refused visitor reads (as the inbox's last message before it ends the chat)."""

NEEDS_GRP_RELAY: Final = (
    "--require-grp: the embed snippet needs the entry relay's GRP address: restart the inbox "
    "with --widget-relay 'grp://KEYHASH@HOST:PORT?nk=KEY#smp://KEYHASH@HOST:PORT' (what "
    "`hushwire relay --grp` prints for another relay than the inbox's), and the snippet "
    "appears here."
)
"""The inbox's note in place of the snippet when it cannot make a GRP one."""


def on_grp(info: bytes) -> bool:
    """The visitor's connInfo carries the GRP mark in its profile message."""
    for item in parse_chat_elements(info):
        if isinstance(item, DecodeError):
            continue
        try:
            event = interpret(item)
        except DecodeError:
            continue
        if isinstance(event, XInfo | XContact) and item.params.get(GRP_MARK) == 1:
            return True
    return False
