/**
 * GRP/1 relay addresses in the widget: `grp://KEYHASH@HOST[:PORT]?nk=STATICKEY` (a WebSocket
 * to `ws://HOST:PORT/grp/1`) or `grps://...` (`wss://`), as src/hushwire/grp/address.py parses
 * them (docs/grp.md, "Address form"). `KEYHASH` is the relay's SMP identity; `nk`, its GRP
 * static X25519 key, is not trusted: the handshake proves the identity signed it.
 *
 * One addition for tests only: `&cover=RATE` after the key sets the widget's cover rate
 * (frames per second, docs/grp.md "Cover traffic"). The rate must be the same for every
 * client, and a relay holds a client to about three times its own configured rate, so the
 * parameter only works against a test relay run with the same `grp_cover_rate`; a site must
 * not set it.
 */

import { base64urlDecode, type Bytes } from "../encoding.js";
import { formatHosts, parseSMPServer } from "../smp/address.js";

export const DEFAULT_GRP_PORT = 7443;
/** The highest cover rate the test parameter accepts (frames per second). */
export const MAX_TEST_RATE = 100;

export class GrpAddressError extends Error {
  override name = "GrpAddressError";
}

export interface GrpAddress {
  keyHash: Bytes;
  hosts: readonly string[];
  port: number;
  staticKey: Bytes;
  /** The WebSocket URL of the first host's GRP endpoint. */
  wsUrl: string;
  /** The test-only cover rate (`&cover=`), else undefined (the protocol's rate). */
  rate: number | undefined;
}

/** Parse a GRP address; anything malformed throws a GrpAddressError saying what is wrong. */
export function parseGrpAddress(text: string): GrpAddress {
  const m = /^(grps?):\/\/([^?#]+)\?nk=([A-Za-z0-9_-]+={0,2})(?:&cover=([0-9]+(?:\.[0-9]+)?))?$/.exec(text.trim());
  if (m === null) throw new GrpAddressError("a GRP address is grp://KEYHASH@HOST:PORT?nk=KEY (what `hushwire relay --grp` prints)");
  const [, scheme, rest, nk, cover] = m as unknown as [string, string, string, string, string | undefined];
  let staticKey: Bytes;
  try {
    staticKey = base64urlDecode(nk);
  } catch {
    throw new GrpAddressError("the GRP key (nk) is not base64url");
  }
  if (staticKey.length !== 32) throw new GrpAddressError("the GRP key (nk) must be 32 bytes");
  let server;
  try {
    server = parseSMPServer(`smp://${rest}`);
  } catch (e) {
    throw new GrpAddressError(`in the GRP address: ${(e as Error).message}`);
  }
  if (server.basicAuth !== null) throw new GrpAddressError("a GRP address has no password");
  const rate = cover === undefined ? undefined : Number(cover);
  if (rate !== undefined && !(rate > 0 && rate <= MAX_TEST_RATE)) throw new GrpAddressError(`the cover rate must be above 0 and at most ${MAX_TEST_RATE}`);
  const port = server.port ?? DEFAULT_GRP_PORT;
  const wsUrl = `${scheme === "grps" ? "wss" : "ws"}://${formatHosts(server.hosts.slice(0, 1))}:${port}/grp/1`;
  return { keyHash: server.keyHash, hosts: server.hosts, port, staticKey, wsUrl, rate };
}
