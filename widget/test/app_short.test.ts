/**
 * Short links in the web app (src/app/short.ts): a one-time invitation's link data made here as
 * the Python agent makes it (shortlinks.py `prepare_link_data`: fixed data = versions, root
 * key, the invitation request; user data 'I'; each signed and boxed under `invShortLinkKdf`),
 * opened and checked; `resolveShort` against a stub relay: LKEY with a fresh key for an
 * invitation, LGET for an address, and the refusals.
 */

import { sha3_256 } from "@noble/hashes/sha3.js";
import { describe, expect, it } from "vitest";

import { concat, encode, type Writer } from "../src/encoding.js";
import { randomBytes } from "../src/crypto/random.js";
import { KeyPair, PrivateKey, PublicKey } from "../src/crypto/keys.js";
import { cbEncrypt, sbKey } from "../src/crypto/nacl.js";
import { parseSMPServer, type SMPServer } from "../src/smp/address.js";
import type { SMPClient } from "../src/smp/client.js";
import type { BrokerMsg, Command } from "../src/smp/commands.js";
import { SMPCommandError } from "../src/smp/client/errors.js";
import { VersionRange } from "../src/smp/version.js";
import { LinkError, parseLink } from "../src/agent/links.js";
import { AGENT_VERSIONS, SMP_CLIENT_VERSION } from "../src/agent/protocol.js";
import { E2E_VERSIONS } from "../src/agent/ratchet.js";
import { formatShortLink, invitationLinkKdf, NO_LINK, type ShortLink } from "../src/agent/shortlinks.js";
import { decryptInvitationLinkData, OTHER_RELAY, resolveShort } from "../src/app/short.js";

const SERVER: SMPServer = parseSMPServer("smp://AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=@relay.example:5223");
const SENDER_ID = new Uint8Array(24).fill(7);
const LINK_ID = new Uint8Array(24).fill(9);

function linkServer(w: Writer, s: SMPServer): void {
  w.nonEmpty(s.hosts, (x, host) => x.shortString(new TextEncoder().encode(host)));
  w.shortString(new TextEncoder().encode(s.port === null ? "" : String(s.port)));
  w.shortString(s.keyHash);
}

/** An invitation's fixed and user data, boxed, and its short link; `tweak` spoils one part. */
function invitation(tweak: { signer?: PrivateKey; user?: number; server?: SMPServer } = {}) {
  const root = PrivateKey.generate("Ed25519");
  const dh = KeyPair.generate("X25519");
  const k1 = KeyPair.generate("X448");
  const k2 = KeyPair.generate("X448");
  const fixed = encode((w) => {
    AGENT_VERSIONS.encode(w);
    w.shortString(root.public().toDer());
    w.byte(0x49);
    AGENT_VERSIONS.encode(w);
    w.nonEmpty([0], (x) => {
      new VersionRange(1, SMP_CLIENT_VERSION).encode(x);
      linkServer(x, tweak.server ?? SERVER);
      x.shortString(SENDER_ID).shortString(dh.public.toDer()).byte(0x4d);
    });
    w.byte(0x30); // no client data
    E2E_VERSIONS.encode(w);
    w.shortString(k1.public.toDer()).shortString(k2.public.toDer()).byte(0x30); // no KEM
  });
  const user = encode((w) => {
    w.byte(tweak.user ?? 0x49);
    AGENT_VERSIONS.encode(w);
    w.shortString(new TextEncoder().encode('{"profile":{"displayName":"Py"}}'));
  });
  const linkKey = sha3_256(fixed);
  const box = invitationLinkKdf(linkKey);
  const seal = (data: Uint8Array): Uint8Array => {
    const nonce = randomBytes(24);
    const signed = concat(encode((w) => w.shortString((tweak.signer ?? root).sign(data))), data);
    return concat(nonce, cbEncrypt(sbKey(box), nonce, signed, 2008));
  };
  const link: ShortLink = { scheme: "simplex", server: { hosts: [...SERVER.hosts], port: SERVER.port, keyHash: SERVER.keyHash }, linkKey, type: null, linkId: LINK_ID };
  return { link, data: { fixed: seal(fixed), user: seal(user) }, k1: k1.public };
}

