"""The relay as the destination of private message routing: ``RFWD`` in, ``RRES`` out.

Mirrors simplexmq ``Simplex.Messaging.Server`` (``processForwardedCommand``): a proxy relay
sends ``RFWD`` on its own ordinary connection; the relay opens both layers with the pure
functions of :mod:`hushwire.smp.proxy`, runs the single inner command (``SEND``, ``SKEY``,
``LKEY`` or ``LGET``) exactly as if it had come directly on that connection, but at the
forwarded version, and answers ``RRES`` with the response sealed back. The protocol is
described in docs/protocol/smp.md.

What this relay sees of a forwarded command: the proxy's connection (its address, its
session id), the queue the command is for, and the command. It never learns the sending
client's address; metrics and logs record only the proxy's connection, as for any other
command, plus the count of forwarded commands received.

The inner command is authorized for the proxy's session: a signature covers that
session's id, and an X25519 sender key is checked as a CbAuthenticator with this
connection's session key and the inner corrId as nonce, which is what
:meth:`Relay.process` does when given this connection. No subscription can be created
this way (the four commands create none).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from hushwire.smp.commands import ERR, RFWD
from hushwire.smp.errors import ErrorType
from hushwire.smp.ids import NO_ENTITY
from hushwire.smp.proxy import open_rfwd, seal_request_error, seal_rres
from hushwire.smp.transmission import ClientRequest, RequestError

if TYPE_CHECKING:
    from hushwire.server.dispatch import Reply
    from hushwire.server.relay import Relay
    from hushwire.server.session import Session


async def process_rfwd(
    relay: Relay, session: Session, req: ClientRequest, cmd: RFWD
) -> list[Reply]:
    """Answer one ``RFWD`` received on ``session``: ``RRES`` or ``ERR``, with the RFWD's
    corrId and an empty entity."""
    corr = req.corr_id
    fwd = open_rfwd(
        cmd,
        corr,
        server_key=session.session_key,
        session_key=session.session_box_key,
        session_id=session.session_id,
    )
    if isinstance(fwd, ErrorType):
        relay.count_error(fwd)
        return [(corr, NO_ENTITY, ERR(fwd))]
    inner = fwd.request
    if isinstance(inner, RequestError):
        relay.count_error(inner.error)
        sealed = seal_request_error(fwd)
    else:
        replies = await relay.process(_at_version(session, fwd.version), inner)
        # The four forwarded commands have exactly one reply each.
        i_corr, i_ent, i_msg = replies[0]
        sealed = seal_rres(fwd, i_corr, i_ent, i_msg)
    if isinstance(sealed, ErrorType):
        relay.count_error(sealed)
        return [(corr, NO_ENTITY, ERR(sealed))]
    relay.metrics.forwarded_received += 1  # answered RRES (Server.hs pMsgFwdsRecv)
    return [(corr, NO_ENTITY, sealed)]


def _at_version(session: Session, version: int) -> Session:
    """The proxy's session as the inner command sees it: same keys and session id, the
    forwarded version (which decides the largest message). A shallow copy: the four
    forwarded commands read the session and never write to it."""
    view = copy.copy(session)
    view.version = version
    return view
