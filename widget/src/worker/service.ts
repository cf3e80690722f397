/**
 * What the crypto worker does, independent of the Worker global (so Node tests drive it):
 * it owns the SMP connection, the visitor's agent and every key. Requests come in through
 * {@link WorkerService.handle}; results and events go out through `post` (see rpc.ts for the
 * protocol). Only chat text and the owner's name leave; never a key.
 *
 * Resume (a `seal` key given to `join`, or `restore`): before anything that depends on the
 * session state goes out (each SEND, each ACK; see Visitor's `persist`) the worker posts
 * `sealed`: AES-256-GCM under the page's non-extractable key (random 12-byte IV first, then
 * the ciphertext) of the JSON of the visitor's state, the contact address, our connInfo, the
 * owner's name and the last messages with their ticks. `restore` opens it (a wrong key, a
 * corrupted or foreign blob is an error and nothing is sent), reconnects, subscribes our
 * queue again and sends what was not sent.
 */

import { parseSMPServer, type SMPServer } from "../smp/address.js";
import { ReconnectingClient, SMPClient, type ClientEvent, type WebSocketLike } from "../smp/client.js";
import { randomBytes } from "../crypto/random.js";
import { base64urlDecode, base64urlEncode, concat, utf8 } from "../encoding.js";
import { DecodeError } from "../errors.js";
import { parseLink } from "../agent/links.js";
import { Visitor, type VisitorEvent } from "../agent/visitor.js";
import { shortLink } from "../modules/short_hook.js";
import { encodeChatMessage, encodeConnInfo, interpret, parseChatElements, wellFormed, xDirectDel, xInfo, xMsgNewText, type ChatEvent, type Profile } from "../chat.js";
import { parseTranscriptItem, type Results, type TranscriptItem, type WorkerEvent, type WorkerReply, type WorkerRequest } from "../rpc.js";

export type SocketFactory = (url: string) => WebSocketLike;

export function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : "internal error";
}

/** The transcript a sealed state keeps: at most this many messages and characters. */
const KEEP_ITEMS = 200;
const KEEP_CHARS = 100000;
/** Additional data of the sealed state's AES-GCM. */
const SEAL_AD = utf8("hushwire session 1") as Uint8Array<ArrayBuffer>;

/** The name an anonymous visitor shows the owner. */
const ANONYMOUS = "Visitor";

/** Each chat event of a message body that reads (an element that does not is skipped). */
export function chatViews(body: Uint8Array): ChatEvent[] {
  const out: ChatEvent[] = [];
  for (const m of parseChatElements(body)) {
    if (m instanceof Error) continue;
    try {
      out.push(interpret(m));
    } catch {
      // not readable: skipped
    }
  }
  return out;
}

/** The owner's (the peer's) display name from its connInfo (x.info), or "". */
export function peerName(info: Uint8Array): string {
  for (const v of chatViews(info)) if (v.kind === "XInfo" || v.kind === "XContact") return wellFormed(v.profile.displayName).slice(0, 200);
  return "";
}

/** AES-256-GCM of the JSON `text` under `key` with additional data `ad`: a random 12-byte IV, then the ciphertext. */
export async function sealText(key: CryptoKey, ad: Uint8Array<ArrayBuffer>, text: string): Promise<ArrayBuffer> {
  const iv = randomBytes(12) as Uint8Array<ArrayBuffer>;
  const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: ad }, key, utf8(text) as Uint8Array<ArrayBuffer>);
  return concat(iv, new Uint8Array(ct)).buffer as ArrayBuffer;
}

/** The JSON value {@link sealText} sealed; `error` if it does not open with `key` or is not JSON. */
export async function openText(key: CryptoKey, ad: Uint8Array<ArrayBuffer>, sealed: ArrayBuffer, error: Error): Promise<unknown> {
  const data = new Uint8Array(sealed);
  try {
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: data.slice(0, 12), additionalData: ad }, key, data.slice(12));
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plain)) as unknown;
  } catch {
    throw error;
  }
}

/** The relay of a full contact address (a clear error for typos and, without the "short" module, short links). */
function contactServer(address: string): SMPServer {
  const link = parseLink(address);
  if (link.mode !== "contact") throw new Error("not a contact address");
  return link.queues[0]!.server;
}

export class WorkerService {
  readonly #post: (m: WorkerReply) => void;
  readonly #socket: SocketFactory;
  #client: ReconnectingClient | null = null;
  #lagTimer: ReturnType<typeof setInterval> | null = null;
  #visitor: Visitor | null = null;
  #info: Uint8Array = new Uint8Array(0);
  /** Resume: the page's sealing key (null = off), what the state needs beside the visitor's. */
  #key: CryptoKey | null = null;
  #address = "";
  #peer = "";
  #transcript: TranscriptItem[] = [];
  #lastSealed = "";