describe("an invitation's link data", () => {
  it("opens, checks and gives the invitation inside", () => {
    const { link, data, k1 } = invitation();
    const req = decryptInvitationLinkData(link, data);
    expect(req.mode).toBe("invitation");
    expect(req.queues[0]!.senderId).toEqual(SENDER_ID);
    expect(req.queues[0]!.queueMode).toBe("M");
    expect(req.e2e!.k1.equals(k1)).toBe(true);
    const again = parseLink(req.toUri());
    expect(again.mode).toBe("invitation");
    expect(again.queues[0]!.server.keyHash).toEqual(SERVER.keyHash);
  });

  it("refuses a wrong key, a stranger's signature, and a contact's user data", () => {
    const { link, data } = invitation();
    expect(() => decryptInvitationLinkData({ ...link, linkKey: new Uint8Array(32) }, data)).toThrow("link data: cannot decrypt");
    const signed = invitation({ signer: PrivateKey.generate("Ed25519") });
    expect(() => decryptInvitationLinkData(signed.link, signed.data)).toThrow("link data signature");
    const contact = invitation({ user: 0x43 });
    expect(() => decryptInvitationLinkData(contact.link, contact.data)).toThrow("link data: cannot parse (not the link data of an invitation)");
    const other = invitation();
    expect(() => decryptInvitationLinkData(link, { fixed: other.data.fixed, user: data.user })).toThrow("link data: cannot decrypt");
  });
});

function stub(reply: BrokerMsg | Error) {
  const sent: [Uint8Array, Command, KeyPair | null][] = [];
  const client = {
    version: 16,
    request: async (e: Uint8Array, c: Command, k: KeyPair | null = null): Promise<BrokerMsg> => {
      sent.push([e, c, k]);
      if (reply instanceof Error) throw reply;
      return reply;
    },
  };
  return { client: client as unknown as SMPClient, sent };
}

describe("resolveShort", () => {
  it("fetches an invitation with LKEY and a fresh sender key, signed by it", async () => {
    const { link, data } = invitation();
    const { client, sent } = stub({ tag: "LNK", senderId: SENDER_ID, data });
    const r = await resolveShort(client, SERVER, formatShortLink(link));
    expect(sent).toHaveLength(1);
    const [entity, cmd, key] = sent[0]!;
    expect(entity).toEqual(LINK_ID);
    expect(cmd.tag).toBe("LKEY");
    expect(key).toBe(r.sndAuth);
    expect((cmd as { senderKey: PublicKey }).senderKey.equals(r.sndAuth!.public)).toBe(true);
    expect(parseLink(r.link).queues[0]!.senderId).toEqual(SENDER_ID);
    // the key sealed before LKEY (a reload going on): LKEY with that key, and it is the join's
    const kept = KeyPair.generate("Ed25519");
    const again = stub({ tag: "LNK", senderId: SENDER_ID, data });
    expect((await resolveShort(again.client, SERVER, formatShortLink(link), kept)).sndAuth).toBe(kept);
    expect(again.sent[0]![2]).toBe(kept);
    expect((again.sent[0]![1] as { senderKey: PublicKey }).senderKey.equals(kept.public)).toBe(true);
  });

  it("refuses another queue, a link unknown to the relay, another relay, a channel", async () => {
    const { link, data } = invitation();
    const text = formatShortLink(link);
    await expect(resolveShort(stub({ tag: "LNK", senderId: new Uint8Array(24), data }).client, SERVER, text)).rejects.toThrow("different address");
    await expect(resolveShort(stub(new SMPCommandError({ tag: "AUTH" })).client, SERVER, text)).rejects.toThrow(NO_LINK);
    const elsewhere = parseSMPServer("smp://BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=@relay.example:5223");
    await expect(resolveShort(stub(new Error("unused")).client, elsewhere, text)).rejects.toThrow(OTHER_RELAY);
    const channel = formatShortLink({ ...link, type: "C", linkId: null });
    await expect(resolveShort(stub(new Error("unused")).client, SERVER, channel)).rejects.toThrow(LinkError);
  });
});
