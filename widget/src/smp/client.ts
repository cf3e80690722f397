/**
 * The widget's SMP client over a WebSocket: handshake with identity check, v11+ block
 * encryption, typed commands, events, keepalive, and a reconnecting wrapper.
 *
 * Mirrors src/hushwire/client/{handshake,client,reconnect}.py (simplexmq Client.hs,
 * Transport.hs smpClientHandshake; docs/protocol/smp.md) on top of the sans-I/O codec
 * in this folder. It runs inside the crypto Web Worker (WebSocket exists there), so keys and
 * every cryptographic operation stay off the page's main thread.
 *
 * Theory of operation. {@link SMPClient.connect} takes a WebSocket-like object (the browser's
 * `WebSocket`, or the `ws` package in Node tests) and
 *
 * 1. waits for the server hello (one binary message of exactly 16384 bytes, padded);
 * 2. picks the highest common version (the widget speaks only v11..18, so blocks are always
 *    encrypted and a TLS-terminating CDN or proxy never sees queue ids or commands);
 * 3. checks the server's identity: 2..4 certificates, SHA-256 of the second equal to the key
 *    hash of the address (constant-time), the chain valid (EdDSA signatures, CA flags,
 *    dates), the session key signed by the leaf;
 * 4. sends its hello with a fresh X25519 key; both directions then run a block chain keyed by
 *    X25519(client key, server session key) and the session id.
 *
 * After that, commands queued in the same turn of the event loop are packed into as few
 * blocks as the reference packs them (`batchTransmissions`) and sent at the end of the turn.
 * Every received block is decrypted and split into transmissions; one with a corrId settles
 * the command waiting for it (its entity must match), one without (MSG, END, DELD) becomes an
 * event. A keepalive PING every `pingInterval` ms measures `lag`; `pingCount` unanswered
 * PINGs in a row close the connection. Any failure ends the session: waiting commands fail
 * with {@link ConnectionLost}, and {@link SMPClient.closed} resolves with the reason.
 * {@link ReconnectingClient} reconnects with backoff and subscribes the queues again.
 *
 * Nothing here logs; no secret or message body leaves this module except through the
 * caller's own callbacks.
 */

import { HushwireError, CryptoError, DecodeError } from "../errors.js";
import { toHex, type Bytes } from "../encoding.js";
import { constantTimeEqual } from "../crypto/ct.js";
import { sha256 } from "../crypto/hash.js";
import { KeyPair, type PublicKey } from "../crypto/keys.js";
import { cbAuthenticate, cbDecrypt, cbNonce, dhBoxKey } from "../crypto/nacl.js";
import { randomBytes, randomFraction } from "../crypto/random.js";
import { validateChain, verifySignedKey } from "../crypto/x509.js";
import { CORR_ID_SIZE, SMP_BLOCK_SIZE } from "../limits.js";
import { batchTransmissions, BlockChain, padHandshake, unpadHandshake } from "./block.js";
import { encodeCommand, type BrokerMsg, type Command } from "./commands.js";
import { errorTypeText, type ErrorType } from "./errors.js";
import { chainLengthOk, decodeServerHello, encodeClientHello, negotiateClient } from "./hello.js";
import { unpadRcvMsgBody, type RcvMessage } from "./msgbody.js";
import { authorizedBytes, decodeServerBatch, encodeClientTransmission, type ServerTransmission } from "./transmission.js";
import { CURRENT_SMP_VERSION, ENCRYPTED_BLOCK_VERSION, maxMessageLength, VersionRange } from "./version.js";

// --------------------------------------------------------------------------- errors

/** Root of every error the SMP client throws. */
export class SMPClientError extends HushwireError {
  override name = "SMPClientError";
}
/** The server could not be reached (the WebSocket did not open). */
export class ConnectFailed extends SMPClientError {
  override name = "ConnectFailed";
}
/** The SMP handshake failed; the connection is closed. */
export class HandshakeFailed extends SMPClientError {
  override name = "HandshakeFailed";
}
/** The server's certificate chain does not belong to the key hash in its address. */
export class IdentityMismatch extends HandshakeFailed {
  override name = "IdentityMismatch";
}
/** The server and the client have no protocol version in common. */
export class VersionMismatch extends HandshakeFailed {
  override name = "VersionMismatch";
}
/** The connection closed (by the peer, the network, keepalive or close()). */
export class ConnectionLost extends SMPClientError {
  override name = "ConnectionLost";
}
/** The server did not answer a command in time. */
export class ResponseTimeout extends SMPClientError {
  override name = "ResponseTimeout";
}
/** The server answered with something that is not a valid answer to the command. */
export class UnexpectedResponse extends SMPClientError {
  override name = "UnexpectedResponse";
  readonly response: BrokerMsg | ErrorType | null;
  constructor(message: string, response: BrokerMsg | ErrorType | null = null) {
    super(message);
    this.response = response;
  }
}
/** The server answered ERR; `error` is the protocol's error. */
export class SMPCommandError extends SMPClientError {
  override name = "SMPCommandError";
  readonly error: ErrorType;
  constructor(error: ErrorType) {
    super(`server error: ${errorTypeText(error)}`);
    this.error = error;
  }
}

