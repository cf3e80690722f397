/**
 * What the crypto worker does, independent of the Worker global (so Node tests drive it):
 * it owns the SMP connection, the visitor's agent and every key. Requests come in through
 * {@link WorkerService.handle}; results and events go out through `post` (see rpc.ts for the
 * protocol). Only chat text and the owner's name leave; never a key.
 *
 * Resume (a `seal` key given to `join`, or `restore`): before anything that depends on the
 * session state goes out (each SEND, each ACK; see Visitor's `persist`) the worker posts
 * `sealed` and waits for the page's `stored` (write-ahead: IndexedDB committed it; durable.ts,
 * which comes with the "restore" module: a worker without it seals nothing, as nothing it sealed
 * could open).
 * The state is AES-256-GCM under the page's non-extractable key (random 12-byte IV first,
 * then the ciphertext) of the JSON of the visitor's state, the contact address, our connInfo, the
 * owner's name and the last messages with their ticks. `restore` opens it (a wrong key, a
 * corrupted or foreign blob is an error and nothing is sent), reconnects, subscribes our
 * queue again and sends what was not sent.
 *
 * Business addresses (docs/widget.md): when the owner's confirmation carries `x.grp.link.inv`,
 * the conversation is a business chat, read by business.ts, which is not in this bundle but in
 * the "business" module. A worker started without it holds the bodies it receives, stops its
 * visitor between two steps (Visitor.detach), seals the state (under the resume key, or a new
 * non-extractable one) and posts `upgrade`; the page loads the module (SRI-checked) and
 * restores the state in a new worker that has it, which reads the held bodies first. A sealed
 * business session restored without the module goes to such a worker at once, unopened.
 *
 * Owners on other relays: `data-relay` may name the widget's relay after `#` (#make), and the
 * "proxy" module sends to the owner's queues elsewhere through it (modules/proxy_hook.ts). An
 * owner's reply queue on another relay met without the module is handed over the same way
 * (#lack): the visitor leaves the owner's confirmation unacknowledged, and the new worker reads
 * it again.
 */

import { parseSMPServer, type SMPServer } from "../smp/address.js";
import { ReconnectingClient, SMPClient, type ClientEvent, type WebSocketLike } from "../smp/client.js";
import { randomBytes } from "../crypto/random.js";
import { base64urlDecode, base64urlEncode, concat, utf8 } from "../encoding.js";
import { parseLink } from "../agent/links.js";
import { Visitor, type VisitorEvent } from "../agent/visitor.js";
import { restoreModule, restorer } from "../modules/restore_hook.js";
import type { WriteAhead } from "./durable.js";
import { shortLink } from "../modules/short_hook.js";
import { proxied } from "../modules/proxy_hook.js";
import { grp } from "../modules/grp_hook.js";
import { encodeChatMessage, encodeConnInfo, interpret, type JsonObject, parseChatElements, wellFormed, xDirectDel, xInfo, xMsgNewText, type ChatEvent, type Profile } from "../chat.js";
import { type Results, type TranscriptItem, type WorkerEvent, type WorkerReply, type WorkerRequest } from "../rpc.js";
import type { BusinessChat, GroupOut } from "../business.js";

/** The business module's class, when this worker started with it (modules/business.ts). */
const businessModule = (): typeof BusinessChat | undefined => (globalThis as { hushwireBusiness?: typeof BusinessChat }).hushwireBusiness;

/** `own` and `contact` (our relay, the owner's) are for the "grp" module's dialer (modules/grp_hook.ts). */
export type SocketFactory = (url: string, own?: SMPServer, contact?: SMPServer) => WebSocketLike;

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

/** The owner's connInfo is a group link invitation: a business address. */
function isGroupInfo(info: Uint8Array): boolean {
  return parseChatElements(info).some((m) => !(m instanceof Error) && m.event === "x.grp.link.inv");
}

/** A new AES-GCM key that cannot leave WebCrypto. */
const newKey = (): Promise<CryptoKey> => crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);

