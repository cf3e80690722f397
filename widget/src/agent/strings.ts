/**
 * The string encodings of links: percent-encoding, query strings, version ranges.
 *
 * Mirrors src/hushwire/encoding/strings.py (percent_encode, percent_decode, render_query,
 * parse_query, query_param) and the version-range strings of links.py (simplexmq
 * Agent/QueryString.hs, http-types renderSimpleQuery/parseSimpleQuery, Version.hs strP).
 */

import { DecodeError } from "../errors.js";
import { utf8 } from "../encoding.js";
import { VersionRange } from "../smp/version.js";

const HEX = "0123456789ABCDEF";

function unreserved(b: number): boolean {
  return (
    (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x5f || b === 0x2e || b === 0x7e
  );
}

/** Only `A-Z a-z 0-9 - _ . ~` stay literal; every other UTF-8 byte becomes `%XX`. */
export function percentEncode(text: string): string {
  let out = "";
  for (const b of utf8(text)) out += unreserved(b) ? String.fromCharCode(b) : "%" + HEX[b >> 4]! + HEX[b & 15]!;
  return out;
}

function isHex(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);
}

/** Decode `%XX` (and `+` as a space in query values); bad escapes pass through; the result must be UTF-8. */
export function percentDecode(text: string, plusIsSpace = false): string {
  const raw = utf8(text);
  const out = new Uint8Array(raw.length);
  let j = 0;
  for (let i = 0; i < raw.length; ) {
    const c = raw[i]!;
    if (c === 0x25 && i + 2 < raw.length && isHex(raw[i + 1]!) && isHex(raw[i + 2]!)) {
      out[j++] = parseInt(String.fromCharCode(raw[i + 1]!, raw[i + 2]!), 16);
      i += 3;
      continue;
    }
    out[j++] = plusIsSpace && c === 0x2b ? 0x20 : c;
    i++;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(out.subarray(0, j));
  } catch {
    throw new DecodeError("percent-decoded text is not UTF-8");
  }
}

export type Query = [string, string][];

/** `name=value&...`, names and values percent-encoded. */
export function renderQuery(pairs: Query): string {
  return pairs.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join("&");
}

/** Parse a query string as http-types parseSimpleQuery does (`&` or `;` between pairs). */
export function parseQuery(text: string): Query {
  const body = text.startsWith("?") ? text.slice(1) : text;
  const pairs: Query = [];
  for (const part of body.split(/[&;]/)) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? "" : part.slice(eq + 1);
    pairs.push([percentDecode(name, true), percentDecode(value, true)]);
  }
  return pairs;
}

/** The first value of `name` (queryParamStr), or null. */
export function queryParam(pairs: Query, name: string): string | null {
  for (const [k, v] of pairs) if (k === name) return v;
  return null;
}

const VRANGE = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/;

/** `"a-b"` or `"a"` (Version.hs VersionRange StrEncoding); DecodeError (or `make`'s error) otherwise. */
export function parseVersionRange(text: string, make: (msg: string) => Error = (m) => new DecodeError(m)): VersionRange {
  const m = VRANGE.exec(text);
  const lo = Number(m?.[1]);
  const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
  if (m === null || hi > 0xffff || lo > hi) throw make("bad version range (expected a number or a-b)");
  return new VersionRange(lo, hi);
}

export function formatVersionRange(vr: VersionRange): string {
  return vr.min === vr.max ? `${vr.min}` : `${vr.min}-${vr.max}`;
}