// --------------------------------------------------------------------------- events

export type MsgResponse = Extract<BrokerMsg, { tag: "MSG" }>;
export type IdsResponse = Extract<BrokerMsg, { tag: "IDS" }>;

export type ClientEvent =
  | { type: "message"; recipientId: Bytes; msg: MsgResponse }
  | { type: "subscriptionEnded"; recipientId: Bytes }
  | { type: "queueDeleted"; recipientId: Bytes }
  | { type: "serverError"; entityId: Bytes; error: ErrorType }
  | { type: "disconnected"; reason: string }
  | {
      type: "reconnected";
      attempts: number;
      resubscribed: Bytes[];
      failed: { recipientId: Bytes; error: ErrorType }[];
    };

export type EventListener = (ev: ClientEvent) => void;

// --------------------------------------------------------------------------- WebSocket

/** What the client needs of a WebSocket; the browser's and the `ws` package's both fit. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "close" | "error" | "message", listener: (ev: object) => void): void;
}

const WS_OPEN = 1;

function messageBytes(data: unknown): Bytes | null {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

// --------------------------------------------------------------------------- config

export interface ClientConfig {
  /** Versions the widget speaks: 11 (encrypted blocks) to 18. */
  versionRange: VersionRange;
  /** Milliseconds for the WebSocket to open and the handshake to finish. */
  connectTimeout: number;
  /** Milliseconds a command waits for its answer. */
  commandTimeout: number;
  /** Milliseconds between keepalive PINGs; null turns keepalive off. */
  pingInterval: number | null;
  /** Milliseconds a PING waits for PONG; null means pingInterval. */
  pingTimeout: number | null;
  /** Unanswered PINGs in a row that close the connection. */
  pingCount: number;
  /** Wall clock in seconds since the epoch (dates the certificate check). */
  now: () => number;
  /** Monotonic clock in milliseconds (measures round trips). */
  clock: () => number;
}

export const CLIENT_VERSION_RANGE = new VersionRange(ENCRYPTED_BLOCK_VERSION, CURRENT_SMP_VERSION);

export function defaultConfig(overrides: Partial<ClientConfig> = {}): ClientConfig {
  const c: ClientConfig = {
    versionRange: CLIENT_VERSION_RANGE,
    connectTimeout: 15000,
    commandTimeout: 30000,
    pingInterval: 30000,
    pingTimeout: null,
    pingCount: 3,
    now: () => Date.now() / 1000,
    clock: () => globalThis.performance.now(),
    ...overrides,
  };
  if (c.versionRange.min < ENCRYPTED_BLOCK_VERSION) throw new RangeError("the widget needs SMP v11 or later (encrypted blocks)");
  if (!(c.pingCount >= 1)) throw new RangeError("pingCount must be at least 1");
  if (!(c.connectTimeout > 0) || !(c.commandTimeout > 0)) throw new RangeError("timeouts must be positive");
  return c;
}

// --------------------------------------------------------------------------- message decryption

/** The per-queue box key: crypto_box_beforenm(srvDhKey, rcvDh.private); `srvDhKey` comes from IDS. */
export function queueDhKey(rcvDh: KeyPair, srvDhKey: PublicKey): Bytes {
  return dhBoxKey(srvDhKey, rcvDh.private);
}

/**
 * Open a MSG body with a key from {@link queueDhKey} (nonce = cbNonce(msgId)). Throws the
 * opaque CryptoError if it does not open, DecodeError if the plaintext does not parse.
 */
export function decryptMessage(key: Bytes, msg: MsgResponse): RcvMessage {
  const opened = cbDecrypt(key, cbNonce(msg.msgId), msg.body, true);
  return unpadRcvMsgBody(opened);
}

