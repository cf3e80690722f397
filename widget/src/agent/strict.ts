/**
 * Strict parsing the widget's bundle leaves out: the full check of queue-rotation message
 * bodies (simplexmq Agent/Protocol.hs SndQAddr, SMPQueueUri, QADD/QKEY/QUSE/QTEST parsers) and
 * the onion hosts of preset servers. Importing this module installs both, so the codec then
 * accepts and rejects exactly what the reference does; the tests import it.
 */

import { Reader, type Bytes } from "../encoding.js";
import { PublicKey, type KeyAlg } from "../crypto/keys.js";
import { DecodeError } from "../errors.js";
import { VersionRange } from "../smp/version.js";
import { parseSMPQueueInfo, parseSMPServerBinary, queueMessageCheck, type QueueMessageTag } from "./protocol.js";
import "./presets.js";

function keyP(r: Reader, algs: readonly KeyAlg[]): void {
  const key = PublicKey.fromDer(r.shortString());
  if (!algs.includes(key.alg)) throw new DecodeError("unexpected key algorithm");
}

function queueModeP(r: Reader): void {
  const b = r.peek();
  if (b === 0x4d || b === 0x54 || b === 0x43 || b === 0x46) r.byte();
}

function sndQAddrP(r: Reader): void {
  parseSMPServerBinary(r, 2);
  r.shortString();
}

function smpQueueUriP(r: Reader): void {
  VersionRange.parse(r);
  parseSMPServerBinary(r, 2);
  r.shortString();
  keyP(r, ["X25519"]);
  queueModeP(r);
}

/** Validate a queue message body as the reference parser would (they are not acted on). */
function checkQueueMessage(tag: QueueMessageTag, raw: Bytes): void {
  const r = new Reader(raw);
  if (tag === "QC") sndQAddrP(r);
  else if (tag === "QA")
    r.nonEmpty((x) => {
      smpQueueUriP(x);
      x.maybe(sndQAddrP);
    });
  else if (tag === "QK")
    r.nonEmpty((x) => {
      parseSMPQueueInfo(x);
      keyP(x, ["Ed25519", "Ed448", "X25519"]);
    });
  else if (tag === "QU")
    r.nonEmpty((x) => {
      sndQAddrP(x);
      x.bool();
    });
  else r.nonEmpty(sndQAddrP);
  r.end();
}


queueMessageCheck.check = checkQueueMessage;
