"""The agent's connection state machine, as data (pure: no I/O, no clock, no randomness).

Mirrors the connection states of simplexmq ``Simplex.Messaging.Agent`` (``joinConnSrv``,
``smpConfirmation``, ``secureConfirmQueue``, ``helloMsg``, the delivery worker's ``AM_CONF_``
and ``AM_HELLO_`` handling) for what a website chat needs; docs/protocol/agent.md describes the
handshakes. widget/src/agent/machine.ts ports the initiator rows for the widget's visitor;
tests/vectors/agent_transcripts.json holds the transcripts both run.

Theory of operation
-------------------
A connection has a :class:`Role` (``initiator``: made the invitation, the visitor;
``joiner``: used it, the owner's side; a contact address is a joiner in status ``active``)
and a :class:`ConnStatus`. :func:`step` looks ``(role, status, type(input))`` up in the one
table :data:`TABLE` and returns a :class:`Transition`: the new status and the effects, as
values, in the order the shell (``hushwire.agent.agent``) must carry them out. Inputs carry
the few facts a rule needs (is our send queue in messaging mode, is our confirmation queued,
...), so a rule never looks anything up. A combination the table does not list is refused
(:class:`Refuse` ``illegal``), never an exception.

States::

    contact address      active
    joiner (owner side)  [requested] -> accepting -> confirmed -> connected
                                                   \\-> hello (slow: KEY, HELLO sent) -> connected
    initiator (visitor)  joining -> invited -> confirming -> connected          (fast, SKEY)
                                                    \\-> wait_hello -> connected (slow, KEY + HELLO)

The status strings are the ones stored in the agent's SQLite store (``ConnState.status``).
This module is over 800 lines because it is one thing: the agent's three transition tables
(handshake, ratchet re-synchronisation, queue rotation), which share one vocabulary of
effects and one transcript codec.
One rule comes from the widget's visitor: on the slow path an initiator still ``confirming``
(the relay's OK for its 'K' confirmation not processed yet) answers the owner's HELLO
as it would in ``wait_hello``, instead of dropping it.
Receiving application messages and receipts (A_MSG, A_RCVD) changes no status and is not in
the table.

Ratchet re-synchronisation has a table of its own, :data:`SYNC_TABLE`, over the connection's
:class:`SyncState` (orthogonal to its status, as ``ratchetSyncState`` is in simplexmq
``Simplex.Messaging.Agent``): :func:`sync_step` maps a decryption failure, a successful
decryption, the application's request, the peer's ``AgentRatchetKey`` and ``EREADY`` to the
new sync state and the effects::

    ok -(decrypt failure)-> allowed | required -(sync)-> started -(peer's key)-> agreed
    ok | allowed | required -(peer's key: reply with ours)-> agreed -(decrypted)-> ok

Queue rotation has :data:`SWITCH_TABLE` over a :class:`SwitchStatus` (simplexmq
``SndSwitchStatus`` / ``RcvSwitchStatus``): the side that sends to the rotated queue goes
``none -(QADD)-> sending_qkey -(QUSE)-> sending_qtest -(QTEST sent)-> none``; the side that
rotates its receive queue ``none -(switch)-> sending_qadd -(QKEY)-> sending_quse -(a message on
the new queue)-> none``. :func:`switch_step` gives the transitions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any, ClassVar, Final, get_args

from hushwire.agent.ratchet import E2E_VERSIONS

__all__ = [
    "SWITCH_TABLE",
    "SYNC_TABLE",
    "TABLE",
    "Accept",
    "AcceptStep",
    "Action",
    "ConfirmStep",
    "ConfirmationReceived",
    "ConnStatus",
    "CryptoFailure",
    "DecryptFailed",
    "Decrypted",
    "Effect",
    "Emit",
    "EreadyReceived",
    "HelloReceived",
    "Input",
    "InvitationReceived",
    "Join",
    "NewConnection",
    "NewQueueMessage",
    "QAddReceived",
    "QKeyReceived",
    "QUseReceived",
    "RatchetKeyReceived",
    "Refuse",
    "Role",
    "SendConfirmation",
    "SendHello",
    "Sent",
    "SetSlow",
    "SetSwitch",
    "SetSync",
    "SndKind",
    "SwitchRequest",
    "SwitchSent",
    "SwitchStatus",
    "SyncRequest",
    "SyncState",
    "Transition",
    "UserSend",
    "continuation",
    "effect_from_json",
    "effect_to_json",
    "input_from_json",
    "signed",
    "step",
    "switch_step",
    "sync_send_prohibited",
    "sync_step",
]


class Role(StrEnum):
    INITIATOR = "initiator"
    JOINER = "joiner"


class ConnStatus(StrEnum):
    """Status of a connection; the values are the strings the agent store keeps."""

    ACTIVE = "active"
    REQUESTED = "requested"
    ACCEPTING = "accepting"
    CONFIRMED = "confirmed"
    HELLO = "hello"
    CONNECTED = "connected"
    JOINING = "joining"
    INVITED = "invited"
    CONFIRMING = "confirming"
    WAIT_HELLO = "wait_hello"


class SndKind(StrEnum):
    """What an outgoing message is (stored with it in ``snd_messages.kind``)."""

    INVITATION = "invitation"
    CONF = "conf"
    """Our confirmation on the fast path (PrivHeader '_', signed after SKEY)."""
    CONF_K = "conf_k"
    """Our confirmation on the slow path (PrivHeader 'K' with our key, unsigned)."""
    HELLO = "hello"
    HELLO_REPLY = "hello_reply"
    MSG = "msg"
    RECEIPT = "receipt"
    RATCHET_KEY = "ratchet_key"
    """Our AgentRatchetKey (ratchet re-synchronisation; only the per-queue box protects it)."""
    EREADY = "eready"
    """EREADY: the re-synchronised ratchet is ready (ratchet-encrypted)."""
    QADD = "qadd"
    QKEY = "qkey"
    QUSE = "quse"
    QTEST = "qtest"
    """QTEST: the first message on the new send queue (only there)."""


def signed(kind: str) -> bool:
    """Whether SEND of a message of ``kind`` is signed with our sender key: an invitation goes
    to a contact queue and a slow confirmation to a queue the peer has yet to secure."""
    return kind not in (SndKind.INVITATION, SndKind.CONF_K)


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class Join:
    """Initiator: our queue is made; send the invitation to the contact address."""

    NAME: ClassVar[str] = "join"


@dataclass(frozen=True, slots=True)
class InvitationReceived:
    """A contact address received an AgentInvitation (``redelivered``: its hash was seen)."""

    NAME: ClassVar[str] = "invitation"
    redelivered: bool
    auto_accept: bool


@dataclass(frozen=True, slots=True)
class Accept:
    """The application accepts a visitor's request."""

    NAME: ClassVar[str] = "accept"