// --------------------------------------------------------------------------- session

/** What the handshake agreed. */
interface Session {
  version: number;
  sessionId: Bytes;
  serverKey: PublicKey;
  send: BlockChain;
  recv: BlockChain;
}

interface Pending {
  entityId: Bytes;
  resolve: (m: BrokerMsg) => void;
  reject: (e: SMPClientError) => void;
  timer: ReturnType<typeof setTimeout>;
}

interface Subscription {
  recipientId: Bytes;
  key: KeyPair;
}

type Inbox = { block: Bytes } | { lost: SMPClientError };

/** One SMP connection; make it with {@link SMPClient.connect}, end it with {@link SMPClient.close}. */
export class SMPClient {
  readonly config: ClientConfig;
  /** Round trip of the last answered keepalive PING, in milliseconds. */
  lag: number | null = null;
  blocksSent = 0;
  blocksReceived = 0;
  /** Resolves with the reason once the connection is closed. */
  readonly closed: Promise<SMPClientError>;

  readonly #ws: WebSocketLike;
  readonly #listeners = new Set<EventListener>();
  readonly #pending = new Map<string, Pending>();
  readonly #subscriptions = new Map<string, Subscription>();
  #session: Session | null = null;
  #sendQueue: { corrId: string; t: Bytes }[] = [];
  #flushScheduled = false;
  #closeReason: SMPClientError | null = null;
  #resolveClosed!: (r: SMPClientError) => void;
  #keepalive: ReturnType<typeof setTimeout> | null = null;
  // handshake-time inbox
  #inbox: Inbox[] = [];
  #waiter: ((x: Inbox) => void) | null = null;

