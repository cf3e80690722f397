/**
 * Named SMP values mirroring tests/smp/smp_cases.py for the commands and responses the widget
 * implements; the vector files name their rows with these keys.
 */

import { latin1 } from "../src/encoding.js";
import { PublicKey } from "../src/crypto/keys.js";
import type { BrokerMsg, Command, QueueLinkData } from "../src/smp/commands.js";
import type { ErrorType } from "../src/smp/errors.js";
import { h } from "./vectors.js";

const range = (a: number, b: number): Uint8Array => Uint8Array.from({ length: b - a }, (_, i) => a + i);

export const ED = PublicKey.fromDer(new Uint8Array(Buffer.from("MCowBQYDK2VwAyEAfAOflyvbJv1fszgzkQ6buiZJVgSpQWsucXq7U6zjMgY=", "base64")));
export const X = PublicKey.fromDer(new Uint8Array(Buffer.from("MCowBQYDK2VuAyEAriy+HcARIhqsgSjVnjKqoft+y6pxrxdY68zn4+LjYhQ=", "base64")));
export const ED448 = PublicKey.fromDer(new Uint8Array([...h("3043300506032b6571033a00"), ...range(1, 58)]));

export const RID = range(0x10, 0x28);
export const SID = range(0x30, 0x48);
export const LNK_ID = range(0x50, 0x68);
export const NID = range(0x70, 0x88);
export const SVC_ID = latin1("svc-1");
export const MSG_ID = range(0xa0, 0xb8);
export const LINK_DATA: QueueLinkData = { fixed: latin1("fixed data"), user: latin1("user data") };

export const COMMANDS: Record<string, Command> = {
  "NEW basic": { tag: "NEW", rcvAuthKey: ED, rcvDhKey: X, basicAuth: null, subMode: "S", queueReqData: { mode: "M", link: null }, ntfCreds: null },
  "NEW contact link auth ntf": {
    tag: "NEW",
    rcvAuthKey: X,
    rcvDhKey: X,
    basicAuth: latin1("pass"),
    subMode: "C",
    queueReqData: { mode: "C", link: { linkId: LNK_ID, senderId: SID, data: LINK_DATA } },
    ntfCreds: { authKey: ED, dhKey: X },
  },
  "NEW messaging link ed448": {
    tag: "NEW",
    rcvAuthKey: ED448,
    rcvDhKey: X,
    basicAuth: null,
    subMode: "S",
    queueReqData: { mode: "M", link: { senderId: SID, data: LINK_DATA } },
    ntfCreds: null,
  },
  "NEW no queue data": { tag: "NEW", rcvAuthKey: ED, rcvDhKey: X, basicAuth: latin1("pw"), subMode: "S", queueReqData: null, ntfCreds: null },
  SUB: { tag: "SUB" },
  KEY: { tag: "KEY", senderKey: ED },
  GET: { tag: "GET" },
  ACK: { tag: "ACK", msgId: MSG_ID },
  "ACK empty": { tag: "ACK", msgId: new Uint8Array(0) },
  OFF: { tag: "OFF" },
  DEL: { tag: "DEL" },
  SKEY: { tag: "SKEY", senderKey: X },
  "SEND notify": { tag: "SEND", flags: { notification: true }, body: latin1("hello") },
  "SEND empty": { tag: "SEND", flags: { notification: false }, body: new Uint8Array(0) },
  PING: { tag: "PING" },
  LKEY: { tag: "LKEY", senderKey: ED448 },
  LGET: { tag: "LGET" },
};

/** What a peer of version `v` decodes from COMMANDS[name] encoded at `v`. */
export function decodedCommand(name: string, v: number): Command {
  const cmd = COMMANDS[name]!;
  if (cmd.tag !== "NEW") return cmd;
  if (v < 9) return { ...cmd, queueReqData: null, ntfCreds: null };
  if (v < 15) return { ...cmd, queueReqData: { mode: cmd.queueReqData?.mode === "M" ? "M" : "C", link: null }, ntfCreds: null };
  if (v < 17) return { ...cmd, ntfCreds: null };
  return cmd;
}

const BLOCKED_NOTICE: ErrorType = { tag: "BLOCKED", info: { reason: "content", notice: { ttl: 3600n } } };

export const RESPONSES: Record<string, BrokerMsg> = {
  "IDS messaging": { tag: "IDS", rcvId: RID, sndId: SID, srvDhKey: X, queueMode: "M", linkId: null, serviceId: null, serverNtfCreds: null },
  "IDS contact full": {
    tag: "IDS",
    rcvId: RID,
    sndId: SID,
    srvDhKey: X,
    queueMode: "C",
    linkId: LNK_ID,
    serviceId: SVC_ID,
    serverNtfCreds: { notifierId: NID, dhKey: X },
  },
  "IDS no mode": { tag: "IDS", rcvId: RID, sndId: SID, srvDhKey: X, queueMode: null, linkId: null, serviceId: null, serverNtfCreds: null },
  LNK: { tag: "LNK", senderId: SID, data: LINK_DATA },
  SOK: { tag: "SOK", serviceId: null },
  "SOK service": { tag: "SOK", serviceId: SVC_ID },
  MSG: { tag: "MSG", msgId: MSG_ID, body: new Uint8Array([1, 2, ...latin1("encrypted")]) },
  END: { tag: "END" },
  DELD: { tag: "DELD" },
  OK: { tag: "OK" },
  "ERR AUTH": { tag: "ERR", error: { tag: "AUTH" } },
  "ERR CMD SYNTAX": { tag: "ERR", error: { tag: "CMD", error: "SYNTAX" } },
  "ERR BLOCKED notice": { tag: "ERR", error: BLOCKED_NOTICE },
  PONG: { tag: "PONG" },
};

/** What a peer of version `v` decodes from RESPONSES[name] encoded at `v`. */
export function decodedResponse(name: string, v: number): BrokerMsg {
  const msg = RESPONSES[name]!;
  if (msg.tag === "IDS") {
    const base = { ...msg, linkId: null, serviceId: null, serverNtfCreds: null };
    if (v < 9) return { ...base, queueMode: null };
    if (v < 15) return { ...base, queueMode: msg.queueMode === "M" ? "M" : "C" };
    if (v < 16) return { ...msg, serviceId: null, serverNtfCreds: null };
    if (v < 17) return { ...msg, serverNtfCreds: null };
    return msg;
  }
  if (msg.tag === "SOK" && v < 16) return { tag: "OK" };
  if (msg.tag === "DELD" && v < 10) return { tag: "END" };
  if (name === "ERR BLOCKED notice") {
    if (v < 12) return { tag: "ERR", error: { tag: "AUTH" } };
    if (v < 18) return { tag: "ERR", error: { tag: "BLOCKED", info: { reason: "content", notice: null } } };
  }
  return msg;
}