/** AES-256-GCM of the JSON `text` under `key` with additional data `ad`: a random 12-byte IV, then the ciphertext. */
export async function sealText(key: CryptoKey, ad: Uint8Array<ArrayBuffer>, text: string): Promise<ArrayBuffer> {
  const iv = randomBytes(12) as Uint8Array<ArrayBuffer>;
  const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: ad }, key, utf8(text) as Uint8Array<ArrayBuffer>);
  return concat(iv, new Uint8Array(ct)).buffer as ArrayBuffer;
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
  /** Our relay: the one we connect to (see #make). */
  #own!: SMPServer;
  #lagTimer: ReturnType<typeof setInterval> | null = null;
  #visitor: Visitor | null = null;
  #info: Uint8Array = new Uint8Array(0);
  /** Resume: the page's sealing key (null = off), what the state needs beside the visitor's. */
  #key: CryptoKey | null = null;
  #address = "";
  #peer = "";
  #transcript: TranscriptItem[] = [];
  /** Write-ahead (resume on): the states sealed for the page and who waits for them. */
  #wal: WriteAhead | null = null;
  /** Business chats: the chat (module present), the bodies held for it (module absent). */
  #group: BusinessChat | null = null;
  /** A restored chat's state, kept as it is while the module is missing. */
  #savedGroup: unknown = null;
  #held: string[] = [];
  #upgrading = false;
  /** The "proxy" module is missing for this conversation (an owner's queue on another relay). */
  #lacks: "proxy" | null = null;

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

  /**
   * The relay's client, not connected yet. `relayUrl` (data-relay) is the relay's WebSocket
   * URL, then, when the owner's address is on another relay, `#` and the relay's SMP address:
   * it is then our relay (#own) instead of `server`, and the "proxy" module sends to the
   * owner's relay through it (docs/widget.md).
   */
  #make(server: SMPServer, relayUrl: string): ReconnectingClient {
    if (this.#client !== null) throw new Error("already connected");
    const [wsUrl, smp] = relayUrl.split("#") as [string, string?];
    const own = (this.#own = smp ? parseSMPServer(smp) : server);
    if (!grp() && !/^wss?:\/\//.test(wsUrl)) throw new Error("the WebSocket URL must start with ws:// or wss://");
    // with the "grp" module every connection is GRP/1, or none (modules/grp_hook.ts)
    const rc = new ReconnectingClient((onEvent) => SMPClient.connect((grp() ?? this.#socket)(wsUrl, own, server), own.keyHash, { onEvent }));
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
        return { msgId: await this.#send(req.text, req.shop) };
      case "end": {
        const v = this.#visitor;
        if (v === null) throw new Error("no conversation to end");
        await v.end(this.#group?.leave() ?? encodeChatMessage(xDirectDel()));
        this.#finish("self");
        return null;
      }
      case "restore":
        return this.#restore(req.relayUrl, req.key, req.sealed);
      case "stored":
        this.#wal?.stored(req.seq);
        return null;
    }
  }

  // ------------------------------------------------------------------ the visitor's chat

  async #join(address: string, relayUrl: string, name: string, seal: CryptoKey | null): Promise<void> {
    if (this.#visitor !== null) throw new Error("already in a conversation");
    // A short link (with the "short" module) names its relay; the full address comes from it.
    const short = shortLink(address);
    const server = short?.server ?? contactServer(address);
    const profile: Profile = { displayName: wellFormed(name.trim()).slice(0, 100) || ANONYMOUS, fullName: "" };
    const info = xInfo(profile);
    if (grp()) info.params["hw.grp"] = 1; // the inbox may require it (docs/grp.md, "In the widget")
    this.#info = encodeConnInfo(info);
    const rc = await this.#connect(server, relayUrl);
    if (short !== null) {
      try {
        address = await short.resolve(rc.client!, this.#own);
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
    // the write-ahead comes with the "restore" module: without it nothing is sealed (it could not open)
    const wal = restoreModule()?.wal;
    if (!wal) key = null;
    this.#key = key;
    this.#address = address;
    this.#wal = key && wal!((text) => sealText(key, SEAL_AD, text), (data, seq) => this.#key === key && this.#event({ event: "sealed", data, seq }));
    this.#lacks = null;
    const v: Visitor = new Visitor(rc, this.#info, this.#onVisitorEvent, { relay: this.#own, proxy: proxied(rc) ?? (() => this.#lack(v)), persist: key === null ? undefined : async () => { const stored = this.#seal(v); return () => stored; } });
    this.#visitor = v;
    return v;
  }

  async #drop(v: Visitor, deleteQueue: boolean): Promise<void> {
    this.#visitor = null;
    this.#key = null;
    this.#group = null;
    this.#held = [];
    this.#upgrading = false;
    await v.close(deleteQueue);
    this.#stop();
  }

  /** The session as JSON text: the visitor's `state`, and what the chat keeps beside it. */
  #text(state: unknown, resume: boolean): string {
    return JSON.stringify({ f: 1, a: this.#address, c: base64urlEncode(this.#info), p: this.#peer, t: this.#transcript, v: state, g: this.#group ?? this.#savedGroup, H: this.#held, r: resume });
  }


  /** Write-ahead: the state now (under the visitor's lock); resolves once the page stored it or a newer one. */
  #seal(v: Visitor): Promise<void> {
    return v !== this.#visitor || v.status === "ended" ? Promise.resolve() : this.#wal!.write(this.#text(v.state(), true));
  }

  /** This is a business chat (the owner's confirmation was x.grp.link.inv). */
  #isGroup(v: Visitor): boolean {
    return this.#savedGroup !== null || isGroupInfo(v.peerInfo);
  }

  /**
   * No "proxy" module and an owner's queue on another relay: hand the session over to a worker
   * with it. The visitor stopped at the owner's confirmation without acknowledging it, so the
   * relay delivers it again there; while a state loads (status "new"), #restore hands over.
   */
  #lack(v: Visitor): undefined {
    this.#lacks = "proxy";
    if (v.status !== "new" && !this.#upgrading) {
      this.#upgrading = true;
      setTimeout(() => void this.#upgrade(v, "proxy"), 0);
    }
    return undefined;
  }

  /** The business chat, or null while the module is missing (then the hand-over starts). */
  #chat(v: Visitor): BusinessChat | null {
    if (this.#group === null) {
      const Chat = businessModule();
      if (Chat === undefined) {
        if (!this.#upgrading) {
          this.#upgrading = true;
          setTimeout(() => void this.#upgrade(v, "business"), 0);
        }
        return null;
      }
      this.#group = Chat.open(v.peerInfo);
      this.#peer = this.#group.title;
    }
    return this.#group;
  }

  /** Hand the session over to a worker with `module` (see the module docstring). */
  async #upgrade(v: Visitor, module: "business" | "proxy"): Promise<void> {
    try {
      const state = await v.detach();
      const resume = this.#key !== null;
      const key = this.#key ?? (await newKey());
      const data = await sealText(key, SEAL_AD, this.#text(state, resume));
      this.#visitor = null;
      this.#key = null;
      this.#stop();
      this.#event({ event: "upgrade", module, key, data });
    } catch {
      this.#finish("peer"); // not sealed: this conversation cannot go on
    }
  }

  /** Show what the business chat made of a body. */
  #show(outs: GroupOut[], id: number): void {
    for (const o of outs) {
      if (o.kind === "message") {
        const from = o.from ?? undefined;
        this.#keep({ dir: "in", text: o.text, msgId: id, delivered: false, from });
        this.#event({ event: "message", msgId: id, text: o.text, from });
      } else if (o.kind === "typing") this.#event({ event: "typing", text: o.text });
      else this.#endedByPeer();
    }
  }

  #endedByPeer(): void {
    const v = this.#visitor;
    if (v !== null) void v.close(true).then(() => this.#finish("peer"));
  }

  async #restore(relayUrl: string, key: CryptoKey, sealed: ArrayBuffer): Promise<Results["restore"]> {
    if (this.#visitor !== null) throw new Error("already in a conversation");
    const d = await restorer().session(key, SEAL_AD, sealed, KEEP_ITEMS);
    const Chat = businessModule();
    const server = contactServer(d.a);
    this.#info = base64urlDecode(d.c);
    const rc = this.#make(server, relayUrl);
    const v = this.#start(rc, d.a, d.r === false ? null : key);
    this.#peer = d.p;
    this.#transcript = d.t;
    try {
      v.load(d.v, server); // checked before anything is sent
      this.#savedGroup = d.g ?? null;
      this.#held = d.H;
      const lacking = this.#lacks ?? (this.#isGroup(v) && Chat === undefined ? "business" : null);
      if (lacking !== null) {
        // a business chat or an owner on another relay, and this worker has not the module: a
        // new worker that has it restores this same state (main.ts), so this one neither
        // connects nor subscribes
        this.#visitor = null;
        this.#key = null;
        setTimeout(() => this.#event({ event: "upgrade", module: lacking, key, data: sealed }), 0);
        return { peer: this.#peer, transcript: this.#transcript };
      }
      if (this.#isGroup(v)) {
        this.#group = d.g == null ? null : Chat!.fromJSON(d.g);
        this.#peer = this.#chat(v)!.title; // opened from the invitation if it is new
      }
      await this.#open(rc);
      await v.resume();
    } catch (e) {
      await this.#drop(v, false);
      throw e;
    }
    // after the reply: what a worker without the module held
    const chat = this.#group;
    if (chat !== null) setTimeout(() => this.#held.splice(0).forEach((b) => this.#show(chat.receive(base64urlDecode(b)), 0)), 0);
    return { peer: this.#peer, transcript: this.#transcript };
  }

  /** `shop`: a shop payload's JSON, sent as "hw.shop" beside the text (its summary), kept out of the transcript. */
  async #send(text: string, shop?: string): Promise<number> {
    const v = this.#visitor;
    const rc = this.#client;
    if (v === null || rc === null) throw new Error("not in a conversation");
    if (v.status === "ended") throw new Error("the conversation has ended");
    if (!rc.connected) throw new Error("the relay is unreachable");
    const m = xMsgNewText(text, randomBytes(12));
    if (shop !== undefined) m.params["hw.shop"] = JSON.parse(shop) as JsonObject;
    return v.send(encodeChatMessage(m), shop === undefined ? (msgId) => this.#keep({ dir: "out", text, msgId, delivered: false }) : undefined);
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
      case "connected": {
        const v = this.#visitor;
        if (v !== null && this.#isGroup(v) && this.#chat(v) === null) return; // the new worker says it
        this.#peer = this.#group?.title ?? peerName(e.peerInfo);
        this.#event({ event: "connected", peer: this.#peer });
        return;
      }
      case "message": {
        const v = this.#visitor;
        if (v !== null && this.#isGroup(v)) {
          const chat = this.#chat(v);
          if (chat === null) {
            if (this.#held.length < KEEP_ITEMS) this.#held.push(base64urlEncode(e.body));
          }
          else this.#show(chat.receive(e.body), e.id);
          return;
        }
        let ended = false;
        for (const m of parseChatElements(e.body)) {
          if (m instanceof Error) continue;
          let view;
          try {
            view = interpret(m);
          } catch {
            continue;
          }
          const shop = m.params["hw.shop"];
          if (view.kind === "XMsgNew" && typeof shop === "object" && shop !== null) this.#event({ event: "shop", data: JSON.stringify(shop) });
          else if (view.kind === "XMsgNew" && view.text !== null && view.text !== "") {
            const text = wellFormed(view.text);
            this.#keep({ dir: "in", text, msgId: e.id, delivered: false });
            this.#event({ event: "message", msgId: e.id, text });
          } else if (view.kind === "XDirectDel") ended = true;
        }
        if (ended) this.#endedByPeer();
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