  private constructor(ws: WebSocketLike, config: ClientConfig, listener?: EventListener) {
    this.#ws = ws;
    this.config = config;
    if (listener !== undefined) this.#listeners.add(listener);
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    ws.binaryType = "arraybuffer";
    ws.addEventListener("message", (ev) => this.#onMessage("data" in ev ? ev.data : undefined));
    ws.addEventListener("close", () => this.#onLost(new ConnectionLost("the connection was closed")));
    ws.addEventListener("error", () => this.#onLost(new ConnectionLost("WebSocket error")));
  }

  /**
   * Run the handshake on `ws` (open or opening) for the server with this key hash; throws
   * ConnectFailed, HandshakeFailed (IdentityMismatch, VersionMismatch) and closes `ws` then.
   */
  static async connect(
    ws: WebSocketLike,
    keyHash: Bytes,
    options: { config?: Partial<ClientConfig>; onEvent?: EventListener } = {},
  ): Promise<SMPClient> {
    if (keyHash.length !== 32) throw new RangeError("key hash must be 32 bytes");
    const client = new SMPClient(ws, defaultConfig(options.config), options.onEvent);
    const timer = setTimeout(
      () => client.#onLost(new ConnectFailed("the server did not complete the handshake in time")),
      client.config.connectTimeout,
    );
    try {
      await client.#handshake(keyHash);
    } catch (e) {
      const err = e instanceof SMPClientError ? e : new HandshakeFailed(`handshake failed: ${String(e)}`);
      client.#shutdown(err);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    client.#scheduleKeepalive();
    return client;
  }

  get version(): number {
    return this.#session?.version ?? 0;
  }

  get sessionId(): Bytes {
    return this.#session?.sessionId.slice() ?? new Uint8Array(0);
  }

  get isClosed(): boolean {
    return this.#closeReason !== null;
  }

  /** Recipient ids this connection is subscribed to, with the key that subscribed each. */
  get subscriptions(): Subscription[] {
    return [...this.#subscriptions.values()];
  }

  /** Add an event listener; returns a function that removes it. */
  on(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Close the connection (idempotent); waiting commands fail with ConnectionLost. */
  close(): void {
    this.#shutdown(new ConnectionLost("closed by the client"));
  }

  // ------------------------------------------------------------------ handshake

  #nextInbox(): Promise<Inbox> {
    const first = this.#inbox.shift();
    if (first !== undefined) return Promise.resolve(first);
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  async #waitOpen(): Promise<void> {
    if (this.#ws.readyState === WS_OPEN) return;
    if (this.#ws.readyState > WS_OPEN) throw new ConnectFailed("the WebSocket is closed");
    await new Promise<void>((resolve, reject) => {
      this.#ws.addEventListener("open", () => resolve());
      void this.closed.then((r) => reject(r instanceof ConnectFailed ? r : new ConnectFailed(`cannot connect: ${r.message}`)));
    });
  }

  async #handshake(keyHash: Bytes): Promise<void> {
    await this.#waitOpen();
    const first = await this.#nextInbox();
    if ("lost" in first) throw first.lost;
    let hello;
    try {
      hello = decodeServerHello(unpadHandshake(first.block));
    } catch (e) {
      if (e instanceof DecodeError) throw new HandshakeFailed("the server hello does not parse");
      throw e;
    }
    const range = this.config.versionRange;
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
      validateChain(ck.certChain, keyHash, this.config.now());
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
    this.#sendRaw(
      padHandshake(
        encodeClientHello({ version: negotiated.version, keyHash, sessionKey: own.public, proxyServer: false, clientService: null }),
      ),
    );
    this.#session = { version: negotiated.version, sessionId: hello.sessionId, serverKey, send, recv };
    // Blocks that arrived before the session existed (none, by protocol) are processed now.
    const early = this.#inbox;
    this.#inbox = [];
    for (const item of early) {
      if ("lost" in item) throw item.lost;
      this.#onBlock(item.block);
    }
  }

  // ------------------------------------------------------------------ socket events

  #onMessage(data: unknown): void {
    if (this.#closeReason !== null) return;
    const block = messageBytes(data);
    if (block === null || block.length !== SMP_BLOCK_SIZE) {
      // The reference closes the connection on a message of any other size (TEBadBlock).
      this.#onLost(new ConnectionLost("the server sent a malformed block"));
      return;
    }
    this.blocksReceived++;
    if (this.#session === null) this.#deliverInbox({ block: block.slice() });
    else this.#onBlock(block);
  }

  #deliverInbox(item: Inbox): void {
    const w = this.#waiter;
    if (w !== null) {
      this.#waiter = null;
      w(item);
    } else {
      this.#inbox.push(item);
    }
  }

  #onLost(reason: SMPClientError): void {
    if (this.#closeReason !== null) return;
    if (this.#session === null) this.#deliverInbox({ lost: reason });
    this.#shutdown(reason);
  }

  #shutdown(reason: SMPClientError): void {
    if (this.#closeReason !== null) return;
    this.#closeReason = reason;
    if (this.#keepalive !== null) clearTimeout(this.#keepalive);
    this.#keepalive = null;
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(reason);
    }
    this.#pending.clear();
    this.#sendQueue = [];
    try {
      this.#ws.close(1000);
    } catch {
      // already closing
    }
    this.#resolveClosed(reason);
  }

  #emit(ev: ClientEvent): void {
    for (const l of [...this.#listeners]) {
      try {
        l(ev);
      } catch {
        // a listener's failure must not break the connection
      }
    }
  }

  #onBlock(block: Bytes): void {
    const session = this.#session!;
    let payload: Bytes;
    try {
      payload = session.recv.decrypt(block);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.#emit({ type: "serverError", entityId: new Uint8Array(0), error: { tag: "BLOCK" } });
      return;
    }
    for (const t of decodeServerBatch(payload, session.version, session.sessionId)) this.#dispatch(t);
  }

  #dispatch(t: ServerTransmission): void {
    const result = t.result;
    if (t.corrId.length > 0) {
      const key = toHex(t.corrId);
      const req = this.#pending.get(key);
      if (req !== undefined) {
        this.#pending.delete(key);
        clearTimeout(req.timer);
        if (!result.ok) req.reject(new UnexpectedResponse("the server's answer does not decode", result.error));
        else if (!constantTimeEqual(req.entityId, t.entityId)) {
          req.reject(new UnexpectedResponse("the server answered for another entity", result.msg));
        } else req.resolve(result.msg);
        return;
      }
      // The answer to a command that timed out: keep a message, drop the rest.
      if (result.ok && result.msg.tag === "MSG") this.#emit({ type: "message", recipientId: t.entityId, msg: result.msg });
      return;
    }
    if (!result.ok) {
      this.#emit({ type: "serverError", entityId: t.entityId, error: result.error });
      return;
    }
    const msg = result.msg;
    const rid = t.entityId;
    switch (msg.tag) {
      case "MSG":
        this.#emit({ type: "message", recipientId: rid, msg });
        return;
      case "END":
        this.#subscriptions.delete(toHex(rid));
        this.#emit({ type: "subscriptionEnded", recipientId: rid });
        return;
      case "DELD":
        this.#subscriptions.delete(toHex(rid));
        this.#emit({ type: "queueDeleted", recipientId: rid });
        return;
      case "ERR":
        this.#emit({ type: "serverError", entityId: rid, error: msg.error });
        return;
      default:
        return; // an answer without a corrId that is not an event: nothing waits for it
    }
  }

  // ------------------------------------------------------------------ sending

  #sendRaw(block: Bytes): void {
    try {
      this.#ws.send(block);
    } catch {
      this.#onLost(new ConnectionLost("the connection was closed"));
      return;
    }
    this.blocksSent++;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // Commands issued in the same turn of the event loop share blocks.
    queueMicrotask(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    const session = this.#session;
    if (session === null || this.#closeReason !== null) return;
    // Skip commands whose caller gave up (timed out) before they were sent.
    const items = this.#sendQueue.filter((x) => this.#pending.has(x.corrId));
    this.#sendQueue = [];
    if (items.length === 0) return;
    for (const part of batchTransmissions(items.map((x) => x.t))) {
      if (part.kind === "batch") {
        this.#sendRaw(session.send.encrypt(part.payload));
        if (this.#closeReason !== null) return;
      } else {
        const id = items[part.index]!.corrId;
        const req = this.#pending.get(id);
        if (req !== undefined) {
          this.#pending.delete(id);
          clearTimeout(req.timer);
          req.reject(new SMPCommandError({ tag: "LARGE_MSG" }));
        }
      }
    }
  }

  #authorize(key: KeyPair, corrId: Bytes, entityId: Bytes, cmd: Bytes): Bytes {
    const session = this.#session!;
    const data = authorizedBytes(session.sessionId, corrId, entityId, cmd);
    const alg = key.private.alg;
    if (alg === "Ed25519" || alg === "Ed448") return key.private.sign(data);
    if (alg === "X25519") return cbAuthenticate(session.serverKey, key.private, cbNonce(corrId), data);
    throw new RangeError(`${alg} keys cannot authorize SMP commands`);
  }

  /**
   * Send `command` for `entityId`, authorized with `key`; resolve with the answer. ERR
   * rejects with SMPCommandError; no answer within `timeout` ms with ResponseTimeout.
   */
  request(entityId: Bytes, command: Command, key: KeyPair | null = null, timeout?: number): Promise<BrokerMsg> {
    const session = this.#session;
    if (this.#closeReason !== null || session === null) {
      return Promise.reject(new ConnectionLost(this.#closeReason?.message ?? "not connected"));
    }
    const corrId = randomBytes(CORR_ID_SIZE);
    const cmd = encodeCommand(session.version, command);
    const auth = key === null ? new Uint8Array(0) : this.#authorize(key, corrId, entityId, cmd);
    const t = encodeClientTransmission(session.version, session.sessionId, corrId, entityId, cmd, auth);
    const id = toHex(corrId);
    return new Promise<BrokerMsg>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.#pending.delete(id)) reject(new ResponseTimeout(`no answer to ${command.tag}`));
      }, timeout ?? this.config.commandTimeout);
      this.#pending.set(id, { entityId: entityId.slice(), resolve, reject, timer });
      this.#sendQueue.push({ corrId: id, t });
      this.#scheduleFlush();
    }).then((msg) => {
      if (msg.tag === "ERR") throw new SMPCommandError(msg.error);
      return msg;
    });
  }

  async #expect<T extends BrokerMsg["tag"]>(
    tag: T,
    entityId: Bytes,
    command: Command,
    key: KeyPair | null,
  ): Promise<Extract<BrokerMsg, { tag: T }>> {
    const msg = await this.request(entityId, command, key);
    if (msg.tag !== tag) throw new UnexpectedResponse(`${command.tag} answered with ${msg.tag}`, msg);
    return msg as Extract<BrokerMsg, { tag: T }>;
  }

  // ------------------------------------------------------------------ commands

  /**
   * NEW: create a queue; with `subscribe` this connection receives its messages. `rcvAuth`
   * (Ed25519, Ed448 or X25519) authorizes recipient commands; `rcvDh` (X25519) with the IDS
   * server key decrypts messages. `messaging: false` makes a contact queue.
   */
  async createQueue(
    rcvAuth: KeyPair,
    rcvDh: KeyPair,
    opts: { subscribe?: boolean; messaging?: boolean; basicAuth?: Bytes | null } = {},
  ): Promise<IdsResponse> {
    if (rcvDh.public.alg !== "X25519") throw new RangeError("rcvDh must be an X25519 key pair");
    const subscribe = opts.subscribe ?? true;
    const cmd: Command = {
      tag: "NEW",
      rcvAuthKey: rcvAuth.public,
      rcvDhKey: rcvDh.public,
      basicAuth: opts.basicAuth ?? null,
      subMode: subscribe ? "S" : "C",
      queueReqData: { mode: (opts.messaging ?? true) ? "M" : "C", link: null },
      ntfCreds: null,
    };
    const ids = await this.#expect("IDS", new Uint8Array(0), cmd, rcvAuth);
    if (subscribe) this.#subscriptions.set(toHex(ids.rcvId), { recipientId: ids.rcvId, key: rcvAuth });
    return ids;
  }

  /** SUB: receive the queue's messages on this connection (as "message" events). */
  async subscribe(rid: Bytes, key: KeyPair): Promise<void> {
    const msg = await this.request(rid, { tag: "SUB" }, key);
    if (msg.tag !== "OK" && msg.tag !== "SOK") throw new UnexpectedResponse(`SUB answered with ${msg.tag}`, msg);
    this.#subscriptions.set(toHex(rid), { recipientId: rid.slice(), key });
  }

  /** KEY: the recipient secures the queue with the sender's public key. */
  async secure(rid: Bytes, key: KeyPair, senderKey: PublicKey): Promise<void> {
    await this.#expect("OK", rid, { tag: "KEY", senderKey }, key);
  }

  /** SKEY (v9+): the sender secures a messaging queue with its own key. */
  async secureSender(sid: Bytes, senderKey: KeyPair): Promise<void> {
    await this.#expect("OK", sid, { tag: "SKEY", senderKey: senderKey.public }, senderKey);
  }

  /** SEND: put `body` in the queue `sid`; `key` null for an unsecured queue. */
  async send(sid: Bytes, body: Bytes, opts: { key?: KeyPair | null; notification?: boolean } = {}): Promise<void> {
    const limit = maxMessageLength(this.version);
    if (body.length > limit) throw new RangeError(`message body of ${body.length} bytes; at most ${limit} at this version`);
    const cmd: Command = { tag: "SEND", flags: { notification: opts.notification ?? false }, body };
    await this.#expect("OK", sid, cmd, opts.key ?? null);
  }

  /** ACK: delete the delivered message; resolve with the next one if the server sent it. */
  async ack(rid: Bytes, key: KeyPair, msgId: Bytes): Promise<MsgResponse | null> {
    const msg = await this.request(rid, { tag: "ACK", msgId }, key);
    if (msg.tag === "OK") return null;
    if (msg.tag === "MSG") return msg;
    throw new UnexpectedResponse(`ACK answered with ${msg.tag}`, msg);
  }

  /** GET: the head message without subscribing, or null if the queue is empty. */
  async get(rid: Bytes, key: KeyPair): Promise<MsgResponse | null> {
    const msg = await this.request(rid, { tag: "GET" }, key);
    if (msg.tag === "OK") return null;
    if (msg.tag === "MSG") return msg;
    throw new UnexpectedResponse(`GET answered with ${msg.tag}`, msg);
  }

  /** OFF: senders can no longer write; the recipient can still read. */
  async suspend(rid: Bytes, key: KeyPair): Promise<void> {
    await this.#expect("OK", rid, { tag: "OFF" }, key);
  }

  /** DEL: delete the queue and its messages. */
  async delete(rid: Bytes, key: KeyPair): Promise<void> {
    await this.#expect("OK", rid, { tag: "DEL" }, key);
    this.#subscriptions.delete(toHex(rid));
  }

  /** PING: resolve with the round trip to PONG in milliseconds. */
  async ping(timeout?: number): Promise<number> {
    const start = this.config.clock();
    const msg = await this.request(new Uint8Array(0), { tag: "PING" }, null, timeout);
    if (msg.tag !== "PONG") throw new UnexpectedResponse(`PING answered with ${msg.tag}`, msg);
    return Math.max(0, this.config.clock() - start);
  }

  // ------------------------------------------------------------------ keepalive

  #scheduleKeepalive(missed = 0): void {
    const interval = this.config.pingInterval;
    if (interval === null || this.#closeReason !== null) return;
    this.#keepalive = setTimeout(() => {
      this.#keepalive = null;
      this.ping(this.config.pingTimeout ?? interval).then(
        (lag) => {
          this.lag = lag;
          this.#scheduleKeepalive(0);
        },
        (e: unknown) => {
          if (this.#closeReason !== null) return;
          if (!(e instanceof ResponseTimeout)) {
            this.#scheduleKeepalive(missed);
            return;
          }
          const n = missed + 1;
          if (n >= this.config.pingCount) this.#shutdown(new ConnectionLost(`the server did not answer ${n} PINGs`));
          else this.#scheduleKeepalive(n);
        },
      );
    }, interval);
  }
}

// --------------------------------------------------------------------------- reconnecting

/**
 * Exponential backoff with jitter: attempt n waits min(maximum, initial * factor^n) ms,
 * reduced by up to `jitter` of itself (a random fraction from crypto.getRandomValues).
 */
export class Backoff {
  constructor(
    readonly initial = 1000,
    readonly maximum = 60000,
    readonly factor = 2,
    readonly jitter = 0.5,
  ) {
    if (initial < 0 || maximum < initial || factor < 1) throw new RangeError("backoff needs 0 <= initial <= maximum and factor >= 1");
    if (jitter < 0 || jitter > 1) throw new RangeError("jitter is a fraction from 0 to 1");
  }

