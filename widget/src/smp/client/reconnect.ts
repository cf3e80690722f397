/**
 * An SMP client that survives connection loss (mirrors src/hushwire/client/reconnect.py):
 * exponential backoff with jitter, and the queues of the lost connection subscribed again.
 */

import { toHex, type Bytes } from "../../encoding.js";
import type { KeyPair, PublicKey } from "../../crypto/keys.js";
import { randomFraction } from "../../crypto/random.js";
import type { ErrorType } from "../errors.js";
import type { SMPClient, Subscription } from "./client.js";
import { ConnectionLost, SMPClientError, SMPCommandError } from "./errors.js";
import { emitTo, type ClientEvent, type EventListener, type IdsResponse, type MsgResponse } from "./events.js";

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

  #emit = (ev: ClientEvent): void => emitTo(this.#listeners, ev);

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