@dataclass(frozen=True, slots=True)
class AcceptStep:
    """Joiner: go on with the handshake (after a request, a message, a restart)."""

    NAME: ClassVar[str] = "accept_step"
    fast: bool
    """The peer's queue is in messaging mode: we secure it (SKEY)."""
    secured: bool
    has_reply_queue: bool
    queued: bool
    """Our confirmation is queued or already went out."""


@dataclass(frozen=True, slots=True)
class ConfirmationReceived:
    """The peer's AgentConfirmation arrived on our queue."""

    NAME: ClassVar[str] = "confirmation"
    repeated: bool
    """Our queue already has its per-queue key: this one was processed before (the other
    facts are then not looked at; the agent does not even decrypt it)."""
    slow: bool
    """PrivHeader 'K': we must secure our queue with the peer's key (KEY)."""
    rcv_secured: bool
    e2e_version: int | None = None
    """Initiator: the e2e version of the ratchet keys it carries (None: no keys)."""
    ratchet: bool = False
    """Joiner: our own confirmation (and so our ratchet) exists."""


@dataclass(frozen=True, slots=True)
class ConfirmStep:
    """Initiator: go on with the handshake after the owner's confirmation."""

    NAME: ClassVar[str] = "confirm_step"
    fast: bool
    secured: bool
    queued: bool


@dataclass(frozen=True, slots=True)
class HelloReceived:
    """The peer's HELLO (``fast``: our send queue is in messaging mode; ``last_snd_id``:
    AgentMessages we numbered so far, the confirmation being 1)."""

    NAME: ClassVar[str] = "hello"
    fast: bool
    last_snd_id: int


@dataclass(frozen=True, slots=True)
class Sent:
    """The relay took our message of ``kind``."""

    NAME: ClassVar[str] = "sent"
    kind: str


@dataclass(frozen=True, slots=True)
class UserSend:
    """The application asks to send a message."""

    NAME: ClassVar[str] = "send"
    fast: bool
    last_snd_id: int


class SyncState(StrEnum):
    """A connection's ratchet synchronisation state (simplexmq ``RatchetSyncState``; the
    values are its ``strEncode`` and the strings the store keeps)."""

    OK = "ok"
    ALLOWED = "allowed"
    """A decryption failed in a way a re-sync may fix (the application may start one)."""
    REQUIRED = "required"
    """The ratchet is out of step: only a re-sync makes the connection work again."""
    STARTED = "started"
    """We sent our AgentRatchetKey and wait for the peer's."""
    AGREED = "agreed"
    """Both keys are known and the new ratchet is in place; ``ok`` at its first message."""


class CryptoFailure(StrEnum):
    """A decryption failure that counts for re-synchronisation (simplexmq
    ``AgentCryptoError``; the values are its constructors' names)."""

    DECRYPT_AES = "DECRYPT_AES"
    """The message body does not authenticate under the ratchet's message key."""
    RATCHET_HEADER = "RATCHET_HEADER"
    """No header key opens the header: the ratchets went apart."""
    RATCHET_EARLIER = "RATCHET_EARLIER"
    """An earlier message whose key is gone."""
    RATCHET_SKIPPED = "RATCHET_SKIPPED"
    """Too many skipped messages."""
    RATCHET_SYNC = "RATCHET_SYNC"
    """A second AgentRatchetKey after the agreement."""


