/**
 * Server identity as the widget checks it: fingerprint, certificate chain, signed session key.
 *
 * Mirrors the client half of src/hushwire/crypto/x509.py (simplexmq
 * `Transport/Client.hs` validateCertificateChain, `Transport/Shared.hs` chainIdCaCerts /
 * x509validate, `Transport.hs:815-821` with C.hs verifyX509; docs/protocol/smp.md, "Hellos" and "Server identity"):
 *
 * - the key hash is SHA-256 of the identity (CA) certificate's DER;
 * - a chain is 2..4 certificates, leaf first; the second is the identity certificate whose
 *   SHA-256 must equal the key hash (constant-time); each certificate must be signed by the
 *   next (EdDSA only: SMP servers use Ed25519/Ed448 keys), each issuer must be a CA (critical
 *   or not, basicConstraints cA = TRUE; keyUsage, if present, allows keyCertSign) whose
 *   subject is the certificate's issuer; all must be valid at `now`; the leaf must be X.509
 *   v3 with an Ed25519 or Ed448 key;
 * - the hello's signed key is an X.509 `SignedExact` of an X25519 SPKI, signed by the leaf.
 *
 * Only the fields these checks need are parsed, strictly (DER, definite minimal lengths).
 * Malformed input throws DecodeError; every failed check is the opaque CryptoError.
 */

import { bytesEqual, fromHex } from "../encoding.js";
import { CryptoError, DecodeError } from "../errors.js";
import { MAX_CERT_CHAIN, MIN_CERT_CHAIN } from "../limits.js";
import { constantTimeEqual } from "./ct.js";
import { readItems, readOne, readSequenceItems, TAG, type Tlv } from "./der.js";
import { sha256 } from "./hash.js";
import { isSignatureAlg, PublicKey, SIGNATURE_SIZE, type SignatureAlg } from "./keys.js";

/** DER AlgorithmIdentifier of each signature algorithm (RFC 8410: no parameters). */
export const SIGNATURE_ALGORITHM_ID: Readonly<Record<SignatureAlg, Uint8Array>> = {
  Ed25519: fromHex("300506032b6570"),
  Ed448: fromHex("300506032b6571"),
};

const OID_BASIC_CONSTRAINTS = fromHex("551d13"); // 2.5.29.19
const OID_KEY_USAGE = fromHex("551d0f"); // 2.5.29.15

function sigAlgOf(algId: Uint8Array): SignatureAlg | null {
  if (bytesEqual(algId, SIGNATURE_ALGORITHM_ID.Ed25519)) return "Ed25519";
  if (bytesEqual(algId, SIGNATURE_ALGORITHM_ID.Ed448)) return "Ed448";
  return null;
}

export interface Extension {
  critical: boolean;
  value: Uint8Array;
}

/** The parts of an X.509 certificate the chain check uses. */
export interface Certificate {
  der: Uint8Array;
  /** The whole TBSCertificate element: what the issuer signed. */
  tbs: Uint8Array;
  /** The outer signatureAlgorithm element. */
  signatureAlgorithm: Uint8Array;
  signature: Uint8Array;
  /** 1, 2 or 3. */
  version: number;
  issuer: Uint8Array;
  subject: Uint8Array;
  /** Seconds since the epoch. */
  notBefore: number;
  notAfter: number;
  spki: Uint8Array;
  extensions: readonly { oid: Uint8Array; ext: Extension }[];
}

function digits(s: string, from: number, n: number): number {
  const part = s.slice(from, from + n);
  if (part.length !== n || !/^[0-9]+$/.test(part)) throw new DecodeError("bad time");
  return Number(part);
}

/** UTCTime `YYMMDDHHMMSSZ` or GeneralizedTime `YYYYMMDDHHMMSSZ` (RFC 5280 4.1.2.5) in seconds. */
function parseTime(t: Tlv): number {
  let s = "";
  for (const b of t.content) s += String.fromCharCode(b);
  let year: number;
  let rest: number;
  if (t.tag === TAG.UTC_TIME && s.length === 13) {
    const yy = digits(s, 0, 2);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    rest = 2;
  } else if (t.tag === TAG.GENERALIZED_TIME && s.length === 15) {
    year = digits(s, 0, 4);
    rest = 4;
  } else {
    throw new DecodeError("bad certificate time");
  }
  if (s[s.length - 1] !== "Z") throw new DecodeError("certificate time must be UTC");
  const month = digits(s, rest, 2);
  const day = digits(s, rest + 2, 2);
  const hour = digits(s, rest + 4, 2);
  const minute = digits(s, rest + 6, 2);
  const second = digits(s, rest + 8, 2);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    throw new DecodeError("bad certificate time");
  }
  return Date.UTC(year, month - 1, day, hour, minute, second) / 1000;
}

