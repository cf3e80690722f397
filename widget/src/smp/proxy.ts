/**
 * SMP private message routing, the sender's side: sending to a queue on another relay through
 * the relay this client is connected to (the proxy), so the other relay never sees the
 * sender's address.
 *
 * Mirrors the client part of src/hushwire/smp/proxy.py and src/hushwire/client/proxy.py
 * (simplexmq Client.hs connectSMPProxiedRelay, proxySMPCommand; Protocol.hs PRXY, PKEY, PFWD,
 * PRES, paddedProxiedTLength; Crypto.hs cbEncrypt, reverseNonce; docs/protocol/smp.md,
 * "Private message routing"). Byte-identical to the Python codec on tests/vectors/smp_proxy.json.
 * It is not in the core bundle but in the "proxy" module (modules/proxy.ts), which the page
 * loads when the owner's queues are on another relay than the widget's.
 *
 * Theory of operation:
 * 1. {@link proxySession}: `PRXY server [password]` to the proxy; it answers
 *    `PKEY sessId vr certKey` with its session to the destination, whose identity
 *    {@link acceptPKEY} checks against the key hash of the destination's address (the browser
 *    never sees the destination's TLS: PKEY is the only proof of who it is) and whose version
 *    range picks the version of the inner transmissions.
 * 2. {@link sealForwarded}: a fresh X25519 key and a random 24-byte nonce N, which is at once
 *    the PFWD corrId, the inner transmission's corrId and the box nonce. The inner transmission
 *    (signed for the proxy-destination session) is batched, padded to 16226 bytes and boxed
 *    under X25519(destination's session key, fresh key): `PFWD v key EncTransmission`, sent
 *    with entity = sessId and no authorization.
 * 3. {@link openForwarded}: the proxy passes the destination's `PRES EncResponse` on; it opens
 *    with the byte-reversed N and holds exactly one transmission. An `ERR` inside is the
 *    destination's answer (AUTH, QUOTA...), thrown as if the command had been sent directly;
 *    an `ERR PROXY ...` answered to PRXY or PFWD itself is the proxy's.
 */

import { DecodeError, CryptoError } from "../errors.js";
import { encode, latin1, type Bytes } from "../encoding.js";
import { KeyPair, type PrivateKey, type PublicKey } from "../crypto/keys.js";
import { cbAuthenticate, cbDecrypt, cbEncrypt, dhBoxKey, reverseNonce } from "../crypto/nacl.js";
import { randomBytes } from "../crypto/random.js";
import { validateChain, verifySignedKey } from "../crypto/x509.js";
import { encodeServerBinary, type SMPServer } from "./address.js";
import { encodeBatch } from "./block.js";
import { encodeCommand, type BrokerMsg, type Command } from "./commands.js";
import type { ErrorType, TransportError } from "./errors.js";
import { parseCertChainPubKey, type CertChainPubKey } from "./hello.js";
import { parseAll } from "./reader.js";
import { authorizedBytes, decodeServerBatch, encodeClientTransmission } from "./transmission.js";
import { compatible, CURRENT_SMP_VERSION, MIN_SMP_VERSION, SENDING_PROXY_VERSION, VersionRange } from "./version.js";

/** Padded size of the inner batch both ways (Protocol.hs paddedProxiedTLength). */
export const PADDED_PROXIED_LENGTH = 16226;
/** Size of the nonce N, sent as the PFWD corrId. */
export const FWD_NONCE_SIZE = 24;
/** The versions the inner transmission may use (supportedClientSMPRelayVRange). */
const INNER_RANGE = new VersionRange(MIN_SMP_VERSION, CURRENT_SMP_VERSION);

const transport = (error: TransportError): ErrorType => ({ tag: "PROXY", error: { tag: "BROKER", error: { tag: "TRANSPORT", error } } });
/** No common version (at least 8) with PKEY's range: `PROXY BROKER TRANSPORT VERSION`. */
export const ERR_TRANSPORT_VERSION = transport({ tag: "VERSION" });
/** The destination's identity does not check out: `PROXY BROKER TRANSPORT HANDSHAKE IDENTITY`. */
export const ERR_HANDSHAKE_IDENTITY = transport({ tag: "HANDSHAKE", error: "IDENTITY" });

