/**
 * SMP server addresses, the widget's one codec of SMPServer (src/hushwire/smp/address.py;
 * simplexmq Protocol.hs ProtocolServer StrEncoding and Encoding, legacyEncodeServer,
 * Agent/Protocol.hs extraSMPServerHosts; docs/protocol/smp.md):
 *
 * - text: `smp://<keyHash>[:<basicAuth>]@<host>[,<host>...][:<port>]`, the key hash being the
 *   SHA-256 fingerprint of the server's CA certificate in base64url;
 * - binary (queue addresses): NonEmpty shortString hosts | port ("" = default) | keyHash; the
 *   legacy form (SMP client version 1) carries one host.
 *
 * Links (agent/links.ts) and queue addresses (agent/protocol.ts) read and write servers here.
 */

import { DecodeError } from "../errors.js";
import { base64urlDecode, base64urlEncode, latin1, latin1Decode, type Bytes, type Reader, type Writer } from "../encoding.js";

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
  const { hosts, port } = parseLocation(location);
  return { hosts, keyHash, port, basicAuth: auth };
}

export function encodeSMPServer(s: SMPServer): string {
  const auth = s.basicAuth ? `:${s.basicAuth}` : "";
  const port = s.port !== null ? `:${s.port}` : "";
  return `smp://${base64urlEncode(s.keyHash)}${auth}@${formatHosts(s.hosts)}${port}`;
}

/** Hosts as the text form writes them: comma-separated, IPv6 in brackets. */
export function formatHosts(hosts: readonly string[]): string {
  return hosts.map((h) => (h.includes(":") ? `[${h}]` : h)).join(",");
}

/** `<host>[,<host>...][:<port>]`: what follows the `@` of the text form. */
export function parseLocation(location: string): { hosts: string[]; port: number | null } {
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
  return { hosts, port };
}

/**
 * Onion hosts added to legacy (v1) single-host addresses of SimpleX's preset servers
 * (extraSMPServerHosts, updateSMPServerHosts). Empty in the widget, which cannot reach onion
 * hosts anyway; agent/presets.ts fills it (the tests import it to match the reference exactly).
 */
export const EXTRA_HOSTS: Record<string, string> = {};

/** A legacy single-host address of a preset server gains its onion host. */
export function withExtraHosts(hosts: string[]): string[] {
  const onion = hosts.length === 1 ? EXTRA_HOSTS[hosts[0]!] : undefined;
  return onion === undefined ? hosts : [hosts[0]!, onion];
}

// --------------------------------------------------------------------------- binary form

/**
 * A TransportHost kept as text (brackets of an IPv6 address dropped). The reference parses
 * IPv4, IPv6, onion and domain forms; the widget only compares and prints hosts (it connects
 * through its own WebSocket URL), so it checks for printable ASCII without separators.
 */
function parseHost(raw: Bytes): string {
  const text = latin1Decode(raw);
  const bare = /^\[.*\]$/.test(text) ? text.slice(1, -1) : text;
  if (!/^[!-~]+$/.test(bare) || /[#,;/@[\]]/.test(bare)) throw new DecodeError("invalid host");
  return bare;
}

/** Binary ProtocolServer; `legacy` writes the first host only (legacyEncodeServer). */
export function encodeServerBinary(w: Writer, server: SMPServer, legacy: boolean): void {
  const host = (w2: Writer, h: string): void => void w2.shortString(latin1(h));
  if (legacy) host(w, server.hosts[0]!);
  else w.nonEmpty(server.hosts, host);
  w.shortString(latin1(server.port === null ? "" : String(server.port)));
  w.shortString(server.keyHash);
}

/** Inverse of {@link encodeServerBinary}; a legacy address may gain its onion host. */
export function parseServerBinary(r: Reader, legacy: boolean): SMPServer {
  const hosts = legacy ? withExtraHosts([parseHost(r.shortString())]) : r.nonEmpty((x) => parseHost(x.shortString()));
  const rawPort = latin1Decode(r.shortString());
  let port: number | null = null;
  if (rawPort !== "") {
    if (!/^[1-9][0-9]{0,4}$/.test(rawPort) || Number(rawPort) > 65535) throw new DecodeError("bad port");
    port = Number(rawPort);
  }
  const keyHash = r.shortString();
  if (keyHash.length !== 32) throw new DecodeError("key hash must be 32 bytes");
  return { hosts, keyHash, port, basicAuth: null };
}