function parseExtensions(t: Tlv): { oid: Uint8Array; ext: Extension }[] {
  const seq = readOne(t.content, TAG.SEQUENCE);
  const out: { oid: Uint8Array; ext: Extension }[] = [];
  for (const item of readItems(seq.content)) {
    if (item.tag !== TAG.SEQUENCE) throw new DecodeError("malformed extension");
    const parts = readItems(item.content);
    const [oid, second, third] = parts;
    if (oid === undefined || oid.tag !== TAG.OID) throw new DecodeError("malformed extension");
    let critical = false;
    let value: Tlv | undefined;
    if (parts.length === 3 && second !== undefined && second.tag === TAG.BOOLEAN) {
      if (second.content.length !== 1) throw new DecodeError("malformed extension");
      critical = second.content[0] !== 0;
      value = third;
    } else if (parts.length === 2) {
      value = second;
    }
    if (value === undefined || value.tag !== TAG.OCTET_STRING) throw new DecodeError("malformed extension");
    if (out.some((e) => bytesEqual(e.oid, oid.content))) throw new DecodeError("duplicate extension");
    out.push({ oid: oid.content.slice(), ext: { critical, value: value.content.slice() } });
  }
  return out;
}

/** Parse the fields of a DER certificate that the checks need; DecodeError if malformed. */
export function parseCertificate(der: Uint8Array): Certificate {
  const outer = readSequenceItems(der);
  const [tbsT, algT, sigT] = outer;
  if (outer.length !== 3 || tbsT === undefined || algT === undefined || sigT === undefined) {
    throw new DecodeError("malformed certificate");
  }
  if (tbsT.tag !== TAG.SEQUENCE || algT.tag !== TAG.SEQUENCE || sigT.tag !== TAG.BIT_STRING) {
    throw new DecodeError("malformed certificate");
  }
  if (sigT.content.length < 1 || sigT.content[0] !== 0) throw new DecodeError("malformed signature");
  const items = readItems(tbsT.content);
  let i = 0;
  let version = 1;
  const first = items[0];
  if (first !== undefined && first.tag === 0xa0) {
    const v = readOne(first.content, TAG.INTEGER);
    if (v.content.length !== 1 || v.content[0]! > 2) throw new DecodeError("bad certificate version");
    version = v.content[0]! + 1;
    i = 1;
  }
  const serial = items[i];
  const sigAlg = items[i + 1];
  const issuer = items[i + 2];
  const validity = items[i + 3];
  const subject = items[i + 4];
  const spki = items[i + 5];
  if (
    serial?.tag !== TAG.INTEGER ||
    sigAlg?.tag !== TAG.SEQUENCE ||
    issuer?.tag !== TAG.SEQUENCE ||
    validity?.tag !== TAG.SEQUENCE ||
    subject?.tag !== TAG.SEQUENCE ||
    spki?.tag !== TAG.SEQUENCE
  ) {
    throw new DecodeError("malformed certificate");
  }
  if (!bytesEqual(sigAlg.whole, algT.whole)) throw new DecodeError("signature algorithms differ");
  const times = readItems(validity.content);
  const [nb, na] = times;
  if (times.length !== 2 || nb === undefined || na === undefined) throw new DecodeError("malformed validity");
  let extensions: { oid: Uint8Array; ext: Extension }[] = [];
  for (const opt of items.slice(i + 6)) {
    if (opt.tag === 0xa3) {
      if (version !== 3) throw new DecodeError("extensions need X.509 v3");
      extensions = parseExtensions(opt);
    } else if (opt.tag !== 0x81 && opt.tag !== 0x82 && opt.tag !== 0xa1 && opt.tag !== 0xa2) {
      throw new DecodeError("malformed certificate");
    }
  }
  return {
    der,
    tbs: tbsT.whole.slice(),
    signatureAlgorithm: algT.whole.slice(),
    signature: sigT.content.slice(1),
    version,
    issuer: issuer.whole.slice(),
    subject: subject.whole.slice(),
    notBefore: parseTime(nb),
    notAfter: parseTime(na),
    spki: spki.whole.slice(),
    extensions,
  };
}

function extension(cert: Certificate, oid: Uint8Array): Extension | undefined {
  return cert.extensions.find((e) => bytesEqual(e.oid, oid))?.ext;
}

/** The server fingerprint: SHA-256 of the identity certificate's DER (32 bytes). */
export function keyHash(caCertDer: Uint8Array): Uint8Array {
  return sha256(caCertDer);
}

/** The subject public key of a certificate; DecodeError if malformed or unsupported. */
export function certPublicKey(certDer: Uint8Array): PublicKey {
  return PublicKey.fromDer(parseCertificate(certDer).spki);
}

