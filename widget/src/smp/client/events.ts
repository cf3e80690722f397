/**
 * What the SMP client reports to its listeners (mirrors src/hushwire/client/events.py): a
 * delivered message, a subscription ended or a queue deleted by the server, a server error
 * without a command, and the reconnecting client's disconnected / reconnected.
 */

import type { Bytes } from "../../encoding.js";
import type { BrokerMsg } from "../commands.js";
import type { ErrorType } from "../errors.js";

export type MsgResponse = Extract<BrokerMsg, { tag: "MSG" }>;
export type IdsResponse = Extract<BrokerMsg, { tag: "IDS" }>;

export type ClientEvent =
  | { type: "message"; recipientId: Bytes; msg: MsgResponse }
  | { type: "subscriptionEnded"; recipientId: Bytes }
  | { type: "queueDeleted"; recipientId: Bytes }
  | { type: "serverError"; entityId: Bytes; error: ErrorType }
  | { type: "disconnected"; reason: string }
  | {
      type: "reconnected";
      attempts: number;
      resubscribed: Bytes[];
      failed: { recipientId: Bytes; error: ErrorType }[];
    };

export type EventListener = (ev: ClientEvent) => void;

/** Call every listener with `ev`; a listener's failure must not break the connection. */
export function emitTo(listeners: Set<EventListener>, ev: ClientEvent): void {
  for (const l of [...listeners]) {
    try {
      l(ev);
    } catch {
      // ignored: see above
    }
  }
}
