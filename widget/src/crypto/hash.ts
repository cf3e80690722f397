/** SHA-256 and SHA-512 (C.hs sha256Hash/sha512Hash) via @noble/hashes. */

import { sha256 as nobleSha256, sha512 as nobleSha512 } from "@noble/hashes/sha2.js";

export function sha256(b: Uint8Array): Uint8Array {
  return nobleSha256(b);
}

export function sha512(b: Uint8Array): Uint8Array {
  return nobleSha512(b);
}
