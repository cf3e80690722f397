/**
 * The web app's crypto worker (independent of the Worker global, so Node tests drive it): one
 * relay connection, the profile and every contact, each contact a widget {@link Visitor} run
 * from a state that handshake.ts made (the browser that made the invitation, or the one that
 * opened it). Every key and ratchet lives here; only names, texts and shared links leave.
 *
 * Rooms (room.ts has their logic, address.ts the room link's queue): a room we joined is a
 * contact whose visitor is our connection to the host, its messages read by a RoomMember; a room
 * we host is a contact with no visitor of its own but a RoomHost, the contact queue of its link
 * (join requests are handled one at a time: admitted with handshake.ts's joiner steps and
 * `x.grp.link.inv`, then ACKed) and a visitor per member, through which the host's decisions go.
 *
 * The profile is sealed as one blob: AES-256-GCM under the page's non-extractable key (random
 * 12-byte IV first), of the JSON of the name, our connInfo and each contact (its name, status,
 * link, last messages and the visitor's state). Write-ahead (worker/durable.ts): a visitor's
 * `persist` takes the profile under the visitor's lock before anything that depends on its
 * state goes out (each SEND, each ACK), and the SEND or ACK waits until the page answered
 * `stored(seq)` for that profile or a newer one (its IndexedDB transaction completed); so do
 * the ACK of a room's join request and the operations that reply once the profile is saved
 * (invite, join, createRoom, setName, protect...). Other changes (ticks, renames) are sealed
 * soon after. A profile the page cannot store holds every SEND and ACK back until it can.
 */

import { parseSMPServer, type SMPServer } from "../smp/address.js";
import { ReconnectingClient, SMPClient, type ClientEvent } from "../smp/client.js";
import { randomBytes } from "../crypto/random.js";
import { base64urlDecode, base64urlEncode, utf8 } from "../encoding.js";
import { DecodeError } from "../errors.js";
import { Visitor, type VisitorEvent } from "../agent/visitor.js";
import "../modules/restore.js"; // Visitor.load reads stored sessions with it (the widget loads it as a module)
import { chatMessage, encodeChatMessage, type ChatMessage, encodeConnInfo, parseChatElements, wellFormed, xDirectDel, xInfo, xMsgNewText } from "../chat.js";
import { openText } from "../agent/state_read.js";
import { chatViews, errorText, peerName, sealText, type SocketFactory } from "../worker/service.js";
import { writeAhead, type WriteAhead } from "../worker/durable.js";
import { parseLink } from "../agent/links.js";
import { constantTimeEqual } from "../crypto/ct.js";
import { KeyPair, PrivateKey } from "../crypto/keys.js";
import { completeJoin, createInvitation, InvitationError, prepareJoin, securityCode } from "./handshake.js";
import { isShortLink, resolveShort } from "./short.js";
import { exportProfile, importProfile, passphraseKey, SALT } from "./export.js";
import { linkInvitationOf } from "../business.js";
import { addressFromJSON, addressToJSON, createAddress, isGroupLink, readJoinRequest, type Address } from "./address.js";
import { bodies, JOIN_REJECT_VERSION, joinerVersions, RoomHost, RoomMember, type HostStep, type RoomOut } from "./room.js";
import { PASSPHRASE_NEEDED, parseContactView, parseItem, type AppEvent, type AppReply, type AppRequest, type AppResults, type ContactStatus, type ContactView, type Item, type Tick } from "./rpc.js";

const SEAL_AD = utf8("hushwire app profile 1") as Uint8Array<ArrayBuffer>;
/** Messages kept per contact in the sealed profile. */
const KEEP_ITEMS = 500;
const LAG_EVERY_MS = 5000;

interface Contact {
  view: ContactView;
  items: Item[];
  visitor: Visitor | null;
  /** An invitation being joined: the state between prepareJoin and completeJoin. */
  pending: unknown;
  /** A room we are a member of (the visitor is our connection to its host). */
  room: RoomMember | null;
  /** A room we host. */
  host: Hosted | null;
}