_FAILURE_STATE: Final[Mapping[CryptoFailure, SyncState]] = {
    CryptoFailure.DECRYPT_AES: SyncState.ALLOWED,
    CryptoFailure.RATCHET_HEADER: SyncState.REQUIRED,
    CryptoFailure.RATCHET_EARLIER: SyncState.ALLOWED,
    CryptoFailure.RATCHET_SKIPPED: SyncState.REQUIRED,
    CryptoFailure.RATCHET_SYNC: SyncState.REQUIRED,
}
"""simplexmq ``cryptoErrToSyncState``."""


@dataclass(frozen=True, slots=True)
class DecryptFailed:
    """The ratchet could not decrypt an AgentMsgEnvelope (``known``: its encrypted body's
    hash was seen before, so it is a redelivery and counts for nothing)."""

    NAME: ClassVar[str] = "decrypt_failed"
    error: str
    """A :class:`CryptoFailure` value."""
    known: bool


@dataclass(frozen=True, slots=True)
class Decrypted:
    """The ratchet decrypted a message (any AgentMessage)."""

    NAME: ClassVar[str] = "decrypted"


@dataclass(frozen=True, slots=True)
class SyncRequest:
    """The application asks to re-synchronise the ratchet (``force``: in any state)."""

    NAME: ClassVar[str] = "sync"
    agent_version: int
    force: bool


@dataclass(frozen=True, slots=True)
class RatchetKeyReceived:
    """The peer's AgentRatchetKey (``processed``: the hash of its keys was seen before)."""

    NAME: ClassVar[str] = "ratchet_key"
    processed: bool
    e2e_version: int


@dataclass(frozen=True, slots=True)
class EreadyReceived:
    """The peer's EREADY (``could_send``: our ratchet had a sending chain before it)."""

    NAME: ClassVar[str] = "eready"
    could_send: bool


SyncInput = DecryptFailed | Decrypted | SyncRequest | RatchetKeyReceived | EreadyReceived


class SwitchStatus(StrEnum):
    """Where a queue rotation is (simplexmq ``SndSwitchStatus`` and ``RcvSwitchStatus``)."""

    NONE = "none"
    SENDING_QKEY = "sending_qkey"
    """Sender: QADD arrived, our QKEY for the new queue is queued on the old one."""
    SENDING_QTEST = "sending_qtest"
    """Sender: QUSE arrived, QTEST is queued on the new queue."""
    SENDING_QADD = "sending_qadd"
    """Recipient: the new queue exists, QADD is queued; waiting for QKEY."""
    SENDING_QUSE = "sending_quse"
    """Recipient: the new queue is secured, QUSE is queued; waiting for a message on it."""


@dataclass(frozen=True, slots=True)
class SwitchRequest:
    """The application asks to move our receive queue (``Change relay``)."""

    NAME: ClassVar[str] = "switch"
    prohibited: bool
    """The ratchet sync state prohibits sending."""


@dataclass(frozen=True, slots=True)
class QAddReceived:
    """The peer's QADD: a new queue to send to instead of one of ours."""

    NAME: ClassVar[str] = "qadd"
    prohibited: bool
    version_ok: bool
    """We share a client version with the new queue's address."""
    in_use: bool
    """The new queue is one we already send to."""
    found: bool
    """The replaced queue is our send queue."""


@dataclass(frozen=True, slots=True)
class QKeyReceived:
    """The peer's QKEY for the queue we offered."""

    NAME: ClassVar[str] = "qkey"
    prohibited: bool
    found: bool
    """The queue is our new, not yet secured receive queue."""


@dataclass(frozen=True, slots=True)
class QUseReceived:
    """The peer's QUSE: it secured the new queue."""

    NAME: ClassVar[str] = "quse"
    prohibited: bool
    found: bool
    """The queue is the new send queue of the current rotation."""


@dataclass(frozen=True, slots=True)
class SwitchSent:
    """The relay took our QKEY or QTEST (``kind``)."""

    NAME: ClassVar[str] = "switch_sent"
    kind: str


@dataclass(frozen=True, slots=True)
class NewQueueMessage:
    """Recipient: a message arrived on the new queue of the rotation."""

    NAME: ClassVar[str] = "new_queue_message"


SwitchInput = (
    SwitchRequest | QAddReceived | QKeyReceived | QUseReceived | SwitchSent | NewQueueMessage
)

Input = (
    Join
    | InvitationReceived
    | Accept
    | AcceptStep
    | ConfirmationReceived
    | ConfirmStep
    | HelloReceived
    | Sent
    | UserSend
)

# --------------------------------------------------------------------------- effects


@dataclass(frozen=True, slots=True)
class Refuse:
    """The input is refused; the state is unchanged. ``reason`` is one of ``no_keys``,
    ``e2e_version``, ``early_confirmation``, ``not_established``, ``not_requested`` or
    ``illegal`` (a combination the table does not list)."""

    NAME: ClassVar[str] = "refuse"
    reason: str