  constructor(post: (m: WorkerReply) => void, socket: SocketFactory) {
    this.#post = post;
    this.#socket = socket;
  }

  #event(e: WorkerEvent): void {
    this.#post(e);
  }

  #onClientEvent = (ev: ClientEvent): void => {
    if (ev.type === "disconnected") this.#event({ event: "status", status: "disconnected", detail: ev.reason });
    else if (ev.type === "reconnected") this.#event({ event: "status", status: "reconnected", detail: `after ${ev.attempts} attempts` });
  };

  async handle(req: WorkerRequest): Promise<void> {
    try {
      const result = await this.#run(req);
      this.#post({ id: req.id, ok: true, result });
    } catch (e) {
      this.#post({ id: req.id, ok: false, error: errorText(e) });
    }
  }

  async #connect(server: SMPServer, wsUrl: string): Promise<ReconnectingClient> {
    const rc = this.#make(server, wsUrl);
    await this.#open(rc);
    return rc;
  }

  /** The relay's client, not connected yet. */
  #make(server: SMPServer, wsUrl: string): ReconnectingClient {
    if (this.#client !== null) throw new Error("already connected");
    if (!/^wss?:\/\//.test(wsUrl)) throw new Error("the WebSocket URL must start with ws:// or wss://");
    const rc = new ReconnectingClient((onEvent) => SMPClient.connect(this.#socket(wsUrl), server.keyHash, { onEvent }));
    rc.on(this.#onClientEvent);
    return rc;
  }

  async #open(rc: ReconnectingClient): Promise<void> {
    await rc.start();
    this.#client = rc;
    this.#lagTimer = setInterval(() => {
      const lag = rc.client?.lag;
      if (lag !== null && lag !== undefined) this.#event({ event: "lag", ms: lag });
    }, 30000);
    this.#event({ event: "status", status: "connected", detail: `SMP v${rc.client?.version ?? 0}` });
  }

  #stop(): void {
    if (this.#lagTimer !== null) clearInterval(this.#lagTimer);
    this.#lagTimer = null;
    this.#client?.close();
    this.#client = null;
  }

  async #run(req: WorkerRequest): Promise<Results[WorkerRequest["op"]]> {
    switch (req.op) {
      case "connect": {
        const rc = await this.#connect(parseSMPServer(req.server), req.wsUrl);
        return { version: rc.client?.version ?? 0 };
      }
      case "ping": {
        if (this.#client === null) throw new Error("not connected");
        return { lag: await this.#client.ping() };
      }
      case "close": {
        const v = this.#visitor;
        if (v !== null) await this.#drop(v, false);
        this.#stop();
        this.#event({ event: "status", status: "closed", detail: "closed by the page" });
        return null;
      }
      case "join":
        await this.#join(req.address, req.relayUrl, req.name, req.seal);
        return null;
      case "send":
        return { msgId: await this.#send(req.text) };
      case "end": {
        const v = this.#visitor;
        if (v === null) throw new Error("no conversation to end");
        await v.end(encodeChatMessage(xDirectDel()));
        this.#finish("self");
        return null;
      }
      case "restore":
        return this.#restore(req.relayUrl, req.key, req.sealed);
    }
  }

  // ------------------------------------------------------------------ the visitor's chat

  async #join(address: string, relayUrl: string, name: string, seal: CryptoKey | null): Promise<void> {
    if (this.#visitor !== null) throw new Error("already in a conversation");
    // A short link (with the "short" module) names its relay; the full address comes from it.
    const short = shortLink(address);
    const server = short?.server ?? contactServer(address);
    const profile: Profile = { displayName: wellFormed(name.trim()).slice(0, 100) || ANONYMOUS, fullName: "" };
    this.#info = encodeConnInfo(xInfo(profile));
    const rc = await this.#connect(server, relayUrl);
    if (short !== null) {
      try {
        address = await short.resolve(rc.client!);
      } catch (e) {
        this.#stop();
        throw e;
      }
    }
    const v = this.#start(rc, address, seal);
    try {
      await v.join(address);
    } catch (e) {
      await this.#drop(v, true);
      throw e;
    }
  }

  #start(rc: ReconnectingClient, address: string, key: CryptoKey | null): Visitor {
    this.#key = key;
    this.#address = address;
    this.#lastSealed = "";
    const v: Visitor = new Visitor(rc, this.#info, this.#onVisitorEvent, key === null ? {} : { persist: () => this.#seal(v) });
    this.#visitor = v;
    return v;
  }

  async #drop(v: Visitor, deleteQueue: boolean): Promise<void> {
    this.#visitor = null;
    this.#key = null;
    await v.close(deleteQueue);
    this.#stop();
  }

  /** Post the sealed state if it changed (never throws: a state not stored is not resumed). */
  async #seal(v: Visitor): Promise<void> {
    const key = this.#key;
    if (key === null || v !== this.#visitor || v.status === "ended") return;
    try {
      const text = JSON.stringify({ f: 1, a: this.#address, c: base64urlEncode(this.#info), p: this.#peer, t: this.#transcript, v: v.state() });
      if (text === this.#lastSealed) return;
      const data = await sealText(key, SEAL_AD, text);
      this.#lastSealed = text;
      if (this.#key === key) this.#event({ event: "sealed", data });
    } catch {
      // not sealed: the page keeps the previous state
    }
  }

  async #restore(relayUrl: string, key: CryptoKey, sealed: ArrayBuffer): Promise<Results["restore"]> {
    if (this.#visitor !== null) throw new Error("already in a conversation");
    const d = (await openText(key, SEAL_AD, sealed, new DecodeError("the sealed session does not open with this key"))) as Record<string, unknown>;
    const bad = new DecodeError("invalid session state");
    if (typeof d !== "object" || d === null || d.f !== 1 || typeof d.a !== "string" || typeof d.c !== "string" || typeof d.p !== "string" || !Array.isArray(d.t)) throw bad;
    const transcript = d.t.map(parseTranscriptItem);
    if (transcript.length > KEEP_ITEMS || transcript.includes(null)) throw bad;
    const server = contactServer(d.a);
    this.#info = base64urlDecode(d.c);
    const rc = this.#make(server, relayUrl);
    const v = this.#start(rc, d.a, key);
    this.#peer = d.p;
    this.#transcript = transcript as TranscriptItem[];
    try {
      v.load(d.v, server); // checked before anything is sent
      await this.#open(rc);
      await v.resume();
    } catch (e) {
      await this.#drop(v, false);
      throw e;
    }
    return { peer: this.#peer, transcript: this.#transcript };
  }

  async #send(text: string): Promise<number> {
    const v = this.#visitor;
    const rc = this.#client;
    if (v === null || rc === null) throw new Error("not in a conversation");
    if (v.status === "ended") throw new Error("the conversation has ended");
    if (!rc.connected) throw new Error("the relay is unreachable");
    const body = encodeChatMessage(xMsgNewText(text, randomBytes(12)));
    return v.send(body, (msgId) => this.#keep({ dir: "out", text, msgId, delivered: false }));
  }

  /** Add a message to the transcript a sealed state keeps (the last ones only). */
  #keep(item: TranscriptItem): void {
    const t = this.#transcript;
    t.push(item);
    let chars = 0;
    for (const x of t) chars += x.text.length;
    while (t.length > KEEP_ITEMS || chars > KEEP_CHARS) chars -= t.shift()!.text.length;
  }

  #finish(by: "self" | "peer"): void {
    this.#visitor = null;
    this.#key = null;
    this.#stop();
    this.#event({ event: "ended", by });
  }

  #onVisitorEvent = (e: VisitorEvent): void => {
    switch (e.type) {
      case "connected":
        this.#peer = peerName(e.peerInfo);
        this.#event({ event: "connected", peer: this.#peer });
        return;
      case "message": {
        let ended = false;
        for (const view of chatViews(e.body)) {
          if (view.kind === "XMsgNew" && view.text !== null && view.text !== "") {
            const text = wellFormed(view.text);
            this.#keep({ dir: "in", text, msgId: e.id, delivered: false });
            this.#event({ event: "message", msgId: e.id, text });
          } else if (view.kind === "XDirectDel") ended = true;
        }
        if (ended) {
          const v = this.#visitor;
          if (v !== null) void v.close(true).then(() => this.#finish("peer"));
        }
        return;
      }
      case "receipt":
        if (!e.ok) return; // a receipt whose hash does not match ours is not a delivery
        for (const x of this.#transcript) if (x.dir === "out" && x.msgId === e.id) x.delivered = true;
        this.#event({ event: "receipt", msgId: e.id });
        return;
      case "problem":
        return; // nothing to show the page yet; never logged (it may name what failed)
    }
  };
}
