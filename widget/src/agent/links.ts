/**
 * SimpleX connection links: SMP queue URIs and full connection requests.
 *
 * Mirrors src/hushwire/agent/links.py (simplexmq Agent/Protocol.hs SMPQueueUri and
 * ConnectionRequestUri StrEncoding, connReqUriP, updateSMPServerHosts; Agent/QueryString.hs;
 * docs/protocol/agent.md):
 *
 *     smp://<keyHash>@<host>[,<host>...][:<port>]/<senderId>#/?v=1-4&dh=<key>&q=m&k=s&srv=<hosts>
 *     simplex:/contact#/?v=2-7&smp=<queue URI>[;<queue URI>...][&data=<json>]
 *     https://<any host>/invitation#/?v=2-7&smp=<queue URI>&e2e=v=2-3&x3dh=<k1>,<k2>
 *
 * Each query value is percent-encoded once more than the text it carries (a dh key's `=` reads
 * `%253D` in a full link). Short links are recognised and refused with a clear {@link LinkError}.
 */

import { base64urlDecode, base64urlEncode, type Bytes } from "../encoding.js";
import { DecodeError } from "../errors.js";
import { PublicKey } from "../crypto/keys.js";
import { MAX_LINK_LENGTH } from "../limits.js";
import { formatHosts, parseLocation, withExtraHosts, type SMPServer } from "../smp/address.js";
import type { QueueMode } from "../smp/commands.js";
import { VersionRange } from "../smp/version.js";
import {
  AGENT_VERSIONS,
  DUPLEX_HANDSHAKE_SMPA_VERSION,
  INITIAL_SMP_CLIENT_VERSION,
  SHORT_LINKS_SMP_CLIENT_VERSION,
  SMP_CLIENT_VERSIONS,
  SRV_HOSTNAMES_SMP_CLIENT_VERSION,
} from "./protocol.js";
import { E2ERatchetParamsUri } from "./ratchet.js";
import { formatVersionRange, parseQuery, parseVersionRange, queryParam, renderQuery, type Query } from "./strings.js";

export type ConnectionMode = "invitation" | "contact";

/** Agent versions a link offers (supportedSMPAgentVRange). */
export const AGENT_LINK_VERSIONS = AGENT_VERSIONS;
/** SMP client versions a queue URI offers (supportedSMPClientVRange). */
export { SMP_CLIENT_VERSIONS };

/** A short link met without the "short" module (modules/short_hook.ts), which reads them. */
export const SHORT_LINK_MESSAGE = "this is a SimpleX short link and the widget's short module is not loaded: use the full link";

/** Onion hosts of preset servers (kept in smp/address.ts; `./presets.js` fills it). */
export { EXTRA_HOSTS } from "../smp/address.js";

