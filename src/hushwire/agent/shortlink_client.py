"""Short links over the network: create, update, delete and resolve link data on a relay.

Mirrors the short-link steps of simplexmq ``Simplex.Messaging.Agent`` (``newRcvConnSrv``
with link data, ``prepareLinkData``, ``setConnShortLink``, ``deleteConnShortLink``,
``getConnShortLink``) over ``Simplex.Messaging.Client`` (``NEW`` with ``QueueReqData``,
``LSET``, ``LDEL``, ``LGET``, ``LKEY``); the pure encodings are in
:mod:`hushwire.agent.shortlinks`. See docs/protocol/agent.md (connection links).

Each function takes an open :class:`~hushwire.client.SMPClient` to the queue's server
(SMP v15 or later) and the keys it needs, so the agent can keep its own storage. The link
data is committed before the queue exists: the sender id inside the fixed data is
``SHA3-384(corrId)[0:24]`` of the ``NEW`` that creates the queue, and the relay refuses a
``NEW`` whose sender id does not match.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace

from hushwire.agent.links import ConnectionRequest, LinkError, SMPQueueUri
from hushwire.agent.protocol import AGENT_VERSIONS, SMP_CLIENT_VERSIONS
from hushwire.agent.shortlinks import (
    PRESET_SERVERS,
    ContactLinkData,
    FixedLinkData,
    LinkData,
    LinkScheme,
    LinkServer,
    ShortLink,
    check_link_server,
    contact_link_kdf,
    decrypt_link_data,
    encrypt_user_data,
    prepare_link_data,
    restore_short_link,
    sender_id_for_corr_id,
)
from hushwire.client.client import SMPClient, new_queue_command
from hushwire.client.errors import expected
from hushwire.crypto.keys import KeyAlg, KeyPair, PrivateKey, PublicKey
from hushwire.limits import CORR_ID_SIZE
from hushwire.smp.address import SMPServer
from hushwire.smp.commands import (
    IDS,
    LDEL,
    LGET,
    LKEY,
    LNK,
    LSET,
    OK,
    ContactLink,
    MessagingLink,
    QRContact,
    QRMessaging,
    QueueLinkData,
    QueueMode,
)
from hushwire.smp.ids import LinkId, RecipientId, SenderId
from hushwire.smp.version import SHORT_LINKS_VERSION

__all__ = [
    "CreatedLink",
    "ResolvedLink",
    "contact_request",
    "create_contact_address",
    "create_queue_with_link",
    "delete_link_data",
    "resolve_contact_link",
    "resolve_invitation_link",
    "resolve_link_text",
    "resolve_short_link",
    "update_user_data",
]

NO_ENTITY = b""


@dataclass(frozen=True, slots=True)
class CreatedLink:
    """A queue created with link data: what the owner keeps.

    ``rcv_auth``/``rcv_dh``/``srv_dh_key``/``rcv_id`` are the queue's recipient side (as
    :meth:`SMPClient.create_queue` gives them); ``e2e_dh`` the queue's end-to-end key whose
    public half is in the request; ``root`` signs future user data; ``enc_fixed`` must be
    sent unchanged with every ``LSET``.
    """

    link: ShortLink
    conn_request: ConnectionRequest
    rcv_id: bytes
    sender_id: bytes
    link_id: bytes
    srv_dh_key: PublicKey
    rcv_auth: KeyPair = field(repr=False)
    rcv_dh: KeyPair = field(repr=False)
    e2e_dh: KeyPair = field(repr=False)
    root: PrivateKey = field(repr=False)
    box_key: bytes = field(repr=False)
    enc_fixed: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class ResolvedLink:
    """A short link fetched and verified: the full request to join (its first queue's
    server replaced by the link's), the fixed data and the owner's user data."""

    conn_request: ConnectionRequest
    fixed: FixedLinkData
    user: LinkData
    sender_id: bytes

    @property
    def user_data(self) -> bytes:
        return self.user.user_data


def _check_version(client: SMPClient) -> None:
    if client.version < SHORT_LINKS_VERSION:
        raise LinkError(
            f"the relay speaks SMP v{client.version}; short links need v{SHORT_LINKS_VERSION}"
        )


def contact_request(queue: SMPQueueUri) -> ConnectionRequest:
    """The contact request (``CRContactUri``, agent range 2-7) around the queue that
    :func:`create_queue_with_link` makes; pass it as ``build_request``."""
    return ConnectionRequest("contact", AGENT_VERSIONS, (queue,))


async def create_queue_with_link(
    client: SMPClient,
    build_request: Callable[[SMPQueueUri], ConnectionRequest],
    user: LinkData,
    *,
    scheme: LinkScheme = "https",
    rcv_auth: KeyPair | None = None,
    rcv_dh: KeyPair | None = None,
    e2e_dh: KeyPair | None = None,
    root: PrivateKey | None = None,
    subscribe: bool = True,
) -> CreatedLink:
    """``NEW`` with link data (Agent.hs ``newRcvConnSrv``): choose the corrId, commit the
    sender id in the request, sign and encrypt the data, create the queue, check ``IDS``.

    ``user`` decides the mode: :class:`ContactLinkData` makes a contact queue whose link id
    is derived from the link key; :class:`InvitationLinkData` a messaging queue whose link
    id the server chooses.
    """
    _check_version(client)
    rcv_auth = rcv_auth or KeyPair.generate(KeyAlg.ED25519)
    rcv_dh = rcv_dh or KeyPair.generate(KeyAlg.X25519)
    e2e_dh = e2e_dh or KeyPair.generate(KeyAlg.X25519)
    root = root or PrivateKey.generate(KeyAlg.ED25519)
    contact = isinstance(user, ContactLinkData)
    corr_id = os.urandom(CORR_ID_SIZE)
    sender_id = sender_id_for_corr_id(corr_id)
    server = client.server
    link_server = replace(server, basic_auth=None)  # a link never carries the password
    mode = QueueMode.CONTACT if contact else QueueMode.MESSAGING
    queue = SMPQueueUri(SMP_CLIENT_VERSIONS, link_server, sender_id, e2e_dh.public, mode)
    req = build_request(queue)
    if (req.mode == "contact") != contact:
        raise ValueError("the user data's mode differs from the request's")
    prepared = prepare_link_data(root, AGENT_VERSIONS, req, user)
    link_key, data = prepared.link_key, prepared.encrypted
    link_id = contact_link_kdf(link_key)[0] if contact else b""
    qrd: QRContact | QRMessaging
    if contact:
        qrd = QRContact(ContactLink(LinkId(link_id), SenderId(sender_id), data))
    else:
        qrd = QRMessaging(MessagingLink(SenderId(sender_id), data))
    cmd = new_queue_command(
        rcv_auth, rcv_dh, server.basic_auth, subscribe=subscribe, queue_req_data=qrd
    )
    ids = expected(IDS, cmd, await client.request(NO_ENTITY, cmd, rcv_auth, corr_id=corr_id))
    if ids.snd_id != sender_id:
        raise LinkError("the relay gave the queue another sender id than the link commits to")
    if contact and ids.link_id != link_id:
        raise LinkError("the relay gave the contact link another link id")
    if not contact:
        if not ids.link_id:
            raise LinkError("the relay gave the invitation no link id")
        link_id = ids.link_id
    if subscribe:
        client.subscriptions[RecipientId(ids.rcv_id)] = rcv_auth
    link = ShortLink(
        scheme,
        LinkServer.from_smp_server(link_server),
        link_key,
        "A" if contact else None,
        None if contact else link_id,
    )
    return CreatedLink(
        link,
        req,
        ids.rcv_id,
        sender_id,
        link_id,
        ids.srv_dh_key,
        rcv_auth,
        rcv_dh,
        e2e_dh,
        root,
        prepared.box_key,
        data.fixed,
    )


async def create_contact_address(
    client: SMPClient,
    user_data: bytes,
    *,
    scheme: LinkScheme = "https",
    subscribe: bool = True,
) -> CreatedLink:
    """A contact address with a short link: ``user_data`` is the profile JSON apps show
    before joining (simplex-chat ``ContactShortLinkData``)."""
    user = ContactLinkData(AGENT_VERSIONS, user_data)
    return await create_queue_with_link(
        client, contact_request, user, scheme=scheme, subscribe=subscribe
    )


async def update_user_data(client: SMPClient, created: CreatedLink, user: LinkData) -> None:
    """``LSET``: new user data (fresh nonce), the stored fixed blob unchanged."""
    _check_version(client)
    enc_user = encrypt_user_data(created.box_key, created.root, user)
    cmd = LSET(LinkId(created.link_id), QueueLinkData(created.enc_fixed, enc_user))
    expected(OK, cmd, await client.request(created.rcv_id, cmd, created.rcv_auth))


async def delete_link_data(client: SMPClient, rcv_id: bytes, rcv_auth: KeyPair) -> None:
    """``LDEL``: delete the queue's link data (the queue and its full link stay)."""
    _check_version(client)
    cmd = LDEL()
    expected(OK, cmd, await client.request(rcv_id, cmd, rcv_auth))


def _verify(link: ShortLink, lnk: LNK) -> ResolvedLink:
    fixed, user = decrypt_link_data(link, lnk.data)
    req = check_link_server(link, fixed, lnk.sender_id)
    return ResolvedLink(req, fixed, user, lnk.sender_id)


async def resolve_contact_link(client: SMPClient, link: ShortLink) -> ResolvedLink:
    """``LGET`` (entity = the derived link id, no auth), then decrypt and verify.

    ``client`` must be connected to the link's server (restore a shortened link first).
    A deleted or unknown link raises :class:`~hushwire.client.SMPCommandError` ``AUTH``.
    """
    if link.is_invitation:
        raise ValueError("an invitation link is resolved with LKEY")
    _check_version(client)
    link_id, _ = contact_link_kdf(link.link_key)
    cmd = LGET()
    return _verify(link, expected(LNK, cmd, await client.request(link_id, cmd, None)))


async def resolve_invitation_link(
    client: SMPClient, link: ShortLink, sender_key: KeyPair
) -> ResolvedLink:
    """``LKEY sender_key`` (entity = the link id, signed by that key): secures the queue
    with our key and returns its data. Keep ``sender_key`` (and reuse it on a retry): the
    confirmation is sent with it, and SKEY is skipped."""
    if link.link_id is None:
        raise ValueError("a contact link is resolved with LGET")
    _check_version(client)
    cmd = LKEY(sender_key.public)
    return _verify(link, expected(LNK, cmd, await client.request(link.link_id, cmd, sender_key)))


async def resolve_short_link(
    client: SMPClient, link: ShortLink, sender_key: KeyPair | None = None
) -> ResolvedLink:
    """Either of the above by the link's mode (``sender_key`` is needed for invitations)."""
    if link.is_invitation:
        if sender_key is None:
            raise ValueError("resolving an invitation link needs the sender key")
        return await resolve_invitation_link(client, link, sender_key)
    return await resolve_contact_link(client, link)


async def resolve_link_text(
    client_for: Callable[[SMPServer], Awaitable[SMPClient]],
    text: str,
    *,
    sender_key: KeyPair | None = None,
    presets: Sequence[SMPServer] = PRESET_SERVERS,
) -> ResolvedLink:
    """Parse a short link, restore a preset shorthand, get a client for its server with
    ``client_for`` (the agent's per-server connection) and resolve it.

    :class:`LinkError` if the text is not a short link or its server cannot be identified.
    """
    link = restore_short_link(ShortLink.parse(text), presets)
    client = await client_for(link.server.to_smp_server())
    return await resolve_short_link(client, link, sender_key)
