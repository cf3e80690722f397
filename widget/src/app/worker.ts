/**
 * Entry point of the web app's crypto Web Worker: every key and every cryptographic operation of
 * the app lives here; the page talks to it only through the messages of app/rpc.ts.
 */

import { AppService } from "./service.js";
import { parseAppRequest } from "./rpc.js";

declare const self: DedicatedWorkerGlobalScope;

const service = new AppService(
  (m) => self.postMessage(m),
  (url) => new WebSocket(url),
);

self.addEventListener("message", (ev: MessageEvent<unknown>) => {
  const req = parseAppRequest(ev.data);
  if (req !== null) void service.handle(req);
});