class Action(StrEnum):
    """An effect that carries no fact: the member says all there is to do. Its value is its
    name in the transcripts."""

    OPEN_INVITATION = "open_invitation"
    """Decrypt and check the invitation (its link, agent version)."""
    CONTINUE = "continue"
    """Run the connection's handshake step (:func:`continuation`) in the background."""
    SECURE_SND_QUEUE = "secure_snd"
    """SKEY: secure the peer's queue with our sender key (initiator: before our confirmation's
    SEND, which need not wait for SKEY's answer)."""
    SECURE_RCV_QUEUE = "secure_rcv"
    """KEY: secure our queue with the key the peer sent in its 'K' confirmation."""
    CREATE_REPLY_QUEUE = "reply_queue"
    """NEW: make our reply queue (joiner)."""
    SEND_INVITATION = "send_invitation"
    OPEN_CONFIRMATION = "open_confirmation"
    """Decrypt the confirmation's ratchet part (initiator: after X3DH) and take its
    connection info (the joiner's reply queue, the peer's profile)."""
    SEND_MESSAGE = "send_message"
    """Queue the application's message."""
    MARK_CONFIRMED = "mark_confirmed"
    """Our confirmation went out on the current send queue."""
    SEND_RATCHET_KEY = "send_ratchet_key"
    """Make fresh X448 ratchet keys, keep them, queue our AgentRatchetKey."""
    AGREE_RATCHET = "agree_ratchet"
    """X3DH between our ratchet keys and the peer's, by the order of their hashes; the new
    ratchet replaces the old one (the side that takes the joiner's part queues EREADY)."""
    SEND_EREADY = "send_eready"
    """Queue EREADY on the new ratchet (the peer's EREADY found us without a sending chain)."""
    NEW_RCV_QUEUE = "new_rcv_queue"
    """Recipient: NEW the queue that replaces ours (on the chosen relay), subscribed."""
    SEND_QADD = "send_qadd"
    NEW_SND_QUEUE = "new_snd_queue"
    """Sender: fresh sender and e2e keys for the offered queue (replacing an earlier offer)."""
    SEND_QKEY = "send_qkey"
    SECURE_NEW_RCV_QUEUE = "secure_new_rcv"
    """Recipient: KEY the new queue with the sender's key from QKEY, keep its e2e secret."""
    SEND_QUSE = "send_quse"
    NEW_SND_QUEUE_SECURED = "new_snd_secured"
    """Sender: the new queue is secured; from QTEST on, messages go to it."""
    SEND_QTEST = "send_qtest"
    USE_NEW_SND_QUEUE = "use_new_snd"
    """Sender: the new queue replaces the old one (dropped)."""
    DELETE_OLD_RCV_QUEUE = "delete_old_rcv"
    """Recipient: DEL the replaced queue; the new one is the connection's."""


@dataclass(frozen=True, slots=True)
class NewConnection:
    """Store a new joiner connection for the visitor, in ``status``."""

    NAME: ClassVar[str] = "new_connection"
    status: ConnStatus


@dataclass(frozen=True, slots=True)
class SetSlow:
    """Record whether the handshake takes the slow KEY + HELLO path."""

    NAME: ClassVar[str] = "set_slow"
    slow: bool


@dataclass(frozen=True, slots=True)
class SendConfirmation:
    """Seal and queue our confirmation, message 1 (``kind`` ``conf`` or ``conf_k``)."""

    NAME: ClassVar[str] = "send_confirmation"
    kind: SndKind


@dataclass(frozen=True, slots=True)
class SendHello:
    """Queue HELLO (``kind`` ``hello``, or ``hello_reply`` answering the peer's)."""

    NAME: ClassVar[str] = "send_hello"
    kind: SndKind


@dataclass(frozen=True, slots=True)
class Emit:
    """Tell the application: ``requested``, ``established`` or ``sent``."""

    NAME: ClassVar[str] = "emit"
    event: str


@dataclass(frozen=True, slots=True)
class SetSync:
    """The sync state becomes ``state``; tell the application (with ``error``, the
    :class:`CryptoFailure` that caused it, if any)."""

    NAME: ClassVar[str] = "set_sync"
    state: SyncState
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SetSwitch:
    """Tell the application where a rotation is (simplexmq ``SWITCH``): ``direction``
    ``rcv`` or ``snd``, ``phase`` ``started``, ``confirmed``, ``secured`` or ``completed``."""

    NAME: ClassVar[str] = "set_switch"
    direction: str
    phase: str


Effect = (
    Refuse
    | Action
    | NewConnection
    | SetSlow
    | SendConfirmation
    | SendHello
    | Emit
    | SetSync
    | SetSwitch
)


@dataclass(frozen=True, slots=True)
class Transition:
    status: str
    """The new status: a :class:`ConnStatus`, or an unknown status given to :func:`step`
    handed back unchanged."""
    effects: tuple[Effect, ...] = ()


# --------------------------------------------------------------------------- rules

