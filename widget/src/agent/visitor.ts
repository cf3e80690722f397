/**
 * The visitor's end of one connection: it joins an owner's contact address and chats.
 *
 * Mirrors the initiator role of src/hushwire/agent/agent.py (simplexmq Simplex.Messaging.Agent
 * joinConnSrv, smpConfirmation, secureConfirmQueue, helloMsg, the delivery worker;
 * docs/protocol/agent.md).
 *
 * Theory of operation. {@link Visitor.join} makes our receive queue (NEW, messaging mode, so the
 * owner may secure it with SKEY) and X448 keys k1, k2, and sends an AgentInvitation to the
 * contact queue: our invitation link plus our connInfo (x.info), in a per-queue box under a
 * fresh X25519 key (status `invited`). The owner answers on our queue with its confirmation:
 * PubHeader key (the per-queue secret from now on), '_' (fast, it SKEYed our queue) or 'K' with
 * a key we KEY our queue with (slow), its X3DH keys and, ratchet-encrypted, its reply queue and
 * profile (AgentConnInfoReply). We run X3DH, start the ratchet, and (status `confirming`) SKEY
 * its reply queue if it is in messaging mode, then send our confirmation (AgentConnInfo, id 1):
 * fast, once the relay took it we are `connected`; slow ('K' + our key, unsigned) we wait for the
 * owner's HELLO (`wait_hello`), answer HELLO and are connected once that is sent. Then A_MSG
 * both ways: each AgentMessage carries sndMsgId and the SHA-256 of our previous one; every A_MSG
 * we receive is answered with an A_RCVD receipt, every receipt we get is checked against the
 * hash of our message. Messages asked for before the handshake allows sending wait in order.
 *
 * Incoming messages are handled one at a time: decrypt (server layer, per-queue box, ratchet),
 * act, then ACK; a redelivered message (same ratchet ciphertext) is recognised by its hash and
 * only acknowledged. A step that needs the network (KEY) and fails is not acknowledged: the
 * relay delivers the message again after a resubscribe. Outgoing messages are encrypted once,
 * in order, and sent in order; a lost connection retries the same bytes, QUOTA waits.
 * Nothing here logs; no key or text leaves except through the caller's callbacks.
 */

import { base64urlEncode, type Bytes } from "../encoding.js";
import { DecodeError, HushwireError } from "../errors.js";
import { constantTimeEqual } from "../crypto/ct.js";
import { sha256 } from "../crypto/hash.js";
import { KeyPair, PrivateKey, PublicKey } from "../crypto/keys.js";
import { dhBoxKey } from "../crypto/nacl.js";
import { randomBytes } from "../crypto/random.js";
import { formatHosts, type SMPServer } from "../smp/address.js";
import { decryptMessage, queueDhKey, SMPClientError, SMPCommandError, type ClientEvent, type IdsResponse, type MsgResponse } from "../smp/client.js";
import type { QueueMode } from "../smp/commands.js";
import { compatible, VersionRange } from "../smp/version.js";
import { ConnectionRequest, parseLink, SMPQueueUri } from "./links.js";
import {
  AGENT_MSG_PAD,
  AGENT_VERSIONS,
  agentMessageHash,
  CONN_INFO_PAD,
  decodeClientMessage,
  decodeClientMsgEnvelope,
  decryptClientMessage,
  DELIVERY_RCPTS_SMPA_VERSION,
  E2E_CONFIRMATION_PAD,
  E2E_MESSAGE_PAD,
  encodeAgentEnvelope,
  encodeAMsg,
  encodeConnInfoMsg,
  encodeClientMessage,
  encodeClientMsgEnvelope,
  encryptClientMessage,
  parseAgentEnvelope,
  parseAgentMessage,
  SMP_CLIENT_VERSION,
  type AMessage,
  type ClientMessage,
  type SMPQueueInfo,
} from "./protocol.js";
import { E2E_VERSIONS, E2ERatchetParamsUri, Ratchet, RatchetDuplicate, x3dhInitiator } from "./ratchet.js";
import { KIT, ratchetToJSON } from "./ratchet_json.js";
import { SEEN_HASHES, SENT_HASHES, type OutgoingKind } from "./state_read.js";
import { restorer } from "../modules/restore_hook.js";
import { has, step, type Transition } from "./machine.js";

