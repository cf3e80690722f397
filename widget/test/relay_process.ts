/**
 * Test helpers: the Python relay as a child process (`hushwire relay` of the repository's
 * .venv) and a client's events as an awaitable queue, for the tests against real relays.
 */

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { parseSMPServer, type SMPServer } from "../src/smp/address.js";
import type { ClientEvent } from "../src/smp/client.js";
import { REPO_ROOT } from "./vectors.js";

const HUSHWIRE = join(REPO_ROOT, ".venv/bin/hushwire");

export interface Relay {
  proc: ChildProcess;
  server: SMPServer;
  wsUrl: string;
  data: string;
}

/** A relay process on loopback (`extra`: more arguments, e.g. `--tls 127.0.0.1:0`). */
export function startRelay(extra: string[] = []): Promise<Relay> {
  const data = mkdtempSync(join(tmpdir(), "hushwire-widget-relay-"));
  const proc = spawn(HUSHWIRE, ["relay", "--data", data, "--ws", "127.0.0.1:0", ...extra], {
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
      const addr = /^(smp:\/\/\S+)$/m.exec(out);
      const ws = /WebSocket: (ws:\/\/\S+)/.exec(out);
      if (addr !== null && ws !== null) {
        clearTimeout(timer);
        resolve({ proc, server: parseSMPServer(addr[1]!), wsUrl: ws[1]!, data });
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`relay exited with ${code}: ${out}`));
    });
  });
}

export function stopRelay(r: Relay): Promise<void> {
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

/** Events of a client, awaitable one by one. */
export class EventQueue {
  readonly items: ClientEvent[] = [];
  #waiters: { pred: (e: ClientEvent) => boolean; resolve: (e: ClientEvent) => void }[] = [];

  push = (e: ClientEvent): void => {
    const i = this.#waiters.findIndex((w) => w.pred(e));
    if (i >= 0) {
      const [w] = this.#waiters.splice(i, 1);
      w!.resolve(e);
    } else this.items.push(e);
  };

  next<T extends ClientEvent["type"]>(type: T, timeoutMs = 10000): Promise<Extract<ClientEvent, { type: T }>> {
    const pred = (e: ClientEvent): boolean => e.type === type;
    const i = this.items.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.items.splice(i, 1)[0] as Extract<ClientEvent, { type: T }>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} event`)), timeoutMs);
      this.#waiters.push({
        pred,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e as Extract<ClientEvent, { type: T }>);
        },
      });
    });
  }
}

export const HAVE_RELAY = existsSync(HUSHWIRE);
