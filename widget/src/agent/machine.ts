/**
 * The connection state machine of the visitor (initiator role), as data: the port of the
 * initiator rows of src/hushwire/agent/machine.py (simplexmq Simplex.Messaging.Agent
 * joinConnSrv, smpConfirmation, secureConfirmQueue, helloMsg; docs/protocol/agent.md).
 *
 * Theory of operation. {@link step} maps a status (`joining` -> `invited` -> `confirming` ->
 * `connected`, or on the slow path `confirming` -> `wait_hello` -> `connected`) and an input
 * (with the few facts its rule needs) to the new status and the effects, as values, in the order
 * the visitor (visitor.ts) carries them out. Nothing here does I/O; anything the table does not
 * list is refused (`refuse:illegal`), never thrown. tests/vectors/agent_transcripts.json holds the
 * transcripts that this port and the Python table both follow.
 *
 * The bundle has a size budget, so effects are written compactly: one string, effects separated
 * by spaces, an argument after a colon (`"secure_snd set_slow:false send_confirmation:conf"` is
 * the transcript's `[["secure_snd"], ["set_slow", false], ["send_confirmation", "conf"]]`).
 */

import { E2E_VERSIONS } from "./ratchet.js";

/** An input, in its transcript form: `input` names it, the other fields are its facts. */
export interface MachineInput {
  input: string;
  fast?: boolean;
  secured?: boolean;
  queued?: boolean;
  repeated?: boolean;
  slow?: boolean;
  rcv_secured?: boolean;
  e2e_version?: number | null;
  last_snd_id?: number;
  kind?: string;
}

/** The new status and the effects (see above). */
export type Transition = [status: string, effects: string];

/** The initiator's transition for `i` in `s`. */
export function step(s: string, i: MachineInput): Transition {
  const k = i.kind;
  const v = i.e2e_version;
  const c = s === "confirming";
  const to = (e: string, n = s): Transition => [n, e];
  switch (i.input) {
    case "join":
      return s === "joining" ? to("send_invitation", "invited") : to("refuse:illegal");
    case "accept":
      return to("refuse:not_requested");
    case "confirmation":
      // a repeated confirmation: ACK and ignore; the X3DH keys are used once
      if (i.repeated) return to("");
      if (s !== "invited" || v == null) return to("refuse:no_keys");
      if (v < E2E_VERSIONS.min) return to("refuse:e2e_version");
      return to(i.slow && !i.rcv_secured ? "open_confirmation secure_rcv" : "open_confirmation", "confirming");
    case "confirm_step":
      // our fast confirmation's SEND does not wait for SKEY's answer: queued to a queue not
      // known to be secured (after a restart), SKEY goes again before it
      if (!c || i.queued) return to(c && i.fast && !i.secured ? "secure_snd" : "");
      return to((i.fast && !i.secured ? "secure_snd " : "") + "set_slow:" + !i.fast + " send_confirmation:conf" + (i.fast ? "" : "_k"));
    case "hello":
      // slow path: the OK for our 'K' confirmation (message 1) may still be on its way
      return to(s === "wait_hello" || (c && !i.fast && i.last_snd_id === 1) ? "send_hello:hello_reply" : "");
    case "sent":
      if (k === "msg") return to("emit:sent");
      if (k === "hello_reply" && (c || s === "wait_hello")) return to("emit:established", "connected");
      // an invitation went to the contact queue: it confirms nothing
      if (k !== "conf" && k !== "conf_k") return to("");
      return !c ? to("mark_confirmed") : k === "conf" ? to("mark_confirmed emit:established", "connected") : to("mark_confirmed", "wait_hello");
    case "send":
      // fast: nothing before our confirmation (message 1) is queued; slow: nothing before CON
      return to(s === "connected" || (c && i.fast && i.last_snd_id! >= 1) ? "send_message" : "refuse:not_established");
  }
  return to("refuse:illegal");
}

/** Whether the transition has the effect `e` (a name, or `name:argument`). */
export const has = (t: Transition, e: string): boolean => ` ${t[1]} `.includes(` ${e}`);
