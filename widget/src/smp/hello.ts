/**
 * SMP transport handshake messages and client-side version negotiation
 * (src/hushwire/smp/hello.py; simplexmq Transport.hs SMPServerHandshake, SMPClientHandshake,
 * SMPServerHandshakeResponse, CertChainPubKey, smpClientHandshake; docs/protocol/smp.md).
 *
 * Handshake messages are parsed leniently: trailing bytes are ignored to allow extensions.
 * Certificates and the signed key stay opaque DER here (only their outer framing is
 * checked); crypto/x509.ts verifies them.
 */

import { DecodeError } from "../errors.js";
import { encode, latin1Decode, type Writer } from "../encoding.js";
import { PublicKey } from "../crypto/keys.js";
import { MAX_CERT_CHAIN, MIN_CERT_CHAIN } from "../limits.js";
import { encodeTransportError, parseTransportError, type TransportError } from "./errors.js";
import { parseLenient, type SmpReader } from "./reader.js";
import {
  AUTH_CMDS_VERSION,
  DELETED_EVENT_VERSION,
  ENCRYPTED_BLOCK_VERSION,
  PROXY_SERVER_HANDSHAKE_VERSION,
  SERVICE_CERTS_VERSION,
  VersionRange,
} from "./version.js";

/** True iff `der` is exactly one DER SEQUENCE (tag, definite length, contents). */
export function derFramingOk(der: Uint8Array): boolean {
  if (der.length < 2 || der[0] !== 0x30) return false;
  const n = der[1]!;
  if (n < 0x80) return der.length === 2 + n;
  const k = n - 0x80;
  if (k < 1 || k > 4 || der.length < 2 + k) return false;
  let length = 0;
  for (let i = 0; i < k; i++) length = length * 256 + der[2 + i]!;
  return der.length === 2 + k + length;
}

function derField(r: SmpReader): Uint8Array {
  const der = r.large();
  if (!derFramingOk(der)) throw new DecodeError("malformed DER object");
  return der;
}

/** Certificate chain (leaf first) and a session key signed by the leaf. */
export interface CertChainPubKey {
  certChain: readonly Uint8Array[];
  signedKey: Uint8Array;
}

export function encodeCertChainPubKey(w: Writer, c: CertChainPubKey): void {
  if (c.certChain.length < 1 || c.certChain.length > 255) {
    throw new RangeError("certificate chain must have 1..255 certificates");
  }
  w.byte(c.certChain.length);
  for (const cert of c.certChain) w.large(cert);
  w.large(c.signedKey);
}

export function parseCertChainPubKey(r: SmpReader): CertChainPubKey {
  const certChain = r.nonEmpty(derField);
  return { certChain, signedKey: derField(r) };
}

/** The 2..4 rule the client applies (the parser accepts any non-empty chain). */
export function chainLengthOk(c: CertChainPubKey): boolean {
  return c.certChain.length >= MIN_CERT_CHAIN && c.certChain.length <= MAX_CERT_CHAIN;
}

// --------------------------------------------------------------------------- server hello

/** First handshake block, server to client. `certKey` is on the wire only when max >= 7. */
export interface ServerHello {
  versionRange: VersionRange;
  sessionId: Uint8Array;
  certKey: CertChainPubKey | null;
}

export function encodeServerHello(h: ServerHello): Uint8Array {
  return encode((w) => {
    h.versionRange.encode(w);
    w.shortString(h.sessionId);
    if (h.versionRange.max >= AUTH_CMDS_VERSION && h.certKey !== null) encodeCertChainPubKey(w, h.certKey);
  });
}

/** Parse an unpadded server hello; trailing bytes are ignored. */
export function decodeServerHello(data: Uint8Array): ServerHello {
  return parseLenient(data, (r) => {
    const versionRange = VersionRange.parse(r);
    const sessionId = r.shortString();
    const certKey = versionRange.max >= AUTH_CMDS_VERSION ? r.optional(parseCertChainPubKey) : null;
    return { versionRange, sessionId, certKey };
  });
}

// --------------------------------------------------------------------------- client hello

export type ServiceRole = "M" | "N" | "P";

export interface ClientService {
  role: ServiceRole;
  certKey: CertChainPubKey;
}