/** What the visitor needs of an SMP client; ReconnectingClient fits. */
export interface AgentClient {
  createQueue(rcvAuth: KeyPair, rcvDh: KeyPair, opts?: { subscribe?: boolean; messaging?: boolean }): Promise<IdsResponse>;
  subscribe(rid: Bytes, key: KeyPair): Promise<void>;
  secure(rid: Bytes, key: KeyPair, senderKey: PublicKey): Promise<void>;
  secureSender(sid: Bytes, senderKey: KeyPair): Promise<void>;
  send(sid: Bytes, body: Bytes, opts?: { key?: KeyPair | null }): Promise<void>;
  ack(rid: Bytes, key: KeyPair, msgId: Bytes): Promise<MsgResponse | null>;
  delete(rid: Bytes, key: KeyPair): Promise<void>;
  on(listener: (ev: ClientEvent) => void): () => void;
}

/** Where the visitor's commands for a queue on another relay go (the "proxy" module's sender). */
export type Sender = Pick<AgentClient, "send" | "secureSender">;

export type VisitorStatus = "new" | "invited" | "confirming" | "wait_hello" | "connected" | "ended";

export type VisitorEvent =
  /** Both sides can send; `peerInfo` is the owner's connInfo (its x.info). */
  | { type: "connected"; peerInfo: Bytes }
  /** An A_MSG from the owner (a receipt is already on its way); `id` is the owner's sndMsgId. */
  | { type: "message"; id: number; body: Bytes; integrity: string }
  /** The owner's agent got our message `id`; `ok` if the hash matched. */
  | { type: "receipt"; id: number; ok: boolean }
  /** Something went wrong that the application may show (never contains text or keys). */
  | { type: "problem"; message: string };

/** A request to the visitor that cannot be done (a HushwireError saying why). */
const VisitorError = HushwireError;

/** The owner's queue is on another relay than ours and the "proxy" module is missing. */
const ELSEWHERE = "the owner is on another relay (no proxy module)";

const MAX_WAITING = 100;

interface RcvQueue {
  server: SMPServer;
  rcvId: Bytes;
  sndId: Bytes;
  auth: KeyPair;
  dh: KeyPair;
  boxKey: Bytes;
  e2e: KeyPair;
  shared: Bytes | null;
  secured: boolean;
}

interface SndQueue {
  server: SMPServer;
  senderId: Bytes;
  peerE2e: PublicKey;
  mode: QueueMode;
  auth: KeyPair;
  e2e: PrivateKey;
  secured: boolean;
}

type Kind = OutgoingKind;

interface Outgoing {
  id: number;
  kind: Kind;
  body: Bytes;
  /** Where it goes: the contact queue (invitation) or the owner's reply queue. */
  to: Bytes;
  signed: boolean;
}

interface Waiting {
  message: AMessage;
  kind: Kind;
  done: (id: number) => void;
  queued: ((id: number) => void) | undefined;
}

const b64 = (x: Bytes): string => base64urlEncode(x);

/**
 * The key pairs a join makes, in the order it needs them (for crypto/keys.ts prepareKeys): the
 * relay session's X25519 (smp/client/handshake.ts), our queue's auth and DH keys, its e2e key,
 * the X3DH keys, the invitation's ephemeral key; after the owner's confirmation the ratchet's
 * first own key, then the reply queue's auth and e2e keys.
 *
 * Our auth keys (recipient and sender) are X25519: SMP v7+ authorizes a command with them by a
 * crypto_box authenticator under the relay's session key (simplexmq `CbAuthenticator`) instead
 * of a signature, which spares a new worker the Ed25519 code and its base tables.
 */
export const JOIN_KEYS = ["X25519", "X25519", "X25519", "X25519", "X448", "X448", "X25519", "X448", "X25519", "X25519"] as const;

/** A sealed state's auth key: X25519 ones are marked "x:" (states before them hold Ed25519 keys). */
const authRaw = (k: KeyPair): string => (k.public.alg === "X25519" ? "x:" : "") + b64(k.private.exportRaw());

function sameServer(a: SMPServer, b: SMPServer): boolean {
  return constantTimeEqual(a.keyHash, b.keyHash);
}

/**
 * The per-queue e2e layer (crypto_box) of a message to `peer`'s queue; the first message carries
 * our key. Encrypted again with a new nonce while the result ends in '#' (simplex-js strips
 * trailing '#' instead of honouring the pad length).
 */
export function sealForQueue(peer: PublicKey, own: PrivateKey, clientMessage: Bytes, first: boolean): Bytes {
  const shared = dhBoxKey(peer, own);
  try {
    for (;;) {
      const nonce = randomBytes(24);
      const encBody = encryptClientMessage(shared, nonce, clientMessage, first ? E2E_CONFIRMATION_PAD : E2E_MESSAGE_PAD);
      const env = encodeClientMsgEnvelope({ phVersion: SMP_CLIENT_VERSION, e2eKey: first ? own.public() : null, nonce, encBody });
      if (env[env.length - 1] !== 0x23) return env;
    }
  } finally {
    shared.fill(0);
  }
}