  delay(attempt: number, rand: number): number {
    const base = Math.min(this.maximum, this.initial * this.factor ** Math.min(attempt, 64));
    return base * (1 - this.jitter * rand);
  }
}

export interface ReconnectOptions {
  backoff?: Backoff;
  /** Give up after this many failed attempts in a row; undefined: never. */
  maxAttempts?: number;
  /** Milliseconds a command waits for a connection before failing with ConnectionLost. */
  waitTimeout?: number;
  sleep?: (ms: number) => Promise<void>;
  rng?: () => number;
}

/**
 * An SMP client that survives connection loss (reconnect.py): `connect` makes a fresh
 * {@link SMPClient} (new WebSocket, handshake); when it closes, a "disconnected" event is
 * emitted, attempts follow with backoff, and once connected every queue the lost connection
 * had subscribed is subscribed again (all SUBs at once, so they share blocks); the ones the
 * server refuses are dropped and reported, the ones that failed for lack of a connection are
 * kept for the next round; then "reconnected". A command that fails because the connection
 * dropped is not repeated (SEND is not idempotent); the caller decides.
 */
export class ReconnectingClient {
  readonly backoff: Backoff;
  reconnects = 0;
  /** Why the client gave up (maxAttempts used up), else null. */
  failure: SMPClientError | null = null;

