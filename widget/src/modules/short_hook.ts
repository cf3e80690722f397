/**
 * The crypto worker's door to the "short" module (modules/short.ts): when the page embeds a
 * short link as `data-address`, the module runs in the worker before the worker's own code and
 * leaves its resolver on the worker's global; without the module this finds nothing, and a
 * short link is refused as before (agent/links.ts SHORT_LINK_MESSAGE).
 */

import type { SMPServer } from "../smp/address.js";
import type { SMPClient } from "../smp/client.js";

/**
 * A short link's relay and how to turn the link into its full contact address: `client` is
 * connected to the widget's relay `own`; a link on another relay is read through it with the
 * "proxy" module.
 */
export interface ShortResolver {
  server: SMPServer;
  resolve(client: SMPClient, own: SMPServer): Promise<string>;
}

/** The resolver for `address` if it is a short link and the module is loaded, else null. */
export function shortLink(address: string): ShortResolver | null {
  return (globalThis as { hushwireShort?: (a: string) => ShortResolver | null }).hushwireShort?.(address) ?? null;
}