/** A room this browser hosts: its state, its link's queue, a connection per member. */
interface Hosted {
  state: RoomHost;
  address: Address;
  link: string;
  peers: Map<string, Peer>;
  /**
   * Forwards decided (a member's message, the host's post) and not yet encrypted in the member's
   * connection: [member id, body in base64url]. Sealed with the profile, so a profile that holds
   * a member's message as processed (its ACK may go) also holds every forward of it, here or in
   * that connection's outbox; a restored room sends these again.
   */
  out: [string, string][];
  /** Join requests are handled one at a time, in order. */
  queue: Promise<void>;
  off: (() => void) | null;
}

/** A member's connection: being joined (`pending`) or running (`visitor`). */
interface Peer {
  visitor: Visitor | null;
  pending: unknown;
  /** Refused (the room is full): its connection is deleted once the joiner has the refusal. */
  refused: boolean;
}

/**
 * A visitor state taken while the visitor answers the owner's HELLO on the slow handshake (our
 * reply queue secured by the owner: 'K', KEY, HELLO both ways): the HELLO is processed (ratchet,
 * counters, its hash among those seen) but our HELLO reply is still being encrypted, so it is in
 * no outbox. Restored, such a state would take the HELLO, delivered again, as done and never
 * answer it: the contact would never be connected.
 */
function helloUnanswered(state: unknown): boolean {
  const s = state as { s: string; q: unknown[] | null; n: number[] };
  return s.q?.[2] === "C" && (s.s === "wait_hello" || s.s === "confirming") && s.n[2]! >= 2 && s.n[0]! < 2;
}

/** The newest state of each visitor that a profile may hold (see {@link saved}). */
const lastGood = new WeakMap<Visitor, unknown>();

/**
 * What the profile keeps of a visitor: its state, or null (none; still creating its queue; ended).
 * A profile sealed for another part of the profile while this visitor is between taking the
 * owner's HELLO and queueing its reply ({@link helloUnanswered}) keeps the visitor's state from
 * before the HELLO instead: nothing went out since (the HELLO's ACK waits for the visitor's own
 * seal, which comes after the reply is queued), so a reload gets the HELLO again and answers it.
 */
const saved = (v: Visitor | null): unknown => {
  if (v === null || v.status === "new" || v.status === "ended") return null;
  const s = v.state();
  if (!helloUnanswered(s)) lastGood.set(v, s);
  return lastGood.get(v) ?? null;
};

/** Why a joiner waits: the room admits only while its host's browser is open. */
const WAITING_FOR_HOST = "waiting for the room's host to admit you: its browser must be open (your request waits on the relay until then)";

export class AppService {
  readonly #post: (m: AppReply) => void;
  readonly #socket: SocketFactory;
  readonly #sleep: (ms: number) => Promise<void>;
  #client: ReconnectingClient | null = null;
  #server: SMPServer | null = null;
  /** The passphrase's key and salt of a protected profile, else null. */
  #lock: { key: CryptoKey; salt: Uint8Array } | null = null;
  #name = "";
  #contacts = new Map<string, Contact>();
  /** Write-ahead: the profiles sealed for the page and who waits for them (from `start` on). */
  #wal: WriteAhead | null = null;
  #soon = false;

  constructor(post: (m: AppReply) => void, socket: SocketFactory, sleep?: (ms: number) => Promise<void>) {
    this.#post = post;
    this.#socket = socket;
    this.#sleep = sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  #event(e: AppEvent): void {
    this.#post(e);
  }

  async handle(req: AppRequest): Promise<void> {
    try {
      const result = await this.#run(req);
      this.#post({ id: req.id, ok: true, result });
    } catch (e) {
      this.#post({ id: req.id, ok: false, error: errorText(e) });
    }
  }

