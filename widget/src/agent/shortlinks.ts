/**
 * SimpleX short links, the joiner's side: the URI forms, the preset-server shorthand, the key
 * derivation, and opening and checking the link data a relay returns for `LGET`.
 *
 * Mirrors src/hushwire/agent/shortlinks.py (simplexmq Agent/Protocol.hs `ConnShortLink` and its
 * `StrEncoding`/`Encoding`, `restoreShortLink`, `FixedLinkData`, `ConnLinkData`,
 * `UserContactData`, `OwnerAuth`, `validateLinkOwners`; Crypto/ShortLink.hs
 * `contactShortLinkKdf`, `invShortLinkKdf`, `decryptLinkData`; Agent.hs `getConnShortLink'`;
 * docs/protocol/agent.md, "Short links"). Pure code except {@link resolveContactLink}, which
 * sends the one `LGET` over an open SMP client. The widget loads this only in its "short"
 * module (modules/short.ts), for a `data-address` that is a short link.
 *
 *     https://<first host>/a#<linkKey>[?h=<other hosts>&p=<port>&c=<keyHash>]
 *     simplex:/a#<linkKey>?h=<hosts>[&p=<port>][&c=<keyHash>]
 *     https://<first host>/i#<linkId>/<linkKey>[?...]
 *
 * Types `a` (contact address), `c` (channel), `g` (group), `r` (relay) are read in either case,
 * `i` (one-time invitation) only in lower case. A contact link derives the link id (the relay's
 * name for the data) and the box key from its 32-byte link key with HKDF-SHA512; the link key
 * is the SHA3-256 of the fixed data, which carries the full contact address, so the relay that
 * stores the data cannot swap it. Each blob is `nonce ‖ secretbox(pad(shortString(sig) ‖ data))`.
 */

import { sha3_256 } from "@noble/hashes/sha3.js";

import { base64urlDecode, base64urlEncode, latin1, latin1Decode, Reader, type Bytes } from "../encoding.js";
import { DecodeError } from "../errors.js";
import { constantTimeEqual } from "../crypto/ct.js";
import { hkdfSha512 } from "../crypto/kdf.js";
import { PublicKey } from "../crypto/keys.js";
import { cbDecrypt, NONCE_SIZE, sbKey } from "../crypto/nacl.js";
import { formatHosts, parseLocation, parseSMPServer, type SMPServer } from "../smp/address.js";
import type { BrokerMsg, Command, QueueLinkData, QueueMode } from "../smp/commands.js";
import { SHORT_LINKS_VERSION, VersionRange } from "../smp/version.js";
import { ConnectionRequest, LinkError, SMPQueueUri } from "./links.js";
import { parseQuery, queryParam } from "./strings.js";

export const LINK_KEY_SIZE = 32;
export const LINK_ID_SIZE = 24;
const CONTACT_KDF_INFO = latin1("SimpleXContactLink");
const INVITATION_KDF_INFO = latin1("SimpleXInvLink");
const LARGE_USER_DATA = 0xff;

export type ContactLinkType = "A" | "C" | "G" | "R";
const CONTACT_TYPES: readonly string[] = ["A", "C", "G", "R"];

/** The server as a short link names it; the key hash may be empty (a preset shorthand). */
export interface LinkServer {
  hosts: string[];
  port: number | null;
  keyHash: Bytes;
}

/** `ConnShortLink`: a contact-type link (`type` set) or an invitation (`linkId` set). */
export interface ShortLink {
  scheme: "simplex" | "https";
  server: LinkServer;
  linkKey: Bytes;
  type: ContactLinkType | null;
  linkId: Bytes | null;
}

