"""Named caps and sizes. Every length the code checks is compared with one of these.

Sources: simplexmq ``Transport.hs`` (block size), ``Protocol.hs`` (message sizes),
``Crypto.hs`` (padding), ``Server/Env/STM.hs`` (defaults).
"""

from __future__ import annotations

from typing import Final

SMP_BLOCK_SIZE: Final = 16384
"""Every SMP transport block is exactly this many bytes (Transport.hs smpBlockSize)."""

BLOCK_AUTH_TAG_SIZE: Final = 16
"""Poly1305 tag that v11+ block encryption adds (Crypto.hs authTagSize)."""

BATCH_OVERHEAD: Final = 2 + 1 + BLOCK_AUTH_TAG_SIZE
"""Pad length (2) + transmission count (1) + reserved block-encryption tag (16)."""

MAX_BATCH_PAYLOAD: Final = SMP_BLOCK_SIZE - BATCH_OVERHEAD
"""What the Large-prefixed transmissions of one block may total
(Protocol.hs batchTransmissions_)."""

MAX_BATCH_COUNT: Final = 255
"""Transmissions in one block at most (the count is one byte)."""

MAX_SHORT_STRING: Final = 255
MAX_LARGE: Final = 65535
MAX_PAD_MESSAGE: Final = 65533
"""pad() refuses messages longer than this (Crypto.hs pad)."""

MAX_MESSAGE_LENGTH_V6: Final = 16088
MAX_MESSAGE_LENGTH_V8: Final = 16064
MAX_MESSAGE_LENGTH_V11: Final = 16048
"""SEND body caps by the sender's negotiated version (Protocol.hs maxMessageLength)."""

ENCRYPTED_MSG_BODY_PAD: Final = 16104 + 2
"""Server-to-recipient plaintext is padded to this (Protocol.hs encodeRcvMsgBody / padMaxLenBS)."""

QUEUE_ID_SIZE: Final = 24
MSG_ID_SIZE: Final = 24
CORR_ID_SIZE: Final = 24
SESSION_ID_SIZE: Final = 32

MIN_CERT_CHAIN: Final = 2
MAX_CERT_CHAIN: Final = 4

# --- Relay queue store (hushwire.server.store) --------------------------------------------

STORE_MAX_PENDING_WRITES: Final = 4096
"""Store mutations submitted but not yet committed, at most. A caller beyond this waits for
room (backpressure); the writer thread commits everything pending in one transaction."""

# --------------------------------------------------------------------------- relay defaults
# (simplexmq Server/Env/STM.hs and Server/Main.hs defaults unless noted)

RELAY_QUEUE_QUOTA: Final = 128
"""Messages one queue may hold before senders get QUOTA (Env/STM.hs msgQueueQuota)."""
RELAY_MESSAGE_EXPIRY_DAYS: Final = 21.0
RELAY_UNSECURED_QUEUE_EXPIRY_DAYS: Final = 7.0
"""Messaging queues never secured are removed after this (Hushwire choice)."""
RELAY_MAX_CONNECTIONS: Final = 10000
RELAY_HANDSHAKE_TIMEOUT: Final = 120.0
"""Seconds a client has to send its hello (Server/Main.hs smpHandshakeTimeout)."""
RELAY_SEND_QUEUE_BLOCKS: Final = 64
"""Blocks waiting to go to one client; a client that lets more pile up is disconnected."""
RELAY_SEND_TIMEOUT: Final = 30.0
"""Seconds one block may wait for a client to read before the client is disconnected."""
RELAY_COMMANDS_PER_SECOND: Final = 200
"""Sustained commands per second per connection (token bucket, burst = one second)."""
RELAY_NEW_QUEUES_PER_MINUTE: Final = 300
"""NEW commands per minute per connection."""
RELAY_EXPIRE_INTERVAL: Final = 7200.0
"""Seconds between expiry sweeps (Env/STM.hs: every 2 hours)."""

# --- Agent double ratchet (hushwire.agent.ratchet) ----------------------------------------

RATCHET_MAX_SKIP: Final = 512
"""Message keys one received message may make the receiver skip in one chain
(Crypto/Ratchet.hs maxSkip); more is RatchetTooManySkipped."""
RATCHET_MAX_SKIPPED_KEYS: Final = 2000
"""Skipped-message keys one ratchet keeps at most, over all its chains (Hushwire cap; simplexmq
has none). Beyond it the oldest keys are dropped: those messages can no longer be decrypted."""

# --- Agent links and chat messages (hushwire.agent.links, hushwire.chat) ------------------

MAX_LINK_LENGTH: Final = 65535
"""Characters in a connection link at most (it travels as a ``Large`` in AgentInvitation)."""

CHAT_MAX_ENCODED_MSG_LENGTH: Final = 15602
"""Largest chat message JSON the app sends (simplex-chat Protocol.hs maxEncodedMsgLength)."""
CHAT_MAX_ENCODED_INFO_LENGTH: Final = 14694
"""Largest connInfo JSON (simplex-chat Protocol.hs maxEncodedInfoLength)."""
CHAT_MAX_DECOMPRESSED_LENGTH: Final = 65536
"""One element of an ``X`` compressed chat batch decompresses to this at most
(simplex-chat Protocol.hs maxDecompressedMsgLength; simplexmq limitDecompress1)."""
CHAT_MAX_BODY_LENGTH: Final = 65536
"""A chat body handed to the parser is refused above this size."""

