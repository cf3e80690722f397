/**
 * SMP server addresses: `smp://<keyHash>[:<basicAuth>]@<host>[,<host>...][:<port>]`
 * (src/hushwire/smp/address.py; simplexmq Protocol.hs strEncodeServer/serverStrP). The key
 * hash is the SHA-256 fingerprint of the server's CA certificate in base64url.
 */

import { DecodeError } from "../errors.js";
import { base64urlDecode, base64urlEncode } from "../encoding.js";

export const DEFAULT_SMP_PORT = 5223;

const HOST = /^[^:#,;/ \n\r\t@[\]]+/;
const IPV6 = /^\[([0-9A-Fa-f:.]+)\]/;
const AUTH_OK = /^[!-~]+$/;

export interface SMPServer {
  hosts: readonly string[];
  keyHash: Uint8Array;
  port: number | null;
  basicAuth: string | null;
}

/** Parse an address; anything malformed throws DecodeError saying what is wrong. */
export function parseSMPServer(text: string): SMPServer {
  if (!text.startsWith("smp://")) throw new DecodeError("an SMP server address starts with smp://");
  const rest = text.slice("smp://".length);
  const at = rest.indexOf("@");
  if (at < 0) throw new DecodeError("an SMP server address needs '@' between key hash and host");
  const ident = rest.slice(0, at);
  const location = rest.slice(at + 1);
  const colon = ident.indexOf(":");
  const keyText = colon < 0 ? ident : ident.slice(0, colon);
  const auth = colon < 0 ? null : ident.slice(colon + 1);
  let keyHash: Uint8Array;
  try {
    keyHash = base64urlDecode(keyText);
  } catch {
    throw new DecodeError("the key hash is not base64url");
  }
  if (keyHash.length !== 32) throw new DecodeError("the key hash must be 32 bytes");
  if (auth !== null && (!AUTH_OK.test(auth) || /[@:/]/.test(auth))) {
    throw new DecodeError("invalid character in the server password");
  }
  const hosts: string[] = [];
  let pos = 0;
  for (;;) {
    const tail = location.slice(pos);
    const m6 = IPV6.exec(tail);
    const m = m6 ?? HOST.exec(tail);
    if (m === null) throw new DecodeError("an SMP server address needs a host");
    hosts.push(m6 !== null ? m6[1]! : m[0]);
    pos += m[0].length;
    if (location[pos] === ",") {
      pos++;
      continue;
    }
    break;
  }
  let port: number | null = null;
  if (pos < location.length) {
    const portText = location[pos] === ":" ? location.slice(pos + 1) : "";
    if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw new DecodeError("the port must be a number from 1 to 65535");
    }
    port = Number(portText);
  }
  return { hosts, keyHash, port, basicAuth: auth };
}

export function encodeSMPServer(s: SMPServer): string {
  const hosts = s.hosts.map((h) => (h.includes(":") ? `[${h}]` : h)).join(",");
  const auth = s.basicAuth ? `:${s.basicAuth}` : "";
  const port = s.port !== null ? `:${s.port}` : "";
  return `smp://${base64urlEncode(s.keyHash)}${auth}@${hosts}${port}`;
}
