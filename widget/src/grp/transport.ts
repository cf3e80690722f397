/**
 * GRP/1 as a WebSocket for the widget's SMP client (docs/grp.md): {@link GrpSocket} wraps a
 * real WebSocket to a relay's `/grp/1` endpoint, runs the Noise IKhfs handshake, checks the
 * relay's key proof against the address's key hash, and then looks like the WebSocket the
 * SMP client already takes (`WebSocketLike`): `send(block)` queues a DATA frame, a DATA frame
 * received is a `message` event with its block, and the SMP handshake above runs unchanged.
 * Frames leave only at the ticks of a Poisson process of rate λ (cover traffic), whatever is
 * queued; COVER and REKEY frames are consumed here. The first block received (the server
 * hello) must carry the Noise handshake hash as its session id.
 *
 * The timer is a parameter (`sleep`) so tests can run fast schedules; in the browser this runs
 * in the crypto worker, whose timers are not throttled like a background page's.
 */

import { constantTimeEqual } from "../crypto/ct.js";
import { sha256 } from "../crypto/hash.js";
import { validateChain, verifySignedKey } from "../crypto/x509.js";
import type { Bytes } from "../encoding.js";
import { unpadHandshake } from "../smp/block.js";
import { chainLengthOk, decodeServerHello, parseCertChainPubKey } from "../smp/hello.js";
import { parseAll } from "../smp/reader.js";
import {
  type CipherState,
  FrameReceiver,
  FrameSender,
  FrameType,
  grpInitiator,
  type HandshakeState,
  type KemSuite,
  NoiseError,
} from "./noise.js";

export const CLIENT_RATE = 1.0;
/** A client closes its connection after this long (a CLOSE at a tick) and dials again: a new handshake, new keys (cover.py CLIENT_MAX_AGE). */
export const CLIENT_MAX_AGE_MS = 6 * 3600 * 1000;
const REKEY_MS = 60_000;
const QUEUE_LIMIT = 256;
const WS_OPEN = 1;

/** The part of a WebSocket this needs (the browser's and the `ws` package's both fit). */
export interface RawSocket {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "close" | "error" | "message", listener: (ev: object) => void): void;
}

export interface GrpOptions {
  /** Cover frames per second each way (a protocol constant; tests raise it). */
  rate?: number;
  /** Milliseconds to wait (tests may pass a faster or fake timer). */
  sleep?: (ms: number) => Promise<void>;
  /** A uniform random number in [0, 1), from a CSPRNG by default. */
  uniform?: () => number;
  /** Wall clock in seconds, for the certificate dates of the key proof. */
  now?: () => number;
  /** Monotonic milliseconds, for the rekey schedule and the connection's age. */
  clock?: () => number;
  /** Milliseconds after which the connection closes itself (default CLIENT_MAX_AGE_MS). */
  maxAge?: number;
  /** Test hooks: fixed handshake keys and KEM. */
  kem?: KemSuite;
}

function cryptoUniform(): number {
  const b = new Uint32Array(2);
  crypto.getRandomValues(b);
  return (b[0]! * 2 ** 21 + (b[1]! >>> 11)) / 2 ** 53;
}

/** Check P2: the relay's SMP identity signed the static key `rs`. */
export function verifyStaticProof(p2: Bytes, keyHash: Bytes, rs: Bytes, now: number): void {
  const proof = parseAll(p2, parseCertChainPubKey);
  if (!chainLengthOk(proof) || !constantTimeEqual(sha256(proof.certChain[1]!), keyHash)) {
    throw new NoiseError("the relay's key proof is for another identity");
  }
  validateChain(proof.certChain, keyHash, now);
  const signed = verifySignedKey(proof.certChain[0]!, proof.signedKey);
  if (!constantTimeEqual(signed.raw, rs)) throw new NoiseError("the relay's key proof is for another static key");
}

type Listener = (ev: object) => void;

/** A GRP/1 connection that the SMP client can use as its WebSocket. */
export class GrpSocket {
  binaryType = "arraybuffer";
  readyState = 0;
  /** The Noise handshake hash: the SMP session id this connection must be given. */
  handshakeHash: Bytes | null = null;
  readonly counters = { sentData: 0, sentCover: 0, recvData: 0, recvCover: 0 };
  readonly #ws: RawSocket;
  readonly #listeners = new Map<string, Listener[]>();
  readonly #queue: Bytes[] = [];
  readonly #rate: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #uniform: () => number;
  readonly #now: () => number;
  readonly #clock: () => number;
  readonly #maxAge: number;
  #hs: HandshakeState;
  #sender: FrameSender | null = null;
  #receiver: FrameReceiver | null = null;
  #lastRekey = 0;
  #born = 0;
  #helloChecked = false;
  #closed = false;

