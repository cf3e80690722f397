/**
 * SMP binary primitives: a bounded Reader, a Writer, and the string encodings the widget needs.
 *
 * Mirrors src/hushwire/encoding/binary.py and strings.py (simplexmq
 * `Simplex.Messaging.Encoding`, docs/protocol/smp.md): Word16/Word32/Word64 big-endian,
 * Int64 two's complement big-endian (as `bigint`), SystemTime as Int64 seconds, shortString
 * (1 length byte), Large (Word16 length), Tail (rest of input), Bool as ASCII `T`/`F`, Maybe
 * as ASCII `0`/`1`, lists and NonEmpty with a count byte.
 *
 * Every Reader method throws only {@link DecodeError}, and every length is checked against
 * what remains before anything is read. Writer methods throw `RangeError` for values a
 * field cannot hold (a programming error, as Python's `ValueError`).
 */

import { DecodeError } from "./errors.js";
import { MAX_LARGE, MAX_SHORT_STRING } from "./limits.js";

export type Bytes = Uint8Array;

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const WORD64_MAX = (1n << 64n) - 1n;

/** ASCII/Latin-1 bytes of a string whose characters are all below 256. */
export function latin1(s: string): Bytes {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new RangeError("character outside Latin-1");
    out[i] = c;
  }
  return out;
}

/** The Latin-1 string of some bytes (one character per byte). */
export function latin1Decode(b: Bytes): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

const UTF8_ENCODER = new TextEncoder();

export function utf8(s: string): Bytes {
  return UTF8_ENCODER.encode(s);
}

/**
 * UTF-8 decode replacing each invalid sequence with `?` (simplexmq safeDecodeUtf8).
 * TextDecoder substitutes U+FFFD per maximal invalid subpart, as Python's decoder reports
 * them. Valid input (including a genuine U+FFFD) is returned as is; in input that also has
 * invalid bytes a genuine U+FFFD would become `?` too (display text only, never parsed).
 */
export function safeDecodeUtf8(b: Bytes): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(b);
  } catch {
    return new TextDecoder("utf-8").decode(b).replace(/\uFFFD/g, "?");
  }
}

export function concat(...parts: readonly Bytes[]): Bytes {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let i = 0;
  for (const p of parts) {
    out.set(p, i);
    i += p.length;
  }
  return out;
}

/** Plain (not constant-time) equality, for public values only. */
export function bytesEqual(a: Bytes, b: Bytes): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const HEX = "0123456789abcdef";

export function toHex(b: Bytes): string {
  let s = "";
  for (let i = 0; i < b.length; i++) {
    const x = b[i]!;
    s += HEX[x >> 4]! + HEX[x & 15]!;
  }
  return s;
}

export function fromHex(s: string): Bytes {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new DecodeError("invalid hex");
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// --------------------------------------------------------------------------- base64url

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64URL_INDEX = new Map<string, number>([...B64URL].map((c, i) => [c, i]));
const B64URL_RE = /^[A-Za-z0-9_-]*={0,2}$/;

/** base64url, with `=` padding by default as simplexmq writes it. */
export function base64urlEncode(data: Bytes, padded = true): string {
  let s = "";
  let i = 0;
  for (; i + 3 <= data.length; i += 3) {
    const n = (data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!;
    s += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]! + B64URL[n & 63]!;
  }
  const rest = data.length - i;
  if (rest === 1) {
    const n = data[i]! << 16;
    s += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + (padded ? "==" : "");
  } else if (rest === 2) {
    const n = (data[i]! << 16) | (data[i + 1]! << 8);
    s += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]! + (padded ? "=" : "");
  }
  return s;
}

/**
 * Decode base64url with or without padding (encoding/strings.py b64url_decode): the empty
 * string, wrong padding, other alphabets and non-canonical trailing bits are DecodeErrors.
 */