// simplex-chat Operators/Presets.hs allPresetServers: enabled, disabled, Flux, testing. A link
// on one of these may name only the first host; the key hash comes from here.
const PRESETS = [
  "0YuTwO05YJWS8rkjn9eLJDjQhFKvIYd8d4xG8X1blIU=@smp8.simplex.im,beccx4yfxxbvyhqypaavemqurytl6hozr47wfc7uuecacjqdvwpw2xid",
  "SkIkI6EPd2D63F4xFKfHk7I1UGZVNn6k1QWZ5rcyr6w=@smp9.simplex.im,jssqzccmrcws6bhmn77vgmhfjmhwlyr3u7puw4erkyoosywgl67slqqd",
  "6iIcWT_dF2zN_w5xzZEY7HI2Prbh3ldP07YTyDexPjE=@smp10.simplex.im,rb2pbttocvnbrngnwziclp2f4ckjq65kebafws6g4hy22cdaiv5dwjqd",
  "1OwYGt-yqOfe2IyVHhxz3ohqo3aCCMjtB-8wn4X_aoY=@smp11.simplex.im,6ioorbm6i3yxmuoezrhjk6f6qgkc4syabh7m3so74xunb5nzr4pwgfqd",
  "UkMFNAXLXeAAe0beCa4w6X_zp18PwxSaSjY17BKUGXQ=@smp12.simplex.im,ie42b5weq7zdkghocs3mgxdjeuycheeqqmksntj57rmejagmg4eor5yd",
  "enEkec4hlR3UtKx2NMpOUK_K4ZuDxjWBO1d9Y4YXVaA=@smp14.simplex.im,aspkyu2sopsnizbyfabtsicikr2s4r3ti35jogbcekhm3fsoeyjvgrid",
  "h--vW7ZSkXPeOUpfxlFGgauQmXNFOzGoizak7Ult7cw=@smp15.simplex.im,oauu4bgijybyhczbnxtlggo6hiubahmeutaqineuyy23aojpih3dajad",
  "hejn2gVIqNU6xjtGM3OwQeuk8ZEbDXVJXAlnSBJBWUA=@smp16.simplex.im,p3ktngodzi6qrf7w64mmde3syuzrv57y55hxabqcq3l5p6oi7yzze6qd",
  "ZKe4uxF4Z_aLJJOEsC-Y6hSkXgQS5-oc442JQGkyP8M=@smp17.simplex.im,ogtwfxyi3h2h5weftjjpjmxclhb5ugufa5rcyrmg7j4xlch7qsr5nuqd",
  "PtsqghzQKU83kYTlQ1VKg996dW4Cw4x_bvpKmiv8uns=@smp18.simplex.im,lyqpnwbs2zqfr45jqkncwpywpbtq7jrhxnib5qddtr6npjyezuwd3nqd",
  "N_McQS3F9TGoh4ER0QstUf55kGnNSd-wXfNPZ7HukcM=@smp19.simplex.im,i53bbtoqhlc365k6kxzwdp5w3cdt433s7bwh3y32rcbml2vztiyyz5id",
  "u2dS9sG8nMNURyZwqASV4yROM28Er0luVTx5X1CsMrU=@smp4.simplex.im,o5vmywmrnaxalvz6wi3zicyftgio6psuvyniis6gco6bp6ekl4cqj4id",
  "hpq7_4gGJiilmz5Rf-CswuU5kZGkm_zOIooSw6yALRg=@smp5.simplex.im,jjbyvoemxysm7qxap7m5d5m35jzv5qq6gnlv7s4rsn7tdwwmuqciwpid",
  "PQUV2eL0t7OStZOoAsPEV2QYWt4-xilbakvGUGOItUo=@smp6.simplex.im,bylepyau3ty4czmn77q4fglvperknl4bi2eb2fdy2bh4jxtf32kf73yd",
  "xQW_ufMkGE20UrTlBl8QqceG1tbuylXhr9VOLPyRJmw=@smp1.simplexonflux.com,qb4yoanyl4p7o33yrknv4rs6qo7ugeb2tu2zo66sbebezs4cpyosarid",
  "LDnWZVlAUInmjmdpQQoIo6FUinRXGe0q3zi5okXDE4s=@smp2.simplexonflux.com,yiqtuh3q4x7hgovkomafsod52wvfjucdljqbbipg5sdssnklgongxbqd",
  "1jne379u7IDJSxAvXbWb_JgoE7iabcslX0LBF22Rej0=@smp3.simplexonflux.com,a5lm4k7ufei66cdck6fy63r4lmkqy3dekmmb7jkfdm5ivi6kfaojshad",
  "xmAmqj75I9mWrUihLUlI0ZuNLXlIwFIlHRq5Pb6cHAU=@smp4.simplexonflux.com,qpcz2axyy66u26hfdd2e23uohcf3y6c36mn7dcuilcgnwjasnrvnxjqd",
  "rWvBYyTamuRCBYb_KAn-nsejg879ndhiTg5Sq3k0xWA=@smp5.simplexonflux.com,4ao347qwiuluyd45xunmii4skjigzuuox53hpdsgbwxqafd4yrticead",
  "PN7-uqLBToqlf1NxHEaiL35lV2vBpXq8Nj8BW11bU48=@smp6.simplexonflux.com,hury6ot3ymebbr2535mlp7gcxzrjpc6oujhtfxcfh2m4fal4xw5fq6qd",
  "8Af90NX2TTkKEJAF1RCg69P_Odg2Z-6_J6DOKUqK3rQ=@smp7.simplex.im,dbxqutskmmbkbrs7ofi7pmopeyhgi5cxbjbh4ummgmep4r6bz4cbrcid",
];