# --- Agent protocol (hushwire.agent.protocol) ---------------------------------------------

MAX_DECOMPRESSED_SIZE: Final = 65536
"""A ``Compressed`` zstd frame must declare its content size and decompress to at most this
many bytes (simplexmq Compression.hs ``limitDecompress1``; docs/protocol/agent.md)."""

# --- Relay as a private-routing proxy (hushwire.server.proxy) -----------------------------

RELAY_PROXY_CONNECT_TIMEOUT: Final = 25.0
"""Seconds a proxy relay gives a destination to connect and complete the SMP handshake
(simplexmq ``defaultNetworkConfig`` ``tcpConnectTimeout``); then ``PROXY BROKER TIMEOUT``."""
RELAY_PROXY_FORWARD_TIMEOUT: Final = 15.0
"""Seconds a proxy relay waits for the destination's ``RRES`` (``tcpTimeout``)."""
RELAY_PROXY_ERROR_SECONDS: Final = 30.0
"""A destination that failed to connect is answered with the same error for this long
(simplexmq ``persistErrorInterval``)."""
RELAY_PROXY_CLIENT_CONCURRENCY: Final = 32
"""Forwarded commands (PRXY waiting to connect, PFWD) one client connection may have in
flight; more wait (simplexmq ``clientConcurrency``)."""

# --- Groups and rooms (hushwire.chat.groups, hushwire.chat.group_state, hushwire.rooms) ---

GROUP_MAX_MEMBER_ID_LENGTH: Final = 64
"""Bytes in a member id at most (the app's are 16; Hushwire cap, the app has none)."""
GROUP_MAX_MEMBER_NAME_LENGTH: Final = 1024
"""Characters in the author name of a forwarded message at most (the app sends at most 17)."""
GROUP_MAX_FORWARD_LENGTH: Final = 15764
"""Largest ``x.grp.msg.forward`` JSON: a full chat message plus the forward wrapper
(simplex-chat Protocol.hs: 15780 minus the 16-byte agent overhead)."""
GROUP_HISTORY_DEFAULT: Final = 10
"""Messages a room sends a new member by default."""
GROUP_HISTORY_MAX: Final = 100
"""Messages a room sends a new member at most (simplex-chat sendHistory's 100 items)."""
GROUP_MAX_MEMBERS_DEFAULT: Final = 100
"""Members a room admits by default (configurable)."""
GROUP_MAX_PENDING_INTRODUCTIONS: Final = 1000
"""Introductions a host keeps open (sent, not yet reported connected) at most."""
GROUP_MAX_SEEN_MSG_IDS: Final = 4096
"""Shared message ids a member remembers per author for duplicate detection."""
GROUP_MAX_HISTORY_BYTES: Final = 1_000_000
"""Encoded bytes of kept history at most; the oldest messages go first."""

# --- Relay hardening (hushwire.transport, hushwire.server) --------------------------------

WS_MAX_PENDING_CONTROL: Final = 16
"""PONGs (and other control frames) a WebSocket connection may have waiting in its output
buffer; a peer that pings faster than it reads is disconnected past this many."""
RELAY_MAX_HANDSHAKING_PER_ADDRESS: Final = 16
"""Connections one IP address may have open before completing the SMP handshake."""
RELAY_SIG_CHECKS_PER_SECOND_PER_ADDRESS: Final = 2000
"""Signature and authenticator checks one IP address may cost the relay per second."""
RELAY_SIG_CHECKS_PER_SECOND: Final = 20000
"""Signature and authenticator checks all clients together may cost per second."""
RELAY_MAX_STORED_BYTES: Final = 8 * 1024 * 1024 * 1024
"""Message bytes the relay keeps at most; past it SEND is answered ``ERR QUOTA``."""
RELAY_NEW_QUEUES_PER_MINUTE_PER_ADDRESS: Final = 600
"""Queues one IP address may create per minute, over all its connections."""

GROUP_MAX_PENDING_REJECTIONS: Final = 1000
"""Refused joiners a room host remembers until their connection is up and deleted."""
TEAM_MAX_LIVE_MESSAGES: Final = 1000
"""Others' live messages (being typed) a team inbox remembers at once; the oldest goes first."""
INBOX_MAX_SAVED_REPLIES: Final = 100
"""Saved replies an inbox keeps."""
SHOP_SEND_BURST: Final = 2500
"""Catalog and image messages the shop may send one connection at once (a full catalog of
1,000 products with a thumbnail each is about 1,010): the bucket of a token bucket."""
SHOP_SEND_PER_SECOND: Final = 5.0
"""... refilled at this rate, so one customer cannot make the owner send without end."""
GRP_HANDSHAKE_BURST: Final = 32
"""GRP/1 handshakes (message 1: two X25519 operations and an ML-KEM encapsulation for the
relay) one IP address may start at once..."""
GRP_HANDSHAKES_PER_SECOND: Final = 2.0
"""... refilled at this rate; past it the relay drops the connection unanswered."""
GRP_HANDSHAKE_ADDRESSES: Final = 65536
"""Addresses whose GRP handshake budget the relay remembers; past it the table starts over."""
