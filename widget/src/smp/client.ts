/**
 * The widget's SMP client, split as src/hushwire/client/ is (simplexmq Client.hs,
 * Transport.hs smpClientHandshake; docs/protocol/smp.md):
 *
 * - client/client.ts: {@link SMPClient} (commands, events, keepalive over one WebSocket);
 * - client/handshake.ts: the transport handshake with the server identity check;
 * - client/events.ts: what listeners receive;
 * - client/reconnect.ts: {@link ReconnectingClient} and its {@link Backoff};
 * - client/errors.ts: {@link SMPClientError} and its subclasses.
 */

export * from "./client/client.js";
export * from "./client/errors.js";
export * from "./client/events.js";
export * from "./client/reconnect.js";