  constructor(ws: RawSocket, keyHash: Bytes, rs: Bytes, options: GrpOptions = {}) {
    this.#ws = ws;
    this.#rate = options.rate ?? CLIENT_RATE;
    this.#sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.#uniform = options.uniform ?? cryptoUniform;
    this.#now = options.now ?? (() => Date.now() / 1000);
    this.#clock = options.clock ?? (() => globalThis.performance.now());
    this.#maxAge = options.maxAge ?? CLIENT_MAX_AGE_MS;
    const kem = options.kem;
    this.#hs = grpInitiator(keyHash, rs, kem === undefined ? {} : { kem });
    ws.binaryType = "arraybuffer";
    ws.addEventListener("open", () => ws.send(this.#hs.writeMessage(Uint8Array.of(0x43))));
    ws.addEventListener("message", (ev) => this.#onMessage((ev as { data: unknown }).data, keyHash, rs));
    ws.addEventListener("close", () => this.#fail());
    ws.addEventListener("error", () => this.#fail());
  }

  addEventListener(type: "open" | "close" | "error" | "message", listener: Listener): void {
    const list = this.#listeners.get(type) ?? [];
    list.push(listener);
    this.#listeners.set(type, list);
  }

  #emit(type: string, ev: object): void {
    for (const l of this.#listeners.get(type) ?? []) l(ev);
  }

  send(block: Uint8Array): void {
    if (this.readyState !== WS_OPEN) throw new Error("GRP connection is not open");
    if (this.#queue.length >= QUEUE_LIMIT) {
      this.#fail();
      throw new Error("GRP send queue is full");
    }
    this.#queue.push(block.slice());
  }

  close(): void {
    if (this.#closed) return;
    if (this.#sender !== null && this.#ws.readyState === WS_OPEN) {
      this.#ws.send(this.#sender.seal(FrameType.CLOSE, Uint8Array.of(0, 0)));
    }
    this.#ws.close(1000);
    this.#fail();
  }

  #fail(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.readyState = 3;
    if (this.#ws.readyState <= WS_OPEN) this.#ws.close(1000);
    this.#emit("close", {});
  }

  #onMessage(data: unknown, keyHash: Bytes, rs: Bytes): void {
    if (this.#closed) return;
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
    try {
      if (bytes === null) throw new NoiseError("not a binary message");
      if (this.#receiver === null) {
        const p2 = this.#hs.readMessage(bytes);
        verifyStaticProof(p2, keyHash, rs, this.#now());
        const r = this.#hs.result!;
        this.handshakeHash = r.h;
        this.#start(r.send, r.recv);
        return;
      }
      const frame = this.#receiver.open(bytes);
      if (frame.type === FrameType.CLOSE) return this.#fail();
      if (frame.type !== FrameType.DATA) {
        this.counters.recvCover += 1;
        return;
      }
      this.counters.recvData += 1;
      if (!this.#helloChecked) {
        // The relay's SMP hello must be bound to this Noise session.
        const hello = decodeServerHello(unpadHandshake(frame.body));
        if (!constantTimeEqual(hello.sessionId, this.handshakeHash!)) throw new NoiseError("the server hello is for another session");
        this.#helloChecked = true;
      }
      this.#emit("message", { data: frame.body.slice().buffer });
    } catch {
      this.#fail();
    }
  }

  #start(send: CipherState, recv: CipherState): void {
    this.#sender = new FrameSender(send);
    this.#receiver = new FrameReceiver(recv);
    this.#lastRekey = this.#born = this.#clock();
    this.readyState = WS_OPEN;
    this.#emit("open", {});
    void this.#tickLoop();
  }

  async #tickLoop(): Promise<void> {
    const sender = this.#sender!;
    while (!this.#closed) {
      await this.#sleep((-Math.log(1 - this.#uniform()) / this.#rate) * 1000);
      if (this.#closed || this.#ws.readyState !== WS_OPEN) return;
      const now = this.#clock();
      let wire: Bytes;
      if (now - this.#born >= this.#maxAge && this.#queue.length === 0) {
        // old enough: CLOSE at this tick once nothing is queued; the SMP client dials again
        this.#ws.send(sender.seal(FrameType.CLOSE, Uint8Array.of(0, 0)));
        return this.#fail();
      } else if (now - this.#lastRekey >= REKEY_MS) {
        this.#lastRekey = now;
        wire = sender.seal(FrameType.REKEY);
      } else if (this.#queue.length > 0) {
        wire = sender.seal(FrameType.DATA, this.#queue.shift()!);
        this.counters.sentData += 1;
      } else {
        wire = sender.seal(FrameType.COVER);
        this.counters.sentCover += 1;
      }
      this.#ws.send(wire);
    }
  }
}
