/**
 * What the crypto worker does, independent of the Worker global (so Node tests drive it):
 * it owns the SMP connection and, later, the agent and every key. Requests come in through
 * {@link WorkerService.handle}; results and events go out through `post`.
 */

import { parseSMPServer } from "../smp/address.js";
import { ReconnectingClient, SMPClient, type ClientEvent, type WebSocketLike } from "../smp/client.js";
import type { Results, WorkerEvent, WorkerReply, WorkerRequest } from "../rpc.js";

export type SocketFactory = (url: string) => WebSocketLike;

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : "internal error";
}

export class WorkerService {
  readonly #post: (m: WorkerReply) => void;
  readonly #socket: SocketFactory;
  #client: ReconnectingClient | null = null;
  #lagTimer: ReturnType<typeof setInterval> | null = null;

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

  async #run(req: WorkerRequest): Promise<Results[WorkerRequest["op"]]> {
    switch (req.op) {
      case "connect": {
        if (this.#client !== null) throw new Error("already connected");
        const server = parseSMPServer(req.server);
        if (!/^wss?:\/\//.test(req.wsUrl)) throw new Error("the WebSocket URL must start with ws:// or wss://");
        const rc = new ReconnectingClient((onEvent) => SMPClient.connect(this.#socket(req.wsUrl), server.keyHash, { onEvent }));
        rc.on(this.#onClientEvent);
        await rc.start();
        this.#client = rc;
        this.#lagTimer = setInterval(() => {
          const lag = rc.client?.lag;
          if (lag !== null && lag !== undefined) this.#event({ event: "lag", ms: lag });
        }, 30000);
        const version = rc.client?.version ?? 0;
        this.#event({ event: "status", status: "connected", detail: `SMP v${version}` });
        return { version };
      }
      case "ping": {
        if (this.#client === null) throw new Error("not connected");
        return { lag: await this.#client.ping() };
      }
      case "close": {
        if (this.#lagTimer !== null) clearInterval(this.#lagTimer);
        this.#lagTimer = null;
        this.#client?.close();
        this.#client = null;
        this.#event({ event: "status", status: "closed", detail: "closed by the page" });
        return null;
      }
      default:
        // TODO(worker): join, send, end and restore (the visitor's agent; see rpc.ts).
        throw new Error(`${req.op}: not implemented by this worker yet`);
    }
  }
}