  readonly #connect: (onEvent: EventListener) => Promise<SMPClient>;
  readonly #opts: ReconnectOptions;
  readonly #listeners = new Set<EventListener>();
  #client: SMPClient | null = null;
  #closing = false;
  #waiters: ((c: SMPClient | null) => void)[] = [];
  #stopped: Promise<void>;
  #resolveStopped!: () => void;

  constructor(connect: (onEvent: EventListener) => Promise<SMPClient>, opts: ReconnectOptions = {}) {
    this.#connect = connect;
    this.#opts = opts;
    this.backoff = opts.backoff ?? new Backoff();
    this.#stopped = new Promise((resolve) => {
      this.#resolveStopped = resolve;
    });
  }

  on(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit = (ev: ClientEvent): void => {
    for (const l of [...this.#listeners]) {
      try {
        l(ev);
      } catch {
        // listeners cannot break the connection
      }
    }
  };

  /** Connect for the first time (throws on failure) and start supervising. */
  async start(): Promise<void> {
    if (this.#client !== null) throw new Error("already started");
    this.#setClient(await this.#connect(this.#emit));
    void this.#supervise();
  }

  get connected(): boolean {
    return this.#client !== null && !this.#client.isClosed;
  }

  /** The current connection, or null while there is none. */
  get client(): SMPClient | null {
    return this.connected ? this.#client : null;
  }

  /** Resolves when close() was called or reconnecting gave up. */
  get stopped(): Promise<void> {
    return this.#stopped;
  }

  close(): void {
    this.#closing = true;
    this.#client?.close();
    for (const w of this.#waiters.splice(0)) w(null);
    this.#resolveStopped();
  }

  #setClient(c: SMPClient): void {
    this.#client = c;
    for (const w of this.#waiters.splice(0)) w(c);
  }

  /** The current connection, waiting up to `waitTimeout` ms (default 30 s) for one. */
  async waitConnected(): Promise<SMPClient> {
    if (this.#closing || this.failure !== null) throw new ConnectionLost("the reconnecting client is closed");
    const c = this.client;
    if (c !== null) return c;
    const got = await new Promise<SMPClient | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), this.#opts.waitTimeout ?? 30000);
      this.#waiters.push((x) => {
        clearTimeout(timer);
        resolve(x);
      });
    });
    if (got === null) throw new ConnectionLost("not connected");
    return got;
  }

  async #supervise(): Promise<void> {
    let leftover: Subscription[] = [];
    for (;;) {
      const client = this.#client!;
      const reason = await client.closed;
      if (this.#closing) return;
      const subs = new Map<string, Subscription>();
      for (const s of [...leftover, ...client.subscriptions]) subs.set(toHex(s.recipientId), s);
      this.#emit({ type: "disconnected", reason: reason.message });
      const next = await this.#reconnect();
      if (next === null) {
        this.#resolveStopped();
        return;
      }
      this.reconnects++;
      this.#setClient(next.client);
      const { done, failed, retry } = await this.#resubscribe(next.client, [...subs.values()]);
      leftover = retry;
      this.#emit({ type: "reconnected", attempts: next.attempts, resubscribed: done, failed });
    }
  }

  async #reconnect(): Promise<{ client: SMPClient; attempts: number } | null> {
    const sleep = this.#opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const rng = this.#opts.rng ?? randomFraction;
    let attempt = 0;
    for (;;) {
      await sleep(this.backoff.delay(attempt, rng()));
      if (this.#closing) return null;
      attempt++;
      try {
        const client = await this.#connect(this.#emit);
        if (this.#closing) {
          client.close();
          return null;
        }
        return { client, attempts: attempt };
      } catch (e) {
        if (!(e instanceof SMPClientError)) throw e;
        if (this.#opts.maxAttempts !== undefined && attempt >= this.#opts.maxAttempts) {
          this.failure = e;
          for (const w of this.#waiters.splice(0)) w(null);
          return null;
        }
      }
    }
  }

  async #resubscribe(
    client: SMPClient,
    subs: Subscription[],
  ): Promise<{ done: Bytes[]; failed: { recipientId: Bytes; error: ErrorType }[]; retry: Subscription[] }> {
    const results = await Promise.allSettled(subs.map((s) => client.subscribe(s.recipientId, s.key)));
    const done: Bytes[] = [];
    const failed: { recipientId: Bytes; error: ErrorType }[] = [];
    const retry: Subscription[] = [];
    results.forEach((r, i) => {
      const s = subs[i]!;
      if (r.status === "fulfilled") done.push(s.recipientId);
      else if (r.reason instanceof SMPCommandError) failed.push({ recipientId: s.recipientId, error: r.reason.error });
      else retry.push(s);
    });
    return { done, failed, retry };
  }

  // ------------------------------------------------------------------ commands

  async createQueue(
    rcvAuth: KeyPair,
    rcvDh: KeyPair,
    opts: { subscribe?: boolean; messaging?: boolean; basicAuth?: Bytes | null } = {},
  ): Promise<IdsResponse> {
    return (await this.waitConnected()).createQueue(rcvAuth, rcvDh, opts);
  }

  async subscribe(rid: Bytes, key: KeyPair): Promise<void> {
    return (await this.waitConnected()).subscribe(rid, key);
  }

  async secure(rid: Bytes, key: KeyPair, senderKey: PublicKey): Promise<void> {
    return (await this.waitConnected()).secure(rid, key, senderKey);
  }

  async secureSender(sid: Bytes, senderKey: KeyPair): Promise<void> {
    return (await this.waitConnected()).secureSender(sid, senderKey);
  }

  async send(sid: Bytes, body: Bytes, opts: { key?: KeyPair | null; notification?: boolean } = {}): Promise<void> {
    return (await this.waitConnected()).send(sid, body, opts);
  }

  async ack(rid: Bytes, key: KeyPair, msgId: Bytes): Promise<MsgResponse | null> {
    return (await this.waitConnected()).ack(rid, key, msgId);
  }

  async delete(rid: Bytes, key: KeyPair): Promise<void> {
    return (await this.waitConnected()).delete(rid, key);
  }

  async ping(): Promise<number> {
    return (await this.waitConnected()).ping();
  }
}