export class Visitor {
  readonly #client: AgentClient;
  readonly #onEvent: (e: VisitorEvent) => void;
  readonly #ownInfo: Bytes;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #persist: () => Promise<unknown>;
  #status: VisitorStatus = "new";
  #agentVersion = AGENT_VERSIONS.max;
  #x3dh: [KeyPair, KeyPair] | null = null;
  #rcv: RcvQueue | null = null;
  #snd: SndQueue | null = null;
  #ratchet: Ratchet | null = null;
  #peerInfo: Bytes = new Uint8Array(0);
  #lastSndId = 0;
  #lastSndHash: Bytes = new Uint8Array(0);
  #lastRcvId = 0;
  #lastRcvHash: Bytes = new Uint8Array(0);
  #seen: Bytes[] = [];
  /** Hashes of our A_MSGs by sndMsgId, to check receipts (the last SENT_HASHES). */
  #sent = new Map<number, Bytes>();
  #outbox: Outgoing[] = [];
  #waiting: Waiting[] = [];
  #delivering = false;
  #rx: Promise<void> = Promise.resolve();
  /** Every step that reads or writes the ratchet and the counters runs alone, in order. */
  #lock: Promise<unknown> = Promise.resolve();
  #sentWaiters = new Map<number, (ok: boolean) => void>();
  #unlisten: (() => void) | null = null;
  /** Our relay (where our queue is), the contact address's relay, why a send was refused. */
  #relay: SMPServer | undefined;
  #contact: SMPServer | null = null;
  #proxy: ((server: SMPServer) => Sender | undefined) | undefined;
  #why = "";

  /**
   * `persist` (resume on) stores {@link Visitor.state}; it is awaited, one step at a time, before
   * anything that depends on the state goes out: each SEND (the ratchet and the counters that
   * made it) and each ACK (the message it acknowledges, processed), so a state restored after a
   * reload never sends new bytes under a key it already used and never loses nor repeats a
   * message (redelivered after a reload, it is recognised by its hash). It runs under the
   * lock; it may resolve with a function, the wait for the store to commit what it took,
   * which runs after the lock is released (so the store's write does not hold up the next step).
   *
   * `relay`: the relay `client` talks to, when the owner's address may be on another one
   * (default: the address's relay); `proxy`: a sender for queues on other relays through it
   * (the "proxy" module; without it such an owner is refused).
   */
  constructor(
    client: AgentClient,
    ownInfo: Bytes,
    onEvent: (e: VisitorEvent) => void,
    opts: { sleep?: (ms: number) => Promise<void>; persist?: (() => Promise<void | (() => Promise<void>)>) | undefined; relay?: SMPServer; proxy?: ((server: SMPServer) => Sender | undefined) | undefined } = {},
  ) {
    this.#client = client;
    this.#relay = opts.relay;
    this.#proxy = opts.proxy;
    this.#ownInfo = ownInfo;
    this.#onEvent = onEvent;
    this.#sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    const persist = opts.persist;
    this.#persist = persist === undefined ? () => Promise.resolve() : () => this.#serial(persist).then((wait) => wait?.());
  }

  /** Where commands for a queue on `server` go: our client, or through it as a proxy. */
  #via(server: SMPServer): Sender | undefined {
    return sameServer(server, this.#relay!) ? this.#client : this.#proxy?.(server);
  }

  get status(): VisitorStatus {
    return this.#status;
  }

  /** The owner's connInfo from its confirmation (empty before it). */
  get peerInfo(): Bytes {
    return this.#peerInfo;
  }

