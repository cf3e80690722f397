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

  /** The proxy session with the destination on `client` (PRXY once per connection). */
  async #session(client: ProxyClient): Promise<ProxiedRelay> {
    if (this.#held?.client === client) return this.#held.relay;
    const relay = await proxySession(client, this.destination, null, this.errors);
    this.#held = { client, relay };
    return relay;
  }

  async #request(entityId: Bytes, command: Command, key: KeyPair | null): Promise<BrokerMsg> {
    const client = await this.proxy.waitConnected();
    for (let attempt = 0; ; attempt++) {
      try {
        const relay = await this.#session(client);
        return await proxiedRequest(client, relay, entityId, command, key?.private ?? null, this.errors);
      } catch (e) {
        const failure = this.#failure(e);
        if (this.#proxyError(e)?.error.tag === "NO_SESSION" && attempt === 0) continue; // a new session, once
        throw failure;
      }
    }
  }

  #proxyError(e: unknown): Extract<ErrorType, { tag: "PROXY" }> | null {
    const error = e instanceof this.errors.command ? (e as Error & { error: ErrorType }).error : null;
    return error?.tag === "PROXY" ? error : null;
  }

  /**
   * What the visitor gets for `e`: the destination's answer or the connection's failure as
   * they are; a proxy error (the session is dropped) as a lost connection if it may pass, else
   * as a refusal that names it.
   */
  #failure(e: unknown): unknown {
    const error = this.#proxyError(e);
    if (error === null) return e;
    this.#held = null;
    const text = errorTypeText(error);
    if (temporaryProxyError(error)) return new this.errors.lost(`this relay cannot reach the owner's relay now (${text})`);
    return Object.assign(new this.errors.command(error), { message: `this relay cannot send to the owner's relay (${text})` });
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

  /**
   * A client for the destination's short links (agent/shortlinks.ts LinkClient): `LGET`
   * through the proxy, at the proxied session's version (so a proxy session is made first,
   * with the proxy's errors as for a send).
   */
  async linkClient(): Promise<{ version: number; request(entityId: Bytes, command: Command): Promise<BrokerMsg> }> {
    const relay = await this.#session(await this.proxy.waitConnected()).catch((e: unknown) => Promise.reject(this.#failure(e)));
    return { version: relay.version, request: (entityId, command) => this.#request(entityId, command, null) };
  }
}
