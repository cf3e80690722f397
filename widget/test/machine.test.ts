/**
 * The visitor's state machine (src/agent/machine.ts) against the shared transcripts
 * (tests/vectors/agent_transcripts.json): every initiator transcript, step by step, the status
 * and the exact effects the Python table gives (tests/agent/test_machine.py runs them all).
 */

import { describe, expect, it } from "vitest";

import { has, step, type MachineInput } from "../src/agent/machine.js";
import { loadVectors } from "./vectors.js";

interface Transcript {
  name: string;
  covers: string;
  role: string;
  status: string;
  steps: { input: MachineInput; status: string; effects: unknown[][] }[];
}

/** The compact effects string in the transcripts' form: `"a b:x"` is `[["a"], ["b", "x"]]`. */
function expand(effects: string): unknown[][] {
  return effects === ""
    ? []
    : effects.split(" ").map((e) => {
        const [name, arg] = e.split(":");
        return arg === undefined ? [name] : [name, arg === "true" ? true : arg === "false" ? false : arg];
      });
}

const doc = loadVectors<{ source: string; transcripts: Transcript[] }>("agent_transcripts.json");
const visitor = doc.transcripts.filter((t) => t.role === "initiator");

describe("agent transcripts (initiator role)", () => {
  it("are this project's own and cover the visitor's ordering fixes", () => {
    expect(doc.source).toContain("Hushwire's own transcripts");
    const covers = visitor.map((t) => t.covers).join(" ");
    for (const fix of ["2ed6097", "960f4ac", "733cefc"]) expect(covers).toContain(fix);
    expect(visitor.length).toBeGreaterThanOrEqual(7);
  });

  it.each(visitor.map((t) => [t.name, t] as const))("%s", (_name, t) => {
    let status = t.status;
    t.steps.forEach((s, i) => {
      const [next, effects] = step(status, s.input);
      expect({ i, status: next, effects: expand(effects) }).toEqual({ i, status: s.status, effects: s.effects });
      status = next;
    });
  });

  it("refuses what it does not know, never throws", () => {
    expect(step("invited", { input: "nonsense" })).toEqual(["invited", "refuse:illegal"]);
    expect(step("ended", { input: "send", fast: true, last_snd_id: 3 })).toEqual(["ended", "refuse:not_established"]);
    expect(has(step("confirming", { input: "send", fast: true, last_snd_id: 1 }), "send_message")).toBe(true);
    const t = step("confirming", { input: "confirm_step", fast: true, secured: false, queued: false });
    expect([has(t, "send_confirmation"), has(t, "send_confirmation:conf "), has(t, "set_slow:false"), has(t, "send_hello")]).toEqual([true, true, true, false]);
    expect(has(step("confirming", { input: "confirm_step", fast: false, secured: false, queued: false }), "send_confirmation:conf ")).toBe(false);
  });
});