export function base64urlDecode(text: string): Bytes {
  if (text.length === 0 || !B64URL_RE.test(text)) throw new DecodeError("invalid base64url");
  const body = text.replace(/=+$/, "");
  if (body.length % 4 === 1) throw new DecodeError("invalid base64url length");
  const padding = "=".repeat((4 - (body.length % 4)) % 4);
  if (text !== body && text !== body + padding) throw new DecodeError("invalid base64url padding");
  const out = new Uint8Array(Math.floor((body.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let j = 0;
  for (const c of body) {
    acc = ((acc << 6) | B64URL_INDEX.get(c)!) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 0xff;
    }
  }
  // Reject non-canonical trailing bits so that decode(encode(x)) is a bijection.
  if (bits > 0 && (acc & ((1 << bits) - 1)) !== 0) throw new DecodeError("non-canonical base64url");
  return out;
}

// --------------------------------------------------------------------------- writer

/** Appends SMP primitives; `toBytes()` returns the concatenation. */
export class Writer {
  private readonly parts: Bytes[] = [];
  private size = 0;

  get length(): number {
    return this.size;
  }

  bytes(b: Bytes): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }

  byte(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > 0xff) throw new RangeError(`byte out of range: ${n}`);
    return this.bytes(Uint8Array.of(n));
  }

  /** ASCII text (tags, literals). */
  ascii(s: string): this {
    return this.bytes(latin1(s));
  }

  word16(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`Word16 out of range: ${n}`);
    return this.bytes(Uint8Array.of(n >> 8, n & 0xff));
  }

  word32(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`Word32 out of range: ${n}`);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n);
    return this.bytes(b);
  }

  word64(n: bigint): this {
    if (n < 0n || n > WORD64_MAX) throw new RangeError(`Word64 out of range: ${n}`);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, n);
    return this.bytes(b);
  }

  int64(n: bigint): this {
    if (n < INT64_MIN || n > INT64_MAX) throw new RangeError(`Int64 out of range: ${n}`);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, n);
    return this.bytes(b);
  }

  /** SystemTime: Int64 seconds. */
  systemTime(seconds: bigint): this {
    return this.int64(seconds);
  }

  shortString(b: Bytes): this {
    if (b.length > MAX_SHORT_STRING) throw new RangeError(`shortString longer than 255 bytes: ${b.length}`);
    return this.byte(b.length).bytes(b);
  }

  large(b: Bytes): this {
    if (b.length > MAX_LARGE) throw new RangeError(`Large longer than 65535 bytes: ${b.length}`);
    return this.word16(b.length).bytes(b);
  }

  bool(v: boolean): this {
    return this.byte(v ? 0x54 : 0x46);
  }

  maybe<T>(v: T | null | undefined, enc: (w: Writer, x: T) => void): this {
    if (v === null || v === undefined) return this.byte(0x30);
    this.byte(0x31);
    enc(this, v);
    return this;
  }

  list<T>(items: readonly T[], enc: (w: Writer, x: T) => void): this {
    if (items.length > 255) throw new RangeError(`list longer than 255 items: ${items.length}`);
    this.byte(items.length);
    for (const x of items) enc(this, x);
    return this;
  }

  nonEmpty<T>(items: readonly T[], enc: (w: Writer, x: T) => void): this {
    if (items.length === 0) throw new RangeError("NonEmpty list is empty");
    return this.list(items, enc);
  }

  toBytes(): Bytes {
    return concat(...this.parts);
  }
}

/** Build bytes with a Writer. */
export function encode(f: (w: Writer) => void): Bytes {
  const w = new Writer();
  f(w);
  return w.toBytes();
}

// --------------------------------------------------------------------------- reader

/** A bounded cursor over bytes. Any short or malformed read throws {@link DecodeError}. */
export class Reader {
  protected readonly data: Bytes;
  protected offset: number;

  constructor(data: Bytes, offset = 0) {
    this.data = data;
    this.offset = offset;
  }

  get pos(): number {
    return this.offset;
  }

  get remaining(): number {
    return this.data.length - this.offset;
  }

  atEnd(): boolean {
    return this.offset >= this.data.length;
  }

  /** Fail unless the whole input was consumed (strict parsing). */
  end(): void {
    if (this.offset !== this.data.length) throw new DecodeError(`${this.remaining} trailing bytes`);
  }

  /** `n` bytes, copied (so callers may keep them). */
  take(n: number): Bytes {
    if (!Number.isInteger(n) || n < 0 || n > this.remaining) {
      throw new DecodeError(`need ${n} bytes, ${this.remaining} remain`);
    }
    const start = this.offset;
    this.offset += n;
    return this.data.slice(start, this.offset);
  }

  /** The next byte without consuming it, or undefined at the end. */
  peek(): number | undefined {
    return this.offset < this.data.length ? this.data[this.offset] : undefined;
  }

  byte(): number {
    if (this.offset >= this.data.length) throw new DecodeError("need 1 byte, 0 remain");
    return this.data[this.offset++]!;
  }

  expect(literal: Bytes): void {
    const got = this.take(literal.length);
    if (!bytesEqual(got, literal)) throw new DecodeError("unexpected bytes");
  }

  expectAscii(literal: string): void {
    this.expect(latin1(literal));
  }

  word16(): number {
    const b = this.take(2);
    return (b[0]! << 8) | b[1]!;
  }

  word32(): number {
    return new DataView(this.take(4).buffer).getUint32(0);
  }

  word64(): bigint {
    return new DataView(this.take(8).buffer).getBigUint64(0);
  }

  int64(): bigint {
    return new DataView(this.take(8).buffer).getBigInt64(0);
  }

  systemTime(): bigint {
    return this.int64();
  }

  shortString(): Bytes {
    return this.take(this.byte());
  }

  large(): Bytes {
    return this.take(this.word16());
  }

  tail(): Bytes {
    return this.take(this.remaining);
  }

  bool(): boolean {
    const b = this.byte();
    if (b === 0x54) return true;
    if (b === 0x46) return false;
    throw new DecodeError("invalid Bool");
  }

  maybe<T>(dec: (r: this) => T): T | null {
    const b = this.byte();
    if (b === 0x30) return null;
    if (b === 0x31) return dec(this);
    throw new DecodeError("invalid Maybe tag");
  }

  list<T>(dec: (r: this) => T): T[] {
    const n = this.byte();
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(dec(this));
    return out;
  }

  nonEmpty<T>(dec: (r: this) => T): T[] {
    if (this.peek() === 0) throw new DecodeError("empty list");
    return this.list(dec);
  }

  /** Attoparsec `optional`: try `dec`; on a DecodeError rewind and return null. */
  optional<T>(dec: (r: this) => T): T | null {
    const saved = this.offset;
    try {
      return dec(this);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.offset = saved;
      return null;
    }
  }
}

/** Decode `data` with `dec` and require that every byte was consumed. */
export function parseAll<T>(data: Bytes, dec: (r: Reader) => T): T {
  const r = new Reader(data);
  const v = dec(r);
  r.end();
  return v;
}
