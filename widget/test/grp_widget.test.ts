/**
 * The widget's GRP profile (modules/grp.ts, grp/address.ts): GRP addresses as the relay prints
 * them, the test-only cover rate, and the dialer's checks of the embed, which refuse before
 * anything is dialled (no socket is made).
 */

import { describe, expect, it } from "vitest";

import { base64urlEncode, toHex } from "../src/encoding.js";
import { DEFAULT_GRP_PORT, GrpAddressError, parseGrpAddress } from "../src/grp/address.js";
import { GrpEmbedError, grpDial, NEEDS_GRP_RELAY, NEEDS_TWO_RELAYS } from "../src/modules/grp.js";
import { GrpSocket } from "../src/grp/transport.js";
import { parseSMPServer } from "../src/smp/address.js";
import type { WebSocketLike } from "../src/smp/client.js";

const KH = base64urlEncode(new Uint8Array(32).fill(1));
const OTHER = base64urlEncode(new Uint8Array(32).fill(2));
const NK = base64urlEncode(new Uint8Array(32).fill(7)).replace(/=+$/, "");
const GRP = `grp://${KH}@relay.example:7443?nk=${NK}`;

describe("GRP addresses", () => {
  it("parses what `hushwire relay --grp` prints", () => {
    const a = parseGrpAddress(GRP);
    expect(toHex(a.keyHash)).toBe("01".repeat(32));
    expect(toHex(a.staticKey)).toBe("07".repeat(32));
    expect(a.hosts).toEqual(["relay.example"]);
    expect(a.port).toBe(7443);
    expect(a.wsUrl).toBe("ws://relay.example:7443/grp/1");
    expect(a.rate).toBeUndefined();
  });

  it("grps:// is WebSocket inside TLS; no port is 7443; IPv6 in brackets", () => {
    expect(parseGrpAddress(`grps://${KH}@relay.example?nk=${NK}`).wsUrl).toBe(`wss://relay.example:${DEFAULT_GRP_PORT}/grp/1`);
    expect(parseGrpAddress(`grp://${KH}@[::1]:9000?nk=${NK}`).wsUrl).toBe("ws://[::1]:9000/grp/1");
  });

  it("takes the test-only cover rate, within bounds", () => {
    expect(parseGrpAddress(`${GRP}&cover=20`).rate).toBe(20);
    expect(parseGrpAddress(`${GRP}&cover=0.5`).rate).toBe(0.5);
    expect(() => parseGrpAddress(`${GRP}&cover=0`)).toThrow("the cover rate must be above 0 and at most 100");
    expect(() => parseGrpAddress(`${GRP}&cover=1000`)).toThrow("the cover rate must be above 0 and at most 100");
  });

  it("refuses malformed addresses with what is wrong", () => {
    const form = "a GRP address is grp://KEYHASH@HOST:PORT?nk=KEY (what `hushwire relay --grp` prints)";
    for (const bad of [`smp://${KH}@relay.example`, `grp://${KH}@relay.example`, `${GRP}&x=1`, `ws://relay.example/grp/1`, `grp://${KH}@relay.example?nk=`]) {
      expect(() => parseGrpAddress(bad), bad).toThrow(form);
    }
    expect(() => parseGrpAddress(`grp://${KH}@relay.example?nk=AAAA`)).toThrow("the GRP key (nk) must be 32 bytes");
    expect(() => parseGrpAddress(`grp://AAAA@relay.example?nk=${NK}`)).toThrow("in the GRP address: the key hash must be 32 bytes");
    expect(() => parseGrpAddress(`grp://${KH}:pass@relay.example?nk=${NK}`)).toThrow("a GRP address has no password");
    expect(() => parseGrpAddress(`grp://${KH}@relay.example?nk=${NK}`)).not.toThrow();
    expect(() => parseGrpAddress("grp://x")).toThrow(GrpAddressError);
  });
});

describe("the GRP dialer's checks of the embed", () => {
  const own = parseSMPServer(`smp://${KH}@relay.example:5223`);
  const owner = parseSMPServer(`smp://${OTHER}@owner.example:5223`);
  const dialled: string[] = [];
  const socket = (url: string): WebSocketLike => {
    dialled.push(url);
    return { binaryType: "", readyState: 0, send: () => undefined, close: () => undefined, addEventListener: () => undefined };
  };

  it("dials the GRP endpoint of the entry relay, nothing else", () => {
    const s = grpDial(GRP, own, owner, socket);
    expect(s).toBeInstanceOf(GrpSocket);
    expect(dialled).toEqual(["ws://relay.example:7443/grp/1"]);
    (s as GrpSocket).close();
  });

  it("refuses a plain WebSocket URL, a missing '#smp://', another relay's SMP address, the owner on the entry relay", () => {
    dialled.length = 0;
    expect(() => grpDial("wss://relay.example/", own, owner, socket)).toThrow(NEEDS_GRP_RELAY);
    expect(() => grpDial(GRP, undefined, undefined, socket)).toThrow(NEEDS_GRP_RELAY);
    expect(() => grpDial(GRP, owner, owner, socket)).toThrow(NEEDS_GRP_RELAY); // no '#': our relay is the owner's
    expect(() => grpDial(GRP, owner, own, socket)).toThrow("data-relay: the GRP address and the SMP address after '#' are of different relays");
    const ownerOnEntry = parseSMPServer(`smp://${KH}@relay.example:5223`);
    expect(() => grpDial(GRP, own, ownerOnEntry, socket)).toThrow(NEEDS_TWO_RELAYS);
    expect(() => grpDial(GRP, own, ownerOnEntry, socket)).toThrow(GrpEmbedError);
    expect(dialled).toEqual([]);
  });
});