/** PRXY's parameters: the destination (all hosts, port, key hash) and the proxy's password. */
export function encodePRXY(destination: SMPServer, password: string | null): Bytes {
  return encode((w) => {
    w.ascii(" ");
    encodeServerBinary(w, destination, false);
    w.maybe(password, (x, p) => x.shortString(latin1(p)));
  });
}

/** PKEY's parameters: `ss(sessId) ‖ Word16 min ‖ Word16 max ‖ CertChainPubKey`. */
export interface PKEY {
  sessionId: Bytes;
  versionRange: VersionRange;
  certKey: CertChainPubKey;
}

/** Parse what follows "PKEY "; DecodeError unless it parses exactly. */
export function decodePKEY(data: Bytes): PKEY {
  return parseAll(data, (r) => {
    const sessionId = r.shortString();
    const min = r.word16();
    const max = r.word16();
    if (min > max) throw new DecodeError("bad version range");
    return { sessionId, versionRange: new VersionRange(min, max), certKey: parseCertChainPubKey(r) };
  });
}

/** A destination reached through the proxy, as PKEY made it known (Client.hs ProxiedRelay). */
export interface ProxiedRelay {
  /** The proxy-destination session id: the entity of every PFWD. */
  sessionId: Bytes;
  /** Version of the inner transmissions. */
  version: number;
  /** The destination's X25519 session key, signed by its certificate chain. */
  serverKey: PublicKey;
}

/**
 * Client, on PKEY: the relay to send through, or the reference's error: no common version of
 * at least 8 is {@link ERR_TRANSPORT_VERSION}; a chain that is not 2..4 certificates, whose
 * identity certificate does not hash to `keyHash`, not valid at `now` (seconds), or whose leaf
 * did not sign the session key is {@link ERR_HANDSHAKE_IDENTITY}.
 */
export function acceptPKEY(pkey: PKEY, keyHash: Bytes, now: number): ProxiedRelay | ErrorType {
  const v = compatible(INNER_RANGE, pkey.versionRange);
  if (v === null || v < SENDING_PROXY_VERSION) return ERR_TRANSPORT_VERSION;
  const chain = pkey.certKey.certChain;
  try {
    validateChain(chain, keyHash, now);
    return { sessionId: pkey.sessionId, version: v, serverKey: verifySignedKey(chain[0]!, pkey.certKey.signedKey) };
  } catch (e) {
    if (e instanceof CryptoError || e instanceof DecodeError) return ERR_HANDSHAKE_IDENTITY;
    throw e;
  }
}

/** A command sealed for the destination: send `pfwd` with corrId `nonce`, and keep `boxKey`. */
export interface SealedForward {
  /** PFWD's parameters: `Word16 v ‖ ss(cmdKey) ‖ EncTransmission` (after the space). */
  pfwd: Bytes;
  nonce: Bytes;
  version: number;
  boxKey: Bytes;
}

/**
 * The inner transmission at `relay.version`, the proxy-destination session id implied; `auth`
 * signs (Ed25519/Ed448) or authenticates (X25519, with the destination's session key and the
 * nonce) `ss(sessId) ‖ ss(nonce) ‖ ss(entity) ‖ command`.
 */
export function encodeForwardedTransmission(relay: ProxiedRelay, nonce: Bytes, entityId: Bytes, command: Command, auth: PrivateKey | null): Bytes {
  const v = relay.version;
  const cmd = encodeCommand(v, command);
  let a: Bytes = new Uint8Array(0);
  if (auth !== null) {
    const data = authorizedBytes(relay.sessionId, nonce, entityId, cmd);
    a = auth.alg === "X25519" ? cbAuthenticate(relay.serverKey, auth, nonce, data) : auth.sign(data);
  }
  return encodeClientTransmission(v, relay.sessionId, nonce, entityId, cmd, a);
}

/**
 * Client: seal `command` for the queue or link `entityId` at the destination (PFWD).
 * `cmdKey` (X25519) and the 24-byte `nonce` are fresh for this one command. RangeError if the
 * transmission does not fit the 16226-byte padded batch.
 */
export function sealForwarded(relay: ProxiedRelay, entityId: Bytes, command: Command, auth: PrivateKey | null, cmdKey: KeyPair, nonce: Bytes): SealedForward {
  if (nonce.length !== FWD_NONCE_SIZE) throw new RangeError("the forwarding nonce is 24 bytes");
  const t = encodeForwardedTransmission(relay, nonce, entityId, command, auth);
  const boxKey = dhBoxKey(relay.serverKey, cmdKey.private);
  const enc = cbEncrypt(boxKey, nonce, encodeBatch([t]), PADDED_PROXIED_LENGTH);
  const pfwd = encode((w) => w.ascii(" ").word16(relay.version).shortString(cmdKey.public.toDer()).bytes(enc));
  return { pfwd, nonce, version: relay.version, boxKey };
}