/**
 * Second handshake block, client to server. Fields the version cannot carry are dropped when
 * encoding and default when decoding: the session key from v7, `proxyServer` from v14,
 * `clientService` from v16.
 */
export interface ClientHello {
  version: number;
  keyHash: Uint8Array;
  sessionKey: PublicKey | null;
  proxyServer: boolean;
  clientService: ClientService | null;
}

export function encodeClientHello(h: ClientHello): Uint8Array {
  if (h.sessionKey !== null && h.sessionKey.alg !== "X25519") {
    throw new RangeError("the client session key must be X25519");
  }
  return encode((w) => {
    const v = h.version;
    w.word16(v).shortString(h.keyHash);
    if (v >= AUTH_CMDS_VERSION && h.sessionKey !== null) w.shortString(h.sessionKey.toDer());
    if (v >= PROXY_SERVER_HANDSHAKE_VERSION) w.bool(h.proxyServer);
    if (v >= SERVICE_CERTS_VERSION) {
      w.maybe(h.clientService, (x, s) => {
        x.ascii(s.role);
        encodeCertChainPubKey(x, s.certKey);
      });
    }
  });
}

function x25519Key(r: SmpReader): PublicKey {
  const key = PublicKey.fromDer(r.shortString());
  if (key.alg !== "X25519") throw new DecodeError("X25519 key expected");
  return key;
}

function serviceRole(r: SmpReader): ServiceRole {
  const c = latin1Decode(r.take(1));
  if (c === "M" || c === "N" || c === "P") return c;
  throw new DecodeError("bad SMPServiceRole");
}

/** Parse an unpadded client hello; trailing bytes are ignored. */
export function decodeClientHello(data: Uint8Array): ClientHello {
  return parseLenient(data, (r) => {
    const version = r.word16();
    const keyHash = r.shortString();
    const sessionKey = version >= AUTH_CMDS_VERSION ? r.optional(x25519Key) : null;
    const proxyServer = version >= PROXY_SERVER_HANDSHAKE_VERSION ? r.bool() : false;
    const clientService =
      version >= SERVICE_CERTS_VERSION
        ? r.maybe((x) => {
            const role = serviceRole(x);
            return { role, certKey: parseCertChainPubKey(x) };
          })
        : null;
    return { version, keyHash, sessionKey, proxyServer, clientService };
  });
}

// --------------------------------------------------------------------------- service response

export type ServiceResponse = { accepted: true; serviceId: Uint8Array } | { accepted: false; error: TransportError };

export function encodeServiceResponse(s: ServiceResponse): Uint8Array {
  return encode((w) => {
    if (s.accepted) w.ascii("R").shortString(s.serviceId);
    else {
      w.ascii("E");
      encodeTransportError(w, s.error);
    }
  });
}

/** Parse an unpadded service response (v16+ third handshake block); trailing bytes ignored. */
export function decodeServiceResponse(data: Uint8Array): ServiceResponse {
  return parseLenient(data, (r): ServiceResponse => {
    const c = latin1Decode(r.take(1));
    if (c === "R") return { accepted: true, serviceId: r.shortString() };
    if (c === "E") return { accepted: false, error: parseTransportError(r) };
    throw new DecodeError("bad SMPServerHandshakeResponse");
  });
}

// --------------------------------------------------------------------------- negotiation

export interface Negotiated {
  version: number;
  versionRange: VersionRange;
  blockEncryption: boolean;
}

/**
 * Client side: pick the highest common version (smpClientHandshake); null if there is none.
 * An SMP proxy talking to a destination older than v14 caps its range at v10.
 */
export function negotiateClient(
  server: VersionRange,
  client: VersionRange,
  opts: { serverHasKey: boolean; clientHasKey: boolean; proxyServer?: boolean },
): Negotiated | null {
  const proxy = opts.proxyServer ?? false;
  let rng = client;
  if (proxy && server.max < PROXY_SERVER_HANDSHAKE_VERSION) {
    rng = new VersionRange(client.min, Math.max(client.min, DELETED_EVENT_VERSION));
  }
  const common = server.intersect(rng);
  if (common === null) return null;
  const v = common.max;
  const blockEncryption = v >= ENCRYPTED_BLOCK_VERSION && opts.serverHasKey && opts.clientHasKey && !proxy;
  return { version: v, versionRange: common, blockEncryption };
}