  #emit(e: VisitorEvent): void {
    try {
      this.#onEvent(e);
    } catch {
      // a listener's failure must not break the connection
    }
  }

  #serial<T>(f: () => Promise<T>): Promise<T> {
    const p = this.#lock.then(f);
    this.#lock = p.catch(() => undefined);
    return p;
  }

  #listen(): void {
    this.#unlisten = this.#client.on((ev) => {
      const rcv = this.#rcv;
      if (ev.type !== "message" || rcv === null || !constantTimeEqual(ev.recipientId, rcv.rcvId)) return;
      this.#rx = this.#rx.then(() => this.#onMsg(ev.msg));
    });
  }

  // ------------------------------------------------------------------ joining

  /**
   * Join the contact address `link` (a full `contact` link on the relay this client is
   * connected to). Resolves once the relay took our invitation.
   */
  async join(link: string): Promise<void> {
    if (this.#status !== "new") throw new VisitorError("already joined");
    const req = parseLink(link);
    if (req.mode !== "contact") throw new VisitorError("the widget joins contact addresses; this is a one-time invitation link");
    const target = req.queues[0]!;
    const agentV = compatible(AGENT_VERSIONS, req.agentVersions);
    if (agentV === null) throw new VisitorError("this address needs a newer version of the SimpleX agent");
    this.#agentVersion = agentV;
    this.#listen();
    const auth = KeyPair.generate("X25519");
    const dh = KeyPair.generate("X25519");
    this.#relay ??= target.server;
    if (!this.#via(target.server)) throw new VisitorError(ELSEWHERE);
    const ids = await this.#client.createQueue(auth, dh, { subscribe: true, messaging: true });
    this.#contact = target.server;
    this.#rcv = {
      server: { ...this.#relay, basicAuth: null },
      rcvId: ids.rcvId,
      sndId: ids.sndId,
      auth,
      dh,
      boxKey: queueDhKey(dh, ids.srvDhKey),
      e2e: KeyPair.generate("X25519"),
      shared: null,
      secured: false,
    };
    const k1 = KeyPair.generate("X448");
    const k2 = KeyPair.generate("X448");
    this.#x3dh = [k1, k2];
    const ownUri = new SMPQueueUri(new VersionRange(1, SMP_CLIENT_VERSION), this.#rcv.server, ids.sndId, this.#rcv.e2e.public, "M");
    const invitation = new ConnectionRequest("invitation", AGENT_VERSIONS, [ownUri], new E2ERatchetParamsUri(E2E_VERSIONS, k1.public, k2.public)).toUri();
    const inv = encodeAgentEnvelope({ tag: "I", agentVersion: agentV, connReq: new TextEncoder().encode(invitation), connInfo: this.#ownInfo });
    const body = sealForQueue(target.dhPublicKey, KeyPair.generate("X25519").private, encodeClientMessage({ privHeader: { tag: "_" }, body: inv }), true);
    this.#status = step("joining", { input: "join" })[0] as VisitorStatus;
    const sent = this.#whenSent(0);
    this.#outbox.push({ id: 0, kind: "invitation", body, to: target.senderId, signed: false });
    void this.#deliver();
    if (!(await sent)) throw new VisitorError(`the relay refused the invitation: ${this.#why}`);
  }

  // ------------------------------------------------------------------ sending

  /**
   * Send an A_MSG; resolves with its id once the relay took it. `queued` learns the id as soon
   * as the message is encrypted (before the state is persisted and the message sent).
   */
  send(body: Bytes, queued?: (id: number) => void): Promise<number> {
    if (this.#status === "ended") return Promise.reject(new VisitorError("the conversation has ended"));
    if (this.#status === "new") return Promise.reject(new VisitorError("not joined yet"));
    return this.#enqueue({ tag: "A_MSG", body }, "msg", queued).then(async (id) => {
      if (!(await this.#whenSent(id))) throw new VisitorError("the relay refused the message");
      return id;
    });
  }

  #whenSent(id: number): Promise<boolean> {
    return new Promise((resolve) => this.#sentWaiters.set(id, resolve));
  }

  /** Encrypt now if the handshake allows it, else wait (in order) until it does; resolves with the id. */
  #enqueue(message: AMessage, kind: Kind, queued?: (id: number) => void): Promise<number> {
    return new Promise((done, fail) => {
      this.#serial(async () => {
        if (this.#status === "ended") fail(new VisitorError("the conversation has ended"));
        else if (this.#canSend() && this.#waiting.length === 0) done(await this.#encryptOut(message, kind, queued));
        else if (this.#waiting.length >= MAX_WAITING) fail(new VisitorError("too many messages waiting"));
        else this.#waiting.push({ message, kind, done, queued });
      }).catch(fail);
    });
  }

  /** AgentMessages may be encrypted now (the table's answer to a send). */
  #canSend(): boolean {
    return has(this.#step("send"), "send_message");
  }

  /** The table's transition for `input` with the facts of our send queue. */
  #step(input: string): Transition {
    return step(this.#status, { input, fast: this.#snd?.mode === "M", last_snd_id: this.#lastSndId });
  }

  /** (Under the lock.) If messages may be encrypted now, the waiting ones go first. */
  async #openUp(): Promise<void> {
    if (this.#canSend()) for (const w of this.#waiting.splice(0)) w.done(await this.#encryptOut(w.message, w.kind, w.queued));
  }

  /** (Under the lock.) Encrypt an AgentMessage and queue it: message ids and hashes chain here. */
  async #encryptOut(message: AMessage, kind: Kind, queued?: (id: number) => void): Promise<number> {
    const snd = this.#snd!;
    const id = this.#lastSndId + 1;
    const am = encodeAMsg({ sndMsgId: BigInt(id), prevMsgHash: this.#lastSndHash }, message);
    const [enc, ratchet] = await this.#ratchet!.encrypt(am, AGENT_MSG_PAD);
    const env = encodeAgentEnvelope({ tag: "M", agentVersion: this.#agentVersion, encAgentMessage: enc });
    const body = sealForQueue(snd.peerE2e, snd.e2e, encodeClientMessage({ privHeader: { tag: "_" }, body: env }), false);
    this.#ratchet = ratchet;
    this.#lastSndId = id;
    this.#lastSndHash = agentMessageHash(am);
    if (kind === "msg") {
      this.#sent.set(id, this.#lastSndHash);
      if (this.#sent.size > SENT_HASHES) this.#sent.delete(this.#sent.keys().next().value!);
    }
    queued?.(id);
    this.#outbox.push({ id, kind, body, to: snd.senderId, signed: true });
    void this.#deliver();
    return id;
  }

  async #deliver(): Promise<void> {
    if (this.#delivering) return;
    this.#delivering = true;
    let delay = 500;
    try {
      while (this.#outbox.length > 0 && this.#status !== "ended") {
        const m = this.#outbox[0]!;
        try {
          await this.#persist();
          const via = this.#via(m.kind === "invitation" ? this.#contact! : this.#snd!.server)!;
          if (m.kind === "conf" && has(this.#confirmStep(true), "secure_snd")) await this.#sendSecured(via, m);
          else await via.send(m.to, m.body, { key: m.signed ? this.#snd!.auth : null });
        } catch (e) {
          if (e instanceof SMPCommandError && e.error.tag !== "QUOTA") {
            this.#why = e.message;
            this.#outbox.shift();
            this.#emit({ type: "problem", message: `refused: ${e.error.tag}` });
            this.#settle(m.id, false);
            continue;
          }
          if (!(e instanceof SMPClientError)) throw e;
          // no connection, no answer in time, or QUOTA: the same bytes again later
          await this.#sleep(delay);
          delay = Math.min(delay * 2, 30000);
          continue;
        }
        delay = 500;
        this.#outbox.shift();
        this.#afterSent(m);
      }
    } finally {
      this.#delivering = false;
    }
    void this.#persist();
  }

  /**
   * Our fast confirmation `m` to a queue not known to be secured: SKEY, then the signed SEND.
   * Directly, both go in one block, the SEND not waiting for SKEY's answer: Hushwire's relay
   * decides the SEND against the key the SKEY before it sets; simplexmq's server checks a
   * block's signatures before it runs any of its commands, so there the SEND is refused with
   * AUTH while the SKEY succeeds, and goes again (a round trip more, as if sent in turn).
   * Through a proxy the two could overtake each other: one after the other. A SEND that
   * succeeded proves the queue is secured with our key; SKEY again with the same key is
   * accepted (a retry after a lost connection or a restart sends both again).
   */
  async #sendSecured(via: Sender, m: Outgoing): Promise<void> {
    const snd = this.#snd!;
    const send = (): Promise<void> => via.send(m.to, m.body, { key: snd.auth });
    if (via !== this.#client) {
      await via.secureSender(snd.senderId, snd.auth);
      snd.secured = true;
      return send();
    }
    const [skey, sent] = await Promise.allSettled([via.secureSender(snd.senderId, snd.auth), send()]);
    if (sent.status === "fulfilled") {
      snd.secured = true;
      return;
    }
    if (skey.status === "rejected") throw skey.reason;
    snd.secured = true;
    const e: unknown = sent.reason;
    if (e instanceof SMPCommandError && e.error.tag === "AUTH") return send();
    throw e;
  }

  #settle(id: number, ok: boolean): void {
    const w = this.#sentWaiters.get(id);
    if (w !== undefined) {
      this.#sentWaiters.delete(id);
      w(ok);
    }
  }

  #afterSent(m: Outgoing): void {
    const t = step(this.#status, { input: "sent", kind: m.kind });
    this.#status = t[0] as VisitorStatus;
    if (has(t, "emit:established")) {
      this.#emit({ type: "connected", peerInfo: this.#peerInfo });
      // slow path: what waited for the HELLO exchange goes now
      void this.#serial(() => this.#openUp());
    }
    this.#settle(m.id, true);
  }

  // ------------------------------------------------------------------ receiving

  async #onMsg(first: MsgResponse): Promise<void> {
    let msg: MsgResponse | null = first;
    while (msg !== null && this.#rcv !== null && this.#status !== "ended") {
      const rcv: RcvQueue = this.#rcv;
      try {
        const m = msg;
        await this.#serial(() => this.#process(m));
      } catch (e) {
        if (e instanceof SMPClientError) {
          // A network step of this message failed: nothing changed and it is not
          // acknowledged; subscribing again makes the relay deliver it again.
          void this.#sleep(2000).then(() => this.#client.subscribe(rcv.rcvId, rcv.auth).catch(() => undefined));
          return;
        }
        // A message that cannot be read is acknowledged all the same (it would only come back).
        if (!(e instanceof RatchetDuplicate)) this.#emit({ type: "problem", message: e instanceof HushwireError ? e.name : "internal error" });
      }
      try {
        await this.#persist();
        msg = await this.#client.ack(rcv.rcvId, rcv.auth, msg.msgId);
      } catch {
        msg = null; // NO_MSG, or the connection dropped: the relay delivers it again
      }
    }
  }

  async #process(msg: MsgResponse): Promise<void> {
    const rcv = this.#rcv!;
    const plain = decryptMessage(rcv.boxKey, msg);
    if (plain.kind === "quota") return;
    const env = decodeClientMsgEnvelope(plain.body);
    if (env.e2eKey !== null) {
      if (rcv.shared !== null) return; // a repeated confirmation: ACK and ignore
      const shared = dhBoxKey(env.e2eKey, rcv.e2e.private);
      const cm = decodeClientMessage(decryptClientMessage(shared, env.nonce, env.encBody));
      await this.#onConfirmation(shared, cm);
      return;
    }
    if (rcv.shared === null || this.#ratchet === null) throw new DecodeError("message before confirmation");
    const cm = decodeClientMessage(decryptClientMessage(rcv.shared, env.nonce, env.encBody));
    const ae = parseAgentEnvelope(cm.body);
    if (ae.tag !== "M") throw new DecodeError("not an agent message");
    const seen = sha256(ae.encAgentMessage);
    if (this.#seen.some((s) => constantTimeEqual(s, seen))) return; // delivered again after a lost ACK
    const [data, ratchet] = await this.#ratchet.decrypt(ae.encAgentMessage);
    const am = parseAgentMessage(data);
    if (am.tag !== "M") throw new DecodeError("not an agent message");
    this.#ratchet = ratchet;
    this.#seen = [...this.#seen.slice(-(SEEN_HASHES - 1)), seen];
    const hdr = am.header;
    const id = Number(hdr.sndMsgId);
    let integrity: string;
    if (id === this.#lastRcvId + 1 && constantTimeEqual(hdr.prevMsgHash, this.#lastRcvHash)) integrity = "ok";
    else if (id <= this.#lastRcvId) integrity = `duplicate ${id}`;
    else if (id > this.#lastRcvId + 1) integrity = `skipped ${id - this.#lastRcvId - 1}`;
    else integrity = "bad hash";
    const hash = agentMessageHash(data);
    this.#lastRcvId = Math.max(this.#lastRcvId, id);
    this.#lastRcvHash = hash;
    const m = am.message;
    switch (m.tag) {
      case "HELLO":
        // The owner KEYed our queue and says HELLO (slow path); the OK for our confirmation
        // may still be on its way, so "confirming" with it queued counts too.
        if (has(this.#step("hello"), "send_hello")) {
          await this.#encryptOut({ tag: "HELLO" }, "hello_reply");
        }
        return;
      case "A_MSG":
        this.#emit({ type: "message", id, body: m.body, integrity });
        if (this.#agentVersion >= DELIVERY_RCPTS_SMPA_VERSION) {
          void this.#enqueue({ tag: "A_RCVD", receipts: [{ agentMsgId: hdr.sndMsgId, msgHash: hash, rcptInfo: new Uint8Array(0) }] }, "receipt").catch(() => undefined);
        }
        return;
      case "A_RCVD":
        for (const r of m.receipts) {
          const sentHash = this.#sent.get(Number(r.agentMsgId));
          if (sentHash === undefined) continue;
          this.#emit({ type: "receipt", id: Number(r.agentMsgId), ok: constantTimeEqual(sentHash, r.msgHash) });
        }
        return;
      default:
        return; // EREADY, queue rotation: not implemented (ACK and ignore)
    }
  }

  /** The owner's confirmation on our queue: X3DH, ratchet, its reply queue; then ours. */
  async #onConfirmation(shared: Bytes, cm: ClientMessage): Promise<void> {
    const ae = parseAgentEnvelope(cm.body);
    if (ae.tag !== "C") throw new DecodeError("expected a confirmation");
    const rcv = this.#rcv!;
    const t = step(this.#status, { input: "confirmation", slow: cm.privHeader.tag === "K", rcv_secured: rcv.secured, e2e_version: ae.e2e?.version });
    // refused: no keys (or used already), an e2e version we do not support
    if (has(t, "refuse")) throw new DecodeError(`confirmation ${t[1]}`);
    const e2e = ae.e2e!;
    const version = Math.min(e2e.version, E2E_VERSIONS.max);
    const [k1, k2] = this.#x3dh!;
    const keys = x3dhInitiator(k1.private, k2.private, e2e);
    const [data, ratchet] = await Ratchet.initInitiator(keys, k2, version).decrypt(ae.encConnInfo);
    const reply = parseAgentMessage(data);
    if (reply.tag !== "D") throw new DecodeError("confirmation without reply queue");
    const target: SMPQueueInfo = reply.queues[0]!;
    // with a `proxy` option that has no sender (the worker lacks the module), the confirmation
    // is not acknowledged: the relay delivers it again to the worker that has the module
    if (!this.#via(target.server)) throw new (this.#proxy ? SMPClientError : VisitorError)(ELSEWHERE);
    if (cm.privHeader.tag === "K" && has(t, "secure_rcv")) {
      await this.#client.secure(rcv.rcvId, rcv.auth, cm.privHeader.senderKey);
      rcv.secured = true;
    }
    this.#agentVersion = Math.max(Math.min(this.#agentVersion, ae.agentVersion), AGENT_VERSIONS.min);
    this.#snd = {
      server: target.server,
      senderId: target.senderId,
      peerE2e: target.dhPublicKey,
      mode: target.queueMode === "M" ? "M" : "C",
      auth: KeyPair.generate("X25519"),
      e2e: KeyPair.generate("X25519").private,
      secured: false,
    };
    this.#peerInfo = reply.connInfo;
    this.#x3dh = null;
    rcv.shared = shared;
    this.#ratchet = ratchet;
    this.#lastRcvId = 1;
    this.#lastRcvHash = agentMessageHash(data);
    this.#status = t[0] as VisitorStatus;
    void this.#serial(() => this.#confirm());
  }

  /** The table's answer to a confirmation step: `queued`, our confirmation is in the outbox. */
  #confirmStep(queued: boolean): Transition {
    const snd = this.#snd!;
    return step(this.#status, { input: "confirm_step", fast: snd.mode === "M", secured: snd.secured, queued });
  }

  /**
   * (Under the lock.) Queue our confirmation, message 1; fast, the owner's reply queue is
   * SKEYed with it (the delivery sends the SKEY and, without waiting for its answer, the
   * confirmation: {@link Visitor.#sendSecured}).
   */
  async #confirm(): Promise<void> {
    const snd = this.#snd!;
    const t = this.#confirmStep(this.#lastSndId > 0);
    const fast = has(t, "send_confirmation:conf ");
    if (this.#status !== "confirming" || !has(t, "send_confirmation")) return;
    const info = encodeConnInfoMsg(this.#ownInfo);
    const [enc, ratchet] = await this.#ratchet!.encrypt(info, CONN_INFO_PAD);
    const conf = encodeAgentEnvelope({ tag: "C", agentVersion: this.#agentVersion, e2e: null, encConnInfo: enc });
    const header: ClientMessage["privHeader"] = fast ? { tag: "_" } : { tag: "K", senderKey: snd.auth.public };
    const body = sealForQueue(snd.peerE2e, snd.e2e, encodeClientMessage({ privHeader: header, body: conf }), true);
    this.#ratchet = ratchet;
    this.#lastSndId = 1;
    this.#lastSndHash = agentMessageHash(info);
    this.#outbox.push({ id: 1, kind: fast ? "conf" : "conf_k", body, to: snd.senderId, signed: fast });
    if (fast) await this.#openUp();
    void this.#deliver();
  }

  // ------------------------------------------------------------------ resume after reload

  /**
   * Everything needed to go on after a reload, as JSON-able data: queues and their keys, the
   * ratchet (ratchet_json.ts), counters and hash chains, the recent message hashes, the owner's
   * connInfo and the encrypted messages not yet sent. It holds every secret of the
   * conversation: seal it, never log it. Messages still waiting for the handshake are not in it.
   */
  state(): unknown {
    const rcv = this.#rcv!;
    const snd = this.#snd;
    const raw = (k: KeyPair | PrivateKey): string => b64(("private" in k ? k.private : k).exportRaw());
    return {
      s: this.#status,
      v: this.#agentVersion,
      x: this.#x3dh?.map(raw) ?? null,
      r: [b64(rcv.rcvId), b64(rcv.sndId), authRaw(rcv.auth), raw(rcv.dh), b64(rcv.boxKey), raw(rcv.e2e), rcv.shared && b64(rcv.shared), rcv.secured],
      q: snd && [b64(snd.senderId), b64(snd.peerE2e.raw), snd.mode, authRaw(snd.auth), raw(snd.e2e), snd.secured, `smp://${b64(snd.server.keyHash)}@${formatHosts(snd.server.hosts)}:${snd.server.port ?? 5223}`],
      k: this.#ratchet && ratchetToJSON(this.#ratchet),
      i: b64(this.#peerInfo),
      n: [this.#lastSndId, b64(this.#lastSndHash), this.#lastRcvId, b64(this.#lastRcvHash)],
      h: this.#seen.map(b64),
      m: [...this.#sent].map(([id, hash]) => [id, b64(hash)]),
      b: this.#outbox.map((m) => [m.id, m.kind, b64(m.body), b64(m.to), m.signed]),
    };
  }

  /**
   * Take a {@link Visitor.state} (on `server`, the relay of the contact address; our queue is
   * on the constructor's `relay`, by default that one), before {@link Visitor.resume}: anything
   * malformed is a DecodeError, and nothing was sent.
   */
  load(state: unknown, server: SMPServer): void {
    if (this.#status !== "new") throw new VisitorError("already joined");
    this.#contact = server;
    this.#relay ??= server;
    const f = restorer().visitor(state, KIT);
    this.#rcv = { ...f.rcv, server: { ...this.#relay, basicAuth: null } };
    this.#x3dh = f.x3dh;
    // the owner's relay: a state sealed before it was kept had the address's relay
    this.#snd = f.snd && { ...f.snd, server: f.snd.server ?? server };
    if (this.#snd && !this.#via(this.#snd.server) && !this.#proxy) throw new VisitorError(ELSEWHERE);
    this.#ratchet = f.ratchet;
    this.#agentVersion = f.agentVersion;
    this.#peerInfo = f.peerInfo;
    this.#lastSndId = f.lastSndId;
    this.#lastSndHash = f.lastSndHash;
    this.#lastRcvId = f.lastRcvId;
    this.#lastRcvHash = f.lastRcvHash;
    this.#seen = f.seen;
    this.#sent = f.sent;
    this.#outbox = f.outbox;
    this.#status = f.status;
  }

  /**
   * Go on from a loaded state: our queue is subscribed again (the relay redelivers what we did
   * not acknowledge; what we processed is recognised by its hash) and what was not sent yet
   * goes out.
   */
  async resume(): Promise<void> {
    const rcv = this.#rcv!;
    this.#listen();
    await this.#client.subscribe(rcv.rcvId, rcv.auth);
    // the owner's confirmation was read, ours not queued yet: queue it now
    if (this.#status === "confirming" && this.#lastSndId === 0) void this.#serial(() => this.#confirm());
    void this.#deliver();
  }

  /**
   * Stop between two steps and return {@link Visitor.state} as it is then, for another
   * Visitor to {@link Visitor.load} and {@link Visitor.resume} (the worker restarting with a
   * module). Nothing is encrypted after it; an ACK or a send already under way may still
   * complete, which the state allows for (a message acknowledged was processed in it; one sent
   * twice is the same bytes, refused by the owner's agent as a repeat).
   */
  detach(): Promise<unknown> {
    return this.#serial(async () => {
      const s = this.state();
      await this.close(false);
      return s;
    });
  }

  // ------------------------------------------------------------------ ending

  /**
   * End the conversation: send `finalBody` (the chat's x.direct.del) if the connection is up,
   * wait up to `timeoutMs` for the relay to take it, then delete our queue.
   */
  async end(finalBody: Bytes | null, timeoutMs = 10000): Promise<void> {
    if (this.#status === "ended") return;
    if (finalBody !== null && this.#status === "connected") {
      const sent = this.send(finalBody).catch(() => 0);
      await Promise.race([sent, this.#sleep(timeoutMs)]);
    }
    await this.close(true);
  }

  /** Stop: no more sending or receiving; with `deleteQueue` our queue is deleted on the relay. */
  async close(deleteQueue: boolean): Promise<void> {
    if (this.#status === "ended") return;
    this.#status = "ended";
    this.#unlisten?.();
    this.#unlisten = null;
    this.#waiting = [];
    for (const id of [...this.#sentWaiters.keys()]) this.#settle(id, false);
    const rcv = this.#rcv;
    if (deleteQueue && rcv !== null) {
      try {
        await this.#client.delete(rcv.rcvId, rcv.auth);
      } catch {
        // gone already, or unreachable: the relay expires it
      }
    }
  }
}
