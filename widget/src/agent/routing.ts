/**
 * The visitor's sender commands for a queue on another relay, sent through the widget's own
 * relay as the proxy (SMP private message routing, smp/proxy.ts), so the owner's relay never
 * sees the visitor's address. Part of the "proxy" module (modules/proxy.ts).
 *
 * Mirrors the proxy half of src/hushwire/agent/outbox.py and the decisions of
 * src/hushwire/agent/routing.py (simplexmq Agent/Client.hs sendOrProxySMPCommand,
 * serverHostError, temporaryAgentError): one proxy session (`PRXY`) per destination, kept
 * while the connection to the proxy lasts; `PROXY NO_SESSION` makes a new session once;
 * a proxy error that may pass (the proxy cannot reach the destination now: `BROKER NETWORK`,
 * `TIMEOUT`, `HOST`, `TRANSPORT VERSION`, a second `NO_SESSION`) is thrown as a lost
 * connection, which the visitor retries with backoff (a browser cannot fall back to a direct
 * send, as the Python agent may); every other proxy error (`BASIC_AUTH`, `PROTOCOL`, the
 * destination's identity...) refuses the command with a message that says so. The
 * destination's own answer (AUTH, QUOTA...) comes back exactly as after a direct command.
 */

import type { Bytes } from "../encoding.js";
import type { KeyPair } from "../crypto/keys.js";
import type { SMPServer } from "../smp/address.js";
import type { BrokerMsg, Command } from "../smp/commands.js";
import { errorTypeText, type ErrorType } from "../smp/errors.js";
import { proxiedRequest, proxySession, type ProxiedRelay, type ProxyClient, type ProxyErrors } from "../smp/proxy.js";

/** What the visitor sends to a queue (the core's ReconnectingClient has the same two). */
export interface Sender {
  send(sid: Bytes, body: Bytes, opts?: { key?: KeyPair | null }): Promise<void>;
  secureSender(sid: Bytes, senderKey: KeyPair): Promise<void>;
}

/** The core's error classes (so the visitor's `instanceof` checks hold), and its lost connection. */
export interface RoutingErrors extends ProxyErrors {
  lost: new (message: string) => Error;
}

/** A proxy error that may pass: the command is tried again later (routing.py after_proxy_error). */
export function temporaryProxyError(e: ErrorType): boolean {
  if (e.tag !== "PROXY") return false;
  const p = e.error;
  if (p.tag === "NO_SESSION") return true;
  if (p.tag !== "BROKER") return false;
  const b = p.error;
  return b.tag === "NETWORK" || b.tag === "TIMEOUT" || b.tag === "HOST" || (b.tag === "TRANSPORT" && b.error.tag === "VERSION");
}

/** The sender for the queues of one destination relay, through the relay `proxy` connects to. */
export class ProxiedSender implements Sender {
  #held: { client: ProxyClient; relay: ProxiedRelay } | null = null;

  constructor(
    readonly proxy: { waitConnected(): Promise<ProxyClient> },
    readonly destination: SMPServer,
    readonly errors: RoutingErrors,
  ) {}

  async #request(entityId: Bytes, command: Command, key: KeyPair | null): Promise<BrokerMsg> {
    const client = await this.proxy.waitConnected();
    for (let attempt = 0; ; attempt++) {
      try {
        let relay = this.#held?.client === client ? this.#held.relay : null;
        if (relay === null) {
          relay = await proxySession(client, this.destination, null, this.errors);
          this.#held = { client, relay };
        }
        return await proxiedRequest(client, relay, entityId, command, key?.private ?? null, this.errors);
      } catch (e) {
        const error = e instanceof this.errors.command ? (e as Error & { error: ErrorType }).error : null;
        if (error?.tag !== "PROXY") throw e; // the destination's answer, or the connection to the proxy
        this.#held = null;
        if (error.error.tag === "NO_SESSION" && attempt === 0) continue;
        const text = errorTypeText(error);
        if (temporaryProxyError(error)) throw new this.errors.lost(`this relay cannot reach the owner's relay now (${text})`);
        throw Object.assign(new this.errors.command(error), { message: `this relay cannot send to the owner's relay (${text})` });
      }
    }
  }

  async #ok(entityId: Bytes, command: Command, key: KeyPair | null): Promise<void> {
    const msg = await this.#request(entityId, command, key);
    if (msg.tag !== "OK") throw new this.errors.unexpected(`${command.tag} answered with ${msg.tag}`);
  }

  send(sid: Bytes, body: Bytes, opts: { key?: KeyPair | null } = {}): Promise<void> {
    return this.#ok(sid, { tag: "SEND", flags: { notification: false }, body }, opts.key ?? null);
  }

  secureSender(sid: Bytes, senderKey: KeyPair): Promise<void> {
    return this.#ok(sid, { tag: "SKEY", senderKey: senderKey.public }, senderKey);
  }
}