/**
 * Client, on PRES (what follows "PRES "): the destination's one answer, or the ErrorType it
 * failed to decode with. CryptoError if the box does not open under the reversed nonce,
 * DecodeError unless it holds exactly one transmission (the reference's TEBadBlock).
 */
export function openForwarded(sealed: SealedForward, pres: Bytes, sessionId: Bytes): { ok: true; msg: BrokerMsg } | { ok: false; error: ErrorType } {
  const plain = cbDecrypt(sealed.boxKey, reverseNonce(sealed.nonce), pres);
  const items = decodeServerBatch(plain, sealed.version, sessionId);
  if (items.length !== 1) throw new DecodeError("a proxied response holds exactly one transmission");
  return items[0]!.result;
}

// --------------------------------------------------------------------------- over a client

/** What these functions need of an SMP client (the core's SMPClient fits). */
export interface ProxyClient {
  readonly version: number;
  readonly config: { commandTimeout: number; now: () => number };
  request(entityId: Bytes, command: Command, key: KeyPair | null, timeout?: number, corrId?: Bytes): Promise<BrokerMsg>;
}

/**
 * The error classes of the client the functions run over: the module gets the core's, so the
 * visitor's `instanceof` checks hold for what it throws.
 */
export interface ProxyErrors {
  command: new (error: ErrorType) => Error;
  unexpected: new (message: string) => Error;
}

function expect<T extends BrokerMsg["tag"]>(msg: BrokerMsg, tag: T, errors: ProxyErrors): Extract<BrokerMsg, { tag: T }> {
  if (msg.tag !== tag) throw new errors.unexpected(`expected ${tag}, got ${msg.tag}`);
  return msg as Extract<BrokerMsg, { tag: T }>;
}

/**
 * `PRXY`: a session with `destination` through the relay `client` is connected to; its
 * identity checked. Throws `errors.command` with the proxy's or the identity's PROXY error.
 */
export async function proxySession(client: ProxyClient, destination: SMPServer, password: string | null, errors: ProxyErrors): Promise<ProxiedRelay> {
  if (client.version < SENDING_PROXY_VERSION) throw new errors.command(ERR_TRANSPORT_VERSION);
  const answer = await client.request(new Uint8Array(0), { tag: "PRXY", raw: encodePRXY(destination, password) }, null);
  let pkey: PKEY;
  try {
    pkey = decodePKEY(expect(answer, "PKEY", errors).data);
  } catch (e) {
    if (e instanceof DecodeError) throw new errors.unexpected("PKEY does not parse");
    throw e;
  }
  const relay = acceptPKEY(pkey, destination.keyHash, client.config.now());
  if ("tag" in relay) throw new errors.command(relay);
  return relay;
}

/**
 * `PFWD`: send a sender command (SEND, SKEY, LKEY, LGET) for `entityId` to the destination and
 * return its answer; the destination's `ERR e` throws `errors.command(e)`, exactly as a direct
 * command would. Waits twice the command timeout (the proxy waits for the destination).
 */
export async function proxiedRequest(client: ProxyClient, relay: ProxiedRelay, entityId: Bytes, command: Command, auth: PrivateKey | null, errors: ProxyErrors): Promise<BrokerMsg> {
  const sealed = sealForwarded(relay, entityId, command, auth, KeyPair.generate("X25519"), randomBytes(FWD_NONCE_SIZE));
  const answer = await client.request(relay.sessionId, { tag: "PFWD", raw: sealed.pfwd }, null, 2 * client.config.commandTimeout, sealed.nonce);
  let result;
  try {
    result = openForwarded(sealed, expect(answer, "PRES", errors).data, relay.sessionId);
  } catch (e) {
    if (e instanceof CryptoError || e instanceof DecodeError) throw new errors.unexpected("the proxied response does not open");
    throw e;
  }
  if (!result.ok) throw new errors.unexpected("the destination's answer does not decode");
  if (result.msg.tag === "ERR") throw new errors.command(result.msg.error);
  return result.msg;
}
