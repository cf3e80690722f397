/**
 * What the crypto worker does, independent of the Worker global (so Node tests drive it):
 * it owns the SMP connection, the visitor's agent and every key. Requests come in through
 * {@link WorkerService.handle}; results and events go out through `post` (see rpc.ts for the
 * protocol). Only chat text and the owner's name leave; never a key. Resuming a sealed
 * conversation after a reload (`restore`, `sealed`) is not implemented yet: `join` ignores its
 * seal key and `restore` fails, so the page starts afresh.
 */

import { parseSMPServer, type SMPServer } from "../smp/address.js";
import { ReconnectingClient, SMPClient, type ClientEvent, type WebSocketLike } from "../smp/client.js";
import { randomBytes } from "../crypto/random.js";
import { parseLink } from "../agent/links.js";
import { Visitor, type VisitorEvent } from "../agent/visitor.js";
import { encodeChatMessage, encodeConnInfo, interpret, parseChatElements, wellFormed, xDirectDel, xInfo, xMsgNewText, type Profile } from "../chat.js";
import type { Results, WorkerEvent, WorkerReply, WorkerRequest } from "../rpc.js";

export type SocketFactory = (url: string) => WebSocketLike;

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : "internal error";
}

/** The name an anonymous visitor shows the owner. */
const ANONYMOUS = "Visitor";

/** The owner's display name from its connInfo (x.info), or "". */
function peerName(info: Uint8Array): string {
  for (const m of parseChatElements(info)) {
    if (m instanceof Error) continue;
    try {
      const v = interpret(m);
      if (v.kind === "XInfo" || v.kind === "XContact") return wellFormed(v.profile.displayName).slice(0, 200);
    } catch {
      // not a profile
    }
  }
  return "";
}

export class WorkerService {
  readonly #post: (m: WorkerReply) => void;
  readonly #socket: SocketFactory;
  #client: ReconnectingClient | null = null;
  #lagTimer: ReturnType<typeof setInterval> | null = null;
  #visitor: Visitor | null = null;
  #info: Uint8Array = new Uint8Array(0);

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
    if (this.#client !== null) throw new Error("already connected");
    if (!/^wss?:\/\//.test(wsUrl)) throw new Error("the WebSocket URL must start with ws:// or wss://");
    const rc = new ReconnectingClient((onEvent) => SMPClient.connect(this.#socket(wsUrl), server.keyHash, { onEvent }));
    rc.on(this.#onClientEvent);
    await rc.start();
    this.#client = rc;
    this.#lagTimer = setInterval(() => {
      const lag = rc.client?.lag;
      if (lag !== null && lag !== undefined) this.#event({ event: "lag", ms: lag });
    }, 30000);
    this.#event({ event: "status", status: "connected", detail: `SMP v${rc.client?.version ?? 0}` });
    return rc;
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
        await this.#visitor?.close(false);
        this.#visitor = null;
        this.#stop();
        this.#event({ event: "status", status: "closed", detail: "closed by the page" });
        return null;
      }
      case "join":
        await this.#join(req.address, req.relayUrl, req.name);
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
        throw new Error("resume is not supported yet");
    }
  }

  // ------------------------------------------------------------------ the visitor's chat

  async #join(address: string, relayUrl: string, name: string): Promise<void> {
    if (this.#visitor !== null) throw new Error("already in a conversation");
    const link = parseLink(address); // a clear error for short links and typos, before connecting
    if (link.mode !== "contact") throw new Error("not a contact address");
    const server = link.queues[0]!.server;
    const profile: Profile = { displayName: wellFormed(name.trim()).slice(0, 100) || ANONYMOUS, fullName: "" };
    this.#info = encodeConnInfo(xInfo(profile));
    const rc = await this.#connect(server, relayUrl);
    const v = new Visitor(rc, this.#info, this.#onVisitorEvent);
    this.#visitor = v;
    try {
      await v.join(address);
    } catch (e) {
      this.#visitor = null;
      await v.close(true);
      this.#stop();
      throw e;
    }
  }

  async #send(text: string): Promise<number> {
    const v = this.#visitor;
    const rc = this.#client;
    if (v === null || rc === null) throw new Error("not in a conversation");
    if (v.status === "ended") throw new Error("the conversation has ended");
    if (!rc.connected) throw new Error("the relay is unreachable");
    const body = encodeChatMessage(xMsgNewText(text, randomBytes(12)));
    return v.send(body);
  }

  #finish(by: "self" | "peer"): void {
    this.#visitor = null;
    this.#stop();
    this.#event({ event: "ended", by });
  }

  #onVisitorEvent = (e: VisitorEvent): void => {
    switch (e.type) {
      case "connected":
        this.#event({ event: "connected", peer: peerName(e.peerInfo) });
        return;
      case "message": {
        let ended = false;
        for (const m of parseChatElements(e.body)) {
          if (m instanceof Error) continue;
          let view;
          try {
            view = interpret(m);
          } catch {
            continue;
          }
          if (view.kind === "XMsgNew" && view.text !== null && view.text !== "") {
            const text = wellFormed(view.text);
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
        this.#event({ event: "receipt", msgId: e.id });
        return;
      case "problem":
        return; // nothing to show the page yet; never logged (it may name what failed)
    }
  };
}
