/**
 * Two moments at which a web app tab that closes used to lose a conversation step, each with a
 * fake page (app_page.ts) and a real relay (`.venv/bin/hushwire relay`):
 *
 * - the slow handshake with a Python owner whose reply queues are in contact mode ('K', KEY,
 *   HELLO both ways): a profile sealed for something else (here: the name) while the app is
 *   encrypting its answer to the owner's HELLO, and the tab closed right after that profile was
 *   stored: the reloaded app must answer the HELLO and become connected;
 * - a short one-time invitation (`/i#`): the tab closed right after LKEY went out; the reloaded
 *   app must go on with the same sender key and join.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { openText } from "../src/agent/state_read.js";
import { utf8 } from "../src/encoding.js";
import { HAVE_RELAY } from "./relay_process.js";
import { PYTHON, SLOW_OWNER, start, stop } from "./owner_process.js";
import { appRelay, Page, until } from "./app_page.js";

describe.runIf(HAVE_RELAY)("the web app's worker, a tab closed at the wrong moment", () => {
  const env = appRelay();

  const startPage = async (sealed: ArrayBuffer | null): Promise<Page> => {
    const p = new Page();
    await env.start(p, sealed);
    return p;
  };

  /** The Python echo peer (owner_process.ts; `extra`: its mode) while `f` runs with its link. */
  async function withPeer(extra: string[], f: (link: string) => Promise<void>): Promise<void> {
    const data = mkdtempSync(join(tmpdir(), "hushwire-app-gaps-"));
    const peer = await start(["-c", SLOW_OWNER, data, env.smp, env.relay.wsUrl, ...extra], /^((?:simplex|https?):\S+)$/m, "the Python peer", PYTHON);
    try {
      await f(peer.match[1]!);
    } finally {
      await stop(peer.proc);
      rmSync(data, { recursive: true, force: true });
    }
  }

  /** A new tab opens the profile `stored`: contact `id` becomes connected and echoes a text. */
  async function reloadAndTalk(stored: ArrayBuffer | null, id: string): Promise<void> {
    const a2 = await startPage(stored);
    await until(() => a2.connected(id), "connected after the reload", 15000);
    await a2.call({ op: "send", contact: id, text: "after the reload" });
    await until(() => a2.messages(id, "in").length > 0, "the echo");
    expect(a2.messages(id, "in")).toEqual(["after the reload"]);
  }

  it("a profile sealed while the app answers a slow owner's HELLO: after a reload the HELLO is answered", async () => {
    const subtle = crypto.subtle;
    const encrypt = subtle.encrypt.bind(subtle);
    await withPeer([], async (link) => {
      try {
        const a = await startPage(null);
        // the app's ratchet encryptions (the profile's seal uses env.key): 1 and 2 are our 'K'
        // confirmation (header, body), 3 the header of our HELLO reply, the owner's HELLO processed
        let calls = 0;
        let closed = false;
        subtle.encrypt = async (alg, k, bytes) => {
          if (k !== env.key && ++calls === 3) {
            // another part of the profile changes and is sealed now; the tab closes once it is stored
            a.hold = true;
            void a.call({ op: "setName", name: "Ada" }).catch(() => undefined);
            await until(() => a.held.length > 0, "the profile sealed during the HELLO reply");
            a.confirm(a.held.shift()!);
            a.kill();
            closed = true;
          }
          return encrypt(alg, k, bytes);
        };
        const c = (await a.call({ op: "join", link })) as { id: string };
        await until(() => closed, "the tab closed during the HELLO reply");
        await new Promise((r) => setTimeout(r, 500));
        expect(a.connected(c.id)).toBe(false);
        subtle.encrypt = encrypt;
        await reloadAndTalk(a.stored, c.id);
      } finally {
        subtle.encrypt = encrypt;
      }
    });
  }, 90000);

  it("a tab closed after LKEY of a short invitation, before its join was sealed: the reload joins with the same key", async () => {
    await withPeer(["short"], async (link) => {
      const a = await startPage(null);
      await a.call({ op: "setName", name: "Ada" });
      // the page stores every profile of the join up to the first that holds the joined
      // invitation (LKEY went out before it): that one is never stored, the tab closes
      a.hold = true;
      const c = (await a.call({ op: "join", link })) as { id: string };
      const ad = utf8("hushwire app profile 1") as Uint8Array<ArrayBuffer>;
      for (;;) {
        await until(() => a.held.length > 0, "a profile of the join");
        const seq = a.held.shift()!;
        const profile = (await openText(env.key, ad, a.blobs.get(seq)!, new Error("does not open"))) as { c: { j: unknown }[] };
        if (profile.c.some((x) => typeof x.j === "object" && x.j !== null && "r" in x.j)) break;
        a.confirm(seq);
      }
      a.kill();
      await reloadAndTalk(a.stored, c.id);
    });
  }, 90000);
});