const APP_HOST = /^[^:#,;/ ]+(?::[0-9]{1,5})?$/;
const SHORT_TYPE = /^(?:[acgrACGR]|i)\/?#/;
const WHITESPACE = /\s/;

/** A connection link is malformed or cannot be used; the message says what to do. */
export class LinkError extends DecodeError {
  override name = "LinkError";
}

function linkRange(text: string): VersionRange {
  return parseVersionRange(text, (m) => new LinkError(m));
}

function parseHosts(location: string): { hosts: string[]; port: number | null } {
  try {
    return parseLocation(location);
  } catch (e) {
    throw new LinkError("bad server host or port in the link");
  }
}

function parseExtraHost(text: string): string {
  const { hosts, port } = parseHosts(text);
  if (port !== null || hosts.length !== 1) throw new LinkError("bad host in the srv= list of the link");
  return hosts[0]!;
}

function decodeB64(text: string, what: string): Bytes {
  try {
    return base64urlDecode(text);
  } catch {
    throw new LinkError(`the ${what} in the link is not base64url`);
  }
}

function decodeDhKey(text: string): PublicKey {
  const der = decodeB64(text, "queue key (dh)");
  let key: PublicKey;
  try {
    key = PublicKey.fromDer(der);
  } catch {
    throw new LinkError("the queue key (dh) in the link is not a public key");
  }
  if (key.alg !== "X25519") throw new LinkError("the queue key (dh) in the link must be an X25519 key");
  return key;
}

/** A queue's address as links carry it (SMPQueueUri). The key hash may have any length here. */
export class SMPQueueUri {
  constructor(
    readonly versions: VersionRange,
    readonly server: SMPServer,
    readonly senderId: Bytes,
    readonly dhPublicKey: PublicKey,
    readonly queueMode: QueueMode | null = null,
  ) {
    if (senderId.length === 0 || dhPublicKey.alg !== "X25519") throw new RangeError("bad queue URI");
  }

  get senderCanSecure(): boolean {
    return this.queueMode === "M";
  }

  /** The string form, byte for byte as simplexmq strEncode writes it. */
  toStr(): string {
    const srv = this.server;
    const port = srv.port === null ? "" : `:${srv.port}`;
    const legacy = this.versions.min < SRV_HOSTNAMES_SMP_CLIENT_VERSION;
    const hosts = legacy ? srv.hosts.slice(0, 1) : srv.hosts;
    const authority = `smp://${base64urlEncode(srv.keyHash)}@${formatHosts(hosts)}${port}`;
    const params: Query = [
      ["v", formatVersionRange(this.versions)],
      ["dh", base64urlEncode(this.dhPublicKey.toDer())],
    ];
    if (this.queueMode !== null) params.push(["q", this.queueMode === "M" ? "m" : "c"]);
    if (this.senderCanSecure && this.versions.min < SHORT_LINKS_SMP_CLIENT_VERSION) params.push(["k", "s"]);
    if (legacy && srv.hosts.length > 1) params.push(["srv", formatHosts(srv.hosts.slice(1))]);
    return `${authority}/${base64urlEncode(this.senderId)}#/?${renderQuery(params)}`;
  }

  /** Every form simplexmq accepts (current, legacy srv=, key after '#', unversioned '#<key>'). */
  static parseStr(text: string): SMPQueueUri {
    if (!text.startsWith("smp://")) throw new LinkError("a queue address in the link must start with smp://");
    if (WHITESPACE.test(text)) throw new LinkError("a queue address in the link contains a space");
    const rest0 = text.slice("smp://".length);
    const slash = rest0.indexOf("/");
    if (slash < 0) throw new LinkError("the queue address in the link has no queue id");
    const authority = rest0.slice(0, slash);
    const rest = rest0.slice(slash + 1);
    const at = authority.indexOf("@");
    if (at < 0) throw new LinkError("the queue address in the link needs '@'");
    const keyText = authority.slice(0, at);
    if (keyText.includes(":")) throw new LinkError("a queue address must not carry a server password");
    const keyHash = decodeB64(keyText, "server key hash");
    const { hosts, port } = parseHosts(authority.slice(at + 1));
    const hash = rest.indexOf("#");
    if (hash < 0) throw new LinkError("the queue address in the link has no '#'");
    let senderText = rest.slice(0, hash);
    const fragment = rest.slice(hash + 1);
    if (senderText.endsWith("/")) senderText = senderText.slice(0, -1);
    const senderId = decodeB64(senderText, "queue id");
    let mode: QueueMode | null = null;
    let extra: string[] = [];
    let versions: VersionRange;
    let dhText: string;
    const qm = fragment.indexOf("?");
    if (qm >= 0) {
      let before = fragment.slice(0, qm);
      if (before.endsWith("/")) before = before.slice(0, -1);
      const pairs = parseQuery(fragment.slice(qm + 1));
      const v = queryParam(pairs, "v");
      if (v === null) throw new LinkError("the queue address in the link has no v= version");
      versions = linkRange(v);
      const dh = before !== "" ? before : queryParam(pairs, "dh");
      if (dh === null) throw new LinkError("the queue address in the link has no dh= key");
      dhText = dh;
      const srv = queryParam(pairs, "srv");
      if (srv) extra = srv.split(",").map(parseExtraHost);
      const q = queryParam(pairs, "q");
      if (q === "m") mode = "M";
      else if (q === "c") mode = "C";
      else if (queryParam(pairs, "k") === "s") mode = "M";
    } else {
      versions = new VersionRange(INITIAL_SMP_CLIENT_VERSION, INITIAL_SMP_CLIENT_VERSION);
      dhText = fragment;
    }
    const dhKey = decodeDhKey(dhText);
    let all = [...hosts, ...extra];
    if (versions.max < SRV_HOSTNAMES_SMP_CLIENT_VERSION) all = withExtraHosts(all);
    return new SMPQueueUri(versions, { hosts: all, keyHash: keyHash, port, basicAuth: null }, senderId, dhKey, mode);
  }
}

/** A full connection link: a one-time invitation (with X3DH keys) or a contact address. */
export class ConnectionRequest {
  constructor(
    readonly mode: ConnectionMode,
    readonly agentVersions: VersionRange,
    readonly queues: readonly SMPQueueUri[],
    readonly e2e: E2ERatchetParamsUri | null = null,
    readonly clientData: string | null = null,
  ) {
    if (queues.length === 0 || (e2e === null) === (mode === "invitation")) throw new RangeError("bad connection request");
  }

  /** `simplex:/<mode>#/?...` or, with `httpsHost`, `https://HOST/<mode>#/?...`. */
  toUri(httpsHost?: string): string {
    let scheme: string;
    if (httpsHost === undefined) scheme = "simplex:";
    else if (APP_HOST.test(httpsHost)) scheme = `https://${httpsHost}`;
    else throw new RangeError(`not a host name for a link: ${httpsHost}`);
    const params: Query = [
      ["v", formatVersionRange(this.agentVersions)],
      ["smp", this.queues.map((q) => q.toStr()).join(";")],
    ];
    if (this.e2e !== null) params.push(["e2e", this.e2e.toStr()]);
    if (this.clientData !== null) params.push(["data", this.clientData]);
    return `${scheme}/${this.mode}#/?${renderQuery(params)}`;
  }
}

function splitScheme(text: string): string {
  let rest: string;
  if (text.startsWith("simplex:")) {
    rest = text.slice("simplex:".length);
    if (rest.startsWith("//")) {
      throw new LinkError("a SimpleX link starts with simplex:/ (one slash) or https://; copy the link again from the app");
    }
  } else if (text.startsWith("https://")) {
    const after = text.slice("https://".length);
    const slash = after.indexOf("/");
    const host = slash < 0 ? after : after.slice(0, slash);
    if (!APP_HOST.test(host)) throw new LinkError("the link has no valid host after https://");
    rest = slash < 0 ? "" : after.slice(slash);
  } else {
    throw new LinkError("not a SimpleX link: it must start with simplex:/ or https://");
  }
  if (!rest.startsWith("/")) throw new LinkError("not a SimpleX link: expected '/' after the scheme or host");
  return rest.slice(1);
}

/**
 * Parse a full invitation or contact link (`simplex:` or `https://any.host/`). Surrounding
 * whitespace and unknown parameters are ignored; a contact link's agent range is raised to at
 * least 2. Short links and anything malformed throw {@link LinkError} saying what is wrong.
 */
export function parseLink(input: string): ConnectionRequest {
  const text = input.trim();
  if (text === "") throw new LinkError("the link is empty");
  if (text.length > MAX_LINK_LENGTH) throw new LinkError(`the link is too long (${text.length} characters)`);
  let path = splitScheme(text);
  let mode: ConnectionMode;
  if (path.startsWith("invitation")) {
    mode = "invitation";
    path = path.slice("invitation".length);
  } else if (path.startsWith("contact")) {
    mode = "contact";
    path = path.slice("contact".length);
  } else if (SHORT_TYPE.test(path)) {
    throw new LinkError(SHORT_LINK_MESSAGE);
  } else {
    throw new LinkError("not a SimpleX link: expected /contact# or /invitation# in it");
  }
  if (path.startsWith("/")) path = path.slice(1);
  if (!path.startsWith("#/?")) throw new LinkError("the link has no '#/?' before its parameters");
  const query = path.slice(3);
  if (WHITESPACE.test(query)) throw new LinkError("the link contains a space; copy it again in one piece");
  const pairs = parseQuery(query);
  const v = queryParam(pairs, "v");
  if (v === null) throw new LinkError("the link has no v= (agent version) parameter");
  let versions = linkRange(v);
  const smp = queryParam(pairs, "smp");
  if (!smp) throw new LinkError("the link has no smp= queue");
  const queues = smp.split(";").map((q) => SMPQueueUri.parseStr(q));
  const clientData = queryParam(pairs, "data");
  if (mode === "contact") {
    const lo = Math.max(DUPLEX_HANDSHAKE_SMPA_VERSION, versions.min) // minSupportedSMPAgentVersion;
    versions = new VersionRange(lo, Math.max(lo, versions.max));
    return new ConnectionRequest("contact", versions, queues, null, clientData);
  }
  const e2eText = queryParam(pairs, "e2e");
  if (e2eText === null) throw new LinkError("the invitation link has no e2e= keys");
  let e2e: E2ERatchetParamsUri;
  try {
    e2e = E2ERatchetParamsUri.parseStr(e2eText);
  } catch (e) {
    throw new LinkError("the invitation link has bad e2e= keys");
  }
  return new ConnectionRequest("invitation", versions, queues, e2e, clientData);
}
