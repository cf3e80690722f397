/**
 * Entry point of the dedicated crypto Web Worker. Every key and every cryptographic operation
 * of the widget lives here; the page talks to it only through the messages of rpc.ts.
 */

import { parseRequest } from "./rpc.js";
import { WorkerService } from "./worker/service.js";
import { prepareKeys } from "./crypto/keys.js";
import { JOIN_KEYS } from "./agent/visitor.js";
import { BlockChain } from "./smp/block.js";

declare const self: DedicatedWorkerGlobalScope;

const service = new WorkerService(
  (m) => self.postMessage(m),
  (url) => new WebSocket(url),
);

self.addEventListener("message", (ev: MessageEvent<unknown>) => {
  const req = parseRequest(ev.data);
  if (req === null) return; // not ours: ignore
  void service.handle(req);
});

self.postMessage({ event: "status", status: "ready", detail: "crypto worker started" });
// The keys of a join, made while the worker waits (for the click, for the relay), then a block
// encrypted and decrypted under a zero key: the first 16 KB block through new code costs many
// times the next ones.
prepareKeys(JOIN_KEYS, () => {
  const zero = new Uint8Array(32);
  new BlockChain(zero).decrypt(new BlockChain(zero).encrypt(zero));
});