  async #run(req: AppRequest): Promise<AppResults[AppRequest["op"]]> {
    if (req.op === "stored") {
      this.#wal?.stored(req.seq);
      return null;
    }
    if (req.op === "start") return this.#start(req.server, req.wsUrl, req.key, req.sealed, req.passphrase);
    if (this.#client === null) throw new Error("not started");
    switch (req.op) {
      case "invite":
        return this.#invite();
      case "join":
        return { id: this.#join(req.link) };
      case "send":
        return { msgId: await this.#send(this.#contact(req.contact), req.text) };
      case "rename": {
        const c = this.#contact(req.contact);
        c.view.name = wellFormed(req.name.trim()).slice(0, 100) || c.view.name;
        this.#changed(c);
        return null;
      }
      case "remove":
        await this.#remove(this.#contact(req.contact));
        return null;
      case "verify": {
        const code = securityCode(this.#contact(req.contact).visitor?.state() ?? null);
        if (code === null) throw new Error("not connected yet: the security code exists once both sides are connected");
        return { code };
      }
      case "protect":
        this.#lock = req.passphrase === "" ? null : await this.#newLock(req.passphrase);
        await this.#seal();
        return null;
      case "exportProfile":
        return { data: await exportProfile(req.passphrase, this.#profileText()) };
      case "importProfile":
        return this.#import(req.passphrase, req.data);
      case "setName":
        this.#name = wellFormed(req.name.trim()).slice(0, 100);
        await this.#seal();
        return null;
      case "createRoom":
        return this.#createRoom(req.name);
      case "clearHistory": {
        const c = this.#contact(req.contact);
        if (c.host === null) throw new Error("only the room's host clears its history");
        this.#hostStep(c, c.host, c.host.state.clearHistory());
        c.items = [];
        this.#event({ event: "items", contact: c.view.id, items: [] });
        await this.#seal();
        return null;
      }
    }
  }

  #contact(id: string): Contact {
    const c = this.#contacts.get(id);
    if (c === undefined) throw new Error("no such contact");
    return c;
  }

  #ownInfo(): Uint8Array {
    return encodeConnInfo(xInfo({ displayName: this.#name || "Anonymous", fullName: "" }));
  }

  // ------------------------------------------------------------------ start and restore

  async #start(serverText: string, wsUrl: string, key: CryptoKey, sealed: ArrayBuffer | null, passphrase: string | null): Promise<AppResults["start"]> {
    if (this.#client !== null) throw new Error("already started");
    if (!/^wss?:\/\//.test(wsUrl)) throw new Error("the WebSocket URL must start with ws:// or wss://");
    const server = parseSMPServer(serverText);
    let saved = sealed === null ? null : ((await openText(key, SEAL_AD, sealed, new DecodeError("the stored profile does not open with this browser's key"))) as Record<string, unknown>);
    if (saved !== null && saved.f === 2) {
      // protected: the inner profile is sealed under the passphrase's key as well
      if (passphrase === null) throw new DecodeError(PASSPHRASE_NEEDED);
      if (typeof saved.s !== "string" || typeof saved.p !== "string") throw new DecodeError("invalid stored profile");
      const salt = base64urlDecode(saved.s);
      const lock = await passphraseKey(passphrase, salt);
      saved = (await openText(lock, SEAL_AD, base64urlDecode(saved.p).buffer as ArrayBuffer, new DecodeError("the passphrase does not open this profile"))) as Record<string, unknown>;
      this.#lock = { key: lock, salt };
    }
    const rc = new ReconnectingClient((onEvent) => SMPClient.connect(this.#socket(wsUrl), server.keyHash, { onEvent }));
    rc.on(this.#onClientEvent);
    await rc.start();
    this.#client = rc;
    this.#server = server;
    this.#wal = writeAhead((text) => this.#sealProfile(key, text), (data, seq) => this.#event({ event: "sealed", data, seq }));
    setInterval(() => {
      const lag = rc.client?.lag;
      if (lag !== null && lag !== undefined) this.#event({ event: "lag", ms: lag });
    }, LAG_EVERY_MS);
    this.#event({ event: "status", status: "connected", detail: `SMP v${rc.client?.version ?? 0}` });
    this.#measure();
    if (saved !== null) await this.#restore(saved);
    return this.#summary();
  }

  async #newLock(passphrase: string): Promise<{ key: CryptoKey; salt: Uint8Array }> {
    const salt = randomBytes(SALT);
    return { key: await passphraseKey(passphrase, salt), salt };
  }

  #summary(): AppResults["start"] {
    return { name: this.#name, contacts: [...this.#contacts.values()].map((c) => ({ ...c.view, items: c.items })) };
  }

  /** Replace the profile with an exported one: the current contacts stop (their queues stay). */
  async #import(passphrase: string, data: ArrayBuffer): Promise<AppResults["start"]> {
    const d = await importProfile(passphrase, data);
    for (const c of this.#contacts.values()) {
      await c.visitor?.close(false);
      // a hosted room stops too: its link's requests and its members' connections
      c.host?.off?.();
      for (const p of c.host?.peers.values() ?? []) await p.visitor?.close(false);
    }
    this.#contacts.clear();
    await this.#restore(d);
    await this.#seal();
    return this.#summary();
  }

  async #restore(d: Record<string, unknown>): Promise<void> {
    const bad = new DecodeError("invalid stored profile");
    if (d.f !== 1 || typeof d.n !== "string" || !Array.isArray(d.c)) throw bad;
    this.#name = d.n.slice(0, 100);
    for (const x of d.c as unknown[]) {
      const e = x as Record<string, unknown>;
      const view = parseContactView(e?.view);
      const items = Array.isArray(e?.items) ? e.items.map(parseItem) : [null];
      if (view === null || items.includes(null)) throw bad;
      const c: Contact = { view, items: items as Item[], visitor: null, pending: null, room: null, host: null };
      this.#contacts.set(view.id, c);
      if (e.g !== undefined && e.g !== null) c.room = RoomMember.fromJSON(e.g);
      if (e.H !== undefined && e.H !== null) {
        try {
          await this.#restoreHosted(c, e.H);
        } catch (err) {
          this.#fail(c, errorText(err));
        }
        continue;
      }
      if (e.v === null || e.v === undefined) {
        const j = e.j as { s?: unknown; a?: unknown } | null | undefined;
        if (j !== null && j !== undefined && view.status === "connecting") {
          c.pending = j;
          // a short link whose LKEY may have gone out: again, with the sealed key
          if (typeof j.s === "string" && typeof j.a === "string") void this.#joining(c, j.s, new KeyPair(new PrivateKey("Ed25519", base64urlDecode(j.a))));
          else void this.#completeJoin(c, true);
        } else if (view.status === "connecting") this.#fail(c, "the page was closed before the connection was made: ask for a new invitation");
        continue;
      }
      const v = this.#visitor(c);
      try {
        v.load(e.v, this.#server!);
        await v.resume();
      } catch (err) {
        this.#fail(c, errorText(err));
      }
    }
  }

  #onClientEvent = (ev: ClientEvent): void => {
    if (ev.type === "disconnected") this.#event({ event: "status", status: "disconnected", detail: ev.reason });
    else if (ev.type === "reconnected") {
      this.#event({ event: "status", status: "reconnected", detail: `after ${ev.attempts} attempts` });
      this.#measure();
    }
  };

  /** One PING now, so the connection's quality shows at once (the keepalive measures it later). */
  #measure(): void {
    this.#client?.ping().then((ms) => this.#event({ event: "lag", ms }), () => undefined);
  }

  // ------------------------------------------------------------------ contacts

  #newContact(status: ContactStatus, name: string): Contact {
    const id = base64urlEncode(randomBytes(9));
    const c: Contact = { view: { id, name, status, link: "", detail: "", kind: "contact", owner: false, members: [] }, items: [], visitor: null, pending: null, room: null, host: null };
    this.#contacts.set(id, c);
    return c;
  }

  #visitor(c: Contact): Visitor {
    const v: Visitor = new Visitor(this.#client!, this.#ownInfo(), (e) => this.#onVisitorEvent(c, e), { sleep: this.#sleep, persist: this.#persist });
    c.visitor = v;
    return v;
  }

  #changed(c: Contact): void {
    this.#event({ event: "contact", contact: { ...c.view } });
    this.#sealSoon();
  }

  #fail(c: Contact, detail: string): void {
    c.view.status = "failed";
    c.view.detail = detail.slice(0, 500);
    this.#changed(c);
  }

  async #invite(): Promise<AppResults["invite"]> {
    const { link, state } = await createInvitation(this.#client!, this.#server!);
    const c = this.#newContact("invited", "New contact");
    c.view.link = link;
    const v = this.#visitor(c);
    v.load(state, this.#server!);
    await v.resume();
    this.#changed(c);
    await this.#seal();
    return { id: c.view.id, link };
  }

  #join(text: string): string {
    const c = this.#newContact("connecting", "New contact");
    this.#changed(c);
    void this.#joining(c, text, null);
    return c.view.id;
  }

  /**
   * Join the link `text` as contact `c`. A short link's full link comes from the relay (LGET; an
   * invitation's LKEY secures its queue with a sender key the join signs with later): the key is
   * sealed with the link (`pending` `{ s, a }`) before LKEY goes out, so a tab closed after LKEY
   * comes back with it (`key`) and goes on; otherwise the relay would hold a key nobody has.
   */
  async #joining(c: Contact, text: string, key: KeyPair | null): Promise<void> {
    try {
      let link = text;
      let sndAuth: KeyPair | null = null;
      if (isShortLink(text)) {
        if (key === null) {
          key = KeyPair.generate("Ed25519");
          c.pending = { s: text, a: base64urlEncode(key.private.exportRaw()) };
          await this.#seal();
        }
        ({ link, sndAuth } = await resolveShort(await this.#client!.waitConnected(), this.#server!, text, key));
      }
      const req = parseLink(link);
      if (req.mode === "contact") {
        // a contact address: the widget's visitor role as it is (the address's owner accepts)
        if (!constantTimeEqual(req.queues[0]!.server.keyHash, this.#server!.keyHash)) throw new InvitationError("the address is on another relay than this app's");
        if (isGroupLink(req.clientData)) {
          c.view.kind = "room";
          c.view.name = "Room";
          c.view.detail = WAITING_FOR_HOST;
          this.#changed(c);
        }
        await this.#visitor(c).join(link);
        c.pending = null;
        await this.#seal();
        return;
      }
      c.pending = await prepareJoin(this.#client!, this.#server!, link, this.#ownInfo(), sndAuth);
      await this.#seal();
    } catch (e) {
      this.#fail(c, errorText(e));
      return;
    }
    await this.#completeJoin(c, false);
  }

  /** The second step of joining an invitation (again after a reload: `resubscribe`). */
  async #completeJoin(c: Contact, resubscribe: boolean): Promise<void> {
    try {
      const state = await completeJoin(this.#client!, c.pending, this.#sleep, resubscribe);
      const v = this.#visitor(c);
      v.load(state, this.#server!);
      c.pending = null;
      this.#connected(c, base64urlDecode((state as { i: string }).i));
      await this.#seal();
      await v.resume();
    } catch (e) {
      this.#fail(c, errorText(e));
    }
  }

  #connected(c: Contact, peerInfo: Uint8Array): void {
    const rejected = parseChatElements(peerInfo).find((m) => !(m instanceof Error) && m.event === "x.grp.link.reject");
    if (rejected !== undefined && !(rejected instanceof Error)) {
      const why = (rejected.params.groupLinkRejection as { rejectionReason?: unknown } | undefined)?.rejectionReason;
      this.#fail(c, `the room refused to admit you: ${typeof why === "string" ? why : "no reason given"}`);
      void c.visitor?.close(true);
      return;
    }
    let inv = null;
    try {
      inv = linkInvitationOf(peerInfo);
    } catch {
      // a malformed group invitation: a plain contact
    }
    c.view.status = "connected";
    c.view.link = "";
    c.view.detail = "";
    if (inv !== null) {
      c.room ??= RoomMember.open(inv);
      c.view.kind = "room";
      c.view.name = c.room.title || c.view.name;
      c.view.members = c.room.names();
    } else c.view.name = peerName(peerInfo) || c.view.name;
    this.#changed(c);
  }

  async #send(c: Contact, text: string): Promise<number> {
    if (c.host !== null) return this.#hostPost(c, c.host, text);
    const v = c.visitor;
    if (v === null || c.view.status !== "connected") throw new Error("not connected to this contact");
    const item: Item = { dir: "out", text, msgId: 0, tick: 0 };
    const shared = randomBytes(12);
    if (c.room !== null) {
      item.key = `${c.room.own} ${base64urlEncode(shared)}`;
      c.room.sent(shared);
    }
    return new Promise((resolve, reject) => {
      v.send(encodeChatMessage(xMsgNewText(text, shared)), (msgId) => {
        item.msgId = msgId;
        this.#keep(c, item);
        resolve(msgId);
      }).then(
        (msgId) => this.#tick(c, msgId, 1),
        (e: unknown) => reject(e instanceof Error ? e : new Error("not sent")),
      );
    });
  }

  #keep(c: Contact, item: Item): void {
    c.items.push(item);
    if (c.items.length > KEEP_ITEMS) c.items.shift();
    this.#event({ event: "message", contact: c.view.id, item: { ...item } });
  }

  #tick(c: Contact, msgId: number, tick: Tick): void {
    const item = c.items.find((x) => x.dir === "out" && x.msgId === msgId);
    if (item === undefined || item.tick >= tick) return;
    item.tick = tick;
    this.#event({ event: "tick", contact: c.view.id, msgId, tick });
    this.#sealSoon();
  }

  async #remove(c: Contact): Promise<void> {
    this.#contacts.delete(c.view.id);
    const v = c.visitor;
    c.visitor = null;
    const h = c.host;
    await this.#seal();
    if (h !== null) {
      // the owner deletes the room: x.grp.del to every member, then each connection ends
      h.off?.();
      h.state.deleteRoom();
      const del = encodeChatMessage(chatMessage("x.grp.del", {}));
      await Promise.all([...h.peers.values()].map((p) => p.visitor?.end(p.visitor.status === "connected" ? del : null, 3000)));
      await this.#client!.delete(h.address.rcvId, h.address.auth).catch(() => undefined);
    }
    const last = c.room !== null ? encodeChatMessage(chatMessage("x.grp.leave", {})) : encodeChatMessage(xDirectDel());
    if (v !== null) await v.end(v.status === "connected" ? last : null, 3000);
  }

  #onVisitorEvent(c: Contact, e: VisitorEvent): void {
    switch (e.type) {
      case "connected":
        this.#connected(c, e.peerInfo);
        return;
      case "message":
        if (c.room !== null) {
          this.#shown(c, c.room.receive(e.body), c.room.names());
          return;
        }
        for (const view of chatViews(e.body)) {
          if (view.kind === "XMsgNew" && view.text) this.#keep(c, { dir: "in", text: wellFormed(view.text), msgId: e.id, tick: 0 });
          else if (view.kind === "XDirectDel") {
            c.view.status = "ended";
            this.#changed(c);
            void c.visitor?.close(true);
          }
        }
        return;
      case "receipt":
        if (e.ok) this.#tick(c, e.id, 2);
        return;
      case "problem":
        return; // never logged (it may name what failed)
    }
  }

  // ------------------------------------------------------------------ rooms

  /** What a room shows changed: its messages (posted, deleted), its members, its end. */
  #shown(c: Contact, out: RoomOut[], names: string[]): void {
    let deleted = false;
    for (const o of out) {
      if (o.kind === "posted") this.#keep(c, { dir: "in", text: o.text, msgId: 0, tick: 0, from: o.name, key: `${o.author} ${o.msgId}` });
      else if (o.kind === "deleted") {
        const key = `${o.author} ${o.msgId}`;
        const before = c.items.length;
        c.items = c.items.filter((x) => x.key !== key);
        deleted ||= c.items.length !== before;
      } else if (o.kind === "ended") {
        c.view.status = "ended";
        c.view.detail = o.why;
        void c.visitor?.close(true);
      }
    }
    if (deleted) this.#event({ event: "items", contact: c.view.id, items: c.items.map((x) => ({ ...x })) });
    if (names.join("\n") !== c.view.members.join("\n") || out.some((o) => o.kind === "ended")) {
      c.view.members = names;
      this.#changed(c);
    } else this.#sealSoon();
  }

  async #createRoom(name: string): Promise<AppResults["createRoom"]> {
    const title = wellFormed(name.trim()).slice(0, 100) || "Room";
    const { address, link } = await createAddress(this.#client!, this.#server!, base64urlEncode(randomBytes(16)));
    const state = RoomHost.create(title, this.#name || title, randomBytes(12));
    const c = this.#newContact("connected", title);
    c.view.kind = "room";
    c.view.owner = true;
    c.view.link = link;
    c.view.members = state.names();
    c.host = { state, address, link, peers: new Map(), out: [], queue: Promise.resolve(), off: null };
    this.#listenAddress(c, c.host);
    this.#changed(c);
    await this.#seal();
    return { id: c.view.id, link };
  }

  async #restoreHosted(c: Contact, x: unknown): Promise<void> {
    const d = x as { s?: unknown; a?: unknown; l?: unknown; p?: unknown; q?: unknown };
    // rooms stored before forwards were kept have none (q)
    const out = d.q ?? [];
    const forward = (e: unknown): e is [string, string] => Array.isArray(e) && e.length === 2 && typeof e[0] === "string" && typeof e[1] === "string";
    if (typeof d.l !== "string" || !Array.isArray(d.p) || !Array.isArray(out) || !out.every(forward)) throw new DecodeError("invalid stored room");
    const h: Hosted = { state: RoomHost.fromJSON(d.s), address: addressFromJSON(d.a), link: d.l, peers: new Map(), out: [], queue: Promise.resolve(), off: null };
    c.host = h;
    const loaded: Peer[] = [];
    for (const entry of d.p as unknown[]) {
      const [id, v, pending, refused] = Array.isArray(entry) && entry.length === 4 && typeof entry[0] === "string" ? entry : [null, null, null, null];
      if (typeof id !== "string") throw new DecodeError("invalid stored room");
      const peer: Peer = { visitor: null, pending: pending ?? null, refused: refused === true };
      h.peers.set(id, peer);
      if (v !== null && v !== undefined) {
        const visitor = this.#peerVisitor(c, h, id, peer);
        try {
          visitor.load(v, this.#server!);
          loaded.push(peer);
        } catch {
          peer.visitor = null;
        }
      } else if (peer.pending !== null) void this.#admitted(c, h, id, true);
    }
    // admitted, then the tab closed before the connection was started: the request comes again
    h.state.dropUnstarted((id) => h.peers.has(id));
    // the forwards not yet encrypted go first, before what the members' queues deliver again
    for (const [id, body] of out as [string, string][]) this.#forward(h, id, base64urlDecode(body));
    for (const peer of loaded) {
      try {
        await peer.visitor!.resume();
      } catch {
        peer.visitor = null;
      }
    }
    this.#listenAddress(c, h);
    await this.#client!.subscribe(h.address.rcvId, h.address.auth);
  }

  /** Join requests on the room link, handled one at a time (the relay sends the next after the ACK). */
  #listenAddress(c: Contact, h: Hosted): void {
    h.off = this.#client!.on((ev) => {
      if (ev.type !== "message" || !constantTimeEqual(ev.recipientId, h.address.rcvId)) return;
      const msg = ev.msg;
      h.queue = h.queue.then(() => this.#joinRequest(c, h, msg)).catch(() => undefined);
    });
  }