Rule = Callable[[ConnStatus, Any], Transition]


def _stay(status: ConnStatus, inp: Any) -> Transition:
    return Transition(status)


def _to(new: ConnStatus, *effects: Effect) -> Rule:
    return lambda status, inp: Transition(new, effects)


def _refuse(reason: str) -> Rule:
    return lambda status, inp: Transition(status, (Refuse(reason),))


def _invitation(status: ConnStatus, inp: InvitationReceived) -> Transition:
    # The same invitation delivered again (its ACK was lost) must not become a second
    # connection.
    if inp.redelivered:
        return Transition(status)
    if not inp.auto_accept:
        return Transition(
            status, (Action.OPEN_INVITATION, NewConnection(ConnStatus.REQUESTED), Emit("requested"))
        )
    return Transition(
        status,
        (
            Action.OPEN_INVITATION,
            NewConnection(ConnStatus.ACCEPTING),
            Emit("requested"),
            Action.CONTINUE,
        ),
    )


def _accept_step(status: ConnStatus, inp: AcceptStep) -> Transition:
    effects: list[Effect] = []
    if inp.fast and not inp.secured:
        effects.append(Action.SECURE_SND_QUEUE)
    if not inp.has_reply_queue:
        effects.append(Action.CREATE_REPLY_QUEUE)
    if not inp.queued:
        effects.append(SendConfirmation(SndKind.CONF if inp.fast else SndKind.CONF_K))
    return Transition(status, tuple(effects))


def _initiator_confirmation(status: ConnStatus, inp: ConfirmationReceived) -> Transition:
    if inp.repeated:
        return Transition(status)  # a repeated confirmation: ACK and ignore
    if status is not ConnStatus.INVITED or inp.e2e_version is None:
        return Transition(status, (Refuse("no_keys"),))
    if inp.e2e_version < E2E_VERSIONS.min:
        return Transition(status, (Refuse("e2e_version"),))
    effects: tuple[Effect, ...] = (Action.OPEN_CONFIRMATION,)
    if inp.slow and not inp.rcv_secured:
        effects += (Action.SECURE_RCV_QUEUE,)
    return Transition(ConnStatus.CONFIRMING, effects)


def _joiner_confirmation(status: ConnStatus, inp: ConfirmationReceived) -> Transition:
    if inp.repeated:
        return Transition(status)
    if not inp.ratchet:
        return Transition(status, (Refuse("early_confirmation"),))
    if not inp.slow:
        return Transition(ConnStatus.CONNECTED, (Action.OPEN_CONFIRMATION, Emit("established")))
    effects: tuple[Effect, ...] = (Action.OPEN_CONFIRMATION,)
    if not inp.rcv_secured:
        effects += (Action.SECURE_RCV_QUEUE,)
    return Transition(ConnStatus.HELLO, (*effects, SetSlow(True), SendHello(SndKind.HELLO)))


def _confirm_step(status: ConnStatus, inp: ConfirmStep) -> Transition:
    if inp.queued:
        # The SEND of our fast confirmation does not wait for SKEY's answer, so a restart
        # can find it queued to a queue not known to be secured: SKEY goes again before it
        # (the relay accepts SKEY again with the same key).
        if inp.fast and not inp.secured:
            return Transition(status, (Action.SECURE_SND_QUEUE,))
        return Transition(status)
    effects: tuple[Effect, ...] = ()
    if inp.fast and not inp.secured:
        effects = (Action.SECURE_SND_QUEUE,)
    kind = SndKind.CONF if inp.fast else SndKind.CONF_K
    return Transition(status, (*effects, SetSlow(not inp.fast), SendConfirmation(kind)))


def _hello_while_confirming(status: ConnStatus, inp: HelloReceived) -> Transition:
    # Slow path: the owner KEYed our queue and says HELLO while the OK for our 'K'
    # confirmation (queued as message 1) may still be on its way: answer it already.
    if not inp.fast and inp.last_snd_id == 1:
        return Transition(status, (SendHello(SndKind.HELLO_REPLY),))
    return Transition(status)


def _sent(role: Role) -> Rule:
    def rule(status: ConnStatus, inp: Sent) -> Transition:
        kind = inp.kind
        if kind == SndKind.MSG:
            return Transition(status, (Emit("sent"),))
        if kind == SndKind.HELLO_REPLY and role is Role.INITIATOR and status in _HELLO_REPLIED:
            return Transition(ConnStatus.CONNECTED, (Emit("established"),))
        if kind not in (SndKind.CONF, SndKind.CONF_K):
            # An invitation went to the contact queue: it confirms nothing (by now the send
            # queue may already be the owner's reply queue).
            return Transition(status)
        if role is Role.JOINER:
            new = ConnStatus.CONFIRMED if status is ConnStatus.ACCEPTING else status
            return Transition(new, (Action.MARK_CONFIRMED,))
        if status is not ConnStatus.CONFIRMING:
            return Transition(status, (Action.MARK_CONFIRMED,))
        if kind == SndKind.CONF:
            return Transition(ConnStatus.CONNECTED, (Action.MARK_CONFIRMED, Emit("established")))
        return Transition(ConnStatus.WAIT_HELLO, (Action.MARK_CONFIRMED,))

    return rule


