/**
 * The ratchet's storage form: compact JSON, byte for byte what src/hushwire/agent/ratchet.py
 * Ratchet.to_json writes (secrets as padded base64url), so a state moves between the Python
 * agent and the widget. It holds every secret of the conversation: seal it, never log it.
 * A separate module so the worker bundle carries it only when it stores states; reading a
 * state back is state_read.ts (in the widget, the "restore" module).
 */

import { base64urlEncode, concat, type Bytes } from "../encoding.js";
import { KeyPair, PrivateKey, PublicKey } from "../crypto/keys.js";
import { AGENT_VERSIONS } from "./protocol.js";
import { checkVersions, Ratchet } from "./ratchet.js";
import { readRatchet, type Kit } from "./state_read.js";

export function ratchetToJSON(r: Ratchet): string {
  const f = r.fields;
  const b = (x: Bytes): string => base64urlEncode(x);
  return JSON.stringify({
    f: 1,
    v: [f.currentVersion, f.maxVersion],
    ad: b(f.ad),
    dhrs: b(f.dhrs.private.exportRaw()),
    rk: b(f.rk),
    snd: f.snd === null ? null : [b(f.snd.dhrr.raw), b(f.snd.ck), b(f.snd.hk)],
    rcv: f.rcv === null ? null : [b(f.rcv.ck), b(f.rcv.hk)],
    n: [f.ns, f.nr, f.pn],
    nhk: [b(f.nhks), b(f.nhkr)],
    sk: f.skipped.map((c) => [b(c.hk), c.keys.map(([n, mk, iv]) => [n, b(concat(mk, iv))])]),
    kem: f.peerOfferedKem,
  });
}

/** Parse {@link ratchetToJSON} output (or Python's to_json); anything malformed is a DecodeError. */
export function ratchetFromJSON(text: string): Ratchet {
  return readRatchet(text, KIT);
}

/** The core's classes that a state read back is made of (state_read.ts). */
export const KIT: Kit = { KeyPair, PrivateKey, PublicKey, Ratchet, checkVersions, agentVersions: AGENT_VERSIONS };
