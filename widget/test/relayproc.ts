/**
 * Test helper: a real Python relay (`.venv/bin/hushwire relay`) as a child process, started
 * with the given arguments and a fresh data directory, ready once its start-up lines show.
 */

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { REPO_ROOT } from "./vectors.js";

export const HUSHWIRE = join(REPO_ROOT, ".venv/bin/hushwire");
export const HAVE_RELAY = existsSync(HUSHWIRE);

export interface RelayProc {
  proc: ChildProcess;
  data: string;
  /** Everything the relay printed on start. */
  out: string;
}

/** Start a relay with `args(dataDir)`; resolves once `ready(output)` is true. */
export function startRelayProc(args: (data: string) => string[], ready: (out: string) => boolean): Promise<RelayProc> {
  const data = mkdtempSync(join(tmpdir(), "hushwire-widget-relay-"));
  const proc = spawn(HUSHWIRE, ["relay", "--data", data, ...args(data)], {
    stdio: ["ignore", "pipe", "ignore"],
    env: { ...process.env, PYTHONUNBUFFERED: "1" },
  });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`relay did not start: ${out}`));
    }, 30000);
    proc.stdout!.setEncoding("utf8");
    proc.stdout!.on("data", (chunk: string) => {
      out += chunk;
      if (ready(out)) {
        clearTimeout(timer);
        resolve({ proc, data, out });
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`relay exited with ${code}: ${out}`));
    });
  });
}

/** SIGTERM (SIGKILL after 20 s), then remove the data directory. */
export function stopRelayProc(r: { proc: ChildProcess; data: string }): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      rmSync(r.data, { recursive: true, force: true });
      resolve();
    };
    if (r.proc.exitCode !== null) return done();
    const kill = setTimeout(() => r.proc.kill("SIGKILL"), 20000);
    r.proc.once("exit", () => {
      clearTimeout(kill);
      done();
    });
    r.proc.kill("SIGTERM");
  });
}
