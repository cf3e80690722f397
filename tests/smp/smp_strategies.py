"""Hypothesis strategies for SMP values (shared by tests/smp and tests/fuzz)."""

from __future__ import annotations

from hypothesis import strategies as st

from hushwire.crypto.keys import KeyAlg, PublicKey
from hushwire.smp import commands as c
from hushwire.smp import errors as e
from hushwire.smp.address import SMPServer, host_ok
from hushwire.smp.hello import CertChainPubKey, ClientHello, ClientService, ServerHello, ServiceRole
from hushwire.smp.ids import EntityId, MsgId
from hushwire.smp.queue_info import MsgInfo, MsgType, QSub, QSubThread, QueueInfo
from hushwire.smp.version import VersionRange

INT64 = st.integers(-(1 << 63), (1 << 63) - 1)
short = st.binary(max_size=255)
ids = short.map(EntityId)
tail = st.binary(max_size=300)


def key(alg: KeyAlg) -> st.SearchStrategy[PublicKey]:
    return st.binary(min_size=alg.raw_size, max_size=alg.raw_size).map(lambda b: PublicKey(alg, b))


auth_keys = st.sampled_from([KeyAlg.ED25519, KeyAlg.ED448, KeyAlg.X25519]).flatmap(key)
dh_keys = key(KeyAlg.X25519)
basic_auth = st.binary(min_size=0, max_size=30).filter(c.basic_auth_ok)
link_data = st.builds(c.QueueLinkData, st.binary(max_size=300), st.binary(max_size=300))
qrd = st.one_of(
    st.builds(c.QRMessaging, st.none() | st.builds(c.MessagingLink, ids, link_data)),
    st.builds(c.QRContact, st.none() | st.builds(c.ContactLink, ids, ids, link_data)),
)
# Hosts of the one transport-host grammar (hushwire.smp.address.parse_host).
host = st.one_of(
    st.from_regex(r"[!-~]{1,20}", fullmatch=True).filter(host_ok),
    st.ip_addresses().map(str),
    st.from_regex(r"[a-z2-7]{16}\.onion", fullmatch=True),
)
der = st.binary(max_size=60).map(lambda b: b"\x30" + bytes([len(b)]) + b)
cert_keys = st.builds(CertChainPubKey, st.lists(der, min_size=1, max_size=4).map(tuple), der)
version_ranges = st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)).map(
    lambda t: VersionRange(min(t), max(t))
)


def commands() -> st.SearchStrategy[c.Command]:
    return st.one_of(
        st.builds(
            c.NEW,
            auth_keys,
            dh_keys,
            st.none() | basic_auth,
            st.sampled_from(c.SubscriptionMode),
            st.none() | qrd,
            st.none() | st.builds(c.NewNtfCreds, auth_keys, dh_keys),
        ),
        st.sampled_from(
            [
                c.SUB(),
                c.SUBS(),
                c.LDEL(),
                c.NDEL(),
                c.GET(),
                c.OFF(),
                c.DEL(),
                c.QUE(),
                c.PING(),
                c.LGET(),
                c.NSUB(),
                c.NSUBS(),
            ]
        ),
        st.builds(c.KEY, auth_keys),
        st.builds(c.SKEY, auth_keys),
        st.builds(c.LKEY, auth_keys),
        st.builds(c.RKEY, st.lists(auth_keys, min_size=1, max_size=3).map(tuple)),
        st.builds(c.LSET, ids, link_data),
        st.builds(c.NKEY, auth_keys, dh_keys),
        st.builds(c.ACK, short.map(MsgId)),
        st.builds(c.SEND, st.builds(c.MsgFlags, st.booleans()), tail),
        st.builds(
            c.PRXY,
            st.builds(
                SMPServer,
                st.lists(host, min_size=1, max_size=3).map(tuple),
                st.binary(min_size=32, max_size=32),
                st.none() | st.integers(1, 65535),
                st.none() | basic_auth.map(lambda b: b.decode("latin-1")),
            ),
        ),
        st.builds(c.PFWD, st.integers(0, 0xFFFF), dh_keys, tail),
        st.builds(c.RFWD, tail),
    )