/** The preset servers (`allPresetServers`), parsed on first use. */
export function presetServers(): SMPServer[] {
  return PRESETS.map((p) => parseSMPServer(`smp://${p}.onion`));
}

function b64(text: string, what: string): Bytes {
  try {
    return base64urlDecode(text);
  } catch {
    throw new LinkError(`the ${what} in the short link is not base64url`);
  }
}

function location(text: string): { hosts: string[]; port: number | null } {
  try {
    return parseLocation(text);
  } catch {
    throw new LinkError("bad host or port in the short link");
  }
}

function oneHost(text: string): string {
  const l = location(text);
  if (l.hosts.length !== 1 || l.port !== null) throw new LinkError("bad host in the short link");
  return l.hosts[0]!;
}

/** Whether `text` looks like a short link: a scheme, one type letter, then `#` (or `/#`). */
export function isShortLink(text: string): boolean {
  return /^(?:simplex:|https:\/\/[^/]+)\/(?:[acgrACGR]|i)\/?#/.test(text.trim());
}

/** Parse every text form simplexmq accepts; {@link LinkError} says what is wrong. */
export function parseShortLink(input: string): ShortLink {
  const text = input.trim();
  let scheme: ShortLink["scheme"];
  let first: string | null = null;
  let rest: string;
  if (text.startsWith("simplex:")) {
    scheme = "simplex";
    rest = text.slice("simplex:".length);
  } else if (text.startsWith("https://")) {
    scheme = "https";
    const after = text.slice("https://".length);
    const slash = after.indexOf("/");
    first = oneHost(slash < 0 ? after : after.slice(0, slash));
    rest = slash < 0 ? "" : after.slice(slash);
  } else {
    throw new LinkError("bad short link scheme: it starts with simplex:/ or https://");
  }
  if (!rest.startsWith("/") || rest.length < 2) throw new LinkError("the short link has no type after the scheme");
  const typeChar = rest[1]!;
  rest = rest.slice(2);
  const upper = typeChar.toUpperCase();
  const type = CONTACT_TYPES.includes(upper) ? (upper as ContactLinkType) : null;
  if (type === null && typeChar !== "i") throw new LinkError("unknown short link type");
  if (rest.startsWith("/")) rest = rest.slice(1);
  if (!rest.startsWith("#")) throw new LinkError("the short link has no '#' after its type");
  const q = rest.indexOf("?");
  let fragment = q < 0 ? rest.slice(1) : rest.slice(1, q);
  let linkId: Bytes | null = null;
  if (type === null) {
    const slash = fragment.indexOf("/");
    if (slash < 0) throw new LinkError("an invitation short link needs <link id>/<key> after '#'");
    linkId = b64(fragment.slice(0, slash), "link id");
    fragment = fragment.slice(slash + 1);
  }
  const linkKey = b64(fragment, "link key");
  if (linkKey.length !== LINK_KEY_SIZE) throw new LinkError("the link key in the short link is not 32 bytes");
  return { scheme, server: serverFromQuery(first, q < 0 ? null : rest.slice(q + 1)), linkKey, type, linkId };
}

function serverFromQuery(first: string | null, query: string | null): LinkServer {
  if (query === null) {
    if (first === null) throw new LinkError("short link without server");
    return { hosts: [first], port: null, keyHash: new Uint8Array(0) };
  }
  const pairs = parseQuery(query);
  const hosts = first === null ? [] : [first];
  const h = queryParam(pairs, "h");
  if (h) hosts.push(...h.split(",").map(oneHost));
  if (hosts.length === 0) throw new LinkError("short link without server");
  const p = queryParam(pairs, "p");
  const port = p === null ? null : location(`x:${p}`).port;
  const c = queryParam(pairs, "c");
  return { hosts, port, keyHash: c === null ? new Uint8Array(0) : b64(c, "server key hash") };
}

