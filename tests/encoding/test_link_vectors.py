"""Link examples (docs/protocol/agent.md) at the encoding layer: two rounds of percent-encoding,
query strings, base64url ids and the SPKI of the queue's DH key."""

from __future__ import annotations

from conftest import load_vectors
from hushwire.crypto.keys import KeyAlg, PublicKey
from hushwire.encoding.strings import (
    b64url_decode,
    parse_query,
    percent_encode,
    query_param,
    render_query,
)

V = load_vectors("agent_links.json")


def _split_queue(uri: str) -> tuple[str, str, str, str]:
    assert uri.startswith("smp://")
    ident, _, rest = uri[len("smp://") :].partition("@")
    location, _, rest = rest.partition("/")
    sender, _, query = rest.partition("#/?")
    return ident, location, sender, query


def test_queue_uri_fields() -> None:
    key_hash, location, sender, query = _split_queue(V["queue_uri"])
    assert b64url_decode(key_hash).hex() == V["key_hash_hex"]
    assert b64url_decode(sender).hex() == V["sender_id_hex"]
    assert location == "smp.simplex.im:5223"
    pairs = parse_query(query)
    assert pairs == [tuple(p) for p in V["queue_query"]]
    dh = PublicKey.from_der(b64url_decode(query_param(pairs, "dh") or ""))
    assert dh.alg is KeyAlg.X25519
    assert dh.to_der().hex() == V["dh_key_spki_hex"]
    # Writing the query back gives the same text (writer order v, dh, q, k, srv).
    assert render_query(pairs) == query


def test_contact_link_escapes_the_queue_uri_once_more() -> None:
    link = V["contact_link"]
    head, _, query = link.partition("#/?")
    assert head == "simplex:/contact"
    pairs = parse_query(query)
    assert query_param(pairs, "v") == "2-7"
    smp = query_param(pairs, "smp")
    assert smp == V["queue_uri"]
    assert f"v=2-7&smp={percent_encode(smp)}" == query  # the base64 '=' ends up as %253D


def test_real_world_contact_link() -> None:
    _, _, query = V["real_contact_link"].partition("#/?")
    smp = query_param(parse_query(query), "smp")
    assert smp == V["real_contact_queue"]
    key_hash, location, _, q = _split_queue(smp)
    assert len(b64url_decode(key_hash)) == 32
    assert location == "smp.simplego.dev"  # no port: the default 5223
    assert query_param(parse_query(q), "q") == "c"
