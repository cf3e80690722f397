/**
 * The crypto worker's door to the "proxy" module (modules/proxy.ts): with the module, the
 * visitor sends to an owner's queue on another relay through the widget's relay; without it
 * this finds nothing, and such an owner is refused as before (agent/visitor.ts).
 */

import type { Sender } from "../agent/routing.js";
import type { SMPServer } from "../smp/address.js";
import { ConnectionLost, SMPCommandError, UnexpectedResponse, type ReconnectingClient } from "../smp/client.js";

type Factory = (proxy: ReconnectingClient, destination: SMPServer, errors: object) => Sender;

/** Senders through `rc`'s relay, by destination, if the module is loaded. */
export function proxied(rc: ReconnectingClient): ((destination: SMPServer) => Sender) | undefined {
  const f = (globalThis as { hushwireProxy?: Factory }).hushwireProxy;
  return f && ((s) => f(rc, s, { command: SMPCommandError, unexpected: UnexpectedResponse, lost: ConnectionLost }));
}