/** The text form, as simplexmq `strEncode` writes it. */
export function formatShortLink(link: ShortLink): string {
  const srv = link.server;
  const simplex = link.scheme === "simplex";
  const params: string[] = [];
  const more = simplex ? srv.hosts : srv.hosts.slice(1);
  if (more.length > 0) params.push("h=" + formatHosts(more).replaceAll(",", "%2C"));
  if (srv.port !== null) params.push(`p=${srv.port}`);
  if (srv.keyHash.length > 0) params.push("c=" + base64urlEncode(srv.keyHash, false));
  const id = link.linkId === null ? "" : base64urlEncode(link.linkId, false) + "/";
  const query = params.length > 0 ? "?" + params.join("&") : "";
  const kind = link.type === null ? "i" : link.type.toLowerCase();
  return `${simplex ? "simplex:" : "https://" + srv.hosts[0]!}/${kind}#${id}${base64urlEncode(link.linkKey, false)}${query}`;
}

/**
 * `restoreShortLink`: a link that names only a host (no port, no key hash) gets the full
 * address of the preset server whose first host that is; any other link is returned as it is.
 */
export function restoreShortLink(link: ShortLink, presets: readonly SMPServer[] = presetServers()): ShortLink {
  const s = link.server;
  if (s.hosts.length !== 1 || s.port !== null || s.keyHash.length !== 0) return link;
  const p = presets.find((x) => x.hosts[0] === s.hosts[0]);
  return p === undefined ? link : { ...link, server: { hosts: [...p.hosts], port: p.port, keyHash: p.keyHash } };
}

/** The server to connect to; {@link LinkError} without a 32-byte key hash (its identity is unknown). */
export function linkSMPServer(server: LinkServer): SMPServer {
  if (server.keyHash.length !== 32) {
    throw new LinkError("the short link does not say how to check its server's identity (no key hash, and not a known preset server)");
  }
  return { hosts: server.hosts, keyHash: server.keyHash, port: server.port, basicAuth: null };
}

/** `contactShortLinkKdf`: [link id (24 bytes), box key (32 bytes)]. */
export function contactLinkKdf(linkKey: Bytes): [Bytes, Bytes] {
  const out = hkdfSha512(new Uint8Array(0), linkKey, CONTACT_KDF_INFO, LINK_ID_SIZE + 32);
  return [out.slice(0, LINK_ID_SIZE), out.slice(LINK_ID_SIZE)];
}

/** `invShortLinkKdf`: the box key of an invitation's link data. */
export function invitationLinkKdf(linkKey: Bytes): Bytes {
  return hkdfSha512(new Uint8Array(0), linkKey, INVITATION_KDF_INFO, 32);
}

// --------------------------------------------------------------------------- binary forms

function parseLinkServer(r: Reader): LinkServer {
  const hosts = r.nonEmpty((x) => oneHost(latin1Decode(x.shortString())));
  const port = latin1Decode(r.shortString());
  return { hosts, port: port === "" ? null : location(`x:${port}`).port, keyHash: r.shortString() };
}

/** `ConnShortLink` Encoding (the relays of contact link data). */
function parseBinaryShortLink(r: Reader): ShortLink {
  const mode = r.byte();
  if (mode === 0x49) {
    const server = parseLinkServer(r);
    const linkId = r.shortString();
    return { scheme: "https", server, linkKey: r.shortString(), type: null, linkId };
  }
  if (mode !== 0x43) throw new DecodeError("bad connection mode");
  const t = String.fromCharCode(r.byte());
  if (!CONTACT_TYPES.includes(t)) throw new DecodeError("unknown contact address type");
  const server = parseLinkServer(r);
  return { scheme: "https", server, linkKey: r.shortString(), type: t as ContactLinkType, linkId: null };
}

function ed25519Key(der: Bytes): PublicKey {
  const k = PublicKey.fromDer(der);
  if (k.alg !== "Ed25519") throw new DecodeError("link keys are Ed25519");
  return k;
}

/** `SMPQueueUri` Encoding: versions, full server, sender id, dh key, optional mode. */
export function parseQueueUri(r: Reader): SMPQueueUri {
  const versions = VersionRange.parse(r);
  const server = linkSMPServer(parseLinkServer(r));
  const senderId = r.shortString();
  const dh = PublicKey.fromDer(r.shortString());
  if (dh.alg !== "X25519") throw new DecodeError("X25519 key expected");
  let mode: QueueMode = "C"; // ConnReqUriData smpP patches a missing mode to contact
  const b = r.remaining > 0 ? r.peek() : undefined;
  if (b === 0x4d || b === 0x54) mode = "M"; // 'M', 'T'
  if (b === 0x4d || b === 0x54 || b === 0x43 || b === 0x46) r.byte(); // 'C', 'F' are contact
  return new SMPQueueUri(versions, server, senderId, dh, mode);
}

