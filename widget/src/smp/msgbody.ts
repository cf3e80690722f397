/**
 * The plaintext a server encrypts for the recipient inside MSG (src/hushwire/smp/msgbody.py;
 * simplexmq Protocol.hs encodeRcvMsgBody / clientRcvMsgBodyP, Crypto.hs padMaxLenBS;
 * docs/protocol/smp.md). Unpadded forms:
 *
 *     message: Int64 timestamp ‖ flags ('T'/'F') ‖ ' ' ‖ SEND body verbatim     (10 + |body|)
 *     quota:   "QUOTA" ‖ ' ' ‖ Int64 timestamp                                   (14 bytes)
 *
 * The server pads them to 16106 bytes before encryption (16122 bytes with the tag).
 */

import { encode, type Bytes } from "../encoding.js";
import { pad, unpad } from "../crypto/padding.js";
import { ENCRYPTED_MSG_BODY_PAD, MAX_MESSAGE_LENGTH_V6 } from "../limits.js";
import { parseMsgFlags, type MsgFlags } from "./commands.js";
import { parseAll, type SmpReader } from "./reader.js";

/** MaxMessageLen = 16088: the largest body the recipient form carries. */
export const MAX_RCV_BODY = MAX_MESSAGE_LENGTH_V6;

export type RcvMessage =
  | { kind: "message"; ts: bigint; flags: MsgFlags; body: Bytes }
  | { kind: "quota"; ts: bigint };

export function encodeRcvMsgBody(m: RcvMessage): Bytes {
  return encode((w) => {
    if (m.kind === "quota") {
      w.ascii("QUOTA ").int64(m.ts);
      return;
    }
    if (m.body.length > MAX_RCV_BODY) throw new RangeError(`message body longer than ${MAX_RCV_BODY} bytes`);
    w.int64(m.ts).bool(m.flags.notification).ascii(" ").bytes(m.body);
  });
}

function quota(r: SmpReader): RcvMessage {
  r.expectAscii("QUOTA");
  r.sp();
  return { kind: "quota", ts: r.int64() };
}

function message(r: SmpReader): RcvMessage {
  const ts = r.int64();
  const flags = parseMsgFlags(r);
  r.sp();
  return { kind: "message", ts, flags, body: r.tail() };
}

/** Decode the unpadded plaintext (clientRcvMsgBodyP, strict). */
export function decodeRcvMsgBody(data: Bytes): RcvMessage {
  // `msgQuotaP <|> msgBodyP`: once the quota form parsed, the whole input must end there.
  return parseAll(data, (r) => r.optional(quota) ?? message(r));
}

/** The 16106-byte padded plaintext the server encrypts. */
export function padRcvMsgBody(m: RcvMessage): Bytes {
  return pad(encodeRcvMsgBody(m), ENCRYPTED_MSG_BODY_PAD);
}

/** Decode the padded plaintext (as opened, before unpad). */
export function unpadRcvMsgBody(padded: Bytes): RcvMessage {
  return decodeRcvMsgBody(unpad(padded));
}
