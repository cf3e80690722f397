/**
 * Entry point of the dedicated crypto Web Worker. Every key and every cryptographic operation
 * of the widget lives here; the page talks to it only through the messages of rpc.ts.
 *
 * The keys of a join are made ahead (crypto/keys.ts prepareKeys, one per task) while the worker
 * waits, never in front of a request: a worker with nothing to do makes them all (intent,
 * data-preload); a join that came with the worker (a click with nothing before it) starts
 * first (it opens the socket), its keys are made in its waits for the socket and the relay
 * (a key not ready when needed is made then); a worker that restores a session makes none.
 */

import { parseRequest } from "./rpc.js";
import { WorkerService } from "./worker/service.js";
import { prepareKeys } from "./crypto/keys.js";
import { JOIN_KEYS } from "./agent/visitor.js";
import { BlockChain } from "./smp/block.js";

declare const self: DedicatedWorkerGlobalScope;

let prepared = false;

/**
 * Make the key pairs `algs` ahead (once per worker), then encrypt and decrypt a block under a
 * zero key: the first 16 KB block through new code costs many times the next ones.
 */
const prepare = (algs: readonly (typeof JOIN_KEYS)[number][]): void => {
  if (prepared) return;
  prepared = true;
  prepareKeys(algs, () => {
    const zero = new Uint8Array(32);
    new BlockChain(zero).decrypt(new BlockChain(zero).encrypt(zero));
  });
};

const service = new WorkerService(
  (m) => self.postMessage(m),
  (url) => new WebSocket(url),
);

const idle = setTimeout(() => prepare(JOIN_KEYS), 20);

self.addEventListener("message", (ev: MessageEvent<unknown>) => {
  const req = parseRequest(ev.data);
  if (req === null) return; // not ours: ignore
  clearTimeout(idle);
  prepared ||= req.op === "restore";
  void service.handle(req);
  // a join that came with the worker: its keys are made in its waits (the socket, the relay)
  if (req.op === "join") setTimeout(() => prepare(JOIN_KEYS));
});

self.postMessage({ event: "status", status: "ready", detail: "crypto worker started" });