/** `ConnectionRequestUri` Encoding of a contact address (the widget joins nothing else). */
export function parseContactRequest(r: Reader): ConnectionRequest {
  const mode = r.byte();
  if (mode === 0x49) throw new LinkError("the widget joins contact addresses; this is a one-time invitation link");
  if (mode !== 0x43) throw new DecodeError("bad connection mode");
  const versions = VersionRange.parse(r);
  const queues = r.nonEmpty(parseQueueUri);
  const data = r.maybe((x) => x.large());
  return new ConnectionRequest("contact", versions, queues, null, data === null ? null : new TextDecoder().decode(data));
}

/** `FixedLinkData`: what the link key commits to. Any tail (a group's entity id) is ignored. */
export interface FixedLinkData {
  agentVersions: VersionRange;
  rootKey: PublicKey;
  request: ConnectionRequest;
}

export function decodeFixedLinkData(data: Bytes): FixedLinkData {
  const r = new Reader(data);
  const agentVersions = VersionRange.parse(r);
  const rootKey = ed25519Key(r.shortString());
  return { agentVersions, rootKey, request: parseContactRequest(r) };
}

/** `OwnerAuth`: a further key allowed to sign a contact link's user data. */
export interface OwnerAuth {
  ownerId: Bytes;
  ownerKey: PublicKey;
  signature: Bytes;
}

function parseOwnerAuth(r: Reader): OwnerAuth {
  const inner = new Reader(r.shortString());
  const ownerId = inner.shortString();
  const ownerKey = ed25519Key(inner.shortString());
  return { ownerId, ownerKey, signature: inner.shortString() }; // extension bytes are ignored
}

/** `ConnLinkData` of a contact link (`'C' agentVRange UserContactData`); any tail is ignored. */
export interface ContactLinkData {
  agentVersions: VersionRange;
  direct: boolean;
  owners: OwnerAuth[];
  relays: ShortLink[];
  userData: Bytes;
}

export function decodeContactLinkData(data: Bytes): ContactLinkData {
  const r = new Reader(data);
  if (r.byte() !== 0x43) throw new DecodeError("not the link data of a contact address");
  const agentVersions = VersionRange.parse(r);
  const direct = r.bool();
  const owners = r.list(parseOwnerAuth);
  const relays = r.list(parseBinaryShortLink);
  let userData: Bytes;
  if (r.peek() === LARGE_USER_DATA) {
    r.byte();
    userData = r.large();
  } else userData = r.shortString();
  return { agentVersions, direct, owners, relays, userData };
}

/** `validateLinkOwners`: null if valid, else the reason. */
export function validateLinkOwners(root: PublicKey, owners: readonly OwnerAuth[]): string | null {
  const prev: OwnerAuth[] = [];
  for (const o of owners) {
    const id = base64urlEncode(o.ownerId, false);
    if (o.ownerKey.equals(root)) return `owner key for ID ${id} matches root key`;
    if (prev.some((p) => constantTimeEqual(p.ownerId, o.ownerId) || p.ownerKey.equals(o.ownerKey))) return `duplicate owner key or ID ${id}`;
    const signed = new Uint8Array([...o.ownerId, ...o.ownerKey.toDer()]);
    if (![root, ...prev.map((p) => p.ownerKey)].some((k) => k.verify(o.signature, signed))) return `invalid authorization of owner ID ${id}`;
    prev.push(o);
  }
  return null;
}

export function openBlob(boxKey: Bytes, blob: Bytes): [Bytes, Bytes] {
  if (blob.length < NONCE_SIZE) throw new LinkError("link data: the blob is too short");
  let opened: Bytes;
  try {
    opened = cbDecrypt(sbKey(boxKey), blob.subarray(0, NONCE_SIZE), blob.subarray(NONCE_SIZE));
  } catch {
    throw new LinkError("link data: cannot decrypt");
  }
  const r = new Reader(opened);
  let sig: Bytes;
  try {
    sig = r.shortString();
  } catch {
    throw new LinkError("link data: no signature");
  }
  return [sig, r.tail()];
}

/**
 * `decryptLinkData` with its checks, for a contact link: both blobs open under the derived key,
 * SHA3-256 of the fixed data is the link key, the root key signed it, the owners are valid and
 * the user data is signed by the root or an owner. {@link LinkError} names the failed check.
 */
