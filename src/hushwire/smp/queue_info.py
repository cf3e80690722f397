"""``INFO`` payload: the JSON queue description answered to ``QUE``.

Mirrors simplexmq ``Server/QueueStore/QueueInfo.hs`` (aeson ``defaultJSON``: record field order,
``Nothing`` fields omitted; enum tags with their prefix dropped and first letter lowered).
Timestamps are whole seconds (the reference's ``SystemTime`` carries no fraction here) and
are written ISO-8601 as aeson writes a ``UTCTime``: ``2022-01-01T10:24:05Z``.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from hushwire.encoding.binary import INT64_MAX, INT64_MIN
from hushwire.encoding.strict_json import as_object, loads_object
from hushwire.errors import DecodeError

E = TypeVar("E", bound=enum.Enum)


class QSubThread(enum.Enum):
    NO_SUB = "noSub"
    SUB_PENDING = "subPending"
    SUB_THREAD = "subThread"
    PROHIBIT_SUB = "prohibitSub"


class MsgType(enum.Enum):
    MESSAGE = "message"
    QUOTA = "quota"


@dataclass(frozen=True, slots=True)
class QSub:
    thread: QSubThread
    delivered: str | None = None
    """Base64 of the delivered message id, as the reference writes it."""


@dataclass(frozen=True, slots=True)
class MsgInfo:
    msg_id: str
    """Base64 (standard, padded) of the message id, as the reference writes it."""
    msg_ts: int
    """Seconds since the epoch."""
    msg_type: MsgType


@dataclass(frozen=True, slots=True)
class QueueInfo:
    snd: bool
    """The queue has a sender key."""
    ntf: bool
    """The queue has notifier credentials."""
    sub: QSub | None
    size: int
    msg: MsgInfo | None = None

    def to_json(self) -> bytes:
        obj: dict[str, Any] = {"qiSnd": self.snd, "qiNtf": self.ntf}
        if self.sub is not None:
            sub: dict[str, Any] = {"qSubThread": self.sub.thread.value}
            if self.sub.delivered is not None:
                sub["qDelivered"] = self.sub.delivered
            obj["qiSub"] = sub
        obj["qiSize"] = self.size
        if self.msg is not None:
            obj["qiMsg"] = {
                "msgId": self.msg.msg_id,
                "msgTs": format_utc(self.msg.msg_ts),
                "msgType": self.msg.msg_type.value,
            }
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> QueueInfo:
        obj = loads_object(data)
        sub_obj = obj.get("qiSub")
        sub = None
        if sub_obj is not None:
            s = as_object(sub_obj)
            sub = QSub(_enum(QSubThread, s.get("qSubThread")), _opt_str(s.get("qDelivered")))
        msg_obj = obj.get("qiMsg")
        msg = None
        if msg_obj is not None:
            m = as_object(msg_obj)
            msg = MsgInfo(
                _str(m.get("msgId")),
                parse_utc(_str(m.get("msgTs"))),
                _enum(MsgType, m.get("msgType")),
            )
        return cls(
            _bool(obj.get("qiSnd")), _bool(obj.get("qiNtf")), sub, _int(obj.get("qiSize")), msg
        )


def format_utc(ts: int) -> str:
    """ISO-8601 UTC with a ``Z``, whole seconds (ValueError outside years 1..9999)."""
    try:
        dt = datetime.fromtimestamp(ts, UTC)
    except (OverflowError, OSError) as e:
        raise ValueError(f"timestamp out of range: {ts}") from e
    return f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt:%H:%M:%S}Z"


def parse_utc(s: str) -> int:
    """Seconds since the epoch of an ISO-8601 time; no zone means UTC; fractions dropped."""
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        raise DecodeError("bad timestamp") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return int(dt.timestamp() // 1)
    except (OverflowError, OSError):  # pragma: no cover - platform limits
        raise DecodeError("timestamp out of range") from None


def _bool(v: object) -> bool:
    if not isinstance(v, bool):
        raise DecodeError("JSON boolean expected")
    return v


def _int(v: object) -> int:
    if type(v) is not int or not INT64_MIN <= v <= INT64_MAX:
        raise DecodeError("JSON integer expected")
    return v


def _str(v: object) -> str:
    if not isinstance(v, str):
        raise DecodeError("JSON string expected")
    return v


def _opt_str(v: object) -> str | None:
    return None if v is None else _str(v)


def _enum(cls: type[E], v: object) -> E:
    try:
        return cls(_str(v))
    except ValueError:
        raise DecodeError(f"bad {cls.__name__}") from None
