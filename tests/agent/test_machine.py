"""hushwire.agent.machine: the connection state machine driven directly, no relay, no store.

The transcripts in tests/vectors/agent_transcripts.json (shared with the widget's vitest, which
runs the initiator ones against widget/src/agent/machine.ts) pin the ordering bugs fixed so far:
a redelivered invitation, a confirmation before the invitation is recorded as sent, sends
before HELLO, a visitor sending before its confirmation is queued, an unsupported e2e version.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hushwire.agent import machine as m
from hushwire.agent.ratchet import E2E_VERSIONS

DOC = json.loads(
    (Path(__file__).resolve().parents[1] / "vectors" / "agent_transcripts.json").read_text()
)
TRANSCRIPTS: list[dict[str, Any]] = DOC["transcripts"]


def test_transcripts_say_where_they_come_from() -> None:
    assert "Hushwire's own transcripts" in DOC["source"]
    assert all(t["covers"] for t in TRANSCRIPTS)
    covered = " ".join(t["covers"] for t in TRANSCRIPTS)
    for fix in ("9d5c858", "960f4ac", "2ed6097", "733cefc"):
        assert fix in covered


@pytest.mark.parametrize("t", TRANSCRIPTS, ids=lambda t: t["name"])
def test_transcript(t: dict[str, Any]) -> None:
    status = t["status"]
    for i, s in enumerate(t["steps"]):
        inp = m.input_from_json(s["input"])
        tr = m.step(t["role"], status, inp)
        got = [m.effect_to_json(e) for e in tr.effects]
        assert (tr.status, got) == (s["status"], s["effects"]), f"step {i}: {s['input']}"
        assert [m.effect_from_json(e) for e in s["effects"]] == list(tr.effects)
        status = tr.status


def test_status_values_are_the_stored_strings() -> None:
    assert [s.value for s in m.ConnStatus] == [
        "active",
        "requested",
        "accepting",
        "confirmed",
        "hello",
        "connected",
        "joining",
        "invited",
        "confirming",
        "wait_hello",
    ]
    assert m.ConnStatus("wait_hello") is m.ConnStatus.WAIT_HELLO
    assert [k.value for k in m.SndKind] == [
        "invitation",
        "conf",
        "conf_k",
        "hello",
        "hello_reply",
        "msg",
        "receipt",
        "ratchet_key",
        "eready",
        "qadd",
        "qkey",
        "quse",
        "qtest",
    ]


def test_unknown_role_is_refused() -> None:
    tr = m.step("owner", "connected", m.Accept())
    assert tr == m.Transition("connected", (m.Refuse("illegal"),))


def test_every_table_rule_takes_every_status_it_lists() -> None:
    """No rule raises for any input of its type: a total function over the facts."""
    samples: dict[type, list[Any]] = {
        m.Join: [m.Join()],
        m.Accept: [m.Accept()],
        m.InvitationReceived: [
            m.InvitationReceived(r, a) for r in (False, True) for a in (False, True)
        ],
        m.AcceptStep: [
            m.AcceptStep(f, s, h, q)
            for f in (False, True)
            for s in (False, True)
            for h in (False, True)
            for q in (False, True)
        ],
        m.ConfirmationReceived: [
            m.ConfirmationReceived(rep, slow, sec, v, r)
            for rep in (False, True)
            for slow in (False, True)
            for sec in (False, True)
            for v in (None, E2E_VERSIONS.min - 1, E2E_VERSIONS.min, E2E_VERSIONS.max + 1)
            for r in (False, True)
        ],
        m.ConfirmStep: [
            m.ConfirmStep(f, s, q) for f in (False, True) for s in (False, True) for q in (0, 1)
        ],
        m.HelloReceived: [m.HelloReceived(f, n) for f in (False, True) for n in (0, 1, 2, 5)],
        m.Sent: [m.Sent(k) for k in m.SndKind],
        m.UserSend: [m.UserSend(f, n) for f in (False, True) for n in (0, 1, 2)],
    }
    for role in m.Role:
        for status in m.ConnStatus:
            for inputs in samples.values():
                for inp in inputs:
                    tr = m.step(role, status, inp)
                    assert isinstance(tr.status, m.ConnStatus)
                    refusals = [e for e in tr.effects if isinstance(e, m.Refuse)]
                    if refusals:
                        assert tr.effects == (refusals[0],) and tr.status == status
                    if (role, status, type(inp)) not in m.TABLE:
                        assert tr == m.Transition(status, (m.Refuse("illegal"),))


def test_a_redelivered_invitation_has_no_effect() -> None:
    """fix 9d5c858, stated directly."""
    tr = m.step("joiner", "active", m.InvitationReceived(redelivered=True, auto_accept=True))
    assert tr == m.Transition(m.ConnStatus.ACTIVE, ())


def test_only_a_confirmation_marks_the_send_queue_confirmed() -> None:
    """fix 960f4ac: whatever the status, a sent invitation marks nothing."""
    for status in m.ConnStatus:
        for role in m.Role:
            tr = m.step(role, status, m.Sent(m.SndKind.INVITATION))
            assert m.Action.MARK_CONFIRMED not in tr.effects


def test_a_visitor_cannot_send_before_its_confirmation_is_queued() -> None:
    """fix 2ed6097: in status confirming a send needs the confirmation (message 1) queued."""
    tr = m.step("initiator", "confirming", m.UserSend(fast=True, last_snd_id=0))
    assert tr.effects == (m.Refuse("not_established"),)
    tr = m.step("initiator", "confirming", m.UserSend(fast=True, last_snd_id=1))
    assert tr.effects == (m.Action.SEND_MESSAGE,)


def test_signed_sends() -> None:
    assert not m.signed("invitation") and not m.signed("conf_k")
    assert all(m.signed(k) for k in ("conf", "hello", "hello_reply", "msg", "receipt"))


def test_continuation() -> None:
    assert m.continuation("accepting") == "accept_step"
    assert m.continuation("confirming") == "confirm_step"
    assert [s for s in m.ConnStatus if m.continuation(s) is not None] == [
        m.ConnStatus.ACCEPTING,
        m.ConnStatus.CONFIRMING,
    ]


def test_json_forms() -> None:
    assert m.input_from_json({"input": "sent", "kind": "conf"}) == m.Sent("conf")
    assert m.effect_to_json(m.NewConnection(m.ConnStatus.REQUESTED)) == [
        "new_connection",
        "requested",
    ]
    assert m.effect_from_json(["set_slow", True]) == m.SetSlow(True)
    with pytest.raises(KeyError):
        m.input_from_json({"input": "nonsense"})