  async #joinRequest(c: Contact, h: Hosted, msg: Parameters<typeof readJoinRequest>[1]): Promise<void> {
    const req = readJoinRequest(h.address, msg);
    if (req !== null && this.#contacts.get(c.view.id) === c) {
      const id = randomBytes(12);
      const key = base64urlEncode(id);
      try {
        let inv: ChatMessage;
        let refused = false;
        try {
          inv = h.state.admit(id, req.info);
        } catch (e) {
          // the room is full: joiners from chat version 14 are told (x.grp.link.reject), older ones get no answer
          if (!(e instanceof RangeError) || (joinerVersions(req.info)?.max ?? 0) < JOIN_REJECT_VERSION) throw e;
          inv = h.state.reject(id);
          refused = true;
        }
        const pending = await prepareJoin(this.#client!, this.#server!, req.link, encodeConnInfo(inv));
        h.peers.set(key, { visitor: null, pending, refused });
        await this.#seal();
        void this.#admitted(c, h, key, false);
      } catch {
        h.state.members.delete(key); // a request we cannot take (full, malformed, used): dropped
      }
    }
    await this.#client!.ack(h.address.rcvId, h.address.auth, msg.msgId);
  }

  /** The second step of admitting member `id`: its confirmation, then greeting and history. */
  async #admitted(c: Contact, h: Hosted, id: string, resubscribe: boolean): Promise<void> {
    const peer = h.peers.get(id);
    if (peer === undefined) return;
    try {
      const state = await completeJoin(this.#client!, peer.pending, this.#sleep, resubscribe);
      const v = this.#peerVisitor(c, h, id, peer);
      v.load(state, this.#server!);
      if (peer.refused) {
        // the joiner has taken the refusal: its connection goes
        h.peers.delete(id);
        await this.#seal();
        await v.close(true);
        return;
      }
      peer.pending = null;
      await this.#seal();
      await v.resume();
      this.#hostStep(c, h, h.state.connected(id));
    } catch {
      h.peers.delete(id);
      h.state.members.delete(id);
      this.#sealSoon();
    }
  }

  #peerVisitor(c: Contact, h: Hosted, id: string, peer: Peer): Visitor {
    const v = new Visitor(this.#client!, this.#ownInfo(), (e) => {
      if (e.type === "message") this.#hostStep(c, h, h.state.receive(id, e.body, new Date().toISOString()));
    }, { sleep: this.#sleep, persist: this.#persist });
    peer.visitor = v;
    return v;
  }

  /** Send what a step of the hosted room decided, show what it shows, end what it ends. */
  #hostStep(c: Contact, h: Hosted, step: HostStep): void {
    for (const [id, msgs] of step.sends) for (const body of bodies(msgs)) this.#forward(h, id, body);
    for (const id of step.disconnect) {
      const v = h.peers.get(id)?.visitor;
      h.peers.delete(id);
      if (v !== null && v !== undefined) void v.end(null, 3000);
    }
    this.#shown(c, step.shown, h.state.names());
  }

