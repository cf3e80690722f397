/**
 * Client side of the SMP transport handshake (mirrors src/hushwire/client/handshake.py;
 * simplexmq Transport.hs smpClientHandshake; docs/protocol/smp.md).
 *
 * Theory of operation: the server speaks first. {@link clientHandshake}
 *
 * 1. reads the server hello (one padded block, never batched or encrypted);
 * 2. picks the highest common version (the widget speaks only v11..18, so blocks are always
 *    encrypted and a TLS-terminating CDN or proxy never sees queue ids or commands);
 * 3. checks the server's identity: 2..4 certificates, SHA-256 of the second equal to the key
 *    hash of the address (constant-time), the chain valid (EdDSA signatures, CA flags,
 *    dates), the session key signed by the leaf;
 * 4. sends its hello with a fresh X25519 key and hands the agreed {@link Session} to the
 *    caller in the same step: both directions then run a block chain keyed by
 *    X25519(client key, server session key) and the session id.
 */

import { CryptoError, DecodeError } from "../../errors.js";
import type { Bytes } from "../../encoding.js";
import { constantTimeEqual } from "../../crypto/ct.js";
import { sha256 } from "../../crypto/hash.js";
import { KeyPair, type PublicKey } from "../../crypto/keys.js";
import { validateChain, verifySignedKey } from "../../crypto/x509.js";
import { BlockChain, padHandshake, unpadHandshake } from "../block.js";
import { chainLengthOk, decodeServerHello, encodeClientHello, negotiateClient } from "../hello.js";
import type { VersionRange } from "../version.js";
import { HandshakeFailed, IdentityMismatch, VersionMismatch, type SMPClientError } from "./errors.js";

/** What the handshake agreed. */
export interface Session {
  version: number;
  sessionId: Bytes;
  serverKey: PublicKey;
  send: BlockChain;
  recv: BlockChain;
}

/** A block from the socket, or why the socket is gone. */
export type Inbox = { block: Bytes } | { lost: SMPClientError };

/** The socket as the handshake sees it. */
export interface HandshakeIO {
  /** The next block received (or the loss of the connection). */
  next(): Promise<Inbox>;
  /** Send the client hello and start the session (one step: no block can fall between). */
  start(hello: Bytes, session: Session): void;
}

/**
 * Run the handshake for the server with this key hash; throws HandshakeFailed
 * (IdentityMismatch, VersionMismatch) or the loss of the connection.
 */
export async function clientHandshake(
  io: HandshakeIO,
  keyHash: Bytes,
  config: { versionRange: VersionRange; now: () => number },
): Promise<void> {
  const first = await io.next();
  if ("lost" in first) throw first.lost;
  let hello;
  try {
    hello = decodeServerHello(unpadHandshake(first.block));
  } catch (e) {
    if (e instanceof DecodeError) throw new HandshakeFailed("the server hello does not parse");
    throw e;
  }
  const range = config.versionRange;
  const negotiated = negotiateClient(hello.versionRange, range, { serverHasKey: hello.certKey !== null, clientHasKey: true });
  if (negotiated === null) {
    throw new VersionMismatch(`no common SMP version: server offers ${hello.versionRange}, client ${range}`);
  }
  const ck = hello.certKey;
  if (ck === null) throw new HandshakeFailed("the server sent no certificate chain");
  if (!chainLengthOk(ck)) throw new HandshakeFailed(`the server's certificate chain has ${ck.certChain.length} certificates`);
  if (!constantTimeEqual(sha256(ck.certChain[1]!), keyHash)) {
    throw new IdentityMismatch("server identity does not match the address");
  }
  let serverKey: PublicKey;
  try {
    validateChain(ck.certChain, keyHash, config.now());
  } catch (e) {
    if (e instanceof CryptoError || e instanceof DecodeError) throw new HandshakeFailed("the server's certificate chain is not valid");
    throw e;
  }
  try {
    serverKey = verifySignedKey(ck.certChain[0]!, ck.signedKey);
  } catch (e) {
    if (e instanceof CryptoError || e instanceof DecodeError) {
      throw new HandshakeFailed("the server's session key is not signed by its certificate");
    }
    throw e;
  }
  if (!negotiated.blockEncryption) throw new HandshakeFailed("block encryption was not agreed");
  const own = KeyPair.generate("X25519");
  let secret: Bytes;
  try {
    secret = own.private.dh(serverKey);
  } catch (e) {
    if (e instanceof CryptoError) throw new HandshakeFailed("the server's session key is not usable");
    throw e;
  }
  const [send, recv] = BlockChain.pair(hello.sessionId, secret, false);
  secret.fill(0);
  io.start(
    padHandshake(
      encodeClientHello({ version: negotiated.version, keyHash, sessionKey: own.public, proxyServer: false, clientService: null }),
    ),
    { version: negotiated.version, sessionId: hello.sessionId, serverKey, send, recv },
  );
}