function isCa(cert: Certificate): boolean {
  const bc = extension(cert, OID_BASIC_CONSTRAINTS);
  if (bc === undefined) return false;
  try {
    const items = readSequenceItems(bc.value);
    const flag = items[0];
    if (flag === undefined || flag.tag !== TAG.BOOLEAN) return false;
    if (flag.content.length !== 1 || flag.content[0] !== 0xff) return false;
  } catch (e) {
    if (e instanceof DecodeError) return false;
    throw e;
  }
  const ku = extension(cert, OID_KEY_USAGE);
  if (ku !== undefined) {
    let bits: Tlv;
    try {
      bits = readOne(ku.value, TAG.BIT_STRING);
    } catch (e) {
      if (e instanceof DecodeError) return false;
      throw e;
    }
    // keyCertSign is bit 5: the 0x04 bit of the first byte after the unused-bits count.
    const b = bits.content[1];
    if (b === undefined || (b & 0x04) === 0) return false;
  }
  return true;
}

/** True iff `cert` names `issuer` as its issuer and carries a valid EdDSA signature by it. */
function directlyIssuedBy(cert: Certificate, issuer: Certificate): boolean {
  if (!bytesEqual(cert.issuer, issuer.subject)) return false;
  const alg = sigAlgOf(cert.signatureAlgorithm);
  if (alg === null) return false;
  let key: PublicKey;
  try {
    key = PublicKey.fromDer(issuer.spki);
  } catch (e) {
    if (e instanceof DecodeError) return false;
    throw e;
  }
  if (key.alg !== alg || cert.signature.length !== SIGNATURE_SIZE[alg]) return false;
  return key.verify(cert.signature, cert.tbs);
}

/**
 * Check a server's certificate chain (leaf first) and return the leaf's EdDSA key
 * (x509.py validate_chain). `now` is seconds since the epoch.
 */
export function validateChain(chain: readonly Uint8Array[], expectedKeyHash: Uint8Array, now: number): PublicKey {
  if (chain.length < MIN_CERT_CHAIN || chain.length > MAX_CERT_CHAIN) throw new CryptoError();
  const certs = chain.map(parseCertificate);
  if (!constantTimeEqual(sha256(chain[1]!), expectedKeyHash)) throw new CryptoError();
  const at = Math.floor(now);
  for (const c of certs) {
    if (!(c.notBefore <= at && at <= c.notAfter)) throw new CryptoError();
  }
  if (certs[0]!.version !== 3) throw new CryptoError();
  for (let i = 0; i + 1 < certs.length; i++) {
    const cert = certs[i]!;
    const issuer = certs[i + 1]!;
    if (!isCa(issuer) || !directlyIssuedBy(cert, issuer)) throw new CryptoError();
  }
  let leaf: PublicKey;
  try {
    leaf = PublicKey.fromDer(certs[0]!.spki);
  } catch (e) {
    if (e instanceof DecodeError) throw new CryptoError();
    throw e;
  }
  if (!isSignatureAlg(leaf.alg)) throw new CryptoError();
  return leaf;
}

/**
 * The X25519 session key inside `signedKeyDer`, checked against the leaf's key
 * (x509.py verify_signed_key). DecodeError if either input is malformed, the leaf cannot
 * sign, the algorithm is unknown or the key is not X25519; CryptoError if the signature fails.
 */
export function verifySignedKey(leafCertDer: Uint8Array, signedKeyDer: Uint8Array): PublicKey {
  const leaf = certPublicKey(leafCertDer);
  if (!isSignatureAlg(leaf.alg)) throw new DecodeError("leaf certificate key cannot sign");
  const items = readSequenceItems(signedKeyDer);
  const [obj, alg, sig] = items;
  if (items.length !== 3 || obj === undefined || alg === undefined || sig === undefined) {
    throw new DecodeError("signed key must have 3 elements");
  }
  if (obj.tag !== TAG.SEQUENCE || alg.tag !== TAG.SEQUENCE || sig.tag !== TAG.BIT_STRING) {
    throw new DecodeError("malformed signed key");
  }
  const sigAlg = sigAlgOf(alg.whole);
  if (sigAlg === null) throw new DecodeError("unknown signature algorithm");
  const bits = sig.content;
  if (bits.length !== 1 + SIGNATURE_SIZE[sigAlg] || bits[0] !== 0) throw new DecodeError("malformed signature");
  const key = PublicKey.fromDer(obj.whole);
  if (key.alg !== "X25519") throw new DecodeError("signed key is not X25519");
  if (sigAlg !== leaf.alg || !leaf.verify(bits.subarray(1), obj.whole)) throw new CryptoError();
  return key;
}