def _user_send(status: ConnStatus, inp: UserSend) -> Transition:
    # Before our own confirmation is queued (it takes message id 1) nothing may go out.
    if status is ConnStatus.CONFIRMING and inp.fast and inp.last_snd_id >= 1:
        return Transition(status, (Action.SEND_MESSAGE,))
    return _NOT_ESTABLISHED(status, inp)


_HELLO_REPLIED: Final = (ConnStatus.CONFIRMING, ConnStatus.WAIT_HELLO)
_NOT_ESTABLISHED: Final = _refuse("not_established")

_J, _I = Role.JOINER, Role.INITIATOR
_S = ConnStatus
_JOINER_STATUSES: Final = (_S.REQUESTED, _S.ACCEPTING, _S.CONFIRMED, _S.HELLO, _S.CONNECTED)
_INITIATOR_STATUSES: Final = (_S.JOINING, _S.INVITED, _S.CONFIRMING, _S.WAIT_HELLO, _S.CONNECTED)


def _send_ok(status: ConnStatus, inp: Any) -> Transition:
    return Transition(status, (Action.SEND_MESSAGE,))


TABLE: Final[Mapping[tuple[Role, ConnStatus, type], Rule]] = {
    # contact address
    (_J, _S.ACTIVE, InvitationReceived): _invitation,
    (_J, _S.ACTIVE, UserSend): _NOT_ESTABLISHED,
    (_J, _S.ACTIVE, Accept): _refuse("not_requested"),
    # joiner (the owner's side of a visitor)
    **{(_J, s, Accept): _refuse("not_requested") for s in _JOINER_STATUSES},
    (_J, _S.REQUESTED, Accept): _to(_S.ACCEPTING, Action.CONTINUE),
    **{(_J, s, AcceptStep): _stay for s in _JOINER_STATUSES},
    (_J, _S.ACCEPTING, AcceptStep): _accept_step,
    **{(_J, s, ConfirmationReceived): _joiner_confirmation for s in _JOINER_STATUSES},
    **{(_J, s, HelloReceived): _stay for s in _JOINER_STATUSES},
    (_J, _S.HELLO, HelloReceived): _to(_S.CONNECTED, Emit("established")),
    **{(_J, s, Sent): _sent(_J) for s in (_S.ACTIVE, *_JOINER_STATUSES)},
    **{(_J, s, UserSend): _NOT_ESTABLISHED for s in _JOINER_STATUSES},
    # A joiner on the slow path has queued its HELLO and waits for the reply HELLO: the peer
    # gets ours first and may already be talking (Agent.hs sendMessage lets a duplex
    # connection send before CON).
    (_J, _S.HELLO, UserSend): _send_ok,
    (_J, _S.CONNECTED, UserSend): _send_ok,
    # initiator (the visitor)
    (_I, _S.JOINING, Join): _to(_S.INVITED, Action.SEND_INVITATION),
    **{(_I, s, Accept): _refuse("not_requested") for s in _INITIATOR_STATUSES},
    **{(_I, s, ConfirmationReceived): _initiator_confirmation for s in _INITIATOR_STATUSES},
    **{(_I, s, ConfirmStep): _stay for s in _INITIATOR_STATUSES},
    (_I, _S.CONFIRMING, ConfirmStep): _confirm_step,
    **{(_I, s, HelloReceived): _stay for s in _INITIATOR_STATUSES},
    (_I, _S.CONFIRMING, HelloReceived): _hello_while_confirming,
    (_I, _S.WAIT_HELLO, HelloReceived): _to(_S.WAIT_HELLO, SendHello(SndKind.HELLO_REPLY)),
    **{(_I, s, Sent): _sent(_I) for s in _INITIATOR_STATUSES},
    **{(_I, s, UserSend): _NOT_ESTABLISHED for s in _INITIATOR_STATUSES},
    (_I, _S.CONFIRMING, UserSend): _user_send,
    (_I, _S.CONNECTED, UserSend): _send_ok,
}
"""The one transition table: ``(role, status, type of input) -> rule``; a rule maps the
current status and the input's facts to a :class:`Transition`."""


def step(role: str, status: str, inp: Input) -> Transition:
    """The transition for ``inp`` in ``(role, status)``; never raises for any input.

    ``role`` and ``status`` may be the stored strings. An unknown one, or a combination the
    table does not list, keeps the status and refuses (``Refuse("illegal")``).
    """
    try:
        r, s = Role(role), ConnStatus(status)
    except ValueError:
        return Transition(status, (Refuse("illegal"),))
    rule = TABLE.get((r, s, type(inp)))
    if rule is None:
        return Transition(s, (Refuse("illegal"),))
    return rule(s, inp)