export function decryptContactLinkData(link: ShortLink, data: QueueLinkData): { fixed: FixedLinkData; user: ContactLinkData } {
  if (link.type === null) throw new LinkError("the widget joins contact addresses; this is a one-time invitation link");
  const boxKey = contactLinkKdf(link.linkKey)[1];
  const [sig1, fd] = openBlob(boxKey, data.fixed);
  const [sig2, md] = openBlob(boxKey, data.user);
  let fixed: FixedLinkData;
  let user: ContactLinkData;
  try {
    fixed = decodeFixedLinkData(fd);
    user = decodeContactLinkData(md);
  } catch (e) {
    if (e instanceof LinkError) throw e;
    throw new LinkError(`link data: cannot parse (${e instanceof Error ? e.message : "?"})`);
  }
  if (!constantTimeEqual(sha3_256(fd), link.linkKey)) throw new LinkError("link data hash");
  if (!fixed.rootKey.verify(sig1, fd)) throw new LinkError("link data signature");
  const problem = validateLinkOwners(fixed.rootKey, user.owners);
  if (problem !== null) throw new LinkError(problem);
  if (![fixed.rootKey, ...user.owners.map((o) => o.ownerKey)].some((k) => k.verify(sig2, md))) throw new LinkError("user data signature");
  return { fixed, user };
}

function sameServer(a: SMPServer, b: SMPServer): boolean {
  return a.port === b.port && constantTimeEqual(a.keyHash, b.keyHash) && a.hosts.join(",") === b.hosts.join(",");
}

/**
 * Agent.hs `getConnShortLink'`: the request's first queue must be the link's queue (the link's
 * first host among its hosts, the LNK sender id); its server is then replaced by the link's.
 */
export function checkLinkServer(link: ShortLink, fixed: FixedLinkData, senderId: Bytes): ConnectionRequest {
  const req = fixed.request;
  const q = req.queues[0]!;
  if (!q.server.hosts.includes(link.server.hosts[0]!) || !constantTimeEqual(q.senderId, senderId)) throw new LinkError("different address");
  const srv = linkSMPServer(link.server);
  if (sameServer(srv, q.server)) return req;
  const moved = new SMPQueueUri(q.versions, srv, q.senderId, q.dhPublicKey, q.queueMode);
  return new ConnectionRequest(req.mode, req.agentVersions, [moved, ...req.queues.slice(1)], null, req.clientData);
}

export const NO_LINK = "the relay has no address for this short link: it was deleted, or the link is mistyped";

/** What {@link resolveContactLink} needs of an SMP client (smp/client.ts SMPClient). */
export interface LinkClient {
  readonly version: number;
  request(entityId: Bytes, command: Command, key?: null): Promise<BrokerMsg>;
}

/**
 * `LGET` (entity = the derived link id, no signature) over `client`, connected to the link's
 * server, then {@link decryptContactLinkData} and {@link checkLinkServer}: the full contact
 * address to join and the owner's user data (simplex-chat's profile JSON).
 */
export async function resolveContactLink(client: LinkClient, link: ShortLink): Promise<{ request: ConnectionRequest; userData: Bytes }> {
  if (link.type === null) throw new LinkError("the widget joins contact addresses; this is a one-time invitation link");
  if (client.version < SHORT_LINKS_VERSION) throw new LinkError(`the relay speaks SMP v${client.version}; short links need v${SHORT_LINKS_VERSION}`);
  let reply: BrokerMsg;
  try {
    reply = await client.request(contactLinkKdf(link.linkKey)[0], { tag: "LGET" }, null);
  } catch (e) {
    // ERR AUTH: no link data under this id (deleted, never made, or a mistyped key)
    // (smp/client/errors.ts SMPCommandError, matched by name: importing it would pull in every error's text)
    if (e instanceof Error && e.name === "SMPCommandError" && (e as { error?: { tag?: string } }).error?.tag === "AUTH") throw new LinkError(NO_LINK);
    throw e;
  }
  if (reply.tag !== "LNK") throw new LinkError(`LGET answered with ${reply.tag}`);
  const { fixed, user } = decryptContactLinkData(link, reply.data);
  // simplex-chat getShortLinkConnReq: a contact link that is neither direct nor has relays is not joined
  if (!user.direct && user.relays.length === 0) throw new LinkError("this short link is not a direct contact address");
  return { request: checkLinkServer(link, fixed, reply.senderId), userData: user.userData };
}