def qinfo() -> st.SearchStrategy[QueueInfo]:
    text = st.text(max_size=20)
    return st.builds(
        QueueInfo,
        st.booleans(),
        st.booleans(),
        st.none() | st.builds(QSub, st.sampled_from(QSubThread), st.none() | text),
        INT64,
        st.none()
        | st.builds(MsgInfo, text, st.integers(0, 253402300799), st.sampled_from(MsgType)),
    )


def error_types(depth: int = 2) -> st.SearchStrategy[e.ErrorType]:
    simple = st.sampled_from(
        [getattr(e.ErrorType, n) for n in ("BLOCK", "SESSION", "AUTH", "SERVICE", "CRYPTO",
                                           "QUOTA", "NO_MSG", "LARGE_MSG", "EXPIRED", "INTERNAL",
                                           "DUPLICATE_")]
    )  # fmt: skip
    notice = st.none() | st.builds(e.ClientNotice, st.none() | INT64)
    transport = st.one_of(
        st.sampled_from([e.TransportError.BLOCK, e.TransportError.VERSION,
                         e.TransportError.LARGE_MSG, e.TransportError.SESSION,
                         e.TransportError.NO_AUTH]),
        st.builds(e.HANDSHAKE, st.sampled_from(e.HandshakeError)),
    )  # fmt: skip
    broker = st.one_of(
        st.sampled_from(
            [e.BrokerErrorType.TIMEOUT, e.BrokerErrorType.HOST, e.BrokerErrorType.NO_SERVICE]
        ),
        st.builds(e.RESPONSE, short),
        st.builds(e.UNEXPECTED, short),
        st.just(e.NETWORK()),
        st.builds(e.TRANSPORT, transport),
    )
    inner = error_types(depth - 1) if depth > 0 else simple
    proxy = st.one_of(
        st.sampled_from([e.ProxyError.BASIC_AUTH, e.ProxyError.NO_SESSION]),
        st.builds(e.BROKER, broker),
        st.builds(e.PROTOCOL, inner),
    )
    return st.one_of(
        simple,
        st.builds(e.CMD, st.sampled_from(e.CommandError)),
        st.builds(e.BLOCKED, st.builds(e.BlockingInfo, st.sampled_from(e.BlockingReason), notice)),
        st.builds(e.STORE, st.text(max_size=30)),
        st.builds(e.PROXY, proxy),
    )


def responses() -> st.SearchStrategy[c.BrokerMsg]:
    return st.one_of(
        st.builds(
            c.IDS,
            ids,
            ids,
            dh_keys,
            st.none() | st.sampled_from(c.QueueMode),
            st.none() | ids,
            st.none() | ids,
            st.none() | st.builds(c.ServerNtfCreds, ids, dh_keys),
        ),
        st.builds(c.LNK, ids, link_data),
        st.builds(c.SOK, st.none() | ids),
        st.builds(c.SOKS, INT64),
        st.builds(c.ENDS, INT64),
        st.builds(c.MSG, short.map(MsgId), tail),
        st.builds(c.NID, ids, dh_keys),
        st.builds(c.NMSG, st.binary(min_size=24, max_size=24), short),
        st.builds(c.PKEY, short, version_ranges, cert_keys),
        st.builds(c.RRES, tail),
        st.builds(c.PRES, tail),
        st.sampled_from([c.END(), c.DELD(), c.OK(), c.PONG()]),
        st.builds(c.INFO, qinfo()),
        st.builds(c.ERR, error_types()),
    )


services = st.builds(ClientService, st.sampled_from(ServiceRole), cert_keys)


def client_hellos() -> st.SearchStrategy[ClientHello]:
    return st.builds(
        ClientHello,
        st.integers(0, 0xFFFF),
        short,
        st.none() | dh_keys,
        st.booleans(),
        st.none() | services,
    )


def server_hellos() -> st.SearchStrategy[ServerHello]:
    return st.builds(ServerHello, version_ranges, short, st.none() | cert_keys)
