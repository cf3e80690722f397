/**
 * Module "proxy" (hushwire-widget-proxy.js), worker side: private message routing for owners
 * whose queues live on another relay than the widget's (agent/routing.ts over smp/proxy.ts).
 * Loaded when `data-relay` names the widget's own relay (`#smp://...`: the owner's address is
 * elsewhere); scripts/build.mjs ships it as a string that the page puts in front of the crypto
 * worker's source, like the zstd module, and the worker finds the factory through
 * modules/proxy_hook.ts. One sender per (connection to the proxy, destination), so a proxy
 * session serves every command for that destination.
 */

import { toHex } from "../encoding.js";
import { ProxiedSender, type RoutingErrors } from "../agent/routing.js";
import type { SMPServer } from "../smp/address.js";
import type { ProxyClient } from "../smp/proxy.js";

type Proxy = { waitConnected(): Promise<ProxyClient> };
const senders = new WeakMap<Proxy, Map<string, ProxiedSender>>();

function sender(proxy: Proxy, destination: SMPServer, errors: RoutingErrors): ProxiedSender {
  let byServer = senders.get(proxy);
  if (byServer === undefined) senders.set(proxy, (byServer = new Map()));
  const key = toHex(destination.keyHash);
  let s = byServer.get(key);
  if (s === undefined) byServer.set(key, (s = new ProxiedSender(proxy, destination, errors)));
  return s;
}

(globalThis as { hushwireProxy?: typeof sender }).hushwireProxy = sender;
