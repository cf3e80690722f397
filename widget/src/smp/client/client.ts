/**
 * The widget's SMP client over a WebSocket: typed commands, events and keepalive on a session
 * the handshake ({@link clientHandshake}) opened.
 *
 * Mirrors src/hushwire/client/client.py (simplexmq Client.hs; docs/protocol/smp.md) on top of
 * the sans-I/O codec in ../. It runs inside the crypto Web Worker (WebSocket exists there),
 * so keys and every cryptographic operation stay off the page's main thread.
 *
 * Theory of operation. {@link SMPClient.connect} takes a WebSocket-like object (the browser's
 * `WebSocket`, or the `ws` package in Node tests), waits for it to open and runs the
 * handshake over it (see handshake.ts). After that, commands queued in the same turn of the
 * event loop are packed into as few blocks as the reference packs them
 * (`batchTransmissions`) and sent at the end of the turn. Every received block is decrypted
 * and split into transmissions; one with a corrId settles the command waiting for it (its
 * entity must match), one without (MSG, END, DELD) becomes an event. A keepalive PING every
 * `pingInterval` ms measures `lag`; `pingCount` unanswered PINGs in a row close the
 * connection. Any failure ends the session: waiting commands fail with
 * {@link ConnectionLost}, and {@link SMPClient.closed} resolves with the reason.
 *
 * Nothing here logs; no secret or message body leaves this module except through the
 * caller's own callbacks.
 */

import { DecodeError } from "../../errors.js";
import { toHex, type Bytes } from "../../encoding.js";
import { constantTimeEqual } from "../../crypto/ct.js";
import type { KeyPair, PrivateKey, PublicKey } from "../../crypto/keys.js";
import { cbAuthenticateWith, cbDecrypt, cbNonce, dhBoxKey } from "../../crypto/nacl.js";
import { randomBytes } from "../../crypto/random.js";
import { CORR_ID_SIZE, SMP_BLOCK_SIZE } from "../../limits.js";
import { batchTransmissions } from "../block.js";
import { encodeCommand, type BrokerMsg, type Command } from "../commands.js";
import { unpadRcvMsgBody, type RcvMessage } from "../msgbody.js";
import { authorizedBytes, decodeServerBatch, encodeClientTransmission, type ServerTransmission } from "../transmission.js";
import { CURRENT_SMP_VERSION, ENCRYPTED_BLOCK_VERSION, maxMessageLength, VersionRange } from "../version.js";
import {
  ConnectFailed,
  ConnectionLost,
  HandshakeFailed,
  ResponseTimeout,
  SMPClientError,
  SMPCommandError,
  UnexpectedResponse,
} from "./errors.js";
import { emitTo, type ClientEvent, type EventListener, type IdsResponse, type MsgResponse } from "./events.js";
import { clientHandshake, type Inbox, type Session } from "./handshake.js";

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

/** Box keys an SMPClient keeps for authorizing commands (a visitor uses two auth keys; an app may use more). */
const MAX_BOX_KEYS = 64;

interface Pending {
  entityId: Bytes;
  resolve: (m: BrokerMsg) => void;
  reject: (e: SMPClientError) => void;
  timer: ReturnType<typeof setTimeout>;
}

export interface Subscription {
  recipientId: Bytes;
  key: KeyPair;
}

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
  /** The crypto_box key of each X25519 auth key with this session's server key: one DH per key, not per command (wiped at close). */
  readonly #boxKeys = new Map<PrivateKey, Bytes>();
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
    await clientHandshake(
      {
        next: () => this.#nextInbox(),
        start: (hello, session) => {
          this.#sendRaw(hello);
          this.#session = session;
        },
      },
      keyHash,
      this.config,
    );
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

  #wipeBoxKeys(): void {
    for (const k of this.#boxKeys.values()) k.fill(0);
    this.#boxKeys.clear();
  }

  #shutdown(reason: SMPClientError): void {
    if (this.#closeReason !== null) return;
    this.#closeReason = reason;
    this.#wipeBoxKeys();
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
    emitTo(this.#listeners, ev);
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
    if (alg === "X25519") {
      const keys = this.#boxKeys;
      let box = keys.get(key.private);
      if (box === undefined) {
        if (keys.size >= MAX_BOX_KEYS) this.#wipeBoxKeys();
        keys.set(key.private, (box = dhBoxKey(session.serverKey, key.private)));
      }
      return cbAuthenticateWith(box, cbNonce(corrId), data);
    }
    throw new RangeError(`${alg} keys cannot authorize SMP commands`);
  }

  /**
   * Send `command` for `entityId`, authorized with `key`; resolve with the answer. ERR
   * rejects with SMPCommandError; no answer within `timeout` ms with ResponseTimeout.
   * `corrId`: a random one, unless the command needs its own (PFWD: the box nonce).
   */
  request(entityId: Bytes, command: Command, key: KeyPair | null = null, timeout?: number, corrId = randomBytes(CORR_ID_SIZE)): Promise<BrokerMsg> {
    const session = this.#session;
    if (this.#closeReason !== null || session === null) {
      return Promise.reject(new ConnectionLost(this.#closeReason?.message ?? "not connected"));
    }
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