def continuation(status: str) -> str | None:
    """The handshake step a connection in ``status`` goes on with after each received
    message and at start-up: ``accept_step`` (joiner), ``confirm_step`` (initiator)."""
    if status == ConnStatus.ACCEPTING:
        return AcceptStep.NAME
    if status == ConnStatus.CONFIRMING:
        return ConfirmStep.NAME
    return None


# --------------------------------------------------------------------------- ratchet sync

_SY = SyncState
_SYNC_CAN_FAIL: Final = (_SY.OK, _SY.ALLOWED, _SY.REQUIRED)
"""States a decryption failure moves (simplexmq ``notifySync``)."""


def _decrypt_failed(state: SyncState, inp: DecryptFailed) -> Transition:
    if inp.known or state not in _SYNC_CAN_FAIL:
        return Transition(state)
    new = _FAILURE_STATE[CryptoFailure(inp.error)]
    return Transition(new, (SetSync(new, inp.error),))


def _decrypted(state: SyncState, inp: Decrypted) -> Transition:
    # resetRatchetSync: any state but ok and started returns to ok.
    if state in (_SY.OK, _SY.STARTED):
        return Transition(state)
    return Transition(_SY.OK, (SetSync(_SY.OK),))


def _sync_request(state: SyncState, inp: SyncRequest) -> Transition:
    allowed = inp.agent_version >= RATCHET_SYNC_AGENT_VERSION and state in (
        _SY.ALLOWED,
        _SY.REQUIRED,
    )
    if not (allowed or inp.force):
        return Transition(state, (Refuse("sync_not_allowed"),))
    return Transition(_SY.STARTED, (Action.SEND_RATCHET_KEY, SetSync(_SY.STARTED)))


def _ratchet_key(state: SyncState, inp: RatchetKeyReceived) -> Transition:
    if inp.processed:
        return Transition(state)
    if inp.e2e_version not in E2E_VERSIONS:
        return Transition(state, (Refuse("e2e_version"),))
    if state is _SY.AGREED:
        return Transition(
            _SY.REQUIRED,
            (SetSync(_SY.REQUIRED, CryptoFailure.RATCHET_SYNC.value), Refuse("ratchet_sync")),
        )
    agree = (Action.AGREE_RATCHET, SetSync(_SY.AGREED))
    if state is _SY.STARTED:
        return Transition(_SY.AGREED, agree)
    return Transition(_SY.AGREED, (Action.SEND_RATCHET_KEY, *agree))


def _eready(state: SyncState, inp: EreadyReceived) -> Transition:
    return Transition(state, () if inp.could_send else (Action.SEND_EREADY,))


RATCHET_SYNC_AGENT_VERSION: Final = 3
"""Agent version from which a connection may re-synchronise (``ratchetSyncSMPAgentVersion``)."""

SYNC_TABLE: Final[Mapping[tuple[SyncState, type], Callable[[SyncState, Any], Transition]]] = {
    **{(s, DecryptFailed): _decrypt_failed for s in SyncState},
    **{(s, Decrypted): _decrypted for s in SyncState},
    **{(s, SyncRequest): _sync_request for s in SyncState},
    **{(s, RatchetKeyReceived): _ratchet_key for s in SyncState},
    **{(s, EreadyReceived): _eready for s in SyncState},
}
"""Ratchet re-synchronisation: ``(sync state, type of input) -> rule`` (simplexmq
``synchronizeRatchet'``, ``newRatchetKey``, ``ereadyMsg``, ``resetRatchetSync``)."""


def _state_step(
    table: Mapping[Any, Any],
    states: type[StrEnum],
    state: str,
    inp: object,
) -> Transition:
    """Look ``(state, type(inp))`` up in a table keyed by one state enum; an unknown state or
    a combination the table does not list keeps the state and refuses (never raises)."""
    try:
        s = states(state)
    except ValueError:
        return Transition(state, (Refuse("illegal"),))
    rule = table.get((s, type(inp)))
    if rule is None:
        return Transition(s, (Refuse("illegal"),))
    return rule(s, inp)  # type: ignore[no-any-return]


def sync_step(state: str, inp: SyncInput) -> Transition:
    """The sync transition for ``inp`` in ``state``; never raises (unknown: refused)."""
    return _state_step(SYNC_TABLE, SyncState, state, inp)


def sync_send_prohibited(state: str) -> bool:
    """No message of ours may be queued in this sync state but the re-sync's own
    (simplexmq ``ratchetSyncSendProhibited``)."""
    return state in (_SY.REQUIRED, _SY.STARTED, _SY.AGREED)


# --------------------------------------------------------------------------- queue rotation

_W = SwitchStatus
_NOT_SYNCED: Final = Refuse("ratchet_not_synced")


def _switch_request(state: SwitchStatus, inp: SwitchRequest) -> Transition:
    if inp.prohibited:
        return Transition(state, (_NOT_SYNCED,))
    if state is not _W.NONE:
        return Transition(state, (Refuse("switching"),))
    return Transition(
        _W.SENDING_QADD, (Action.NEW_RCV_QUEUE, Action.SEND_QADD, SetSwitch("rcv", "started"))
    )


