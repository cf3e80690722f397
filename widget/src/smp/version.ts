/**
 * SMP protocol versions and version ranges (src/hushwire/smp/version.py; simplexmq
 * Version.hs VersionRange/compatibleVersion/compatibleVRange', Transport.hs version history).
 */

import { DecodeError } from "../errors.js";
import type { Reader, Writer } from "../encoding.js";
import { MAX_MESSAGE_LENGTH_V11, MAX_MESSAGE_LENGTH_V6, MAX_MESSAGE_LENGTH_V8 } from "../limits.js";

/** v6: create queues without subscribing (NEW subMode). */
export const SUB_MODE_VERSION = 6;
/** v7: CbAuthenticator, session id implied (not sent), server key in the hello. */
export const AUTH_CMDS_VERSION = 7;
/** v8: SMP proxy. */
export const SENDING_PROXY_VERSION = 8;
/** v9: SKEY and sndSecure in NEW/IDS. */
export const SND_AUTH_KEY_VERSION = 9;
/** v10: DELD event. */
export const DELETED_EVENT_VERSION = 10;
/** v11: transport block encryption. */
export const ENCRYPTED_BLOCK_VERSION = 11;
/** v12: BLOCKED error. */
export const BLOCKED_ENTITY_VERSION = 12;
/** v14: proxyServer flag in the client hello. */
export const PROXY_SERVER_HANDSHAKE_VERSION = 14;
/** v15: short links (NEW with QueueReqData). */
export const SHORT_LINKS_VERSION = 15;
/** v16: service certificates (service signature field, SOK). */
export const SERVICE_CERTS_VERSION = 16;
/** v17: notifier credentials in NEW/IDS. */
export const NEW_NTF_CREDS_VERSION = 17;
/** v18: client notices (in BLOCKED). */
export const CLIENT_NOTICES_VERSION = 18;

export const MIN_SMP_VERSION = 6;
export const CURRENT_SMP_VERSION = 18;

/** An inclusive range of protocol versions; `min <= max` always holds. */
export class VersionRange {
  readonly min: number;
  readonly max: number;

  constructor(min: number, max: number) {
    if (!isWord16(min) || !isWord16(max)) throw new RangeError(`version out of Word16 range: ${min}..${max}`);
    if (min > max) throw new RangeError(`invalid version range ${min}..${max}`);
    this.min = min;
    this.max = max;
  }

  encode(w: Writer): void {
    w.word16(this.min).word16(this.max);
  }

  static parse(r: Reader): VersionRange {
    const lo = r.word16();
    const hi = r.word16();
    if (lo > hi) throw new DecodeError("invalid version range");
    return new VersionRange(lo, hi);
  }

  contains(v: number): boolean {
    return this.min <= v && v <= this.max;
  }

  /** The common sub-range (compatibleVRange), or null. */
  intersect(other: VersionRange): VersionRange | null {
    const lo = Math.max(this.min, other.min);
    const hi = Math.min(this.max, other.max);
    return lo <= hi ? new VersionRange(lo, hi) : null;
  }

  /** compatibleVRange': `min..v` if `v` is in this range, else null. */
  capped(v: number): VersionRange | null {
    return this.contains(v) ? new VersionRange(this.min, v) : null;
  }

  toString(): string {
    return `${this.min}..${this.max}`;
  }
}

function isWord16(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffff;
}

/** Highest version in both ranges (compatibleVersion), or null. */
export function compatible(a: VersionRange, b: VersionRange): number | null {
  const common = a.intersect(b);
  return common === null ? null : common.max;
}

/** Largest SEND body for the sender's version (Protocol.hs maxMessageLength). */
export function maxMessageLength(v: number): number {
  if (v >= ENCRYPTED_BLOCK_VERSION) return MAX_MESSAGE_LENGTH_V11;
  if (v >= SENDING_PROXY_VERSION) return MAX_MESSAGE_LENGTH_V8;
  return MAX_MESSAGE_LENGTH_V6;
}