  /** Send `body` to member `id`, kept in {@link Hosted.out} until its connection encrypted it. */
  #forward(h: Hosted, id: string, body: Uint8Array): void {
    const v = h.peers.get(id)?.visitor;
    if (v === null || v === undefined) return;
    const entry: [string, string] = [id, base64urlEncode(body)];
    h.out.push(entry);
    const done = (): void => {
      const i = h.out.indexOf(entry);
      if (i >= 0) h.out.splice(i, 1);
    };
    v.send(body, done).catch(done);
  }

  async #hostPost(c: Contact, h: Hosted, text: string): Promise<number> {
    const shared = randomBytes(12);
    const step = h.state.post(text, shared, new Date().toISOString());
    this.#keep(c, { dir: "out", text: wellFormed(text), msgId: 0, tick: 1, key: `${h.state.me.id} ${base64urlEncode(shared)}` });
    this.#hostStep(c, h, step);
    await this.#seal();
    return 0;
  }

  // ------------------------------------------------------------------ sealing

  #sealSoon(): void {
    if (this.#soon) return;
    this.#soon = true;
    setTimeout(() => {
      this.#soon = false;
      void this.#seal();
    }, 0);
  }

  /**
   * Write-ahead: the profile as it is now, to the page; resolves once the page stored it or a
   * newer one (a profile the page does not store holds its waiters). The text names the
   * passphrase's salt too, so a new passphrase seals the same profile again.
   */
  #seal(): Promise<void> {
    return this.#wal?.write(`${this.#lock === null ? "" : base64urlEncode(this.#lock.salt)}\n${this.#profileText()}`) ?? Promise.resolve();
  }

  /** A visitor's `persist`: the profile now (under its lock), the wait for the page after it. */
  #persist = async (): Promise<() => Promise<void>> => {
    const stored = this.#seal();
    return () => stored;
  };

  /** The whole profile as JSON: it holds every secret (seal it, never log it). */
  #profileText(): string {
    const contacts = [...this.#contacts.values()].map((c) => ({
      view: c.view,
      items: c.items,
      j: c.pending,
      v: saved(c.visitor),
      g: c.room?.toJSON() ?? null,
      H: c.host === null ? null : { s: c.host.state.toJSON(), a: addressToJSON(c.host.address), l: c.host.link, q: c.host.out, p: [...c.host.peers.entries()].map(([id, p]) => [id, saved(p.visitor), p.pending, p.refused]) },
    }));
    return JSON.stringify({ f: 1, n: this.#name, c: contacts });
  }

  /**
   * Seal a {@link #seal} text under `key`, and first under the passphrase's key as it is now (if
   * it changed since the text was taken, the text that names the new one follows it).
   */
  async #sealProfile(key: CryptoKey, text: string): Promise<ArrayBuffer> {
    const inner = text.slice(text.indexOf("\n") + 1);
    const lock = this.#lock;
    return sealText(key, SEAL_AD, lock === null ? inner : JSON.stringify({ f: 2, s: base64urlEncode(lock.salt), p: base64urlEncode(new Uint8Array(await sealText(lock.key, SEAL_AD, inner))) }));
  }
}