def _qadd(state: SwitchStatus, inp: QAddReceived) -> Transition:
    for bad, reason in (
        (inp.prohibited, _NOT_SYNCED.reason),
        (not inp.version_ok, "queue_version"),
        (inp.in_use, "queue_in_use"),
        (not inp.found, "queue_not_found"),
    ):
        if bad:
            return Transition(state, (Refuse(reason),))
    return Transition(
        _W.SENDING_QKEY, (Action.NEW_SND_QUEUE, Action.SEND_QKEY, SetSwitch("snd", "started"))
    )


def _qkey(state: SwitchStatus, inp: QKeyReceived) -> Transition:
    if inp.prohibited:
        return Transition(state, (_NOT_SYNCED,))
    if not inp.found:
        return Transition(state, (Refuse("queue_not_found"),))
    if state is not _W.SENDING_QADD:
        return Transition(state, (Refuse("switch_state"),))
    return Transition(
        _W.SENDING_QUSE,
        (
            Action.SECURE_NEW_RCV_QUEUE,
            SetSwitch("rcv", "confirmed"),
            Action.SEND_QUSE,
            SetSwitch("rcv", "secured"),
        ),
    )


def _quse(state: SwitchStatus, inp: QUseReceived) -> Transition:
    if inp.prohibited:
        return Transition(state, (_NOT_SYNCED,))
    if not inp.found:
        return Transition(state, (Refuse("queue_not_found"),))
    if state is not _W.SENDING_QKEY:
        return Transition(state, (Refuse("switch_state"),))
    return Transition(
        _W.SENDING_QTEST,
        (Action.NEW_SND_QUEUE_SECURED, Action.SEND_QTEST, SetSwitch("snd", "secured")),
    )


def _switch_sent(state: SwitchStatus, inp: SwitchSent) -> Transition:
    if inp.kind == SndKind.QKEY and state is _W.SENDING_QKEY:
        return Transition(state, (SetSwitch("snd", "confirmed"),))
    if inp.kind == SndKind.QTEST and state is _W.SENDING_QTEST:
        return Transition(_W.NONE, (Action.USE_NEW_SND_QUEUE, SetSwitch("snd", "completed")))
    return Transition(state)


def _new_queue_message(state: SwitchStatus, inp: NewQueueMessage) -> Transition:
    if state is not _W.SENDING_QUSE:
        return Transition(state, (Refuse("switch_state"),))
    return Transition(_W.NONE, (Action.DELETE_OLD_RCV_QUEUE, SetSwitch("rcv", "completed")))


SwitchRule = Callable[[SwitchStatus, Any], Transition]
SWITCH_TABLE: Final[Mapping[tuple[SwitchStatus, type], SwitchRule]] = {
    **{(s, SwitchRequest): _switch_request for s in SwitchStatus},
    **{(s, QAddReceived): _qadd for s in SwitchStatus},
    **{(s, QKeyReceived): _qkey for s in SwitchStatus},
    **{(s, QUseReceived): _quse for s in SwitchStatus},
    **{(s, SwitchSent): _switch_sent for s in SwitchStatus},
    **{(s, NewQueueMessage): _new_queue_message for s in SwitchStatus},
}
"""Queue rotation: ``(switch status, type of input) -> rule`` (simplexmq ``switchConnection'``,
``qAddMsg``, ``qKeyMsg``, ``qUseMsg``, the delivery worker's ``AM_QKEY_``/``AM_QTEST_`` and the
first message on a replacing queue). The sender's status is kept for its send queue, the
recipient's for its receive queues."""


def switch_step(state: str, inp: SwitchInput) -> Transition:
    """The rotation transition for ``inp`` in ``state``; never raises (unknown: refused)."""
    return _state_step(SWITCH_TABLE, SwitchStatus, state, inp)


# --------------------------------------------------------------------------- JSON (vectors)

_INPUTS: Final[dict[str, type]] = {
    c.NAME: c for c in (*get_args(Input), *get_args(SyncInput), *get_args(SwitchInput))
}
_ACTIONS: Final = frozenset(a.value for a in Action)
_EFFECTS: Final[dict[str, type]] = {c.NAME: c for c in get_args(Effect) if c is not Action}


def input_from_json(obj: Mapping[str, Any]) -> Input:
    """An input from its transcript form ``{"input": name, field: value, ...}``."""
    cls = _INPUTS[obj["input"]]
    args = {f.name: obj[f.name] for f in fields(cls) if f.name in obj}
    return cls(**args)  # type: ignore[no-any-return]


def effect_to_json(e: Effect) -> list[Any]:
    """An effect in transcript form: ``[name, *field values]``."""
    if isinstance(e, Action):
        return [e.value]
    return [e.NAME, *(str(v) if isinstance(v, StrEnum) else v for v in asdict(e).values())]


def effect_from_json(obj: list[Any]) -> Effect:
    if obj[0] in _ACTIONS:
        return Action(obj[0])
    cls = _EFFECTS[obj[0]]
    return cls(*obj[1:])  # type: ignore[no-any-return]
